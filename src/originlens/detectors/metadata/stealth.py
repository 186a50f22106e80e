"""The "stealth" PNG info that NovelAI and the A1111 stealth-pnginfo extension hide in pixels.

The payload is stored in the least significant bits of the pixels, read column by column
(x outer, y inner):

* alpha mode: one bit per pixel from the alpha channel; magic ``stealth_pnginfo`` (plain)
  or ``stealth_pngcomp`` (gzip);
* RGB mode: three bits per pixel from R, G and B; magic ``stealth_rgbinfo`` or
  ``stealth_rgbcomp``.

After the 15-byte magic comes a 32-bit big-endian payload length *in bits*, then the
payload. Only the columns that hold the header, then the payload, are ever read, and the
payload is capped.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image

from originlens.detectors.metadata.containers import MAX_FIELD_CHARS

MAGICS: dict[bytes, tuple[str, bool]] = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_MAGIC_BITS = 15 * 8
_HEADER_BITS = _MAGIC_BITS + 32
MAX_PAYLOAD_BYTES = 1 << 20
"""A stealth payload larger than 1 MiB (before decompression) is not read."""
MAX_PIXELS = 50_000_000
"""Images above 50 megapixels are not searched for a stealth payload."""

_LSB = bytes(0x30 | (b & 1) for b in range(256))  # byte -> ASCII '0' or '1'


@dataclass(frozen=True)
class StealthPayload:
    magic: str
    mode: str
    compressed: bool
    text: str
    truncated: bool


class _Bits:
    """Lazily reads LSBs of the first columns of an image, in column-major order."""

    def __init__(self, image: Any, mode: str) -> None:
        self._image = image
        self._mode = mode
        self._width, self._height = image.size
        self._per_pixel = 1 if mode == "alpha" else 3
        self._bits = ""
        self._columns = 0

    @property
    def capacity(self) -> int:
        return self._width * self._height * self._per_pixel

    def read(self, start: int, count: int) -> str | None:
        """``count`` bits from bit ``start``, as a '0'/'1' string; None past the image end."""
        end = start + count
        if end > self.capacity:
            return None
        bits_per_column = self._height * self._per_pixel
        needed_columns = -(-end // bits_per_column)
        if needed_columns > self._columns:
            box = (self._columns, 0, needed_columns, self._height)
            strip = self._image.crop(box)
            if self._mode == "alpha":
                strip = strip.getchannel("A")
            elif strip.mode != "RGB":
                strip = strip.convert("RGB")
            raw = strip.transpose(Image.Transpose.TRANSPOSE).tobytes()
            self._bits += raw.translate(_LSB).decode("ascii")
            self._columns = needed_columns
        return self._bits[start:end]


def _to_bytes(bits: str) -> bytes:
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def read_stealth(image: Any, modes: tuple[str, ...] = ("alpha", "rgb")) -> StealthPayload | None:
    """The stealth payload of ``image`` (a PIL image, not modified), or None.

    ``modes`` limits the search: ``alpha`` needs an alpha band, ``rgb`` R, G and B bands.
    """
    width, height = image.size
    if width * height > MAX_PIXELS or width == 0 or height == 0:
        return None
    bands = image.getbands()
    usable = []
    if "alpha" in modes and "A" in bands:
        usable.append("alpha")
    if "rgb" in modes and bands[:3] == ("R", "G", "B"):
        usable.append("rgb")
    for mode in usable:
        bits = _Bits(image, mode)
        header = bits.read(0, _HEADER_BITS)
        if header is None:
            continue
        magic = _to_bytes(header[:_MAGIC_BITS])
        spec = MAGICS.get(magic)
        if spec is None or spec[0] != mode:
            continue
        length = int(header[_MAGIC_BITS:], 2)
        if length <= 0 or length % 8:
            continue
        truncated = False
        if length > MAX_PAYLOAD_BYTES * 8:
            length = MAX_PAYLOAD_BYTES * 8
            truncated = True
        body_bits = bits.read(_HEADER_BITS, length)
        if body_bits is None:  # the declared payload is larger than the image
            available = bits.capacity - _HEADER_BITS
            body_bits = bits.read(_HEADER_BITS, max(0, available // 8 * 8)) or ""
            truncated = True
        body = _to_bytes(body_bits)
        compressed = spec[1]
        if compressed:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                raw = inflater.decompress(body, MAX_FIELD_CHARS)
            except zlib.error:
                continue
            truncated = truncated or bool(inflater.unconsumed_tail)
        else:
            raw = body[:MAX_FIELD_CHARS]
            truncated = truncated or len(body) > MAX_FIELD_CHARS
        return StealthPayload(
            magic=magic.decode("ascii"),
            mode=mode,
            compressed=compressed,
            text=raw.decode("utf-8", errors="replace"),
            truncated=truncated,
        )
    return None
