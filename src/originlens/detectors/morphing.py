"""Per-face morph / face-swap detector: blending-boundary features + our calibrated logistic head.

Identity-check teams ask for it with ``with_morphing=true``. It judges one face crop at a time
(:meth:`MorphingDetector.predict_face`); the service passes the crops found by the BlazeFace
module. ``_predict`` on a whole image uses an injected face finder when one is given, and
otherwise a simple fallback (the landmark model run on the whole image), and says ``unknown``
with the reason "no face found" rather than guess.

Why hand-crafted features: the head is trained only on forgeries we make from real faces
(self-blended images and two-person landmark morphs, ``scripts/train_morphing.py``), and both
leave the same kind of trace: the inner face is a *different* image from its surroundings, so
its noise, sharpness and colour statistics change at the blending boundary. The features
measure exactly that, relative to the face's own landmarks, which keeps the model small
(numpy + Pillow at run time, ~20 ms per face) and explainable. See ``docs/models/morphing.md``.

Pipeline for one crop:

1. 468 MediaPipe landmarks (:class:`originlens.faces.landmarks.FaceLandmarker`); presence
   below ``min_presence`` -> ``unknown``.
2. The crop is warped (similarity transform, bilinear) to a 160x160 frame with the eyes level
   and the landmarks' extent at :data:`FACE_FRACTION` of the frame; pixels that fell outside
   the crop are masked out of every statistic.
3. Bands are cut from the landmarks' convex hull scaled about its centroid (core, inner ring,
   outer ring, outside) and thin contours at several scales; per band: high-pass residual
   energy and noise level, gradient, fine/coarse detail ratio, colour mean and spread.
4. Standardised features -> logistic head -> Platt -> ``p``; ``p`` maps piecewise-linearly to
   ``artificial`` with the operating threshold at 0.5 (threshold chosen at <= 5% of real faces
   flagged on validation); ``p`` inside the abstain band -> ``unknown``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.heads import CALIBRATION_FIELDS, CalibratedLogisticHead
from originlens.faces.landmarks import LANDMARK_SHA256, LEFT_EYE_OUTER, RIGHT_EYE_OUTER, FaceLandmarker

HEAD_PATH = Path(__file__).with_name("models") / "morphing_head.json"
ALIGN = 160
"""Side of the aligned face frame, in pixels."""
FACE_FRACTION = 0.62
"""The landmarks' extent as a fraction of the aligned frame (leaves room for the outside band)."""
BANDS = {"core": (0.0, 0.72), "inner": (0.72, 1.0), "outer": (1.0, 1.22), "outside": (1.22, 1.5)}
"""Hull scale factors bounding each band (about the hull's centroid)."""
CONTOURS = (0.8, 0.9, 1.0, 1.1)
"""Hull scales where a thin contour's gradient is compared with its neighbourhood (seams)."""
MIN_CROP_PX = 24
MIN_FACE_PX = 32
"""Faces whose landmarks span fewer pixels than this carry no usable blending trace."""

FaceFinder = Callable[[Any], list[Any]]
"""Takes an RGB ``PIL.Image`` and returns face crops (``PIL.Image``), with some margin."""


# --------------------------------------------------------------------------------- geometry
def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull (Andrew's monotone chain) of ``[N, 2]`` points."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        return np.asarray(pts, dtype=np.float64)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], dtype=np.float64)


def polygon_mask(polygon: np.ndarray, size: int, scale: float = 1.0) -> np.ndarray:
    """Boolean ``[size, size]`` raster of ``polygon`` scaled by ``scale`` about its centroid."""
    from PIL import Image, ImageDraw

    centre = polygon.mean(axis=0)
    scaled = centre + (polygon - centre) * scale
    canvas = Image.new("L", (size, size), 0)
    if scale > 0:
        ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in scaled], fill=255)
    return np.asarray(canvas) > 127


def align_face(rgb: Any, points: np.ndarray, size: int = ALIGN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face warped to ``size``x``size`` (float RGB), the in-crop mask and the moved landmarks."""
    from PIL import Image

    eye = points[LEFT_EYE_OUTER] - points[RIGHT_EYE_OUTER]
    angle = math.atan2(float(eye[1]), float(eye[0]))
    cos, sin = math.cos(angle), math.sin(angle)
    upright = points @ np.array([[cos, -sin], [sin, cos]])  # rotate by -angle: eyes level
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    extent = float(max(hi - lo))
    scale = max(extent, 1.0) / (FACE_FRACTION * size)  # crop pixels per aligned pixel
    centre_upright = (lo + hi) / 2
    rot = np.array([[cos, -sin], [sin, cos]])
    centre = rot @ centre_upright
    linear = rot * scale
    offset = centre - linear @ np.array([size / 2, size / 2])
    matrix = np.hstack([linear, offset[:, None]])  # aligned -> crop
    image, m = rgb, matrix.copy()
    shrink = int(scale / 1.5)
    if shrink >= 2:  # pre-reduce so bilinear sampling does not alias on large faces
        image = rgb.reduce(shrink)
        m = m / shrink
    warped = image.transform((size, size), Image.Transform.AFFINE, tuple(m.ravel()), Image.Resampling.BILINEAR)
    inside = Image.new("L", image.size, 255).transform(
        (size, size), Image.Transform.AFFINE, tuple(m.ravel()), Image.Resampling.NEAREST
    )
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    moved = points @ inverse[:, :2].T + inverse[:, 2]
    return np.asarray(warped, dtype=np.float64), np.asarray(inside) > 127, moved


# --------------------------------------------------------------------------------- features
def _box_mean(img: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window with edge padding (summed-area table)."""
    k = 2 * radius + 1
    padded = np.pad(img, radius, mode="edge")
    sat = np.pad(padded.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    total = sat[k:, k:] - sat[:-k, k:] - sat[k:, :-k] + sat[:-k, :-k]
    return np.asarray(total / (k * k), dtype=np.float64)


def _stat(values: np.ndarray, fn: Callable[[np.ndarray], float], default: float = 0.0) -> float:
    return float(fn(values)) if values.size >= 8 else default


def feature_names() -> list[str]:
    """Names in the order :func:`face_features` returns them (kept in the head for checking)."""
    names: list[str] = []
    per_band = ("log_hp1", "log_noise", "log_grad", "log_hp_ratio", "y_mean", "cb_mean", "cr_mean", "log_y_std")
    names += [f"{band}.{stat}" for band in BANDS for stat in per_band]
    for a, b in (("core", "outside"), ("inner", "outer"), ("core", "inner"), ("outer", "outside")):
        names += [f"d.{a}-{b}.{s}" for s in ("log_hp1", "log_noise", "log_grad", "log_hp_ratio", "log_y_std")]
        names += [f"absd.{a}-{b}.{s}" for s in ("y_mean", "cb_mean", "cr_mean")]
    names += [f"seam.{c}" for c in CONTOURS]
    names += ["blocks.noise_std", "blocks.noise_range", "blocks.hp_std", "valid_fraction"]
    return names


def face_features(aligned: np.ndarray, valid: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Blending-boundary statistics of one aligned face (see the module docstring)."""
    r, g, b = aligned[..., 0], aligned[..., 1], aligned[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    hp1 = np.abs(y - _box_mean(y, 1))  # finest residual: sensor noise, JPEG, resampling
    hp2 = np.abs(_box_mean(y, 1) - _box_mean(y, 3))  # coarser detail
    gy, gx = np.gradient(_box_mean(y, 1))
    grad = np.hypot(gx, gy)
    # where the frame was filled (outside the crop) and a 2 px margin are excluded
    ok = valid & ~(np.pad(~valid, 2, constant_values=True)[4:, 4:] | np.pad(~valid, 2, constant_values=True)[:-4, :-4])
    hull = convex_hull(points)
    size = aligned.shape[0]
    masks = {scale: polygon_mask(hull, size, scale) for scale in {s for band in BANDS.values() for s in band}}
    eps = 1e-3
    stats: dict[str, dict[str, float]] = {}
    for band, (lo, hi) in BANDS.items():
        sel = masks[hi] & ~masks[lo] & ok if lo > 0 else masks[hi] & ok
        h1, h2 = hp1[sel], hp2[sel]
        stats[band] = {
            "log_hp1": math.log(_stat(h1, np.mean, 1.0) + eps),
            "log_noise": math.log(_stat(h1, np.median, 1.0) + eps),
            "log_grad": math.log(_stat(grad[sel], np.mean, 1.0) + eps),
            "log_hp_ratio": math.log((_stat(h1, np.mean, 1.0) + eps) / (_stat(h2, np.mean, 1.0) + eps)),
            "y_mean": _stat(y[sel], np.mean, 128.0) / 255.0,
            "cb_mean": _stat(cb[sel], np.mean, 128.0) / 255.0,
            "cr_mean": _stat(cr[sel], np.mean, 128.0) / 255.0,
            "log_y_std": math.log(_stat(y[sel], np.std, 1.0) + 1.0),
        }
    feats: list[float] = []
    for band in BANDS:
        feats += list(stats[band].values())
    for a, b2 in (("core", "outside"), ("inner", "outer"), ("core", "inner"), ("outer", "outside")):
        feats += [stats[a][s] - stats[b2][s] for s in ("log_hp1", "log_noise", "log_grad", "log_hp_ratio", "log_y_std")]
        feats += [abs(stats[a][s] - stats[b2][s]) for s in ("y_mean", "cb_mean", "cr_mean")]
    for c in CONTOURS:
        line = polygon_mask(hull, size, c + 0.02) & ~polygon_mask(hull, size, c - 0.02) & ok
        near = polygon_mask(hull, size, c + 0.08) & ~polygon_mask(hull, size, c - 0.08) & ok & ~line
        feats.append(math.log((_stat(grad[line], np.mean, 1.0) + eps) / (_stat(grad[near], np.mean, 1.0) + eps)))
    # 16 px blocks inside the hull: how uniform is the noise over the face?
    face = masks[1.0] & ok
    noise, detail = [], []
    for top in range(0, size - 15, 16):
        for left in range(0, size - 15, 16):
            if face[top : top + 16, left : left + 16].mean() > 0.9:
                noise.append(math.log(float(np.median(hp1[top : top + 16, left : left + 16])) + eps))
                detail.append(math.log(float(np.mean(hp1[top : top + 16, left : left + 16])) + eps))
    n_arr, d_arr = np.asarray(noise), np.asarray(detail)
    feats += [
        float(n_arr.std()) if n_arr.size > 2 else 0.0,
        float(np.percentile(n_arr, 90) - np.percentile(n_arr, 10)) if n_arr.size > 2 else 0.0,
        float(d_arr.std()) if d_arr.size > 2 else 0.0,
        float(ok.mean()),
    ]
    out = np.asarray(feats, dtype=np.float64)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


# --------------------------------------------------------------------------------- head
class MorphHead(CalibratedLogisticHead):
    """The calibrated logistic head loaded from JSON (numpy only)."""

    label = "morphing"
    REQUIRED = ("feature_names", *CALIBRATION_FIELDS, "landmark_sha256", "validation")

    def _read(self, data: dict[str, Any]) -> None:
        self.feature_names: list[str] = list(data["feature_names"])
        self.landmark_sha256: str = data["landmark_sha256"]
        self.version = str(data.get("version", "?"))
        if self.feature_names != feature_names():
            raise ValueError("morphing head was fitted on other features than this code computes")

    def _n_features(self) -> int:
        return len(self.feature_names)

    @classmethod
    def from_file(cls, path: Path = HEAD_PATH) -> MorphHead:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def logit(self, features: np.ndarray) -> float:
        return float(self.logits(features))


# --------------------------------------------------------------------------------- detector
class MorphingDetector(Detector):
    """Face morph / face swap per face crop (blending-boundary features + calibrated head)."""

    name = "morphing"
    version = "1.0"
    kind = "auxiliary"
    option = "with_morphing"
    relevance = 0.5

    def __init__(
        self,
        head_path: Path = HEAD_PATH,
        landmarker: FaceLandmarker | None = None,
        face_finder: FaceFinder | None = None,
        min_presence: float = 0.5,
    ) -> None:
        super().__init__()
        self._head_path = head_path
        self._landmarker = landmarker or FaceLandmarker()
        self._face_finder = face_finder
        self._min_presence = min_presence
        self._head: MorphHead | None = None
        self._load_error: str | None = None

    def _load(self) -> None:
        try:
            head = MorphHead.from_file(self._head_path)
            if head.landmark_sha256 != LANDMARK_SHA256:
                raise ValueError("the morphing head was fitted with another landmark model")
            self._landmarker.load()
            self._head = head
        except Exception as exc:  # reported per request as unknown, never raised
            self._head = None
            self._load_error = self.load_failed(exc)

    def predict_face(self, face_crop: Any) -> Prediction:
        """Judge one face crop (a ``PIL.Image`` with some margin around the face); never raises."""
        started = time.perf_counter()
        result = self._judge_face(face_crop)
        return Prediction(
            model=result.model,
            artificial=result.artificial,
            unknown=result.unknown,
            elapsed_time=round(time.perf_counter() - started, 6),
            details=result.details,
        )

    def _judge_face(self, face_crop: Any) -> Prediction:
        self.load()
        head = self._head
        if head is None:
            return self.unknown(f"morphing is unavailable: {self._load_error}")
        try:
            rgb = face_crop.convert("RGB")
        except Exception as exc:
            return self.unknown_because("could not read the face crop", exc)
        if min(rgb.size) < MIN_CROP_PX:
            return self.unknown("face crop too small to judge", crop_size=list(rgb.size))
        try:
            found = self._landmarker.detect(rgb)
        except Exception as exc:
            return self.unknown_because("face landmarks failed", exc)
        x0, y0, x1, y1 = found.box()
        face_px = max(x1 - x0, y1 - y0)
        details: dict[str, Any] = {
            "face_presence": round(found.presence, 4),
            "face_box": [round(v, 1) for v in (x0, y0, x1, y1)],
        }
        if found.presence < self._min_presence:
            return self.unknown("no face found", **details)
        if face_px < MIN_FACE_PX:
            return self.unknown("face too small to judge", **details)
        try:
            aligned, valid, moved = align_face(rgb, found.points)
            feats = face_features(aligned, valid, moved)
        except Exception as exc:
            return self.unknown_because("could not compute face features", exc, **details)
        logit = head.logit(feats)
        p = head.calibrate(logit)
        details.update({**head.calibration_details(logit, p), "head_version": head.version})
        return head.judge(self, p, details)

    def _find_faces(self, rgb: Any) -> list[Any]:
        """Face crops from the injected finder, else the landmark model on the whole image."""
        if self._face_finder is not None:
            return list(self._face_finder(rgb))
        found = self._landmarker.detect(rgb)
        x0, y0, x1, y1 = found.box()
        side = max(x1 - x0, y1 - y0)
        if found.presence < self._min_presence or side < MIN_FACE_PX:
            return []
        cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.8 * side
        return [rgb.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))]

    def _predict(self, media: MediaInput) -> Prediction:
        if self._head is None:
            return self.unknown(f"morphing is unavailable: {self._load_error}")
        try:
            rgb = media.image().convert("RGB")
        except Exception as exc:
            return self.unknown_because("could not decode the image", exc)
        if min(rgb.size) < MIN_CROP_PX:
            return self.unknown("no face found", reason_detail="image too small")
        try:
            crops = self._find_faces(rgb)
        except Exception as exc:
            return self.unknown_because("face search failed", exc)
        if not crops:
            return self.unknown("no face found")
        faces = [self._judge_face(crop) for crop in crops]
        judged = [f for f in faces if not f.unknown]
        per_face = [{"artificial": None if f.unknown else round(f.artificial, 4), **f.details} for f in faces]
        if not judged:
            return self.unknown("no face could be judged", faces=per_face)
        worst = max(judged, key=lambda f: f.artificial)
        return Prediction(
            model=self.name,
            artificial=worst.artificial,
            details={"faces": per_face, "aggregation": "max over judged faces"},
        )


def _relevance_from_head() -> float:
    try:
        auc = float(json.loads(HEAD_PATH.read_text(encoding="utf-8"))["validation"]["heldout"]["auc"])
    except (OSError, KeyError, ValueError, TypeError):
        return 0.5
    return round(min(max(auc, 0.0), 1.0), 3)


MorphingDetector.relevance = _relevance_from_head()

__all__ = ["HEAD_PATH", "MorphHead", "MorphingDetector", "align_face", "face_features", "feature_names"]
