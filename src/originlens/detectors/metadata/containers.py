"""Reading raw metadata out of image containers, with hard limits on everything.

The walkers here never decode pixels. They read text chunks, EXIF blobs, XMP packets and
IPTC records out of PNG, JPEG, WebP, GIF and TIFF bytes, and stop early on truncated or
garbage input instead of raising. Every text field is capped (``MAX_FIELD_CHARS``), all text
together is capped (``MAX_TOTAL_CHARS``), and so are XMP packets and EXIF blobs.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

MAX_FIELD_CHARS = 1 << 20
"""One text field (a PNG text chunk, an EXIF comment...) is cut to 1 Mi characters."""
MAX_TOTAL_CHARS = 4 << 20
"""All text fields of one file together: 4 Mi characters; later fields are skipped."""
MAX_XMP_BYTES = 1 << 20
"""An XMP packet (standard or extended) is cut to 1 MiB."""
MAX_EXIF_BYTES = 2 << 20
"""An EXIF blob is cut to 2 MiB (ComfyUI puts whole workflows into WebP EXIF)."""
MAX_IPTC_BYTES = 256 << 10
MAX_CHUNKS = 200_000
"""PNG chunks, JPEG segments, WebP chunks or GIF blocks walked before giving up."""


@dataclass(frozen=True)
class Field:
    """One named text value found in the file."""

    source: str
    """Where it was found, for people: ``PNG tEXt chunk 'parameters'``, ``EXIF UserComment``."""
    key: str
    """The field's own name (PNG keyword, EXIF tag name, XMP property local name)."""
    value: str
    truncated: bool = False
    """True when the value was cut at ``MAX_FIELD_CHARS`` (or the file ended inside it)."""


@dataclass
class Budget:
    """How many characters of text may still be collected from this file."""

    left: int = MAX_TOTAL_CHARS
    exhausted: bool = False

    def take(self, text: str) -> tuple[str, bool] | None:
        """The text cut to the field cap and the budget, or None when the budget is spent."""
        if self.left <= 0:
            self.exhausted = True
            return None
        cut = text[: min(MAX_FIELD_CHARS, self.left)]
        self.left -= len(cut)
        return cut, len(cut) < len(text)


@dataclass
class RawMetadata:
    """Everything read from one file's container, before interpretation."""

    container: str = "unknown"
    fields: list[Field] = field(default_factory=list)
    exif: list[tuple[str, bytes]] = field(default_factory=list)
    """(source, blob): TIFF-structured EXIF, with or without the ``Exif\\0\\0`` prefix."""
    xmp: list[tuple[str, bytes]] = field(default_factory=list)
    iptc: list[tuple[str, bytes]] = field(default_factory=list)
    """(source, blob): IPTC-IIM records (already unwrapped from Photoshop 8BIM resources)."""
    webp_lossless: bool = False
    webp_alpha: bool = False
    notes: list[str] = field(default_factory=list)
    """Limits that were hit and damage that was met (shown in the details)."""
    budget: Budget = field(default_factory=Budget)

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < 20:
            self.notes.append(text)

    def add_text(self, source: str, key: str, value: str, *, truncated: bool = False) -> None:
        taken = self.budget.take(value)
        if taken is None:
            self.note(f"text budget of {MAX_TOTAL_CHARS} characters spent; later fields were not read")
            return
        text, cut = taken
        if cut or truncated:
            self.note(f"{source} cut to {len(text)} characters (size cap or end of file)")
        self.fields.append(Field(source=source, key=key, value=text, truncated=truncated or cut))


def sniff_container(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return "unknown"


def read_containers(data: bytes) -> RawMetadata:
    """Collect the raw metadata of ``data``; never raises for damaged input."""
    kind = sniff_container(data)
    meta = RawMetadata(container=kind)
    reader = {"png": _read_png, "jpeg": _read_jpeg, "webp": _read_webp, "gif": _read_gif, "tiff": _read_tiff}.get(kind)
    if reader is None:
        return meta
    try:
        reader(data, meta)
    except Exception:  # damaged structure: keep what was read so far
        meta.note(f"{kind.upper()} structure damaged; read what was there")
    return meta


# ---------------------------------------------------------------------- text decoding helpers


def decode_text(raw: bytes, *, latin1_fallback: bool = False) -> str:
    """UTF-8, with invalid bytes replaced (or read as Latin-1 where the format says Latin-1)."""
    if latin1_fallback:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return raw.decode("utf-8", errors="replace")


def inflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    """zlib-decompress at most ``limit`` bytes; returns (output, cut). Never expands further."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit)
    cut = bool(inflater.unconsumed_tail) and len(out) >= limit
    return out, cut


# ---------------------------------------------------------------------- PNG


def _read_png(data: bytes, meta: RawMetadata) -> None:
    pos, n, count = 8, len(data), 0
    while pos + 8 <= n and count < MAX_CHUNKS:
        count += 1
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        start = pos + 8
        end = start + length
        truncated = end > n
        if truncated:
            meta.note(f"PNG chunk {ctype.decode('latin-1')!r} declares {length} bytes but the file ends first")
        if ctype in (b"tEXt", b"zTXt", b"iTXt"):
            # Never slice more than a field's worth (a 50 MB declared chunk costs nothing).
            body = data[start : min(end, n, start + MAX_FIELD_CHARS * 4 + 1024)]
            _png_text(ctype, body, meta, truncated=truncated)
        elif ctype == b"eXIf":
            meta.exif.append(("PNG eXIf chunk", data[start : min(end, n, start + MAX_EXIF_BYTES)]))
        elif ctype == b"IEND":
            break
        if truncated:
            break
        pos = end + 4  # CRC (not checked: a bad CRC does not make metadata less telling)
    if count >= MAX_CHUNKS:
        meta.note(f"PNG has more than {MAX_CHUNKS} chunks; the rest was not read")


def _png_text(ctype: bytes, body: bytes, meta: RawMetadata, *, truncated: bool) -> None:
    keyword_raw, sep, rest = body.partition(b"\x00")
    if not sep or not 0 < len(keyword_raw) <= 79:
        meta.note(f"PNG {ctype.decode()} chunk without a valid keyword ignored")
        return
    keyword = keyword_raw.decode("latin-1")
    kind = ctype.decode()
    source = f"PNG {kind} chunk '{keyword}'"
    if ctype == b"tEXt":
        raw = rest[:MAX_FIELD_CHARS]
        text = decode_text(raw, latin1_fallback=True)
        truncated = truncated or len(rest) > MAX_FIELD_CHARS
    elif ctype == b"zTXt":
        if not rest:
            return
        try:
            raw, cut = inflate(rest[1:], MAX_FIELD_CHARS)
        except zlib.error:
            meta.note(f"{source} could not be decompressed")
            return
        text = decode_text(raw, latin1_fallback=True)
        truncated = truncated or cut
    else:  # iTXt: flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            return
        compressed = rest[0] == 1
        parts = rest[2:].split(b"\x00", 2)
        if len(parts) < 3:
            meta.note(f"{source} is malformed")
            return
        payload = parts[2]
        if compressed:
            try:
                raw, cut = inflate(payload, MAX_FIELD_CHARS)
            except zlib.error:
                meta.note(f"{source} could not be decompressed")
                return
            truncated = truncated or cut
        else:
            raw = payload[:MAX_FIELD_CHARS]
            truncated = truncated or len(payload) > MAX_FIELD_CHARS
        text = decode_text(raw)
    if keyword == "XML:com.adobe.xmp":
        meta.xmp.append((source, text.encode("utf-8")[:MAX_XMP_BYTES]))
        return
    if keyword.lower().startswith("raw profile type "):
        _imagemagick_profile(source, keyword[17:].strip().lower(), text, meta)
        return
    meta.add_text(source, keyword, text, truncated=truncated)


_HEX_RE = re.compile(r"[^0-9a-fA-F]")


def _imagemagick_profile(source: str, kind: str, text: str, meta: RawMetadata) -> None:
    """ImageMagick's ``Raw profile type exif|xmp|iptc|app1`` text: name, length, then hex."""
    lines = text.strip().split("\n", 2)
    if len(lines) < 3:
        return
    digits = _HEX_RE.sub("", lines[2][: MAX_EXIF_BYTES * 3])[: MAX_EXIF_BYTES * 2]
    blob = bytes.fromhex(digits[: len(digits) // 2 * 2])
    if kind in ("exif", "app1") and (blob.startswith(b"Exif") or blob[:4] in (b"II*\x00", b"MM\x00*")):
        meta.exif.append((source, blob))
    elif kind in ("xmp", "app1"):
        meta.xmp.append((source, blob[:MAX_XMP_BYTES]))
    elif kind in ("iptc", "8bim"):
        iim = photoshop_iptc(blob) if blob.startswith(b"8BIM") else blob
        if iim:
            meta.iptc.append((source, iim[:MAX_IPTC_BYTES]))


# ---------------------------------------------------------------------- JPEG

_XMP_STD = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"


def _read_jpeg(data: bytes, meta: RawMetadata) -> None:
    pos, n, count = 2, len(data), 0
    extended: dict[bytes, bytearray] = {}
    while pos + 4 <= n and count < MAX_CHUNKS:
        count += 1
        if data[pos] != 0xFF:
            meta.note("JPEG marker expected but not found; stopped reading segments")
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI, or SOS: entropy-coded data follows, no more metadata
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            meta.note("JPEG segment with an impossible length; stopped reading segments")
            break
        seg = data[pos + 4 : pos + 2 + length]
        if pos + 2 + length > n:
            meta.note("JPEG segment runs past the end of the file")
        if marker == 0xE1:
            if seg.startswith(b"Exif\x00"):
                meta.exif.append(("JPEG APP1 EXIF", seg[:MAX_EXIF_BYTES]))
            elif seg.startswith(_XMP_STD):
                meta.xmp.append(("JPEG APP1 XMP", seg[len(_XMP_STD) : len(_XMP_STD) + MAX_XMP_BYTES]))
            elif seg.startswith(_XMP_EXT):
                _extended_xmp(seg[len(_XMP_EXT) :], extended)
        elif marker == 0xED and seg.startswith(b"Photoshop 3.0\x00"):
            iim = photoshop_iptc(seg[14:])
            if iim:
                meta.iptc.append(("JPEG APP13 IPTC", iim[:MAX_IPTC_BYTES]))
        elif marker == 0xFE:
            meta.add_text("JPEG COM segment", "Comment", decode_text(seg, latin1_fallback=True))
        pos += 2 + length
    for blob in list(extended.values())[:1]:
        meta.xmp.append(("JPEG APP1 extended XMP", bytes(blob)))


def _extended_xmp(body: bytes, parts: dict[bytes, bytearray]) -> None:
    if len(body) < 40:
        return
    guid, total, offset = body[:32], *struct.unpack(">II", body[32:40])
    chunk = body[40:]
    size = min(total, MAX_XMP_BYTES)
    if guid not in parts:
        if len(parts) >= 2:
            return
        parts[guid] = bytearray(size)
    buf = parts[guid]
    if offset >= len(buf):
        return
    piece = chunk[: len(buf) - offset]
    buf[offset : offset + len(piece)] = piece


def photoshop_iptc(data: bytes) -> bytes:
    """The IPTC-IIM block (resource 0x0404) of a Photoshop image resource section."""
    pos, n, count = 0, len(data), 0
    while pos + 12 <= n and count < 1000:
        count += 1
        if data[pos : pos + 4] != b"8BIM":
            break
        (rid,) = struct.unpack(">H", data[pos + 4 : pos + 6])
        name_len = data[pos + 6]
        name_total = name_len + 1
        name_total += name_total % 2
        size_at = pos + 6 + name_total
        if size_at + 4 > n:
            break
        (size,) = struct.unpack(">I", data[size_at : size_at + 4])
        body = data[size_at + 4 : size_at + 4 + size]
        if rid == 0x0404:
            return body
        pos = size_at + 4 + size + (size % 2)
    return b""


IIM_FIELDS = {
    (2, 5): "ObjectName",
    (2, 65): "OriginatingProgram",
    (2, 80): "By-line",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 120): "Caption-Abstract",
}


def read_iim(data: bytes) -> list[tuple[str, str]]:
    """(dataset name, text) for the IPTC-IIM datasets in ``IIM_FIELDS``."""
    out: list[tuple[str, str]] = []
    pos, n, count = 0, len(data), 0
    while pos + 5 <= n and count < 5000:
        count += 1
        if data[pos] != 0x1C:
            break
        record, dataset = data[pos + 1], data[pos + 2]
        (length,) = struct.unpack(">H", data[pos + 3 : pos + 5])
        if length & 0x8000:  # extended dataset length: not used by the text fields we read
            break
        value = data[pos + 5 : pos + 5 + length]
        name = IIM_FIELDS.get((record, dataset))
        if name:
            out.append((name, decode_text(value, latin1_fallback=True)))
        pos += 5 + length
    return out


# ---------------------------------------------------------------------- WebP


def _read_webp(data: bytes, meta: RawMetadata) -> None:
    pos, n, count = 12, len(data), 0
    while pos + 8 <= n and count < MAX_CHUNKS:
        count += 1
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body_end = min(pos + 8 + size, n)
        if pos + 8 + size > n:
            meta.note(f"WebP chunk {fourcc.decode('latin-1')!r} runs past the end of the file")
        if fourcc == b"EXIF":
            meta.exif.append(("WebP EXIF chunk", data[pos + 8 : min(body_end, pos + 8 + MAX_EXIF_BYTES)]))
        elif fourcc == b"XMP ":
            meta.xmp.append(("WebP XMP chunk", data[pos + 8 : min(body_end, pos + 8 + MAX_XMP_BYTES)]))
        elif fourcc == b"VP8L":
            meta.webp_lossless = True
            meta.webp_alpha = True  # VP8L always carries an alpha plane (maybe opaque)
        elif fourcc == b"ALPH":
            meta.webp_alpha = True
        elif fourcc == b"ANMF" and count < 64:
            # Look at the first frames' sub-chunks only (frame header is 16 bytes).
            sub = data[pos + 24 : min(body_end, pos + 24 + 16)]
            if sub[:4] == b"VP8L":
                meta.webp_lossless = meta.webp_alpha = True
            elif sub[:4] == b"ALPH":
                meta.webp_alpha = True
        pos += 8 + size + (size & 1)


# ---------------------------------------------------------------------- GIF

_GIF_XMP_ID = b"XMP DataXMP"


def _read_gif(data: bytes, meta: RawMetadata) -> None:
    # XMP: the packet is stored raw inside an application extension; find it by its id.
    at = data.find(b"\x21\xff\x0b" + _GIF_XMP_ID)
    if at >= 0:
        start = at + 3 + len(_GIF_XMP_ID)
        window = data[start : start + MAX_XMP_BYTES]
        end = window.find(b"<?xpacket end")
        if end >= 0:
            close = window.find(b">", end)
            window = window[: close + 1 if close >= 0 else len(window)]
        meta.xmp.append(("GIF XMP application extension", window))
    # Comments: walk the block structure.
    n = len(data)
    if n < 13:
        return
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    blocks = 0
    while pos < n and blocks < MAX_CHUNKS:
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            return
        if introducer == 0x21 and pos + 1 < n:
            label = data[pos + 1]
            pos, body, blocks = _gif_sub_blocks(data, pos + 2, blocks, keep=label == 0xFE)
            if label == 0xFE and body:
                meta.add_text("GIF comment extension", "Comment", decode_text(body, latin1_fallback=True))
        elif introducer == 0x2C and pos + 10 <= n:
            packed = data[pos + 9]
            pos += 10 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
            pos += 1  # LZW minimum code size
            pos, _, blocks = _gif_sub_blocks(data, pos, blocks, keep=False)
        else:
            meta.note("GIF block structure damaged; stopped reading")
            return
    if blocks >= MAX_CHUNKS:
        meta.note(f"GIF has more than {MAX_CHUNKS} blocks; the rest was not read")


def _gif_sub_blocks(data: bytes, pos: int, blocks: int, *, keep: bool) -> tuple[int, bytes, int]:
    n = len(data)
    parts: list[bytes] = []
    kept = 0
    while pos < n and blocks < MAX_CHUNKS:
        blocks += 1
        size = data[pos]
        pos += 1
        if size == 0:
            break
        if keep and kept < MAX_FIELD_CHARS:
            parts.append(data[pos : pos + size])
            kept += size
        pos += size
    return pos, b"".join(parts), blocks


# ---------------------------------------------------------------------- TIFF


def _read_tiff(data: bytes, meta: RawMetadata) -> None:
    # The whole file is TIFF-structured: IFD0 holds Make/Model/Software and XMP (tag 700).
    meta.exif.append(("TIFF IFD0", data))
