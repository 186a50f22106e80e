"""Recognise audio files by content and decode them safely to mono 16 kHz float samples.

As for videos (``media/video.py``), the client's filename and Content-Type are never trusted:
the first bytes decide the type, and FFmpeg's demuxer is then *forced* to that format so it
never guesses. Decoding runs under :class:`AudioLimits` (a duration cap read from the header
and enforced while decoding, and a wall-clock deadline); every failure is an
:class:`AudioError` whose message is a sentence meant for the client.
"""

from __future__ import annotations

import io
import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Every detector reads mono float32 samples at this rate."""
SNIFF_BYTES = 512
ACCEPTED_AUDIO_FORMATS = "MP3, WAV, OGG (Vorbis/Opus), FLAC, AAC, 3GP/AMR, M4A/M4B/M4P/M4R, MP4, WebM"

# MIME type -> the FFmpeg demuxer forced for it
_DEMUXERS = {
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "audio/mp4": "mov",
    "audio/3gpp": "mov",
    "video/mp4": "mov",
    "audio/webm": "matroska",
    "audio/amr": "amr",
    "audio/aiff": "aiff",
}
_STILL_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis", b"crx "}
_M4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"M4R ", b"F4A ", b"F4B "}


class AudioError(ValueError):
    """The file cannot be analysed as audio; the message is a sentence for the client."""


class NoAudioStreamError(AudioError):
    """The container holds no audio stream (e.g. a silent video)."""


class AudioTooLongError(AudioError):
    pass


@dataclass(frozen=True)
class AudioLimits:
    max_duration_s: float = 3600.0
    deadline_s: float = 120.0


@dataclass(frozen=True)
class DecodedAudio:
    """A recording as the detectors see it, plus what the container says about itself."""

    samples: np.ndarray
    """Mono float32 in [-1, 1] at :data:`SAMPLE_RATE`."""
    codec: str = ""
    container: str = ""
    source_rate: int = 0
    channels: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    """Container and stream metadata (ID3, Vorbis comments, MP4 atoms) with lower-case keys."""

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return float(self.samples.size) / SAMPLE_RATE

    def segment(self, start_s: float, end_s: float) -> DecodedAudio:
        """The same recording cut to ``[start_s, end_s)`` seconds (tags kept)."""
        a, b = round(start_s * SAMPLE_RATE), round(end_s * SAMPLE_RATE)
        return DecodedAudio(
            samples=self.samples[a:b],
            codec=self.codec,
            container=self.container,
            source_rate=self.source_rate,
            channels=self.channels,
            tags=self.tags,
        )


def _mpeg_audio_sync(head: bytes) -> str | None:
    """``audio/mpeg`` or ``audio/aac`` when ``head`` starts with an MPEG audio frame header."""
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x03
    if layer == 0:  # ADTS: MPEG-2/4 AAC (the layer bits are always 00)
        return "audio/aac" if (head[1] & 0xF6) == 0xF0 else None
    bitrate_index = head[2] >> 4
    rate_index = (head[2] >> 2) & 0x03
    if (head[1] >> 3) & 0x03 == 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved version, free/bad bitrate or reserved rate: not a frame header
    return "audio/mpeg"


def sniff_audio_type(head: bytes) -> str | None:
    """The audio MIME type from the first bytes (:data:`SNIFF_BYTES` is enough), or None.

    MP4/3GP containers are accepted whatever their brand (an MP4 video's speech track can be
    analysed); a still-image brand (HEIC, AVIF) is not audio.
    """
    if head[:3] == b"ID3":
        return "audio/mpeg"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[:6] in (b"#!AMR\n", b"#!AMR-"):
        return "audio/amr"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _STILL_BRANDS:
            return None
        if brand in _M4_BRANDS:
            return "audio/mp4"
        if brand[:3] in (b"3gp", b"3g2"):
            return "audio/3gpp"
        return "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    return _mpeg_audio_sync(head)


def _type_after_id3(source: str | Path | bytes) -> str | None:
    """The type of what follows a leading ID3v2 tag, when that is not MPEG audio.

    An ID3 tag may sit in front of other formats too: c2pa-rs signs a FLAC by putting its
    manifest in an ID3 GEOB frame before ``fLaC``. The tag (kilobytes, with a manifest) is longer
    than the sniffed head, so it is skipped here, where the whole file is at hand.
    """
    if isinstance(source, bytes):
        head = source[:10]
    else:
        with Path(source).open("rb") as file:
            head = file.read(10)
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return None
    size = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]) + (10 if head[5] & 0x10 else 0)
    if isinstance(source, bytes):
        after = source[size : size + SNIFF_BYTES]
    else:
        with Path(source).open("rb") as file:
            file.seek(size)
            after = file.read(SNIFF_BYTES)
    inner = sniff_audio_type(after)
    return inner if inner not in (None, "audio/mpeg") else None


def demuxer_for(mime: str) -> str | None:
    """The FFmpeg demuxer forced for a sniffed type (``None``: let FFmpeg probe)."""
    return _DEMUXERS.get(mime)


class _Clock:
    def __init__(self, deadline_s: float) -> None:
        self.start = time.monotonic()
        self.deadline_s = deadline_s

    def check(self) -> None:
        if time.monotonic() - self.start > self.deadline_s:
            raise AudioError(f"decoding the audio took longer than {self.deadline_s:g} s")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} minutes" if seconds >= 120 else f"{seconds:.0f} s"


def _tags(container: Any, stream: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in (container.metadata, stream.metadata):
        for key, value in dict(source or {}).items():
            tags.setdefault(str(key).lower(), str(value)[:2000])
    return tags


def read_audio(
    source: str | Path | bytes,
    mime: str | None = None,
    limits: AudioLimits | None = None,
) -> DecodedAudio:
    """Decode the first audio stream of ``source`` (a path or the bytes) to mono 16 kHz.

    ``mime`` is the sniffed type (sniffed here when not given); the demuxer is forced to it.
    Raises :class:`AudioError` (a sentence for the client) for anything that cannot be read.
    """
    limits = limits or AudioLimits()
    if mime is None:
        if isinstance(source, bytes):
            head = source[:SNIFF_BYTES]
        else:
            with Path(source).open("rb") as file:
                head = file.read(SNIFF_BYTES)
        mime = sniff_audio_type(head)
        if mime is None:
            raise AudioError(f"the file is not in an audio format this service reads ({ACCEPTED_AUDIO_FORMATS})")
    if mime == "audio/mpeg":
        mime = _type_after_id3(source) or mime
    clock = _Clock(limits.deadline_s)
    opened = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(opened, mode="r", format=demuxer_for(mime))
    except Exception as exc:  # FFmpeg raises many error types for unreadable input
        log.info("audio open failed: %s", exc)
        raise AudioError("the file could not be opened as audio: its data is damaged or truncated") from exc
    try:
        return _decode(container, limits, clock)
    except AudioError:
        raise
    except Exception as exc:
        log.info("audio decoding failed: %s: %s", type(exc).__name__, exc, exc_info=True)
        raise AudioError("the audio data is damaged or uses a codec the decoder does not support") from exc
    finally:
        container.close()


def _decode(container: Any, limits: AudioLimits, clock: _Clock) -> DecodedAudio:
    streams = container.streams.audio
    if not streams:
        raise NoAudioStreamError("the file has no audio track")
    stream = streams[0]
    claimed = float(container.duration) / av.time_base if container.duration else None
    if claimed is not None and claimed > limits.max_duration_s + 1:
        raise AudioTooLongError(
            f"the recording is {_minutes(claimed)} long; at most {_minutes(limits.max_duration_s)} are analysed"
        )
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    cap = int((limits.max_duration_s + 1) * SAMPLE_RATE)
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1)
            chunks.append(chunk)
            total += chunk.size
        if total > cap:
            raise AudioTooLongError(f"the recording is longer than {_minutes(limits.max_duration_s)}, the limit")
        clock.check()
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size == 0:
        raise AudioError("the audio track holds no decodable sound")
    codec = stream.codec_context
    return DecodedAudio(
        samples=np.clip(np.nan_to_num(samples), -1.0, 1.0),
        codec=str(getattr(codec, "name", "") or ""),
        container=str(container.format.name or ""),
        source_rate=int(getattr(codec, "sample_rate", 0) or 0),
        channels=int(getattr(codec, "channels", 0) or 0),
        tags=_tags(container, stream),
    )


def waveform_envelope(samples: np.ndarray, points: int = 400) -> list[float]:
    """Peak amplitude of ``points`` equal slices: enough to draw the recording's waveform."""
    x = np.abs(np.asarray(samples, dtype=np.float32))
    if x.size == 0:
        return []
    points = max(1, min(points, x.size))
    edges = np.linspace(0, x.size, points + 1).astype(int)
    return [round(float(x[a:b].max()), 4) if b > a else 0.0 for a, b in itertools.pairwise(edges)]
