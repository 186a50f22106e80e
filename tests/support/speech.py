"""Recordings for the speech tests: real speech from ``../shared/speech/eval`` (clips joined into
longer recordings) and signals that are not speech, encoded with the project's own encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from originlens.audio.features import encode_audio
from originlens.media.audio import read_audio
from tests.support.shared_data import SHARED

SPEECH_EVAL = SHARED / "speech" / "eval"
RATE = 16_000

needs_speech = pytest.mark.skipif(
    not SPEECH_EVAL.is_dir(), reason=f"shared speech data not found beside the repository ({SPEECH_EVAL})"
)


def speech_files(label: str, system: str | None = None) -> list[Path]:
    """The eval clips of one class (``human`` or ``synthetic``), optionally of one system's folder."""
    pattern = f"{system}/*.flac" if system else "*/*.flac"
    return sorted((SPEECH_EVAL / label).glob(pattern))


def joined_speech(files: list[Path], seconds: float, gap_s: float = 0.2) -> np.ndarray:
    """Clips read in order and joined (a short pause between them) until ``seconds`` are reached."""
    pause = np.zeros(int(gap_s * RATE), np.float32)
    parts: list[np.ndarray] = []
    total = 0
    for path in files:
        parts += [read_audio(path).samples, pause]
        total += parts[-2].size + pause.size
        if total >= seconds * RATE:
            break
    return np.concatenate(parts)[: int(seconds * RATE)]


def speech_recording(label: str, seconds: float, codec: str = "mp3", system: str | None = None) -> bytes:
    """A recording of joined ``label`` clips, encoded with ``codec`` (64 kbps for lossy codecs)."""
    samples = joined_speech(speech_files(label, system), seconds)
    return encode_audio(samples, codec, bitrate=64_000 if codec in ("mp3", "opus", "aac") else None)


def silence(seconds: float, codec: str = "wav") -> bytes:
    return encode_audio(np.zeros(int(seconds * RATE), np.float32), codec)


def chord(seconds: float, codec: str = "wav") -> bytes:
    """A held A-major chord with harmonics: music-like, no voice."""
    t = np.arange(int(seconds * RATE)) / RATE
    notes = (220.0, 277.18, 329.63)
    signal = sum(np.sin(2 * np.pi * f * k * t) / (k * len(notes)) for f in notes for k in (1, 2, 3))
    return encode_audio((0.3 * signal).astype(np.float32), codec)
