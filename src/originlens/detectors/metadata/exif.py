"""EXIF reading with Pillow's TIFF directory parser (no pixels are decoded).

Returns the text fields that generators write (Software, ImageDescription, UserComment,
XPComment, ComfyUI's ``prompt:{...}`` / ``workflow:{...}`` values in Make/Model...) and the
camera fields (Make, Model, ExposureTime, FNumber, ISO, DateTimeOriginal, LensModel).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

EXIF_IFD = 0x8769

# IFD0 tags read as text.
_IFD0_TEXT = {
    0x000B: "ProcessingSoftware",
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x013B: "Artist",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9F: "XPSubject",
}
_XMP_TAG = 700
_IPTC_TAG = 33723

# Exif sub-IFD tags.
_USER_COMMENT = 0x9286
_CAMERA_TAGS = {
    0x829A: "exposure_time",
    0x829D: "f_number",
    0x8827: "iso",
    0x9003: "datetime_original",
    0xA434: "lens_model",
    0x920A: "focal_length",
}

_KEYED_JSON_RE = re.compile(r"^\s*([A-Za-z_][\w\-]{0,40}):\s*(?=[\[{])")
"""ComfyUI's animated WebP writes ``prompt:{json}`` and ``workflow:{json}`` into IFD0 text tags."""

_MAX_CAMERA_TEXT = 100


@dataclass
class ExifInfo:
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    """(source, key, text)."""
    camera: dict[str, Any] = field(default_factory=dict)
    xmp: bytes | None = None
    iptc: bytes | None = None


def parse_exif(blob: bytes, source: str) -> ExifInfo:
    """Read one EXIF blob; raises on data Pillow cannot parse (the caller catches)."""
    info = ExifInfo()
    exif = Image.Exif()
    exif.load(blob)
    prefix = "EXIF" if not source.startswith("TIFF") else "TIFF"
    for tag, name in _IFD0_TEXT.items():
        value = exif.get(tag)
        if value is None:
            continue
        text = _as_text(value, utf16le=name.startswith("XP"))
        if not text:
            continue
        keyed = _KEYED_JSON_RE.match(text)
        if keyed:
            key = keyed.group(1)
            info.fields.append((f"{source} {name} ('{key}:' value)", key, text[keyed.end() :]))
            continue
        info.fields.append((f"{prefix} {name}", name, text))
        if name in ("Make", "Model") and len(text) <= _MAX_CAMERA_TEXT and "{" not in text:
            info.camera[name.lower()] = text
    xmp = exif.get(_XMP_TAG)
    if isinstance(xmp, bytes | bytearray):
        info.xmp = bytes(xmp)
    elif isinstance(xmp, tuple) and all(isinstance(b, int) for b in xmp[:16]):
        info.xmp = bytes(b & 0xFF for b in xmp)
    iptc = exif.get(_IPTC_TAG)
    if isinstance(iptc, bytes | bytearray):
        info.iptc = bytes(iptc)

    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:
        sub = {}
    comment = sub.get(_USER_COMMENT)
    if comment is not None:
        text = decode_user_comment(comment)
        if text:
            info.fields.append((f"{prefix} UserComment", "UserComment", text))
    for tag, key in _CAMERA_TAGS.items():
        value = _camera_value(sub.get(tag))
        if value is not None:
            info.camera[key] = value
    return info


def _as_text(value: Any, *, utf16le: bool = False) -> str:
    if isinstance(value, tuple) and all(isinstance(b, int) for b in value[:16]):
        value = bytes(b & 0xFF for b in value)
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        text = raw.decode("utf-16-le", errors="replace") if utf16le else raw.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        # Pillow reads EXIF ASCII as Latin-1; tools often write UTF-8 there.
        try:
            text = value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            text = value
    else:
        return ""
    return text.replace("\x00", "").strip()


def decode_user_comment(value: Any) -> str:
    """EXIF UserComment: an 8-byte character-code header, then the text."""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, tuple) and all(isinstance(b, int) for b in value[:16]):
        value = bytes(b & 0xFF for b in value)
    if not isinstance(value, bytes | bytearray):
        return ""
    raw = bytes(value)
    head, body = raw[:8], raw[8:]
    if head == b"UNICODE\x00":
        text = _utf16(body)
    elif head.startswith(b"ASCII"):
        text = body.decode("utf-8", errors="replace")
    elif head == b"JIS\x00\x00\x00\x00\x00":
        text = body.decode("shift_jis", errors="replace")
    elif head == b"\x00" * 8:
        text = body.decode("utf-8", errors="replace")
    else:
        text = raw.decode("utf-8", errors="replace")
    return text.replace("\x00", "").strip()


def _utf16(body: bytes) -> str:
    """UTF-16 of unknown byte order (the EXIF spec says the file's; writers disagree)."""
    if body.startswith(b"\xff\xfe"):
        return body[2:].decode("utf-16-le", errors="replace")
    if body.startswith(b"\xfe\xff"):
        return body[2:].decode("utf-16-be", errors="replace")
    sample = body[:4096]
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    codec = "utf-16-be" if zeros_even >= zeros_odd else "utf-16-le"
    return body.decode(codec, errors="replace")


def _camera_value(value: Any) -> Any:
    """A JSON-safe camera value (rationals as numbers, texts trimmed), or None."""
    if value is None:
        return None
    if isinstance(value, tuple):
        value = value[0] if value else None
        if value is None:
            return None
    if isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        return text[:_MAX_CAMERA_TEXT] or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)  # IFDRational and friends
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(number):
        return None
    return round(number, 6)


def format_exposure(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:g}"
