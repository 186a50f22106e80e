"""The speech head (issue 15, detector part only): numpy inference of the calibrated logistic
head that ``scripts/train_speech.py`` writes to ``audio/models/speech_head.json``.

A signal is cut into 1 s windows (hop 0.5 s); each window's pooled features give a logit, the
clip's logit is the mean over the windows with speech, and Platt scaling gives ``p`` =
P(synthetic). No route or detector uses it yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from originlens.audio import features as F
from originlens.detectors.heads import CALIBRATION_FIELDS, CalibratedLogisticHead

DEFAULT_HEAD_PATH = Path(__file__).parent / "models" / "speech_head.json"


@dataclass(frozen=True)
class SpeechScore:
    verdict: str  # "synthetic", "human", "unknown", "no_speech", "too_little_speech"
    p_synthetic: float | None
    speech_seconds: float
    window_p: list[float] = field(default_factory=list)


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

    def _n_features(self) -> int | None:
        return int(self.columns.size)

    @classmethod
    def load(cls, path: Path = DEFAULT_HEAD_PATH) -> SpeechHead:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def score(self, samples: np.ndarray) -> SpeechScore:
        """Score mono 16 kHz float samples (see :func:`originlens.audio.features.decode_audio`)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        vad = F.voice_activity(x)
        verdict = vad.verdict(self.min_clip_speech_s)
        if verdict != "speech":
            return SpeechScore(verdict=verdict, p_synthetic=None, speech_seconds=vad.speech_seconds)
        feats, speech = F.window_features(x, "all", self.window_s, self.hop_s)
        logits = np.atleast_1d(self.logits(feats[:, self.columns]))
        use = speech >= self.min_window_speech_s
        p = self.calibrate(float(np.mean(logits[use] if use.any() else logits)))
        window_p = [round(self.calibrate(float(v)), 4) for v in logits]
        if self.abstain_low < p < self.abstain_high:
            verdict = "unknown"
        else:
            verdict = "synthetic" if p >= self.threshold else "human"
        return SpeechScore(verdict=verdict, p_synthetic=p, speech_seconds=vad.speech_seconds, window_p=window_p)
