"""Safe XMP packet reading with the standard library.

The packet is size-capped, refused outright when it carries a DOCTYPE or ENTITY declaration
(no entity expansion is ever possible), then parsed with ``xml.etree``. Elements are visited
with the iterative ``Element.iter()``, so deep nesting costs no recursion. A packet that is
not well-formed XML is scanned with bounded regular expressions instead.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from originlens.detectors.metadata.containers import MAX_FIELD_CHARS, MAX_XMP_BYTES

_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MAX_ELEMENTS = 20_000

# Local property names (lower case) read as text fields; the value is the key given to parsers.
_TEXT_PROPERTIES = {
    "creatortool": "CreatorTool",
    "software": "Software",
    "description": "description",
    "credit": "Credit",
    "usercomment": "UserComment",
    "aigc": "AIGC",
    "aisystemused": "AISystemUsed",
    "aisystemversionused": "AISystemVersionUsed",
    "aipromptinformation": "AIPromptInformation",
    "parameters": "parameters",
}
_CAMERA_PROPERTIES = {
    "make": "make",
    "model": "model",
    "exposuretime": "exposure_time",
    "fnumber": "f_number",
    "isospeedratings": "iso",
    "photographicsensitivity": "iso",
    "datetimeoriginal": "datetime_original",
    "lensmodel": "lens_model",
    "lens": "lens_model",
}
_PREFIXES = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://www.tc260.org.cn/ns/AIGC/1.0/": "TC260",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
}
_CAMERA_NAMESPACES = frozenset(
    {
        "http://ns.adobe.com/tiff/1.0/",
        "http://ns.adobe.com/exif/1.0/",
        "http://cipa.jp/exif/1.0/",
        "http://ns.adobe.com/exif/1.0/aux/",
    }
)
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@dataclass
class XmpInfo:
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    """(source, key, text)."""
    digital_source_types: list[tuple[str, str]] = field(default_factory=list)
    """(source, value as written)."""
    camera: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def parse_xmp(packet: bytes, source: str) -> XmpInfo:
    info = XmpInfo()
    if len(packet) > MAX_XMP_BYTES:
        packet = packet[:MAX_XMP_BYTES]
        info.error = f"{source}: XMP packet cut to {MAX_XMP_BYTES} bytes"
    if _DTD_RE.search(packet):
        info.error = f"{source}: XMP refused: it declares a DOCTYPE or ENTITY (entity expansion is not allowed)"
        return info
    text = _packet_text(packet)
    if not text:
        return info
    if text.count("<") > 2 * _MAX_ELEMENTS:
        info.error = f"{source}: XMP has too many elements to parse; scanned as text"
        _scan_text(text, source, info)
        return info
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        info.error = f"{source}: XMP is not well-formed XML ({str(exc)[:80]}); scanned as text"
        _scan_text(text, source, info)
        return info
    _walk(root, source, info)
    return info


def _packet_text(packet: bytes) -> str:
    if packet.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = packet.decode("utf-16", errors="replace")
    else:
        text = packet.decode("utf-8", errors="replace")
    start = text.find("<")
    end = text.rfind(">")
    if start < 0 or end <= start:
        return ""
    return text[start : end + 1]


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _qualified(uri: str, local: str) -> str:
    prefix = _PREFIXES.get(uri)
    return f"{prefix}:{local}" if prefix else local


def _walk(root: ET.Element, source: str, info: XmpInfo) -> None:
    seen = 0
    for element in root.iter():
        seen += 1
        if seen > _MAX_ELEMENTS:
            info.error = f"{source}: XMP has more than {_MAX_ELEMENTS} elements; the rest was not read"
            return
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        uri, local = _split(element.tag)
        if uri != _RDF:
            value = _element_value(element)
            if value:
                _record(uri, local, value, source, info)
        for attr, value in element.attrib.items():
            a_uri, a_local = _split(attr)
            if a_uri in (_RDF, "http://www.w3.org/XML/1998/namespace") or not value.strip():
                continue
            _record(a_uri, a_local, value.strip(), source, info)


def _element_value(element: ET.Element) -> str:
    resource = element.get(f"{{{_RDF}}}resource")
    if resource:
        return resource.strip()
    text = (element.text or "").strip()
    if text:
        return text[:MAX_FIELD_CHARS]
    # rdf:Alt / rdf:Seq / rdf:Bag with rdf:li children: the first item (x-default first).
    for child in element:
        for li in child:
            if isinstance(li.tag, str) and _split(li.tag) == (_RDF, "li"):
                value = (li.text or "").strip()
                if value:
                    return value[:MAX_FIELD_CHARS]
    return ""


def _record(uri: str, local: str, value: str, source: str, info: XmpInfo) -> None:
    lower = local.lower()
    name = _qualified(uri, local)
    if lower == "digitalsourcetype":
        info.digital_source_types.append((f"XMP {name}", value))
        return
    key = _TEXT_PROPERTIES.get(lower)
    if key and len(info.fields) < 200:
        info.fields.append((f"XMP {name}", key, value))
    camera_key = _CAMERA_PROPERTIES.get(lower)
    if camera_key and uri in _CAMERA_NAMESPACES and len(value) <= 100 and "{" not in value:
        info.camera.setdefault(camera_key, value)


# ---------------------------------------------------------------------- fallback for broken XML

_DST_AT = re.compile(
    r"DigitalSourceType\s*(?:=\s*[\"']|>|\s[^>]{0,200}?rdf:resource\s*=\s*[\"'])\s*([^\"'<>\s]{1,300})"
)
_AIGC_AT = re.compile(r"AIGC\s*(?:=\s*[\"']|>)\s*(\{[^<>]{0,20000}?\})")
_TOOL_AT = re.compile(r"CreatorTool\s*(?:=\s*[\"']([^\"'<>]{1,300})|>([^<>]{1,300})<)")
_LI_AT = re.compile(r"<rdf:li[^<>]{0,200}>([^<]{1,20000})</rdf:li>")
_MAX_TRIES = 20


def _matches(pattern: re.Pattern[str], text: str, anchor: str) -> list[re.Match[str]]:
    """Matches of ``pattern`` tried only where ``anchor`` occurs, at most ``_MAX_TRIES`` times.

    Each try is bounded by the pattern's own repetition limits, so a hostile packet costs
    at most ``_MAX_TRIES`` bounded scans instead of one scan per character.
    """
    found: list[re.Match[str]] = []
    pos = 0
    for _ in range(_MAX_TRIES):
        pos = text.find(anchor, pos)
        if pos < 0:
            break
        match = pattern.match(text, pos)
        if match:
            found.append(match)
        pos += len(anchor)
    return found


def _scan_text(text: str, source: str, info: XmpInfo) -> None:
    for match in _matches(_DST_AT, text, "DigitalSourceType"):
        info.digital_source_types.append((f"XMP DigitalSourceType ({source}, malformed packet)", match.group(1)))
    for match in _matches(_AIGC_AT, text, "AIGC")[:1]:
        info.fields.append((f"XMP AIGC ({source}, malformed packet)", "AIGC", html.unescape(match.group(1))))
    for match in _matches(_TOOL_AT, text, "CreatorTool")[:1]:
        tool = html.unescape(match.group(1) or match.group(2) or "").strip()
        if tool:
            info.fields.append((f"XMP CreatorTool ({source}, malformed packet)", "CreatorTool", tool))
    if "Job ID" in text:
        for match in _matches(_LI_AT, text, "<rdf:li"):
            value = html.unescape(match.group(1))
            info.fields.append((f"XMP description ({source}, malformed packet)", "description", value))
