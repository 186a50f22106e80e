"""Unit tests for the verdict heuristics; expected numbers are computed by hand."""

from __future__ import annotations

import math
import random

import pytest

from originlens.verdicts import (
    DEFAULT_HEURISTIC,
    HEURISTICS,
    ModelScore,
    Verdict,
    compute,
    compute_all,
)


def s(model: str, a: float, *, unknown: bool = False, obsolete: bool = False, relevance: float = 0.5) -> ModelScore:
    return ModelScore(model, a, unknown=unknown, obsolete=obsolete, relevance=relevance)


def check(v: Verdict, classification: str, confidence: float, models: list[str]) -> None:
    assert v.classification == classification
    assert v.confidence == pytest.approx(confidence, abs=1e-12)
    assert v.models == models
    assert v.unknown is False


# --------------------------------------------------------------------------- API surface


def test_names_order_and_default() -> None:
    assert HEURISTICS == (
        "Majority",
        "Average",
        "AverageExcludeObsolete",
        "AverageExclude10",
        "AverageExclude20",
        "AverageExclude30",
        "TopRelevant",
    )
    assert DEFAULT_HEURISTIC == "AverageExcludeObsolete"


def test_unknown_heuristic_name_raises() -> None:
    with pytest.raises(ValueError, match="Nope"):
        compute("Nope", [s("a", 0.9)])
    with pytest.raises(ValueError):
        compute("average", [s("a", 0.9)])  # names are case-sensitive


def test_compute_all_in_order() -> None:
    verdicts = compute_all([s("a", 0.9), s("b", 0.2)])
    assert [v.heuristic for v in verdicts] == list(HEURISTICS)
    for v in verdicts:
        assert v == compute(v.heuristic, [s("a", 0.9), s("b", 0.2)])


def test_to_json() -> None:
    v = Verdict("Average", "artificial", 0.625, ["a", "b"])
    assert v.to_json() == {
        "heuristic": "Average",
        "confidence": 0.625,
        "classification": "artificial",
        "models": ["a", "b"],
    }
    u = Verdict("Majority", "human", 0.5, [], unknown=True)
    assert u.to_json() == {
        "heuristic": "Majority",
        "confidence": 0.5,
        "classification": "human",
        "models": [],
        "unknown": True,
    }


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan])
def test_model_score_rejects_bad_artificial(bad: float) -> None:
    with pytest.raises(ValueError):
        ModelScore("m", bad)


def test_model_score_rejects_non_finite_relevance() -> None:
    with pytest.raises(ValueError):
        ModelScore("m", 0.5, relevance=math.nan)


# --------------------------------------------------------------------------- unknown handling


@pytest.mark.parametrize("scores", [[], [s("a", 0.9, unknown=True), s("b", 0.1, unknown=True)]])
def test_all_unknown_gives_unknown_verdicts(scores: list[ModelScore]) -> None:
    for name, v in zip(HEURISTICS, compute_all(scores), strict=True):
        assert v == Verdict(name, "human", 0.5, [], unknown=True)
        assert v.to_json()["unknown"] is True


def test_unknown_scores_are_excluded_everywhere() -> None:
    # Without the unknown x every heuristic says human; x would flip most of them.
    scores = [s("a", 0.2), s("x", 1.0, unknown=True, relevance=1.0), s("b", 0.4)]
    for v in compute_all(scores):
        assert "x" not in v.models
        assert v.classification == "human"
        assert v.unknown is False
    # mean(0.2, 0.4) = 0.3
    check(compute("Average", scores), "human", 0.7, ["a", "b"])


# --------------------------------------------------------------------------- Majority


def test_majority_with_abstention_and_unknown() -> None:
    scores = [s("m1", 0.9), s("m2", 0.8), s("m3", 0.3), s("m4", 0.5), s("m5", 0.99, unknown=True)]
    # 2 artificial, 1 human, m4 abstains: 2 / 3; abstainer is listed, unknown is not.
    check(compute("Majority", scores), "artificial", 2 / 3, ["m1", "m2", "m3", "m4"])


def test_majority_human_wins() -> None:
    check(compute("Majority", [s("a", 0.1), s("b", 0.2), s("c", 0.9)]), "human", 2 / 3, ["a", "b", "c"])


def test_majority_tie_goes_to_human() -> None:
    check(compute("Majority", [s("a", 0.7), s("b", 0.2)]), "human", 0.5, ["a", "b"])
    check(compute("Majority", [s("a", 0.99), s("b", 0.45), s("c", 0.5)]), "human", 0.5, ["a", "b", "c"])


def test_majority_all_abstain() -> None:
    check(compute("Majority", [s("a", 0.5), s("b", 0.5)]), "human", 0.5, ["a", "b"])


def test_majority_unanimous() -> None:
    check(compute("Majority", [s("a", 0.51), s("b", 0.6), s("c", 0.5)]), "artificial", 1.0, ["a", "b", "c"])


# --------------------------------------------------------------------------- Average


def test_average_artificial() -> None:
    scores = [s("m1", 0.9), s("m2", 0.8), s("m3", 0.3), s("m4", 0.5), s("m5", 0.0, unknown=True)]
    # (0.9 + 0.8 + 0.3 + 0.5) / 4 = 2.5 / 4 = 0.625
    check(compute("Average", scores), "artificial", 0.625, ["m1", "m2", "m3", "m4"])


def test_average_human() -> None:
    # (0.2 + 0.4 + 0.3) / 3 = 0.3 -> confidence 0.7
    check(compute("Average", [s("a", 0.2), s("b", 0.4), s("c", 0.3)]), "human", 0.7, ["a", "b", "c"])


def test_average_exactly_half_is_human() -> None:
    check(compute("Average", [s("a", 0.6), s("b", 0.4)]), "human", 0.5, ["a", "b"])
    check(compute("Average", [s("a", 0.5)]), "human", 0.5, ["a"])


def test_average_ignores_obsolete_flag() -> None:
    # (0.9 + 0.2 + 0.3) / 3 = 1.4 / 3 = 0.46666... -> confidence 1.6 / 3 = 0.53333...
    scores = [s("a", 0.9, obsolete=True), s("b", 0.2), s("c", 0.3)]
    check(compute("Average", scores), "human", 1.6 / 3, ["a", "b", "c"])


# --------------------------------------------------------------------------- AverageExcludeObsolete


def test_exclude_obsolete_drops_obsolete() -> None:
    scores = [s("a", 0.9, obsolete=True), s("b", 0.2), s("c", 0.3)]
    # (0.2 + 0.3) / 2 = 0.25 -> confidence 0.75
    check(compute("AverageExcludeObsolete", scores), "human", 0.75, ["b", "c"])


def test_exclude_obsolete_falls_back_when_all_obsolete() -> None:
    scores = [s("a", 0.9, obsolete=True), s("b", 0.7, obsolete=True)]
    # (0.9 + 0.7) / 2 = 0.8
    check(compute("AverageExcludeObsolete", scores), "artificial", 0.8, ["a", "b"])


def test_exclude_obsolete_fallback_counts_only_judging_scores() -> None:
    # The only non-obsolete score is unknown, so the judging ones are all obsolete: fall back.
    scores = [s("a", 0.2, unknown=True), s("b", 0.9, obsolete=True)]
    check(compute("AverageExcludeObsolete", scores), "artificial", 0.9, ["b"])


def test_exclude_obsolete_all_unknown() -> None:
    v = compute("AverageExcludeObsolete", [s("a", 0.9, obsolete=True, unknown=True)])
    assert v == Verdict("AverageExcludeObsolete", "human", 0.5, [], unknown=True)


# --------------------------------------------------------------------------- AverageExcludeN

TEN = [
    s("m0", 0.05),
    s("m1", 0.95),
    s("m2", 0.40),
    s("m3", 0.60),
    s("m4", 0.10),
    s("m5", 0.90),
    s("m6", 0.30),
    s("m7", 0.70),
    s("m8", 0.20),
    s("m9", 1.00),
]
# sorted: m0 .05, m4 .10, m8 .20, m6 .30, m2 .40, m3 .60, m7 .70, m5 .90, m1 .95, m9 1.0


def test_ten_models_plain_average() -> None:
    # 5.2 / 10 = 0.52
    check(compute("Average", TEN), "artificial", 0.52, [f"m{i}" for i in range(10)])


def test_ten_models_exclude_10() -> None:
    # k = 1: drop m0 and m9; (.10+.20+.30+.40+.60+.70+.90+.95) / 8 = 4.15 / 8 = 0.51875
    check(
        compute("AverageExclude10", TEN),
        "artificial",
        0.51875,
        ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"],
    )


def test_ten_models_exclude_20() -> None:
    # k = 2: drop m0, m4 and m1, m9; (.20+.30+.40+.60+.70+.90) / 6 = 3.1 / 6 = 0.516666...
    check(compute("AverageExclude20", TEN), "artificial", 3.1 / 6, ["m2", "m3", "m5", "m6", "m7", "m8"])


def test_ten_models_exclude_30_ties_to_human() -> None:
    # k = 3: drop m0, m4, m8 and m5, m1, m9; (.30+.40+.60+.70) / 4 = 0.5 -> human
    check(compute("AverageExclude30", TEN), "human", 0.5, ["m2", "m3", "m6", "m7"])


FOUR = [s("a", 0.9), s("b", 0.1), s("c", 0.2), s("d", 0.3)]


@pytest.mark.parametrize("name", ["AverageExclude10", "AverageExclude20"])
def test_four_models_no_trim(name: str) -> None:
    # k = floor(4 * 10 / 100) = floor(4 * 20 / 100) = 0: plain average 1.5 / 4 = 0.375
    check(compute(name, FOUR), "human", 0.625, ["a", "b", "c", "d"])


def test_four_models_exclude_30() -> None:
    # k = floor(4 * 30 / 100) = 1: drop b (0.1) and a (0.9); (0.2 + 0.3) / 2 = 0.25
    check(compute("AverageExclude30", FOUR), "human", 0.75, ["c", "d"])


def test_trim_counts_only_judging_scores() -> None:
    # 4 judging scores (k = 1 at 30%) plus unknowns that must not raise n.
    scores = [*FOUR, *(s(f"u{i}", 0.99, unknown=True) for i in range(6))]
    check(compute("AverageExclude30", scores), "human", 0.75, ["c", "d"])


def test_trim_equal_scores_drop_earliest_low_and_latest_high() -> None:
    scores = [s("x", 0.2), s("y", 0.2), s("z", 0.8), s("w", 0.8)]
    # k = 1; among equal scores the earlier counts as lower: drop x and w; (0.2 + 0.8) / 2 = 0.5
    check(compute("AverageExclude30", scores), "human", 0.5, ["y", "z"])


def test_trim_single_model() -> None:
    for name in ("AverageExclude10", "AverageExclude20", "AverageExclude30"):
        check(compute(name, [s("a", 0.8)]), "artificial", 0.8, ["a"])


# --------------------------------------------------------------------------- TopRelevant


def test_top_relevant_picks_highest_relevance() -> None:
    scores = [s("a", 0.9, relevance=0.5), s("b", 0.2, relevance=0.8), s("c", 0.99, relevance=0.9, unknown=True)]
    check(compute("TopRelevant", scores), "human", 0.8, ["b"])


def test_top_relevant_tie_broken_by_distance_from_half() -> None:
    scores = [s("a", 0.7, relevance=0.9), s("b", 0.15, relevance=0.9), s("c", 0.99, relevance=0.1)]
    # |0.7 - 0.5| = 0.2 < |0.15 - 0.5| = 0.35 -> b
    check(compute("TopRelevant", scores), "human", 0.85, ["b"])


def test_top_relevant_tie_broken_by_name() -> None:
    # Same relevance and same distance (0.25 both, exact in binary): name ascending.
    check(compute("TopRelevant", [s("zeta", 0.75), s("alpha", 0.25)]), "human", 0.75, ["alpha"])
    check(compute("TopRelevant", [s("zeta", 0.25), s("alpha", 0.75)]), "artificial", 0.75, ["alpha"])


def test_top_relevant_half_is_human() -> None:
    scores = [s("a", 0.5, relevance=1.0), s("b", 0.9, relevance=0.2)]
    check(compute("TopRelevant", scores), "human", 0.5, ["a"])


# --------------------------------------------------------------------------- properties

TRIMS = {"AverageExclude10": 10, "AverageExclude20": 20, "AverageExclude30": 30}


def _random_scores(rng: random.Random) -> list[ModelScore]:
    n = rng.randint(0, 40)
    out = []
    for i in range(n):
        # Coarse values make equal scores and exact 0.5s common.
        a = rng.choice([rng.random(), round(rng.random(), 1), 0.5])
        out.append(
            ModelScore(
                model=f"m{rng.randint(0, 99):02d}-{i}",
                artificial=a,
                unknown=rng.random() < 0.15,
                obsolete=rng.random() < 0.3,
                relevance=rng.choice([0.1, 0.5, 0.9, rng.random()]),
            )
        )
    return out


def test_random_invariants() -> None:
    rng = random.Random(20240611)
    for _ in range(2000):
        scores = _random_scores(rng)
        judging = [x for x in scores if not x.unknown]
        judging_names = [x.model for x in judging]
        for v in compute_all(scores):
            assert 0.5 <= v.confidence <= 1.0
            assert v.unknown is (not judging)
            # models: a subsequence of the judging models, in input order
            it = iter(judging_names)
            assert all(m in it for m in v.models)
            if v.classification == "artificial":
                assert v.confidence > 0.5
        for name, pct in TRIMS.items():
            if not judging:
                continue
            v = compute(name, scores)
            values = sorted(x.artificial for x in judging)
            k = len(values) * pct // 100
            kept = values[k : len(values) - k]
            m = math.fsum(kept) / len(kept)
            assert v.confidence == pytest.approx(max(m, 1 - m), abs=1e-12)
            assert v.classification == ("artificial" if m > 0.5 else "human")
            by_name = {x.model: x.artificial for x in judging}
            assert sorted(by_name[n] for n in v.models) == kept


def test_trim_matches_scipy_trim_mean() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(1000):
        values = [rng.random() for _ in range(rng.randint(1, 60))]
        scores = [ModelScore(f"m{i}", a) for i, a in enumerate(values)]
        for name, pct in TRIMS.items():
            m = float(stats.trim_mean(values, pct / 100))
            v = compute(name, scores)
            assert v.confidence == pytest.approx(max(m, 1 - m), abs=1e-12)
            assert v.classification == ("artificial" if m > 0.5 else "human")
