"""Which kind of media a file is (image, video or recording), from its content alone: one rule
for the dashboard's upload and ``originlens classify`` (the API has a route per kind).

Some containers hold a recording as often as a video (MP4/3GP without an M4A brand, Ogg,
WebM/Matroska); their first bytes say ``"either"`` and only their tracks tell
(:func:`has_picture_track`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from originlens.media.audio import demuxer_for, sniff_audio_type
from originlens.media.images import sniff_image_type
from originlens.media.video import sniff_video_type

Kind = Literal["image", "video", "audio", "either"]

AUDIO_ONLY_TYPES = frozenset(
    {"audio/mpeg", "audio/wav", "audio/flac", "audio/aiff", "audio/amr", "audio/aac", "audio/mp4"}
)
"""Sniffed audio types that are never a video: MP3, WAV, FLAC, AIFF, AMR, ADTS AAC and the
M4A/M4B/M4P/M4R brands of MP4."""


def sniff_kind(head: bytes) -> tuple[Kind, str] | None:
    """``(kind, MIME type)`` from a file's first bytes, or ``None`` when it is none of the three.

    For ``"either"`` the MIME type is the audio one (its demuxer reads both kinds of track).
    """
    image = sniff_image_type(head[:32])
    if image is not None:
        return "image", image
    audio = sniff_audio_type(head)
    if audio in AUDIO_ONLY_TYPES:
        return "audio", audio
    video = sniff_video_type(head)
    if audio is not None and video is not None:
        return "either", audio
    if video is not None:
        return "video", video
    if audio is not None:
        return "audio", audio
    return None


def has_picture_track(path: Path, mime: str) -> bool | None:
    """Whether the container holds a video track (a cover picture does not count); ``None`` when
    it cannot even be opened (the analysis then says why). Reads the headers only, with the
    demuxer forced to ``mime``."""
    import av

    try:
        with av.open(str(path), mode="r", format=demuxer_for(mime), metadata_errors="replace") as container:
            return any(not (s.disposition & av.stream.Disposition.attached_pic) for s in container.streams.video)
    except Exception:  # FFmpeg raises many error types for unreadable input
        return None
