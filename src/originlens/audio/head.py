"""The speech head (issue 15, detector part only): numpy inference of the calibrated logistic
head that ``scripts/train_speech.py`` writes to ``audio/models/speech_head.json``.

A signal first passes the speech gate (the energy VAD, then Silero VAD when silero-vad is
installed: :mod:`originlens.audio.vad`). It is then cut into 1 s windows (hop 0.5 s); each
window's pooled features (:data:`originlens.audio.features.FEATURE_SETS`) give a logit, the
clip's logit is the mean over the windows with speech, and Platt scaling gives ``p`` =
P(synthetic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from originlens.audio import features as F
from originlens.audio.vad import default_vad
from originlens.detectors.heads import CALIBRATION_FIELDS, CalibratedLogisticHead

DEFAULT_HEAD_PATH = Path(__file__).parent / "models" / "speech_head.json"


@dataclass(frozen=True)
class SpeechScore:
    verdict: str  # "synthetic", "human", "unknown", "no_speech", "too_little_speech"
    p_synthetic: float | None
    speech_seconds: float
    window_p: list[float] = field(default_factory=list)
    vad: str = "energy"  # "silero" when Silero VAD confirmed the speech (or found none), else "energy"


@dataclass(frozen=True)
class RecordingWindows:
    """The 1 s windows of a recording: centre (seconds), logit and seconds of speech of each."""

    centres_s: np.ndarray
    logits: np.ndarray
    speech_s: np.ndarray


class SpeechHead(CalibratedLogisticHead):
    label: ClassVar[str] = "speech"
    REQUIRED: ClassVar[tuple[str, ...]] = (*CALIBRATION_FIELDS, "validation", "feature_set", "feature_spec_version")

    def _read(self, data: dict[str, Any]) -> None:
        if data["feature_spec_version"] != F.FEATURE_SPEC_VERSION:
            raise ValueError(f"speech head was trained on {data['feature_spec_version']}, not {F.FEATURE_SPEC_VERSION}")
        self.feature_set = str(data["feature_set"])
        self.columns = F.block_columns(self.feature_set)
        self.window_s = float(data.get("window_s", 1.0))
        self.hop_s = float(data.get("hop_s", 0.5))
        self.min_window_speech_s = float(data.get("min_window_speech_s", 0.3))
        self.min_clip_speech_s = float(data.get("min_clip_speech_s", 0.5))
        self.use_silero = True

    def _n_features(self) -> int | None:
        return int(self.columns.size)

    @classmethod
    def load(cls, path: Path = DEFAULT_HEAD_PATH, use_silero: bool = True) -> SpeechHead:
        """The head from its JSON; ``use_silero`` gates on Silero VAD when silero-vad is installed
        (see :mod:`originlens.audio.vad`), else on the energy VAD alone."""
        head = cls(json.loads(path.read_text(encoding="utf-8")))
        head.use_silero = use_silero
        return head

    def _gate(self, x: np.ndarray) -> tuple[str, float, str]:
        """(verdict, speech seconds, which VAD): the energy VAD first (cheap; silence, tones and
        steady noise), then Silero VAD, which must find speech too (music, hum, noise bursts)."""
        vad = F.voice_activity(x)
        verdict = vad.verdict(self.min_clip_speech_s)
        silero = default_vad() if self.use_silero else None
        if verdict != "speech" or silero is None:
            return verdict, vad.speech_seconds, "energy"
        found = silero.speech_seconds(x, stop_after=self.min_clip_speech_s)
        if found < 0.2:
            return "no_speech", 0.0, "silero"  # a few stray chunks are not speech
        if found < self.min_clip_speech_s:
            return "too_little_speech", found, "silero"
        return "speech", vad.speech_seconds, "silero"

    def windows(self, x: np.ndarray) -> RecordingWindows:
        """Every 1 s window's logit, computed once over the whole signal."""
        feats, speech = F.window_features(x, "all", self.window_s, self.hop_s)
        logits = np.atleast_1d(self.logits(feats[:, self.columns]))
        starts = np.asarray(F.window_starts(x.size, self.window_s, self.hop_s), dtype=np.float64) / F.SAMPLE_RATE
        centres = starts + min(self.window_s, x.size / F.SAMPLE_RATE) / 2
        return RecordingWindows(centres_s=centres, logits=logits, speech_s=np.asarray(speech))

    def _judge(self, logits: np.ndarray, speech: np.ndarray, speech_seconds: float, which: str) -> SpeechScore:
        """The clip's score from its windows: the mean logit of those with enough speech."""
        use = speech >= self.min_window_speech_s
        p = self.calibrate(float(np.mean(logits[use] if use.any() else logits)))
        window_p = [round(self.calibrate(float(v)), 4) for v in logits]
        if self.abstain_low < p < self.abstain_high:
            verdict = "unknown"
        else:
            verdict = "synthetic" if p >= self.threshold else "human"
        return SpeechScore(verdict=verdict, p_synthetic=p, speech_seconds=speech_seconds, window_p=window_p, vad=which)

    def score(self, samples: np.ndarray) -> SpeechScore:
        """Score mono 16 kHz float samples (see :func:`originlens.audio.features.decode_audio`)."""
        return self.score_parts(samples, [(0.0, np.asarray(samples).size / F.SAMPLE_RATE)])[0]

    def score_parts(self, samples: np.ndarray, bounds: list[tuple[float, float]]) -> list[SpeechScore]:
        """Score each ``(start, end)`` seconds of one recording (e.g. the whole, then its chunks).

        Each part passes the speech gate on its own samples; its score is then read from the
        windows whose centre lies in it, computed once over the whole recording (so a long
        recording costs one feature pass, not one per chunk, and a window's features see the
        recording's level, as in :meth:`score` of the whole).
        """
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        windows: RecordingWindows | None = None
        out: list[SpeechScore] = []
        for start, end in bounds:
            part = x[round(start * F.SAMPLE_RATE) : round(end * F.SAMPLE_RATE)]
            verdict, speech_seconds, which = self._gate(part)
            if verdict != "speech":
                out.append(SpeechScore(verdict=verdict, p_synthetic=None, speech_seconds=speech_seconds, vad=which))
                continue
            if windows is None:
                windows = self.windows(x)
            inside = (windows.centres_s >= start) & (windows.centres_s < end)
            if not inside.any():  # a part shorter than the hop: the window nearest its middle
                inside = np.zeros(windows.centres_s.size, dtype=bool)
                inside[int(np.argmin(np.abs(windows.centres_s - (start + end) / 2)))] = True
            out.append(self._judge(windows.logits[inside], windows.speech_s[inside], speech_seconds, which))
        return out
