"""Run every detector on one file and apply the evidence policy: the whole analysis, with no
server around it. The worker and ``originlens eval`` both call :func:`analyse_media`, so
what is measured is exactly what is served."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from originlens.detectors.base import MediaInput, Prediction
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

    def verdict(self, heuristic: str, *, prevent_c2pa_forces: bool = False) -> dict[str, Any] | None:
        return select_verdict(self.verdicts, self.forcing, heuristic, prevent_c2pa_forces=prevent_c2pa_forces)


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


def analyse_media(registry: DetectorRegistry, media: MediaInput) -> Outcome:
    """Every detector's prediction (a crashing detector reports ``unknown``), then the policy."""
    predictions: list[Prediction] = []
    results: list[dict[str, Any]] = []
    scored: list[ScoredModel] = []
    for detector in registry:
        started = time.perf_counter()
        try:
            prediction = detector.predict(media)
        except Exception as exc:  # a broken detector must not sink the others
            log.exception("detector %s failed", detector.name)
            prediction = Prediction(
                model=detector.name,
                artificial=0.5,
                unknown=True,
                elapsed_time=round(time.perf_counter() - started, 6),
                details={"reason": f"the detector failed: {type(exc).__name__}: {exc}"},
            )
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
    verdicts, forcing = decide(scored)
    c2pa = next((p.evidence for p in predictions if p.model == "c2pa" and p.evidence), None)
    return Outcome(results=results, verdicts=verdicts, forcing=forcing, c2pa=c2pa, predictions=predictions)
