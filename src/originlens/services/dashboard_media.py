"""Media helpers for the dashboard: one frame of a stored video (timeline thumbnails), what an
upload is (image, video or recording, told apart by content), and byte ranges for the player.

Uses the decoding internals of ``originlens.media.video`` (the same demuxers, rotation and
limits as the analysis), because that module's public API samples sets of frames only.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from originlens.media import video as media

THUMBNAIL_DEADLINE_S = 20.0


def frame_at(path: Path, timestamp: float) -> Image.Image | None:
    """The upright RGB frame shown at ``timestamp`` seconds, or ``None`` if none decodes."""
    limits = media.VideoLimits(deadline_s=THUMBNAIL_DEADLINE_S)
    clock = media._Clock(limits.deadline_s)
    stats = media.DecodeStats()
    mime = media._sniff(path)
    if media._DEMUXERS[mime] is None:
        webp = media._WebPSource(path, limits, clock, stats)
        try:
            frames = media._grab_webp(webp, [webp.index_at(timestamp)])
        finally:
            webp.close()
    else:
        src = media._AVSource(path, mime, limits, clock, stats)
        try:
            info = media._probe_av(src, path)
            frames = media._grab_av(src, info, [max(0.0, timestamp)])
        finally:
            src.close()
    return frames[0].image if frames else None


# ------------------------------------------------------------------------ what an upload is


# ----------------------------------------------------------------------------- byte ranges


class RangeNotSatisfiableError(Exception):
    """The ``Range`` header asks for bytes the file does not have (HTTP 416)."""


MAX_RANGE_BYTES = 4 * 1024 * 1024
"""A ranged answer carries at most this much: a media element asks again for what follows."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes a ``Range: bytes=...`` header asks for (one range,
    open ends capped at :data:`MAX_RANGE_BYTES`), or ``None`` for the whole file (no header, or
    one this server does not honour, such as several ranges)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header.removeprefix("bytes=").strip().partition("-")
    try:
        if not first_text:  # the last N bytes
            suffix = int(last_text)
            if suffix <= 0:
                raise RangeNotSatisfiableError(header)
            first, last = max(0, size - suffix), size - 1
        else:
            first = int(first_text)
            last = int(last_text) if last_text else first + MAX_RANGE_BYTES - 1
    except ValueError:
        return None
    if last < first:
        return None  # not a valid range: ignored, as RFC 9110 says
    if first >= size:
        raise RangeNotSatisfiableError(header)
    return first, min(last, size - 1)


def read_bytes(path: Path, first: int, last: int) -> bytes:
    with path.open("rb") as file:
        file.seek(first)
        return file.read(last - first + 1)
