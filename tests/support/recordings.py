"""Real speech recordings for tests: clips of the shared speech eval set, concatenated and
encoded like uploads are (MP3, M4A, MP4 with or without a picture)."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
import pytest

from originlens.audio.features import SAMPLE_RATE, decode_audio, encode_audio
from tests.support.shared_data import SHARED

SPEECH_EVAL = SHARED / "speech" / "eval"
SPEECH_MANIFEST = SPEECH_EVAL / "MANIFEST.csv"

needs_speech_eval = pytest.mark.skipif(
    not SPEECH_MANIFEST.is_file(), reason=f"shared speech eval set not found beside the repository ({SHARED})"
)


def speech_clips(label: str) -> list[Path]:
    """The eval set's clips of one label (``human`` or ``synthetic``), in manifest order."""
    with SPEECH_MANIFEST.open(newline="", encoding="utf-8") as handle:
        return [SPEECH_EVAL / row["file"] for row in csv.DictReader(handle) if row["label"] == label]


def speech(label: str, seconds: float) -> np.ndarray:
    """At least ``seconds`` of one label's clips back to back (mono 16 kHz), cut to ``seconds``."""
    parts, total = [], 0
    for clip in speech_clips(label):
        samples = decode_audio(clip.read_bytes())
        parts.append(samples)
        total += samples.size
        if total >= seconds * SAMPLE_RATE:
            break
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def write_mp3(path: Path, samples: np.ndarray, bitrate: int = 64_000) -> Path:
    path.write_bytes(encode_audio(samples, "mp3", bitrate=bitrate))
    return path


def write_mp4_audio(path: Path, samples: np.ndarray, container: str = "mp4", picture: bool = False) -> Path:
    """``samples`` as AAC in an MP4 family container: ``mp4`` (``isom`` brand) or ``ipod``
    (``M4A `` brand); ``picture`` adds a video track of grey frames as long as the sound."""
    with av.open(str(path), "w", format=container) as out:
        sound = out.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout = "mono"
        video = None
        if picture:
            video = out.add_stream("mpeg4", rate=5)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
            for _ in range(max(1, int(samples.size / SAMPLE_RATE * 5))):
                grey = np.full((48, 64, 3), 128, np.uint8)
                out.mux(video.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
            out.mux(video.encode())
        step = 1024
        for start in range(0, samples.size, step):
            block = np.zeros((1, step), np.float32)
            piece = samples[start : start + step]
            block[0, : piece.size] = piece
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return path


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    """A pure tone: sound, but no voice (the speech model must say "no speech found")."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
