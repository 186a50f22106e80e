"""Recordings as users upload them, for the command line, client and bench tests: real speech
(``tests.support.speech``) in an MP3, an M4A, or an MP4 with or without a picture; and a tone."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from originlens.audio.features import SAMPLE_RATE, encode_audio
from tests.support.speech import joined_speech, speech_files


def speech(label: str, seconds: float) -> np.ndarray:
    """``seconds`` of one class's eval clips (``human`` or ``synthetic``) joined, mono 16 kHz."""
    return joined_speech(speech_files(label), seconds)


def write_mp3(path: Path, samples: np.ndarray, bitrate: int = 64_000) -> Path:
    path.write_bytes(encode_audio(samples, "mp3", bitrate=bitrate))
    return path


def write_mp4_audio(path: Path, samples: np.ndarray, container: str = "mp4", picture: bool = False) -> Path:
    """``samples`` as AAC in an MP4 family container: ``mp4`` (``isom`` brand) or ``ipod``
    (``M4A `` brand); ``picture`` adds a video track of grey frames as long as the sound."""
    with av.open(str(path), "w", format=container) as out:
        sound = out.add_stream("aac", rate=SAMPLE_RATE)
        sound.layout = "mono"
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
