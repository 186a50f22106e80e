"""Calibrated logistic heads: standardise -> logit -> Platt -> score with the threshold at 0.5.

Our own trained heads (``clip_probe.ProbeHead``, ``morphing.MorphHead``) are stored as JSON
and share the same math: features are standardised with the training mean/std, a linear
logistic model gives a logit, Platt scaling turns it into ``p`` = P(positive), and ``p`` is
mapped piecewise-linearly so that the operating threshold ``t`` lands on 0.5
(``[0, t] -> [0, 0.5]``, ``[t, 1] -> [0.5, 1]``). ``p`` inside the abstain band means
``unknown``; the detectors decide that. Numpy only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from originlens.detectors.base import Detector, Prediction

CALIBRATION_FIELDS = (
    "weights",
    "bias",
    "feature_mean",
    "feature_std",
    "platt_a",
    "platt_b",
    "threshold",
    "abstain_low",
    "abstain_high",
)
"""Keys every calibrated head's JSON has (in this order in ``REQUIRED``), besides its own."""


def calibrate(logit: float, a: float, b: float) -> float:
    """Platt scaling ``sigmoid(a * logit + b)``; the argument is clipped to +-50 (no overflow)."""
    z = max(min(a * logit + b, 50.0), -50.0)
    return 1.0 / (1.0 + math.exp(-z))


def score_with_threshold_at_half(p: float, t: float) -> float:
    """Piecewise-linear map of ``p`` in [0, 1] with ``t -> 0.5``, so ``p >= t`` reads as ``>= 0.5``."""
    score = 0.5 * p / t if p <= t else 0.5 + 0.5 * (p - t) / (1.0 - t)
    return float(min(max(score, 0.0), 1.0))


class CalibratedLogisticHead:
    """A head read from its JSON ``data``; subclasses name themselves in :attr:`label`, list their
    keys in ``REQUIRED`` and read their own fields in :meth:`_read`."""

    label: ClassVar[str] = "calibrated"
    REQUIRED: ClassVar[tuple[str, ...]] = (*CALIBRATION_FIELDS, "validation")

    def __init__(self, data: dict[str, Any]) -> None:
        missing = [key for key in self.REQUIRED if key not in data]
        if missing:
            raise ValueError(f"{self.label} head is missing {missing}")
        self.weights = np.asarray(data["weights"], dtype=np.float64)
        self.bias = float(data["bias"])
        self.mean = np.asarray(data["feature_mean"], dtype=np.float64)
        self.std = np.asarray(data["feature_std"], dtype=np.float64)
        self.platt_a = float(data["platt_a"])
        self.platt_b = float(data["platt_b"])
        self.threshold = float(data["threshold"])
        self.abstain_low = float(data["abstain_low"])
        self.abstain_high = float(data["abstain_high"])
        self.validation: dict[str, Any] = data["validation"]
        self._read(data)
        size = self._n_features()
        if not (
            self.weights.shape == self.mean.shape == self.std.shape
            and self.weights.ndim == 1
            and (size is None or self.weights.shape == (size,))
        ):
            raise ValueError(f"{self.label} head: weights, feature_mean and feature_std differ in shape")
        if not 0.0 < self.threshold < 1.0 or not self.abstain_low <= self.threshold <= self.abstain_high:
            raise ValueError(f"{self.label} head: threshold must lie in (0, 1) inside the abstain band")

    def _read(self, data: dict[str, Any]) -> None:
        """Read (and check) the subclass's own fields; runs before the shape checks."""

    def _n_features(self) -> int | None:
        """The number of features the weights must have, when the subclass knows it."""
        return None

    def logits(self, features: np.ndarray) -> np.ndarray:
        """One logit per feature row (a single 1-D row gives a 0-d array)."""
        return np.asarray(((features - self.mean) / self.std) @ self.weights + self.bias, dtype=np.float64)

    def calibrate(self, logit: float) -> float:
        return calibrate(logit, self.platt_a, self.platt_b)

    def to_score(self, p: float) -> float:
        """Piecewise-linear map with ``threshold -> 0.5``."""
        return score_with_threshold_at_half(p, self.threshold)

    def calibration_details(self, logit: float, p: float) -> dict[str, Any]:
        """What a prediction reports about the head's decision (rounded logit and ``p``)."""
        return {
            "logit": round(logit, 4),
            "calibrated_p": round(p, 4),
            "threshold": self.threshold,
            "abstain_band": [self.abstain_low, self.abstain_high],
        }

    def judge(self, detector: Detector, p: float, details: dict[str, Any]) -> Prediction:
        """``unknown`` when ``p`` lies inside the abstain band, else ``p`` mapped by :meth:`to_score`."""
        if self.abstain_low < p < self.abstain_high:
            return detector.unknown("calibrated probability is inside the abstain band", **details)
        return Prediction(model=detector.name, artificial=self.to_score(p), details=details)


def relevance_from_head(path: Path) -> float:
    """A detector's ``relevance``: the validation AUC its head JSON records (0.5 when unreadable)."""
    try:
        auc = float(json.loads(path.read_text(encoding="utf-8"))["validation"]["auc"])
    except (OSError, KeyError, ValueError, TypeError):
        return 0.5
    return round(min(max(auc, 0.0), 1.0), 3)


__all__ = [
    "CALIBRATION_FIELDS",
    "CalibratedLogisticHead",
    "calibrate",
    "relevance_from_head",
    "score_with_threshold_at_half",
]
