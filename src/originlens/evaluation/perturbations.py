"""Pixel transformations of the evaluation: metadata stripping, alignment and perturbations.

Pure functions of a decoded Pillow image returning new file bytes (Pillow and numpy only, no
detector, no I/O), so a training script can build its data with exactly the same re-encodes the
evaluation measures with: ``from originlens.evaluation.perturbations import align_image``.

* :func:`strip_metadata`: the pixels as a lossless PNG, nothing else (``--strip-metadata``).
* :func:`align_image`: both classes re-encoded identically (``--align``), so a detector cannot
  tell the classes apart by their container, quality or size (eval README caveat 4).
* :func:`perturb`: the robustness copies of ``--perturb`` (flip rates).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from originlens.media.images import flattened_rgb

# --------------------------------------------------------------------------- alignment

ALIGN_MODES: tuple[str, ...] = ("none", "jpeg90", "half-jpeg90")
ALIGN_HELP = {
    "none": "files analysed as they are (or as a stripped PNG with --strip-metadata)",
    "jpeg90": "every image re-encoded as JPEG quality 90 (4:2:0)",
    "half-jpeg90": "every image resized to half of each side (Lanczos) and re-encoded as JPEG quality 90 (4:2:0)",
}
ALIGN_JPEG_QUALITY = 90
ALIGN_SUBSAMPLING = 2
"""Pillow's ``subsampling=2`` is 4:2:0 (its default at this quality), written out so it cannot drift."""
_SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def parse_align(mode: str | None) -> str:
    """A checked alignment mode (``None`` or empty is ``none``); a clear error for anything else."""
    name = (mode or "none").strip().lower()
    if name not in ALIGN_MODES:
        raise ValueError(f"unknown alignment {mode!r}; choose one of {', '.join(ALIGN_MODES)}")
    return name


def _eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16-bit and float pixels to 0-255: ``convert`` would clip them, turning most of a
    16-bit photo white."""
    if image.mode not in _SIXTEEN_BIT | {"I", "F"}:
        return image
    values = np.asarray(image, dtype=np.float64)
    if image.mode in _SIXTEEN_BIT or (image.mode == "I" and values.size and values.max() > 255):
        values = values / 257.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")


def aligned_rgb(image: Image.Image) -> Image.Image:
    """What a viewer shows of the (first frame of the) image: EXIF orientation applied, alpha
    (including palette and colour-key transparency) flattened on white, 8-bit RGB."""
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # unreadable EXIF: the orientation is unknown, so none is applied
        upright = None
    upright = (upright if upright is not None else image).copy()
    if "transparency" in upright.info and upright.mode in {"P", "RGB", "L", "1"}:
        with warnings.catch_warnings():  # "convert to RGBA": what this does
            warnings.simplefilter("ignore", UserWarning)
            upright = upright.convert("LA" if upright.mode in {"L", "1"} else "RGBA")
    return flattened_rgb(_eight_bit(upright))


def align_image(image: Image.Image, mode: str) -> bytes:
    """Re-encode ``image`` the same way whatever its class and format, for ``--align``.

    ``jpeg90``: :func:`aligned_rgb`, then JPEG quality 90 with 4:2:0 chroma subsampling;
    ``half-jpeg90``: the same after a Lanczos resize to half of each side (at least 1 px).
    Nothing of the file's metadata (EXIF, XMP, ICC, text chunks, C2PA) survives, and the ICC
    profile is not applied: the pixel values are kept as they are.
    """
    name = parse_align(mode)
    if name == "none":
        raise ValueError("align_image needs an alignment other than 'none'")
    rgb = aligned_rgb(image)
    if name == "half-jpeg90":
        width, height = rgb.size
        rgb = rgb.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=ALIGN_JPEG_QUALITY, subsampling=ALIGN_SUBSAMPLING)
    return out.getvalue()


# --------------------------------------------------------------------------- stripping and perturbations


PERTURBATIONS: tuple[str, ...] = ("jpeg75", "jpeg90", "half", "crop50")
PERTURBATION_HELP = {
    "jpeg75": "re-encoded as JPEG quality 75",
    "jpeg90": "re-encoded as JPEG quality 90",
    "half": "resized to 50% of each side (Lanczos)",
    "crop50": "centre crop keeping 50% of each side",
}
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
RESAVE_JPEG_QUALITY = 95
"""Quality used when ``half``/``crop50`` re-save a JPEG source as JPEG."""


def _png_ready(image: Image.Image) -> Image.Image:
    """A metadata-free copy of the pixels in a mode PNG can store, mode kept where possible.

    Transparency that lives in ``info`` (palette or colour-key ``tRNS``) is pixel data, not
    metadata, so such images become ``RGBA``/``LA`` before ``info`` is dropped.
    """
    if "transparency" in image.info and image.mode in {"P", "RGB", "L", "1"}:
        with warnings.catch_warnings():  # "convert to RGBA": what this does
            warnings.simplefilter("ignore", UserWarning)
            image = image.convert("LA" if image.mode in {"L", "1"} else "RGBA")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode == "F":
        image = image.convert("I")
    elif image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    else:
        image = image.copy()
    image.info = {}
    return image


def _png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Only pixels: no pnginfo, exif, icc_profile or dpi; info was emptied by _png_ready.
    _png_ready(image).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """JPEG has no alpha: transparent pixels keep their underlying colour, as ``convert`` does."""
    image = _png_ready(image)  # a copy with no info, palette transparency made explicit
    if image.mode not in {"L", "RGB"}:
        image = image.convert("L" if image.mode in {"1", "LA", "I", "I;16"} else "RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def strip_metadata(image: Image.Image) -> bytes:
    """The (first frame's) pixels as a lossless PNG with no metadata at all."""
    return _png_bytes(image)


def _resave(image: Image.Image, source_format: str) -> bytes:
    """Re-save a geometrically changed image in the source's container family, with no metadata:
    JPEG sources as JPEG (quality :data:`RESAVE_JPEG_QUALITY`), everything else as lossless PNG.
    Keeping the container avoids turning camera JPEGs into PNGs (eval README caveat 4)."""
    if source_format == "image/jpeg":
        return _jpeg_bytes(image, RESAVE_JPEG_QUALITY)
    return _png_bytes(image)


def perturb(image: Image.Image, name: str, source_format: str) -> bytes:
    """Apply the named perturbation to the (first frame's) pixels; the result carries no metadata."""
    if name == "jpeg75":
        return _jpeg_bytes(image, 75)
    if name == "jpeg90":
        return _jpeg_bytes(image, 90)
    width, height = image.size
    if name == "half":
        # Lanczos needs real channels: palette and bilevel images would silently get NEAREST.
        base = _png_ready(image)
        if base.mode in {"P", "1"}:
            base = base.convert("RGB" if base.mode == "P" else "L")
        return _resave(base.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS), source_format)
    if name == "crop50":
        new_w, new_h = max(1, width // 2), max(1, height // 2)
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return _resave(image.crop((left, top, left + new_w, top + new_h)), source_format)
    raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")


def parse_perturbations(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"jpeg75,half"`` (or a list) to a checked tuple, in the order given, without repeats."""
    if not spec:
        return ()
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        if name not in PERTURBATIONS:
            raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
        if name not in names:
            names.append(name)
    return tuple(names)


__all__ = [
    "ALIGN_HELP",
    "ALIGN_MODES",
    "PERTURBATIONS",
    "PERTURBATION_HELP",
    "align_image",
    "aligned_rgb",
    "parse_align",
    "parse_perturbations",
    "perturb",
    "strip_metadata",
]
