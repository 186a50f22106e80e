"""The evidence policy: conclusive provenance decides; otherwise the heuristics do.

1. Conclusive provenance — a detector of kind ``provenance`` that sets ``forces`` (a valid
   C2PA AI assertion, generator metadata, a public watermark) — decides the verdict, in the
   priority order of :data:`FORCING_PRIORITY`, with its reason stated. A C2PA forcing is
   skipped when the submission asked ``prevent_c2pa_forces``.
2. Otherwise the user's heuristic over the *statistical* detectors decides (derived results
   such as the ``heatmap`` summary never vote: they would count the same pixels twice). Provenance that
   is not conclusive (a camera-capture claim, camera EXIF) is shown in ``results`` but does
   not vote: absence or weakness of proof is not evidence.
3. A user's override wins over both.

Every verdict says what drove it in ``evidence`` (``provenance``, ``statistical``,
``override`` or ``none``); forced ones also name ``forced_by``, give a ``reason`` and keep the
heuristic's own reading in ``unforced``. A forcing applies to *every* heuristic's verdict
(:func:`shown_verdicts`), so all of ``verdicts`` and ``verdict`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from originlens.verdicts.heuristics import HEURISTICS, ModelScore, compute_all

FORCING_PRIORITY: tuple[str, ...] = ("c2pa", "watermark", "metadata")
"""Most to least authoritative: a signed manifest, then a decoded mark, then editable text (image
metadata, then a recording's tags)."""


@dataclass(frozen=True)
class ScoredModel:
    """What the policy needs to know about one detector's prediction."""

    model: str
    kind: str
    artificial: float
    unknown: bool
    obsolete: bool
    relevance: float
    votes: bool = True
    """False for an indicator: shown, never counted by a heuristic."""
    forces: str | None = None
    reason: str | None = None


def decide(models: Sequence[ScoredModel]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (verdicts of every heuristic over the statistical models, forcing evidence in priority order)."""
    statistical = [
        ModelScore(m.model, m.artificial, m.unknown, m.obsolete, m.relevance)
        for m in models
        if m.kind == "statistical" and m.votes
    ]
    verdicts = []
    for verdict in compute_all(statistical):
        body = verdict.to_json()
        body["evidence"] = "none" if verdict.unknown else "statistical"
        verdicts.append(body)
    rank = {name: i for i, name in enumerate(FORCING_PRIORITY)}
    forcing = [
        {"by": m.model, "classification": m.forces, "reason": m.reason or f"{m.model} is conclusive"}
        for m in models
        if m.kind == "provenance" and m.forces and not m.unknown
    ]
    forcing.sort(key=lambda f: rank.get(f["by"], len(rank)))
    return verdicts, forcing


def forced_decision(
    forcing: Sequence[dict[str, Any]], *, prevent_c2pa_forces: bool = False, override: str | None = None
) -> dict[str, Any] | None:
    """What decides instead of the heuristics, if anything: the user's override, else the most
    authoritative conclusive provenance (C2PA skipped with ``prevent_c2pa_forces``)."""
    if override:
        return {
            "classification": override,
            "evidence": "override",
            "forced_by": "override",
            "reason": "the user overrode the classification of this file",
        }
    for evidence in forcing:
        if evidence["by"] == "c2pa" and prevent_c2pa_forces:
            continue
        return {
            "classification": evidence["classification"],
            "evidence": "provenance",
            "forced_by": evidence["by"],
            "reason": evidence["reason"],
        }
    return None


def shown_verdicts(
    verdicts: Sequence[dict[str, Any]],
    forcing: Sequence[dict[str, Any]],
    *,
    prevent_c2pa_forces: bool = False,
    override: str | None = None,
) -> list[dict[str, Any]]:
    """Every heuristic's verdict as the client reads it: when provenance or an override decides,
    each one shows that decision and says it was forced (``forced_by``, ``reason``), keeping the
    heuristic's own reading in ``unforced``; a client reading any heuristic gets one answer."""
    decision = forced_decision(forcing, prevent_c2pa_forces=prevent_c2pa_forces, override=override)
    if decision is None:
        return [dict(v) for v in verdicts]
    shown = []
    for verdict in verdicts:
        forced = {k: v for k, v in verdict.items() if k != "unknown"}
        unforced = {"classification": verdict.get("classification"), "confidence": verdict.get("confidence")}
        if verdict.get("unknown"):
            unforced["unknown"] = True
        forced.update(decision, confidence=1.0, unforced=unforced)
        shown.append(forced)
    return shown


def select_verdict(
    verdicts: Sequence[dict[str, Any]],
    forcing: Sequence[dict[str, Any]],
    heuristic: str,
    *,
    prevent_c2pa_forces: bool = False,
    override: str | None = None,
) -> dict[str, Any] | None:
    """The one ``verdict`` a user sees: its heuristic's entry of :func:`shown_verdicts` (override,
    else conclusive provenance, else the heuristic)."""
    if not verdicts:
        return None
    heuristic = heuristic if heuristic in HEURISTICS else HEURISTICS[0]
    shown = shown_verdicts(verdicts, forcing, prevent_c2pa_forces=prevent_c2pa_forces, override=override)
    return next((v for v in shown if v["heuristic"] == heuristic), shown[0])
