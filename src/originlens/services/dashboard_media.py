"""One frame of a stored video at a timestamp, for the dashboard's timeline thumbnails.

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
