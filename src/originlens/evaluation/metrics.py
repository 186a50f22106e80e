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
    human = np.sort(s[y == 0])[::-1]
    artificial = s[y == 1]
    if human.size == 0 or artificial.size == 0:
        return None
    allowed = int(np.floor(max_fpr * human.size + 1e-9))
    threshold = float(human[allowed]) if allowed < human.size else -np.inf
    return {
        "tpr": float(np.mean(artificial > threshold)),
        "fpr": float(np.mean(human > threshold)),
        "threshold": threshold,
    }


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
