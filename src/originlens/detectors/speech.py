"""The speech detector: is this voice a person's, or synthesised (TTS, voice cloning,
voice conversion)? A calibrated head on short-time spectral statistics of 1 s windows
(``audio/head.py``; model card ``docs/models/speech.md``).

It judges speech only: on music, tones, noise or silence it says ``unknown`` with the reason
("no speech found", "too little speech") instead of guessing.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.heads import relevance_from_head

HEAD_PATH = Path(__file__).resolve().parent.parent / "audio" / "models" / "speech_head.json"


def audio_samples(media: MediaInput) -> np.ndarray:
    """Mono 16 kHz samples of an audio input: decoded by the media layer, or decoded here."""
    decoded = media.decoded
    if decoded is None:
        from originlens.media.audio import read_audio

        decoded = read_audio(media.data)
        object.__setattr__(media, "decoded", decoded)
    samples = getattr(decoded, "samples", decoded)
    return np.asarray(samples, dtype=np.float32).reshape(-1)


class SpeechDetector(Detector):
    name = "speech"
    version = "1.0"
    kind = "statistical"
    modalities = ("audio",)
    media_types = ("audio/", "video/")
    obsolete = False
    relevance = 0.5
    """Replaced at import time by the head's leave-source-out validation AUC."""

    def __init__(self, head_path: Path = HEAD_PATH, votes: bool = True) -> None:
        super().__init__()
        self.votes = votes
        self._head_path = head_path
        self._head: Any = None
        self._load_error: str | None = None

    def _load(self) -> None:
        try:
            from originlens.audio.head import SpeechHead

            self._head = SpeechHead.load(self._head_path)
        except Exception as exc:  # reported per request as unknown, never raised
            self._head = None
            self._load_error = self.load_failed(exc)

    def _predict(self, media: MediaInput) -> Prediction:
        samples, failed = self._samples(media)
        if failed is not None:
            return failed
        return self._prediction(self._head.score(samples), samples.size / 16_000)

    def predict_parts(self, media: MediaInput, bounds: list[tuple[float, float]]) -> list[Prediction]:
        """One feature pass over the recording, read per part (``SpeechHead.score_parts``)."""
        if not self.accepts(media):
            return super().predict_parts(media, bounds)
        started = time.perf_counter()
        self.load()
        samples, failed = self._samples(media)
        if failed is not None:
            return [failed for _ in bounds]
        scores = self._head.score_parts(samples, bounds)
        each = round((time.perf_counter() - started) / max(1, len(bounds)), 6)
        return [
            replace(self._prediction(score, end - start), elapsed_time=each)
            for score, (start, end) in zip(scores, bounds, strict=True)
        ]

    def _samples(self, media: MediaInput) -> tuple[np.ndarray, Prediction | None]:
        if self._head is None:
            return np.zeros(0, np.float32), self.unknown(f"the speech model is unavailable: {self._load_error}")
        try:
            return audio_samples(media), None
        except Exception as exc:
            return np.zeros(0, np.float32), self.unknown_because("the recording could not be decoded", exc)

    def _prediction(self, score: Any, duration_s: float) -> Prediction:
        head = self._head
        details: dict[str, Any] = {
            "speech_seconds": round(score.speech_seconds, 2),
            "duration_seconds": round(duration_s, 2),
        }
        if score.verdict == "no_speech":
            return self.unknown("no speech found: the model judges voices only, not music, noise or silence", **details)
        if score.verdict == "too_little_speech":
            return self.unknown(
                f"too little speech: {score.speech_seconds:.1f} s of speech found, "
                f"at least {head.min_clip_speech_s:g} s are needed",
                **details,
            )
        p = float(score.p_synthetic)
        details.update(
            calibrated_p=round(p, 4),
            threshold=round(head.threshold, 4),
            abstain_band=[round(head.abstain_low, 4), round(head.abstain_high, 4)],
            windows=len(score.window_p),
        )
        return head.judge(self, p, details)


SpeechDetector.relevance = relevance_from_head(HEAD_PATH)

__all__ = ["SpeechDetector", "audio_samples"]
