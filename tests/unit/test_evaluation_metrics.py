"""The evaluation metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from originlens.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    binary_summary,
    bootstrap_intervals,
    confusion,
    roc_auc,
    threshold_at_fpr,
    tpr_at_fpr,
)


def test_auc_hand_computed() -> None:
    # Positive 0.35 beats 0.1 but not 0.4; 0.8 beats both: 3 of 4 pairs.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_auc_ties_count_one_half() -> None:
    # Pairs (pos, neg): (0.5, 0.2)=1, (0.5, 0.5)=0.5, (0.9, 0.2)=1, (0.9, 0.5)=1 -> 3.5 / 4.
    assert roc_auc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1]) == pytest.approx(0.875)
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == pytest.approx(0.5)
    # A run of ties across both classes and the order of the input do not matter.
    assert roc_auc([0.7, 0.1, 0.7, 0.7, 0.3], [1, 0, 0, 1, 1]) == pytest.approx((1 + 0.5 + 1 + 0.5 + 1 + 0) / 6)


def test_auc_perfect_and_inverted() -> None:
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0


def test_one_class_is_not_a_number() -> None:
    assert roc_auc([0.1, 0.9], [1, 1]) is None
    assert roc_auc([0.1, 0.9], [0, 0]) is None
    assert roc_auc([], []) is None
    assert tpr_at_fpr([0.1, 0.9], [0, 0], 0.05) is None
    summary = binary_summary([0.9, 0.2], [1, 1], n_total=4)
    assert summary["auc"] is None
    assert summary["fpr"] is None
    assert summary["tpr_at_5pct_fpr"] is None
    assert summary["tpr"] == 0.5
    assert summary["coverage"] == 0.5


def test_tpr_at_fpr_hand_case() -> None:
    human = [i / 20 for i in range(20)]  # 0.00 .. 0.95
    artificial = [0.5, 0.92, 0.96, 0.99]
    scores, labels = human + artificial, [0] * 20 + [1] * 4
    # 5% of 20 humans: one false positive allowed -> threshold = 2nd highest human score (0.90).
    at5 = tpr_at_fpr(scores, labels, 0.05)
    assert at5 == {"tpr": 0.75, "fpr": 0.05, "threshold": 0.9}
    # 1% of 20: none allowed -> threshold = highest human score (0.95).
    at1 = tpr_at_fpr(scores, labels, 0.01)
    assert at1 == {"tpr": 0.5, "fpr": 0.0, "threshold": 0.95}


def test_tpr_at_fpr_ties_at_the_threshold_are_not_positives() -> None:
    scores = [0.9, 0.9] + [0.1] * 18 + [0.9, 0.95]
    labels = [0] * 20 + [1, 1]
    result = tpr_at_fpr(scores, labels, 0.05)
    assert result == {"tpr": 0.5, "fpr": 0.0, "threshold": 0.9}


def test_confusion_and_summary_at_half() -> None:
    scores = [0.1, 0.6, 0.5, 0.9, 0.4]
    labels = [0, 0, 1, 1, 1]
    # 0.5 is not above 0.5: called human, as the heuristics do.
    assert confusion(scores, labels) == {"tp": 1, "fp": 1, "tn": 1, "fn": 2}
    summary = binary_summary(scores, labels, n_total=10)
    assert summary["accuracy"] == pytest.approx(2 / 5)
    assert summary["tpr"] == pytest.approx(1 / 3)
    assert summary["fpr"] == pytest.approx(1 / 2)
    assert summary["coverage"] == pytest.approx(0.5)
    assert (summary["n_human"], summary["n_artificial"], summary["n_covered"]) == (2, 3, 5)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError):
        roc_auc([0.1], [0, 1])
    with pytest.raises(ValueError):
        binary_summary([0.1, 0.2], [0, 1], n_total=1)


def test_threshold_at_fpr_matches_tpr_at_fpr() -> None:
    human = [i / 20 for i in range(20)]
    assert threshold_at_fpr(human, 0.05) == 0.9
    assert threshold_at_fpr([], 0.05) is None
    assert threshold_at_fpr([0.3], 1.0) == -np.inf


def _scored_set(seed: int = 7) -> tuple[list[float], list[int]]:
    """Overlapping classes: 60 human around 0.35, 40 artificial around 0.6, ties included."""
    rng = np.random.default_rng(seed)
    human = np.round(np.clip(rng.normal(0.35, 0.15, 60), 0, 1), 2)
    artificial = np.round(np.clip(rng.normal(0.6, 0.15, 40), 0, 1), 2)
    return [*human.tolist(), *artificial.tolist()], [0] * 60 + [1] * 40


def test_bootstrap_intervals_contain_the_point_estimates_and_are_deterministic() -> None:
    scores, labels = _scored_set()
    ci = bootstrap_intervals(scores, labels)
    auc = roc_auc(scores, labels)
    at5 = tpr_at_fpr(scores, labels, 0.05)
    assert auc is not None and at5 is not None
    assert ci["auc"]["low"] < auc < ci["auc"]["high"]
    assert ci["tpr_at_fpr"]["low"] <= at5["tpr"] <= ci["tpr_at_fpr"]["high"]
    assert ci["tpr_at_fpr"]["low"] < ci["tpr_at_fpr"]["high"]
    assert ci["auc"]["low"] >= 0.0 and ci["auc"]["high"] <= 1.0
    assert (ci["n_resamples"], ci["level"], ci["max_fpr"]) == (BOOTSTRAP_RESAMPLES, 0.95, 0.05) == (1000, 0.95, 0.05)
    # Same scores, same seed: the same interval; another order draws other resamples, barely moving it.
    assert bootstrap_intervals(scores, labels) == ci
    assert bootstrap_intervals(scores[::-1], labels[::-1])["auc"] == pytest.approx(ci["auc"], abs=0.05)
    assert bootstrap_intervals(scores, labels, seed=1)["auc"] != ci["auc"]
    # A narrower level gives a narrower interval.
    narrow = bootstrap_intervals(scores, labels, level=0.5)["auc"]
    assert ci["auc"]["low"] <= narrow["low"] <= narrow["high"] <= ci["auc"]["high"]


def test_bootstrap_resamples_within_each_label() -> None:
    # Perfect separation survives every resample (each keeps both classes): the interval is [1, 1].
    ci = bootstrap_intervals([0.1, 0.2, 0.3, 0.8, 0.9], [0, 0, 0, 1, 1], n_resamples=200)
    assert ci["auc"] == {"low": 1.0, "high": 1.0}
    assert ci["tpr_at_fpr"] == {"low": 1.0, "high": 1.0}
    # One class missing: no interval, as no AUC.
    empty = bootstrap_intervals([0.1, 0.9], [1, 1])
    assert (empty["auc"], empty["tpr_at_fpr"]) == (None, None)
    with pytest.raises(ValueError):
        bootstrap_intervals([0.1, 0.9], [0, 1], n_resamples=0)
