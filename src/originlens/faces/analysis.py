"""Per-face evidence for ``details``: every face found, the models run on its crop, a verdict.

identifAI returns ``details[].detections[]`` with a ``box``, per-model ``results`` on the
detected object and a ``verdict``. Here the objects are faces (BlazeFace, see
``docs/models/faces.md``); each face crop is judged by every statistical pixel detector that
is enabled and, when the request asked ``with_morphing``, by the morph model. The per-face
verdicts of every heuristic are kept so the response can show the user's own heuristic.
Pure: imports detectors, faces and verdicts only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.faces.detection import Face, FaceDetector, crop_face
from originlens.verdicts.heuristics import ModelScore, compute_all

log = logging.getLogger(__name__)

ResultJson = Callable[[Prediction, Detector], dict[str, Any]]
"""Turns a prediction into a ``results`` entry (the pipeline's own formatter)."""


@dataclass
class FaceAnalysis:
    details: list[dict[str, Any]]
    """The identifAI ``details`` array (one object-detection group: the faces)."""
    morph_predictions: list[Prediction] = field(default_factory=list)
    """One per face, when morphing was asked; the pipeline summarises them in ``results``."""
    faces: list[Face] = field(default_factory=list)
    note: str | None = None


def analyse_faces(
    finder: FaceDetector,
    image: Any,
    crop_detectors: Sequence[Detector],
    morphing: Any | None,
    result_json: ResultJson,
) -> FaceAnalysis:
    """Find faces in the (EXIF-upright) image and judge each crop.

    ``morphing`` is a ``MorphingDetector`` (or ``None`` when not asked); it has
    ``predict_face(crop)``. A face finder that cannot load reports a note, never an error.
    """
    started = time.perf_counter()
    try:
        faces = finder.detect(image)
    except Exception as exc:  # a missing or corrupt model file: say so, keep the analysis
        log.error("face detection is unavailable", exc_info=exc)
        return FaceAnalysis(details=[], note="faces: face detection is unavailable (the operator's log says why).")
    detect_time = round(time.perf_counter() - started, 6)
    detections: list[dict[str, Any]] = []
    morphs: list[Prediction] = []
    for face in faces:
        crop = crop_face(image, face)
        results: list[dict[str, Any]] = []
        scores: list[ModelScore] = []
        media = MediaInput(data=b"", mime_type="image/png", name="face", decoded=crop)
        for detector in crop_detectors:
            prediction = _safe_predict(detector, media)
            results.append(result_json(prediction, detector))
            if not detector.votes:  # an indicator: its score is shown, the face's verdict ignores it
                continue
            scores.append(
                ModelScore(
                    prediction.model, prediction.artificial, prediction.unknown, detector.obsolete, detector.relevance
                )
            )
        if morphing is not None:
            prediction = _safe_face(morphing, crop)
            morphs.append(prediction)
            results.append(result_json(prediction, morphing))
            # On a face, a morph or swap is what "artificial" means: the morph model votes here.
            scores.append(
                ModelScore(
                    prediction.model, prediction.artificial, prediction.unknown, morphing.obsolete, morphing.relevance
                )
            )
        x1, y1, x2, y2 = face.box
        detections.append(
            {
                "object": "face",
                "box": {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)},
                "score": round(face.score, 4),
                "keypoints": [[round(x, 1), round(y, 1)] for x, y in face.keypoints],
                "results": results,
                "verdicts": [v.to_json() for v in compute_all(scores)],
            }
        )
    details = [
        {
            "object": "face",
            "model": "blazeface",
            "elapsed_time": detect_time,
            "box_coordinates": "pixels of the EXIF-upright image, x1,y1 top-left and x2,y2 bottom-right",
            "detections": detections,
        }
    ]
    return FaceAnalysis(details=details, morph_predictions=morphs, faces=faces)


_FAILED = "the model failed on this face (the error was logged for the operator)"


def _safe_predict(detector: Detector, media: MediaInput) -> Prediction:
    try:
        return detector.predict(media)
    except Exception:
        log.exception("detector %s failed on a face crop", detector.name)
        return Prediction(model=detector.name, artificial=0.5, unknown=True, details={"reason": _FAILED})


def _safe_face(morphing: Any, crop: Any) -> Prediction:
    started = time.perf_counter()
    try:
        morphing.load()
        prediction: Prediction = morphing.predict_face(crop)
    except Exception:
        log.exception("morphing failed on a face crop")
        prediction = Prediction(model=morphing.name, artificial=0.5, unknown=True, details={"reason": _FAILED})
    return Prediction(
        model=prediction.model,
        artificial=prediction.artificial,
        unknown=prediction.unknown,
        elapsed_time=round(time.perf_counter() - started, 6),
        details=prediction.details,
    )


def summarise_morphs(morphs: Sequence[Prediction], name: str) -> Prediction:
    """The image-level ``morphing`` result: the most suspicious face, or unknown with a reason."""
    if not morphs:
        return Prediction(model=name, artificial=0.5, unknown=True, details={"reason": "no face found"})
    judged = [p for p in morphs if not p.unknown]
    per_face = [{"artificial": round(p.artificial, 6), "unknown": p.unknown} for p in morphs]
    elapsed = round(sum(p.elapsed_time for p in morphs), 6)
    if not judged:
        return Prediction(
            model=name,
            artificial=0.5,
            unknown=True,
            elapsed_time=elapsed,
            details={"reason": "the morph model could not judge any face", "faces": len(morphs), "per_face": per_face},
        )
    worst = max(range(len(morphs)), key=lambda i: -1.0 if morphs[i].unknown else morphs[i].artificial)
    return Prediction(
        model=name,
        artificial=morphs[worst].artificial,
        elapsed_time=elapsed,
        details={"faces": len(morphs), "most_suspicious_face": worst, "per_face": per_face},
    )
