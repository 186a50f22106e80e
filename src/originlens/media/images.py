"""Recognise image formats by content and open them safely.

The client's filename and Content-Type are never trusted: the first bytes decide.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from PIL import Image

log = logging.getLogger(__name__)

# The configured ``max_image_pixels`` is the limit, checked in ``_open`` on the header's size
# before any pixel is decoded; every untrusted image goes through this module first. Pillow's
# own guard (a process-wide constant of about 89 MP) would refuse images the settings allow
# (the documented 100 MP) and cannot follow a setting per server, so it is off.
Image.MAX_IMAGE_PIXELS = None


ACCEPTED_IMAGE_FORMATS = "PNG, JPEG, GIF, WebP, TIFF"

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)


class ImageError(Exception):
    """Base for image problems; the message is meant for the client."""


class ImageTooLargeError(ImageError):
    """More pixels than allowed: a decompression bomb or simply too big to analyse."""


class UndecodableImageError(ImageError):
    """The bytes look like an image but cannot be decoded."""


def sniff_image_type(head: bytes) -> str | None:
    """Return the image MIME type from the first bytes, or None if not an accepted image."""
    for signature, offset, mime in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    frames: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open ``data`` and read its structure (size of the first frame, number of frames).

    Every failure of the decoder becomes one of this module's errors: a file the sniffer
    accepted but Pillow cannot read is never an unexpected exception for the caller.
    """
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        getattr(image, "n_frames", 1)  # walks every frame's header (TIFF IFDs, GIF blocks)
        image.seek(0)
    except Exception as exc:
        log.debug("image header unreadable: %s: %s", type(exc).__name__, exc)
        raise UndecodableImageError("the file could not be read as an image (its header is damaged)") from exc
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} pixels; at most {max_pixels:,} pixels are analysed "
            "(this also protects against decompression bombs)"
        )
    return image


def check_image_header(data: bytes, max_pixels: int) -> ImageInfo | None:
    """Cheap upload-time check: read only the header to refuse decompression bombs.

    Returns None when even the header cannot be parsed; the worker then reports the
    decoding failure on the result, as for any file that fails later.
    """
    try:
        image = _open(data, max_pixels)
    except UndecodableImageError:
        return None
    return ImageInfo(image.width, image.height, image.format or "", int(getattr(image, "n_frames", 1)))


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """Fully decode the (first frame of the) image, raising a readable error if it fails."""
    image = _open(data, max_pixels)
    try:
        image.load()
    except Exception as exc:
        log.debug("image data undecodable: %s: %s", type(exc).__name__, exc)
        raise UndecodableImageError("the image data is corrupt or truncated") from exc
    return image


def flattened_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of ``image`` with transparency flattened on white, as a viewer shows it.

    Models are fed what a person sees; the caller's (shared, decoded) image is never modified."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
