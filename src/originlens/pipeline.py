"""Run every detector on one file and apply the evidence policy: the whole analysis, with no
server around it. The worker and ``originlens eval`` both call :func:`analyse_media`, so
what is measured is exactly what is served."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.registry import DetectorRegistry
from originlens.verdicts.policy import ScoredModel, decide, select_verdict

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    results: list[dict[str, Any]]
    """identifAI ``results``: one ModelResult per detector."""
    verdicts: list[dict[str, Any]]
    forcing: list[dict[str, Any]]
    c2pa: dict[str, Any] | None
    predictions: list[Prediction] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    """identifAI ``details``: the faces found, each with its own results and verdicts."""
    is_nsfw: bool | None = None
    """Set only when ``with_nsfw`` was asked and the NSFW model could judge the image."""
    notes: list[str] = field(default_factory=list)

    def verdict(self, heuristic: str, *, prevent_c2pa_forces: bool = False) -> dict[str, Any] | None:
        return select_verdict(self.verdicts, self.forcing, heuristic, prevent_c2pa_forces=prevent_c2pa_forces)


def detector_result(prediction: Prediction, detector: Detector) -> dict[str, Any]:
    """A ``results`` entry for ``detector``'s prediction."""
    return _result_json(prediction, detector.kind, detector.obsolete, detector.relevance, detector.version)


def _result_json(prediction: Prediction, kind: str, obsolete: bool, relevance: float, version: str) -> dict[str, Any]:
    details = dict(prediction.details)
    details.setdefault("confidence", round(abs(prediction.artificial - 0.5) * 2, 6))
    return {
        "model": prediction.model,
        "version": version,
        "kind": kind,
        "unknown": prediction.unknown,
        "obsolete": obsolete,
        "relevance": relevance,
        "elapsed_time": prediction.elapsed_time,
        "classification": [
            {"label": "human", "score": round(prediction.human, 6)},
            {"label": "artificial", "score": round(prediction.artificial, 6)},
        ],
        "classification_details": details,
    }


def _predict(detector: Detector, media: MediaInput) -> Prediction:
    started = time.perf_counter()
    try:
        return detector.predict(media)
    except Exception as exc:  # a broken detector must not sink the others
        log.exception("detector %s failed", detector.name)
        return Prediction(
            model=detector.name,
            artificial=0.5,
            unknown=True,
            elapsed_time=round(time.perf_counter() - started, 6),
            details={"reason": f"the detector failed: {type(exc).__name__}: {exc}"},
        )


def analyse_media(registry: DetectorRegistry, media: MediaInput, options: Collection[str] = ()) -> Outcome:
    """Every detector's prediction (a crashing detector reports ``unknown``), then the policy.

    ``options`` names the optional analyses asked for (``with_tampering``, ``with_nsfw``,
    ``with_morphing``); a detector whose ``option`` is not among them does not run. Faces are
    looked for whenever the registry has a face finder; the morph model runs on each face.
    """
    predictions: list[Prediction] = []
    results: list[dict[str, Any]] = []
    scored: list[ScoredModel] = []
    asked = set(options)
    morphing = None
    for detector in registry:
        if detector.option is not None and detector.option not in asked:
            continue
        if detector.option == "with_morphing":
            morphing = detector  # judged per face below
            continue
        prediction = _predict(detector, media)
        predictions.append(prediction)
        results.append(_result_json(prediction, detector.kind, detector.obsolete, detector.relevance, detector.version))
        scored.append(
            ScoredModel(
                model=prediction.model,
                kind=detector.kind,
                artificial=prediction.artificial,
                unknown=prediction.unknown,
                obsolete=detector.obsolete,
                relevance=detector.relevance,
                forces=prediction.forces,
                reason=str(prediction.details.get("reason") or "") or None,
            )
        )
    outcome = Outcome(results=results, verdicts=[], forcing=[], c2pa=None, predictions=predictions)
    _analyse_faces(registry, media, morphing, outcome)
    verdicts, forcing = decide(scored)
    outcome.verdicts, outcome.forcing = verdicts, forcing
    outcome.c2pa = next((p.evidence for p in predictions if p.model == "c2pa" and p.evidence), None)
    nsfw = next((p for p in predictions if p.model == "nsfw" and not p.unknown), None)
    if nsfw is not None:
        outcome.is_nsfw = bool(nsfw.details.get("is_nsfw", nsfw.artificial >= 0.5))
    return outcome


def _analyse_faces(registry: DetectorRegistry, media: MediaInput, morphing: Detector | None, outcome: Outcome) -> None:
    """``details`` (faces with per-face results) and, when asked, the image-level ``morphing`` result."""
    if registry.faces is None or not media.mime_type.startswith("image/"):
        if morphing is not None:
            prediction = morphing.unknown("no face finder is installed, so faces could not be looked for")
            outcome.predictions.append(prediction)
            outcome.results.append(detector_result(prediction, morphing))
        return
    from originlens.faces.analysis import analyse_faces, summarise_morphs

    crop_detectors = [d for d in registry if d.kind == "statistical" and d.option is None]
    found = analyse_faces(registry.faces, media.image(), crop_detectors, morphing, detector_result)
    outcome.details = found.details
    if found.note:
        outcome.notes.append(found.note)
    if morphing is not None:
        summary = summarise_morphs(found.morph_predictions, morphing.name)
        outcome.predictions.append(summary)
        outcome.results.append(detector_result(summary, morphing))
