"""The whole-video verdict, built from the verdicts of the sampled frames.

A pure layer like :mod:`originlens.verdicts.heuristics`: plain data in, plain data out.
The mean of the frames would let a short fake segment hide among many real frames, so a
video is ``artificial`` when **either**

* (a) at least ``min_fraction`` of the judged frames are artificial, **or**
* (b) ``run_length`` consecutive judged frames (in time order, frames nobody could judge
  skipped) are all artificial with confidence >= ``run_confidence``;

otherwise ``human``; ``unknown`` when no frame was judged. ``docs/video.md`` defines every
output field with worked examples.

The speech track then has its say (:func:`with_speech`): **a synthetic voice makes the video
artificial; a human voice proves nothing about the picture.**
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from originlens.verdicts.heuristics import Classification, Verdict


@dataclass(frozen=True)
class FrameVerdict:
    """One sampled frame's verdict (the image heuristic applied to that frame)."""

    index: int
    timestamp: float
    classification: Classification
    confidence: float
    """In [0.5, 1], as for image verdicts."""
    models: tuple[str, ...] = ()
    unknown: bool = False

    @classmethod
    def from_verdict(cls, index: int, timestamp: float, verdict: Verdict) -> FrameVerdict:
        return cls(index, timestamp, verdict.classification, verdict.confidence, tuple(verdict.models), verdict.unknown)


@dataclass(frozen=True)
class VideoRule:
    """The thresholds of the rule; the defaults are documented in ``docs/video.md``."""

    min_fraction: float = 0.5
    run_length: int = 2
    run_confidence: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.min_fraction <= 1.0:
            raise ValueError("min_fraction must be in (0, 1]")
        if self.run_length < 1:
            raise ValueError("run_length must be at least 1")
        if not 0.5 <= self.run_confidence <= 1.0:
            raise ValueError("run_confidence must be in [0.5, 1]")


@dataclass(frozen=True)
class FlaggedFrame:
    index: int
    timestamp: float
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "timestamp": self.timestamp, "confidence": self.confidence}


@dataclass(frozen=True)
class VideoVerdict:
    heuristic: str
    classification: Classification
    confidence: float
    count: dict[str, int]
    unknown: bool
    models: list[str]
    reason: str
    frames_flagged: list[FlaggedFrame]
    rule: Literal["fraction", "run", "fraction+run", "speech", "none"]
    """Which part of the rule made the video artificial (``none`` for human or unknown)."""
    speech: SpeechTrackVerdict | None = None
    """The speech track's verdict under the same heuristic, when the video has one that was analysed."""

    def to_json(self) -> dict[str, Any]:
        out = {
            "heuristic": self.heuristic,
            "classification": self.classification,
            "confidence": self.confidence,
            "count": dict(self.count),
            "unknown": self.unknown,
            "models": list(self.models),
            "reason": self.reason,
            "frames_flagged": [f.to_json() for f in self.frames_flagged],
        }
        if self.speech is not None:
            out["speech"] = self.speech.to_json()
        return out


@dataclass(frozen=True)
class SpeechTrackVerdict:
    """The video's speech track judged like a recording (the same heuristic)."""

    classification: Classification
    confidence: float
    unknown: bool = False
    models: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "confidence": self.confidence,
            "unknown": self.unknown,
            "models": list(self.models),
        }


def with_speech(verdict: VideoVerdict, speech: SpeechTrackVerdict | None) -> VideoVerdict:
    """The video's verdict once its speech track is heard.

    A synthetic voice makes the video artificial (confidence: the larger of the voice's and, when
    the frames say artificial too, the frames'); ``speech`` joins ``models`` and the reason says
    so. A human or unknown voice changes nothing: a real voice can be dubbed over generated
    pictures, so it proves nothing about them. The speech verdict is shown either way.
    """
    if speech is None:
        return verdict
    if speech.unknown or speech.classification != "artificial":
        return replace(verdict, speech=speech)
    frames_say_artificial = verdict.classification == "artificial" and not verdict.unknown
    confidence = max(speech.confidence, verdict.confidence) if frames_say_artificial else speech.confidence
    voice = (
        f"the speech track is artificial (confidence {speech.confidence:.2f}): "
        "a synthetic voice makes the video artificial"
    )
    return replace(
        verdict,
        classification="artificial",
        confidence=confidence,
        unknown=False,
        models=[*verdict.models, *(m for m in speech.models if m not in verdict.models)],
        reason=f"{voice}; frames: {verdict.reason}",
        rule=verdict.rule if frames_say_artificial else "speech",
        speech=speech,
    )


def _runs(judged: Sequence[FrameVerdict], rule: VideoRule) -> list[list[FrameVerdict]]:
    """Maximal runs of consecutive judged frames that are artificial with confidence >= c."""
    runs: list[list[FrameVerdict]] = []
    current: list[FrameVerdict] = []
    for f in judged:
        if f.classification == "artificial" and f.confidence >= rule.run_confidence:
            current.append(f)
        else:
            current = []
            continue
        if len(current) == 1:
            runs.append(current)
    return [r for r in runs if len(r) >= rule.run_length]


def _span(frames: Sequence[FrameVerdict]) -> str:
    return f"{frames[0].timestamp:.2f}-{frames[-1].timestamp:.2f} s"


def video_verdict(heuristic: str, frames: Sequence[FrameVerdict], rule: VideoRule | None = None) -> VideoVerdict:
    """Combine per-frame verdicts (any order; sorted by timestamp here) into the video's verdict."""
    rule = rule or VideoRule()
    ordered = sorted(frames, key=lambda f: (f.timestamp, f.index))
    judged = [f for f in ordered if not f.unknown]
    artificial = [f for f in judged if f.classification == "artificial"]
    human = [f for f in judged if f.classification == "human"]
    count = {"human": len(human), "artificial": len(artificial), "unknown": len(ordered) - len(judged)}
    models: list[str] = []
    for f in judged:
        models.extend(m for m in f.models if m not in models)

    if not judged:
        return VideoVerdict(
            heuristic, "human", 0.5, count, True, [], f"none of the {len(ordered)} frames could be judged", [], "none"
        )

    fraction = len(artificial) / len(judged)
    by_fraction = fraction >= rule.min_fraction
    runs = _runs(judged, rule)
    if by_fraction or runs:
        flagged = artificial if by_fraction else [f for r in runs for f in r]
        parts = []
        if by_fraction:
            parts.append(
                f"{len(artificial)} of {len(judged)} judged frames are artificial (>= {rule.min_fraction:.0%})"
            )
        if runs:
            spans = ", ".join(_span(r) for r in runs)
            parts.append(
                f"{len(runs)} run(s) of >= {rule.run_length} consecutive frames artificial with confidence "
                f">= {rule.run_confidence:g} ({spans})"
            )
        which: Literal["fraction", "run", "fraction+run"] = (
            "fraction+run" if by_fraction and runs else "fraction" if by_fraction else "run"
        )
        return VideoVerdict(
            heuristic=heuristic,
            classification="artificial",
            confidence=math.fsum(f.confidence for f in flagged) / len(flagged),
            count=count,
            unknown=False,
            models=models,
            reason="; ".join(parts),
            frames_flagged=[FlaggedFrame(f.index, f.timestamp, f.confidence) for f in flagged],
            rule=which,
        )

    p_human = math.fsum(f.confidence if f.classification == "human" else 1.0 - f.confidence for f in judged)
    return VideoVerdict(
        heuristic=heuristic,
        classification="human",
        confidence=max(0.5, p_human / len(judged)),
        count=count,
        unknown=False,
        models=models,
        reason=(
            f"{len(artificial)} of {len(judged)} judged frames are artificial (< {rule.min_fraction:.0%}) and no "
            f"{rule.run_length} consecutive frames are artificial with confidence >= {rule.run_confidence:g}"
        ),
        frames_flagged=[],
        rule="none",
    )


__all__ = [
    "FlaggedFrame",
    "FrameVerdict",
    "SpeechTrackVerdict",
    "VideoRule",
    "VideoVerdict",
    "video_verdict",
    "with_speech",
]
