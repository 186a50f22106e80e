"""Binary-classification metrics for the evaluation harness: plain numpy, no I/O.

Conventions used everywhere here:

* ``labels`` are 1 for ``artificial`` (the positive class) and 0 for ``human``;
* ``scores`` are artificial scores in [0, 1]; a file is *called* artificial when its score is
  strictly above the threshold (0.5 by default), as the heuristics do (ties go to human);
* a metric that needs a class that is absent is ``None`` ("n/a"), never a made-up 0.5 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _arrays(scores: Sequence[float], labels: Sequence[int]) -> tuple[FloatArray, FloatArray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D and equally long, got {s.shape} and {y.shape}")
    if y.size and not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (human) or 1 (artificial)")
    if np.any(np.isnan(s)):
        raise ValueError("scores contain NaN")
    return s, y


def _midranks(values: FloatArray) -> FloatArray:
    """1-based ranks where tied values share the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    # Boundaries of runs of equal values in the sorted array.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], values.size]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + 1 + end) / 2.0  # mean of ranks start+1 .. end
    return ranks


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U / (n_pos * n_neg)); a tie counts one half.

    ``None`` when either class is missing: the AUC is undefined there.
    """
    s, y = _arrays(scores, labels)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _midranks(s)
    u = float(ranks[y == 1].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def tpr_at_fpr(scores: Sequence[float], labels: Sequence[int], max_fpr: float) -> dict[str, float] | None:
    """The true-positive rate at the lowest threshold whose false-positive rate is at most ``max_fpr``.

    The threshold comes from the human scores only: with ``k = floor(max_fpr * n_human)``
    false positives allowed, it is the (k+1)-th highest human score, and a file counts as
    artificial when its score is strictly above it. With fewer than ``1 / max_fpr`` human
    files no false positive is allowed at all, so the threshold is the highest human score.
    Returns ``{"tpr", "fpr", "threshold"}`` (the achieved FPR), or ``None`` when a class is missing.
    """
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    s, y = _arrays(scores, labels)
    artificial = s[y == 1]
    threshold = threshold_at_fpr(s[y == 0].tolist(), max_fpr)
    if threshold is None or artificial.size == 0:
        return None
    human = s[y == 0]
    return {
        "tpr": float(np.mean(artificial > threshold)),
        "fpr": float(np.mean(human > threshold)),
        "threshold": threshold,
    }


def threshold_at_fpr(human_scores: Sequence[float], max_fpr: float) -> float | None:
    """The threshold of :func:`tpr_at_fpr`, from the human scores alone (``None`` without any):
    the (k+1)-th highest human score with ``k = floor(max_fpr * n_human)``, ``-inf`` if k >= n."""
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr must be in [0, 1], got {max_fpr}")
    human = np.sort(np.asarray(human_scores, dtype=np.float64))[::-1]
    if human.size == 0:
        return None
    allowed = int(np.floor(max_fpr * human.size + 1e-9))
    return float(human[allowed]) if allowed < human.size else -np.inf


def confusion(scores: Sequence[float], labels: Sequence[int], threshold: float = 0.5) -> dict[str, int]:
    """Counts at ``threshold`` (artificial when the score is strictly above it)."""
    s, y = _arrays(scores, labels)
    called = s > threshold
    positive = y == 1
    return {
        "tp": int(np.sum(called & positive)),
        "fp": int(np.sum(called & ~positive)),
        "tn": int(np.sum(~called & ~positive)),
        "fn": int(np.sum(~called & positive)),
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def binary_summary(
    scores: Sequence[float], labels: Sequence[int], *, n_total: int | None = None, threshold: float = 0.5
) -> dict[str, Any]:
    """Every headline number for one scorer on its *covered* files.

    ``scores``/``labels`` are the files the scorer judged (not ``unknown``); ``n_total`` is the
    number of labelled files it was asked about, so ``coverage = len(scores) / n_total``.
    """
    s, y = _arrays(scores, labels)
    n = int(s.size)
    n_total = n if n_total is None else n_total
    if n_total < n:
        raise ValueError(f"n_total ({n_total}) is smaller than the number of covered files ({n})")
    counts = confusion(s.tolist(), y.tolist(), threshold)
    n_pos = counts["tp"] + counts["fn"]
    n_neg = counts["fp"] + counts["tn"]
    at1 = tpr_at_fpr(s.tolist(), y.tolist(), 0.01)
    at5 = tpr_at_fpr(s.tolist(), y.tolist(), 0.05)
    return {
        "n_labelled": n_total,
        "n_covered": n,
        "n_human": n_neg,
        "n_artificial": n_pos,
        "coverage": _ratio(n, n_total),
        "auc": roc_auc(s.tolist(), y.tolist()),
        "accuracy": _ratio(counts["tp"] + counts["tn"], n),
        "tpr": _ratio(counts["tp"], n_pos),
        "fpr": _ratio(counts["fp"], n_neg),
        "tpr_at_1pct_fpr": None if at1 is None else at1["tpr"],
        "threshold_at_1pct_fpr": None if at1 is None else at1["threshold"],
        "tpr_at_5pct_fpr": None if at5 is None else at5["tpr"],
        "threshold_at_5pct_fpr": None if at5 is None else at5["threshold"],
        "threshold": threshold,
        **counts,
    }


BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240613
"""Fixed, so the same scores always give the same interval (a report regenerated on unchanged
detectors must not move)."""


def _auc_sorted(positives: FloatArray, negatives_sorted: FloatArray) -> float:
    """Mann-Whitney AUC against already sorted negatives (ties count one half), as :func:`roc_auc`."""
    below = np.searchsorted(negatives_sorted, positives, side="left")
    equal = np.searchsorted(negatives_sorted, positives, side="right") - below
    return float((below + 0.5 * equal).sum() / (positives.size * negatives_sorted.size))


def bootstrap_intervals(
    scores: Sequence[float],
    labels: Sequence[int],
    *,
    max_fpr: float = 0.05,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, Any]:
    """Percentile bootstrap intervals for the AUC and for the TPR at ``max_fpr`` FPR.

    Each resample draws, with replacement, as many human scores from the human files and as
    many artificial scores from the artificial files as there are (resampling *within each
    label*), so every resample has both classes in the measured proportions. The TPR at
    ``max_fpr`` uses the same threshold rule as :func:`tpr_at_fpr`. Returns
    ``{"auc": {"low", "high"}, "tpr_at_fpr": {"low", "high"}, "max_fpr", "level",
    "n_resamples", "seed"}``; an interval is ``None`` when a class is missing.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    s, y = _arrays(scores, labels)
    out: dict[str, Any] = {
        "auc": None,
        "tpr_at_fpr": None,
        "max_fpr": max_fpr,
        "level": level,
        "n_resamples": n_resamples,
        "seed": seed,
    }
    positives, negatives = s[y == 1], s[y == 0]
    if positives.size == 0 or negatives.size == 0:
        return out
    allowed = int(np.floor(max_fpr * negatives.size + 1e-9))  # false positives allowed, as in tpr_at_fpr
    rng = np.random.default_rng(seed)
    aucs = np.empty(n_resamples)
    tprs = np.empty(n_resamples)
    for i in range(n_resamples):
        pos = positives[rng.integers(0, positives.size, positives.size)]
        neg = np.sort(negatives[rng.integers(0, negatives.size, negatives.size)])
        aucs[i] = _auc_sorted(pos, neg)
        threshold = neg[neg.size - 1 - allowed] if allowed < neg.size else -np.inf
        tprs[i] = np.mean(pos > threshold)
    tail = 100.0 * (1.0 - level) / 2.0
    for key, values in (("auc", aucs), ("tpr_at_fpr", tprs)):
        low, high = np.percentile(values, [tail, 100.0 - tail])
        out[key] = {"low": float(low), "high": float(high)}
    return out
