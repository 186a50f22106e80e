"""A deterministic corpus of malformed media: what an attacker or a broken client sends.

Every accepted image format and video container (still and animated), then for each of them
truncations, bit flips and wrong magic numbers; files declaring huge sizes; decompression
bombs; polyglots; SVG and other look-alikes. The same seed gives the same bytes.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import zlib
from functools import cache
from pathlib import Path

import av
import numpy as np
from PIL import Image

SEED = 14
W, H = 48, 32


def _frames(count: int) -> list[np.ndarray]:
    y, x = np.mgrid[0:H, 0:W]
    return [
        np.stack([(x * 5 + t * 9) % 256, (y * 7) % 256, np.full_like(x, 40 + 20 * t)], axis=2).astype(np.uint8)
        for t in range(count)
    ]


def _still(fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.fromarray(_frames(1)[0]).convert(mode).save(out, format=fmt, **save)
    return out.getvalue()


def _animated(fmt: str) -> bytes:
    images = [Image.fromarray(f) for f in _frames(6)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def _video(container: str, suffix: str, codec: str = "mpeg4") -> bytes | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"clip{suffix}"
        try:
            with av.open(str(path), "w", format=container) as out:
                stream = out.add_stream(codec, rate=10)
                stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
                for a in _frames(8):
                    out.mux(stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")))
                out.mux(stream.encode())
        except Exception:  # an encoder this FFmpeg build lacks: that container is left out
            return None
        return path.read_bytes()


def valid_bases() -> dict[str, bytes]:
    """One small valid file per accepted format and container."""
    bases = {
        "png": _still("PNG"),
        "jpeg": _still("JPEG", quality=80),
        "jpeg-progressive": _still("JPEG", progressive=True),
        "gif": _still("GIF"),
        "gif-animated": _animated("GIF"),
        "webp": _still("WEBP"),
        "webp-animated": _animated("WEBP"),
        "tiff": _still("TIFF"),
        "tiff-multipage": _animated("TIFF"),
        "png-animated": _animated("PNG"),
    }
    for name, container, suffix, codec in (
        ("mp4", "mp4", ".mp4", "mpeg4"),
        ("mov", "mov", ".mov", "mpeg4"),
        ("mkv", "matroska", ".mkv", "mpeg4"),
        ("avi", "avi", ".avi", "mpeg4"),
        ("mpegts", "mpegts", ".ts", "mpeg4"),
        ("webm", "webm", ".webm", "libvpx"),
        ("flv", "flv", ".flv", "flv"),
    ):
        data = _video(container, suffix, codec)
        if data is not None:
            bases[name] = data
    return bases


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_declaring(width: int, height: int, idat: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _huge_declarations() -> dict[str, bytes]:
    jpeg = bytearray(_still("JPEG"))
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 65500, 65500)
    gif = bytearray(_still("GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)
    tiff = Image.new("L", (1, 1))
    out = io.BytesIO()
    tiff.save(out, "TIFF")
    tiff_bytes = bytearray(out.getvalue())
    canvas = b"\xff\xff\x3f\xff\xff\x3f"  # 16384 x 16384, the format's largest
    webp = b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10) + b"\x00" * 4 + canvas
    mp4 = _video("mp4", ".mp4") or b""
    at = mp4.find(b"tkhd")
    mp4_huge = bytearray(mp4)
    if at > 0:
        mp4_huge[at + 80 : at + 88] = struct.pack(">II", 0x7FFF0000, 0x7FFF0000)
    return {
        "png-65535x65535": _png_declaring(65535, 65535),
        "png-1x4294967295": _png_declaring(1, 0xFFFFFFFF),
        "png-0x0": _png_declaring(0, 0),
        "jpeg-65500x65500": bytes(jpeg),
        "gif-65535x65535": bytes(gif),
        "tiff-declared": bytes(tiff_bytes[:8]) + b"\x02\x00" + struct.pack("<HHII", 256, 4, 1, 0xFFFFFFFF) * 2,
        "webp-vp8x-16384x16384": webp,
        "mp4-tkhd-huge": bytes(mp4_huge),
    }


def _bombs() -> dict[str, bytes]:
    """Small files that decode to far more pixels than allowed (the limit must refuse them first)."""
    side = 6000  # 36 MP of zeros: a few hundred kB compressed
    raw = zlib.compress((b"\x00" + b"\x00" * side * 3) * side, 9)
    gif = Image.new("P", (4000, 4000))
    gif_out = io.BytesIO()
    gif.save(gif_out, "GIF")
    webp_out = io.BytesIO()
    Image.new("RGB", (9000, 9000)).save(webp_out, "WEBP", quality=1)
    return {
        "bomb-png-36mp": _png_declaring(side, side, raw),
        "bomb-gif-16mp": gif_out.getvalue(),
        "bomb-webp-81mp": webp_out.getvalue(),
        "bomb-png-zlib-only": _png_declaring(50000, 50000, zlib.compress(b"\x00" * 5_000_000, 9)),
    }


def _polyglots(bases: dict[str, bytes]) -> dict[str, bytes]:
    html = b"<html><script>alert(1)</script></html>"
    zip_tail = b"PK\x03\x04" + b"\x00" * 26 + b"PK\x05\x06" + b"\x00" * 18
    out = {
        "png+zip": bases["png"] + zip_tail,
        "png+html": bases["png"] + html,
        "gif+js": b"GIF89a/*" + bases["gif"][8:] + b"*/=1;alert(1)",
        "jpeg+mp4": bases["jpeg"] + bases.get("mp4", b""),
        "mp4+png": bases.get("mp4", b"") + bases["png"],
        "png-magic+mp4": b"\x89PNG\r\n\x1a\n" + bases.get("mp4", b""),
        "ftyp+png": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bases["png"],
        "riff-webp+avi": b"RIFF" + struct.pack("<I", 100) + b"WEBP" + bases.get("avi", b"")[12:],
        "riff-avi-header-webp-body": b"RIFF" + struct.pack("<I", 100) + b"AVI " + bases["webp"][12:],
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        "html": html,
        "empty": b"",
        "one-byte": b"\x89",
        "zeros": b"\x00" * 4096,
        "random": random.Random(SEED).randbytes(4096),
    }
    return out


def _svgs() -> dict[str, bytes]:
    return {
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        "svg-xml-decl": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        "svg-script": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
        "svg-billion-laughs": (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg>&b;</svg>'
        ),
        "svg-huge": b'<svg xmlns="http://www.w3.org/2000/svg" width="100000000" height="100000000"/>',
        "svg-gzip": zlib.compress(b"<svg/>"),
    }


MAGICS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBP"]


def _mutations(name: str, data: bytes, rng: random.Random, flips: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for fraction in (0.02, 0.1, 0.5, 0.9, 0.99):
        out[f"{name}-truncated-{fraction}"] = data[: max(1, int(len(data) * fraction))]
    for i in range(flips):
        flipped = bytearray(data)
        for _ in range(1 + i % 4):
            at = rng.randrange(len(flipped)) if i % 2 else rng.randrange(min(len(flipped), 256))  # headers too
            flipped[at] ^= 1 << rng.randrange(8)
        out[f"{name}-bitflip-{i}"] = bytes(flipped)
    for i, magic in enumerate(rng.sample(MAGICS, 3)):
        out[f"{name}-magic-{i}"] = magic + data[len(magic) :]
    return out


@cache
def corpus() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) for every input, in a fixed order."""
    rng = random.Random(SEED)
    bases = valid_bases()
    items: dict[str, bytes] = {}
    for name, data in bases.items():
        items[name] = data
        items.update(_mutations(name, data, rng, flips=22))
    items.update(_huge_declarations())
    items.update(_bombs())
    items.update(_polyglots(bases))
    items.update(_svgs())
    return tuple(items.items())
