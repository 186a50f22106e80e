"""Heuristics: combine per-detector scores into one human/artificial verdict.

This module is a pure layer: plain data in (:class:`ModelScore`), plain data out
(:class:`Verdict`), no I/O and no imports from the rest of originlens. The exact
definitions, with formulas and worked examples, are in ``docs/heuristics.md``.

Rules shared by every heuristic:

* scores with ``unknown=True`` are removed first and never appear in ``models``;
* if nothing remains the verdict is ``unknown=True``, ``human``, confidence 0.5, no models;
* a score ``a`` votes artificial if ``a > 0.5``, human if ``a < 0.5`` and abstains at 0.5;
* every tie goes to ``human`` (false alarms on real photos are the costly error);
* ``models`` lists the models that took part, in input order;
* confidence is a float in [0.5, 1], never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Classification = Literal["human", "artificial"]

MAJORITY = "Majority"
AVERAGE = "Average"
AVERAGE_EXCLUDE_OBSOLETE = "AverageExcludeObsolete"
AVERAGE_EXCLUDE_10 = "AverageExclude10"
AVERAGE_EXCLUDE_20 = "AverageExclude20"
AVERAGE_EXCLUDE_30 = "AverageExclude30"
TOP_RELEVANT = "TopRelevant"

HEURISTICS: tuple[str, ...] = (
    MAJORITY,
    AVERAGE,
    AVERAGE_EXCLUDE_OBSOLETE,
    AVERAGE_EXCLUDE_10,
    AVERAGE_EXCLUDE_20,
    AVERAGE_EXCLUDE_30,
    TOP_RELEVANT,
)
DEFAULT_HEURISTIC = AVERAGE_EXCLUDE_OBSOLETE


@dataclass(frozen=True)
class ModelScore:
    """One detector's score as the heuristics see it.

    ``artificial`` is in [0, 1]; ``unknown`` means the detector could not judge the input;
    ``obsolete`` and ``relevance`` are the detector's metadata (``Detector.obsolete`` and
    ``Detector.relevance``).
    """

    model: str
    artificial: float
    unknown: bool = False
    obsolete: bool = False
    relevance: float = 0.5

    def __post_init__(self) -> None:
        # ``not (0 <= a <= 1)`` also rejects NaN.
        if not 0.0 <= self.artificial <= 1.0:
            raise ValueError(f"{self.model}: artificial score {self.artificial} is outside [0, 1]")
        if not math.isfinite(self.relevance):
            raise ValueError(f"{self.model}: relevance {self.relevance} is not a finite number")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one heuristic."""

    heuristic: str
    classification: Classification
    confidence: float
    models: list[str]
    unknown: bool = False

    def to_json(self) -> dict[str, Any]:
        """The identifAI shape; ``"unknown": true`` is present only for an unknown verdict."""
        out: dict[str, Any] = {
            "heuristic": self.heuristic,
            "confidence": self.confidence,
            "classification": self.classification,
            "models": list(self.models),
        }
        if self.unknown:
            out["unknown"] = True
        return out


# --------------------------------------------------------------------------- helpers


def _label(a: float) -> Classification | None:
    """artificial above 0.5, human below, ``None`` (abstain) at exactly 0.5."""
    if a > 0.5:
        return "artificial"
    if a < 0.5:
        return "human"
    return None


def _unknown_verdict(name: str) -> Verdict:
    return Verdict(heuristic=name, classification="human", confidence=0.5, models=[], unknown=True)


def _average(name: str, used: Sequence[ModelScore]) -> Verdict:
    """Mean of the scores; artificial iff the mean is strictly above 0.5."""
    m = math.fsum(s.artificial for s in used) / len(used)
    classification: Classification = "artificial" if m > 0.5 else "human"
    return Verdict(
        heuristic=name,
        classification=classification,
        confidence=max(m, 1.0 - m),
        models=[s.model for s in used],
    )


# --------------------------------------------------------------------------- heuristics
# Each takes the non-empty list of judging (non-unknown) scores, in input order.


def _majority(judging: Sequence[ModelScore]) -> Verdict:
    artificial = sum(1 for s in judging if _label(s.artificial) == "artificial")
    human = sum(1 for s in judging if _label(s.artificial) == "human")
    votes = artificial + human
    if artificial > human:
        classification: Classification = "artificial"
        confidence = artificial / votes
    elif votes:
        classification = "human"  # more human votes, or a tie
        confidence = human / votes
    else:
        classification = "human"  # everybody abstained
        confidence = 0.5
    return Verdict(
        heuristic=MAJORITY,
        classification=classification,
        confidence=confidence,
        models=[s.model for s in judging],
    )


def _average_all(judging: Sequence[ModelScore]) -> Verdict:
    return _average(AVERAGE, judging)


def _average_exclude_obsolete(judging: Sequence[ModelScore]) -> Verdict:
    current = [s for s in judging if not s.obsolete]
    return _average(AVERAGE_EXCLUDE_OBSOLETE, current or judging)


def _trimmed(name: str, percent: int) -> Callable[[Sequence[ModelScore]], Verdict]:
    def heuristic(judging: Sequence[ModelScore]) -> Verdict:
        n = len(judging)
        k = n * percent // 100
        # Stable sort of input positions by score: among equal scores the earlier one
        # counts as lower, so which models are dropped is deterministic.
        order = sorted(range(n), key=lambda i: judging[i].artificial)
        kept = sorted(order[k : n - k])
        return _average(name, [judging[i] for i in kept])

    heuristic.__name__ = f"_average_exclude_{percent}"
    return heuristic


def _top_relevant(judging: Sequence[ModelScore]) -> Verdict:
    top = min(judging, key=lambda s: (-s.relevance, -abs(s.artificial - 0.5), s.model))
    a = top.artificial
    return Verdict(
        heuristic=TOP_RELEVANT,
        classification="artificial" if _label(a) == "artificial" else "human",
        confidence=max(a, 1.0 - a),
        models=[top.model],
    )


_IMPLEMENTATIONS: dict[str, Callable[[Sequence[ModelScore]], Verdict]] = {
    MAJORITY: _majority,
    AVERAGE: _average_all,
    AVERAGE_EXCLUDE_OBSOLETE: _average_exclude_obsolete,
    AVERAGE_EXCLUDE_10: _trimmed(AVERAGE_EXCLUDE_10, 10),
    AVERAGE_EXCLUDE_20: _trimmed(AVERAGE_EXCLUDE_20, 20),
    AVERAGE_EXCLUDE_30: _trimmed(AVERAGE_EXCLUDE_30, 30),
    TOP_RELEVANT: _top_relevant,
}
assert tuple(_IMPLEMENTATIONS) == HEURISTICS


# --------------------------------------------------------------------------- public API


def compute(name: str, scores: Sequence[ModelScore]) -> Verdict:
    """Apply the heuristic called ``name`` to ``scores``; ``ValueError`` for an unknown name."""
    try:
        implementation = _IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown heuristic {name!r}; expected one of {', '.join(HEURISTICS)}") from None
    judging = [s for s in scores if not s.unknown]
    if not judging:
        return _unknown_verdict(name)
    return implementation(judging)


def compute_all(scores: Sequence[ModelScore]) -> list[Verdict]:
    """Every heuristic's verdict, in :data:`HEURISTICS` order."""
    return [compute(name, scores) for name in HEURISTICS]
