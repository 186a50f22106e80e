"""Fitting math shared by the head training scripts (``scripts/train_*.py``); numpy only.

L2-regularised logistic regression by Newton's method, Platt scaling, Mann-Whitney AUC, the
threshold at a false-positive budget and out-of-fold logits for grouped cross-validation.
The heads in ``src/originlens/detectors/models/`` are rebuilt byte for byte from these, so
the Newton settings each head was fitted with are kept as :class:`Newton` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Newton:
    """Settings of :func:`fit_logistic`: at most ``iters`` steps, stop when no weight moves by
    ``tol`` or more; ``clip`` bounds the linear term before the sigmoid (``None``: unbounded)."""

    iters: int = 100
    tol: float = 1e-8
    clip: float | None = 50.0


DEFAULT_NEWTON = Newton()


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, newton: Newton = DEFAULT_NEWTON) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (x already standardised; the bias
    is not penalised). Returns ``(weights, bias)``."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(newton.iters):
        z = xb @ w
        if newton.clip is not None:
            z = np.clip(z, -newton.clip, newton.clip)
        p = 1 / (1 + np.exp(-z))
        grad = xb.T @ (p - y) / n + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb / n + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < newton.tol:
            break
    return w[:-1], float(w[-1])


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std (+1e-6, so a constant column does not divide by zero)."""
    return x.mean(0), x.std(0) + 1e-6


def platt(logits: np.ndarray, y: np.ndarray, newton: Newton = DEFAULT_NEWTON) -> tuple[float, float]:
    """Platt scaling ``p = sigmoid(a * logit + b)``, fitted on standardised logits for stability."""
    scale = float(logits.std()) or 1.0
    w, b = fit_logistic((logits / scale)[:, None], y, 1e-6, newton)
    return float(w[0]) / scale, b


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count one half)."""
    pos, neg = score[y == 1], np.sort(score[y == 0])
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(pos) * len(neg)))


def threshold_at_fpr(p: np.ndarray, y: np.ndarray, fpr: float = 0.05) -> float:
    """The smallest threshold with at most ``fpr`` of the negatives strictly above it (+1e-6)."""
    negatives = np.sort(p[y == 0])
    k = int(np.floor(fpr * len(negatives)))
    return float(negatives[len(negatives) - 1 - k]) + 1e-6


def abstain_band(t: float, width: float = 0.1) -> tuple[float, float]:
    """``p`` within ``width`` of the threshold, clipped to [0.01, 0.99]."""
    return max(0.01, t - width), min(0.99, t + width)


def oof_logits(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, l2: float, newton: Newton = DEFAULT_NEWTON
) -> np.ndarray:
    """Out-of-fold logits: each fold is scored by a head standardised and fitted on the others."""
    out = np.zeros(len(y))
    for k in np.unique(folds):
        tr = folds != k
        mean, std = standardise(x[tr])
        w, b = fit_logistic((x[tr] - mean) / std, y[tr], l2, newton)
        out[~tr] = ((x[~tr] - mean) / std) @ w + b
    return out


def head_numbers(
    w: np.ndarray,
    b: float,
    mean: np.ndarray,
    std: np.ndarray,
    platt_ab: tuple[float, float],
    t: float,
    band: tuple[float, float],
) -> dict[str, Any]:
    """The fitted numbers of a calibrated head's JSON, rounded to 6 places, in file order."""
    return {
        "weights": [round(float(v), 6) for v in w],
        "bias": round(float(b), 6),
        "feature_mean": [round(float(v), 6) for v in mean],
        "feature_std": [round(float(v), 6) for v in std],
        "platt_a": round(platt_ab[0], 6),
        "platt_b": round(platt_ab[1], 6),
        "threshold": round(t, 6),
        "abstain_low": round(band[0], 6),
        "abstain_high": round(band[1], 6),
        "score_mapping": "piecewise-linear: p in [0, threshold] -> [0, 0.5], [threshold, 1] -> [0.5, 1]",
    }


__all__ = [
    "DEFAULT_NEWTON",
    "Newton",
    "abstain_band",
    "auc",
    "fit_logistic",
    "head_numbers",
    "oof_logits",
    "platt",
    "standardise",
    "threshold_at_fpr",
]
