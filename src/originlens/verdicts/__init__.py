"""Verdicts: the pure layer that turns detector scores into human/artificial verdicts."""

from originlens.verdicts.heuristics import (
    DEFAULT_HEURISTIC,
    HEURISTICS,
    Classification,
    ModelScore,
    Verdict,
    compute,
    compute_all,
)

__all__ = [
    "DEFAULT_HEURISTIC",
    "HEURISTICS",
    "Classification",
    "ModelScore",
    "Verdict",
    "compute",
    "compute_all",
]
