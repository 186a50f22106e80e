"""The evaluation metrics against hand-computed cases."""

from __future__ import annotations

import pytest

from originlens.evaluation.metrics import binary_summary, confusion, roc_auc, tpr_at_fpr


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
