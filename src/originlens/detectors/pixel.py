"""The default pixel detector: CLIP intermediate-block tokens (+ optional low-level residual
statistics) with one calibrated logistic head, trained by ``scripts/train_pixel.py``.

Why this shape (``docs/models/pixel.md`` has the numbers): intermediate CLIP blocks carry the
low-level and mid-level cues that the final embedding discards (RINE), and looking at the
whole image resized to 224 gives the head the picture's overall rendering, while crops at
native resolution keep the generator's pixel-level traces. Which views, blocks and tokens
are used is stored in the head as a *feature spec*, e.g. ``whole:cls:3-8+native:mean:2-6+low``:

* ``whole:<cls|mean>:<a>-<b>``: CLS token or mean patch token of blocks a..b (0-based) of the
  whole image resized to 224x224 (bicubic);
* ``native:<cls|mean>:<a>-<b>``: the same of 224x224 crops cut at native resolution (the centre,
  plus up to :data:`NATIVE_CROPS` - 1 more on a diagonal for large images), features averaged;
* ``low``: :func:`originlens.detectors.residuals.residual_features` of the same native crops,
  averaged.

The CLIP graph is cut after the last block the spec needs, and all views run as one batch.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.clip_probe import (
    CROP,
    ENCODER_SHA256,
    ClipEncoder,
    EncoderUnavailable,
    normalise,
    to_rgb,
    upscale_if_small,
)
from originlens.detectors.heads import CALIBRATION_FIELDS, CalibratedLogisticHead, relevance_from_head

HEAD_PATH = Path(__file__).with_name("models") / "pixel_head.json"
NATIVE_CROPS = 3
VIEWS = ("whole", "native")
PARTS = ("cls", "mean")


@dataclass(frozen=True)
class FeatureTerm:
    """One piece of the feature vector: a view's token of one block, or the low-level set."""

    view: str
    block: int = -1
    part: str = ""

    @property
    def low(self) -> bool:
        return self.view == "low"


def parse_feature_spec(spec: str) -> list[FeatureTerm]:
    """``whole:cls:3-8+native:mean:2-6+low`` -> terms in order; ``ValueError`` when malformed."""
    terms: list[FeatureTerm] = []
    for chunk in spec.split("+"):
        if chunk == "low":
            terms.append(FeatureTerm("low"))
            continue
        try:
            view, part, blocks = chunk.split(":")
            lo, _, hi = blocks.partition("-")
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(f"malformed feature term {chunk!r} in {spec!r}") from None
        if view not in VIEWS or part not in PARTS or not 0 <= first <= last <= 11:
            raise ValueError(f"bad feature term {chunk!r} in {spec!r}")
        terms += [FeatureTerm(view, block, part) for block in range(first, last + 1)]
    if not terms:
        raise ValueError("empty feature spec")
    return terms


def native_boxes(width: int, height: int, count: int = NATIVE_CROPS) -> list[tuple[int, int, int, int]]:
    """224 crops at native resolution: the centre, then points on the main diagonal (1/4, 3/4),
    aligned to the 8-px JPEG grid so every crop sees the same block phase."""
    centres = [(0.5, 0.5), (0.25, 0.25), (0.75, 0.75)][:count]
    if max(width, height) < 2 * CROP:
        centres = centres[:1]
    boxes: list[tuple[int, int, int, int]] = []
    for fx, fy in centres:
        left = int(min(max(round(width * fx - CROP / 2), 0), width - CROP)) // 8 * 8
        top = int(min(max(round(height * fy - CROP / 2), 0), height - CROP)) // 8 * 8
        box = (left, top, left + CROP, top + CROP)
        if box not in boxes:
            boxes.append(box)
    return boxes


_ENCODERS: dict[tuple[str, int, tuple[int, ...]], ClipEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(path: Path | None, threads: int, blocks: tuple[int, ...]) -> ClipEncoder:
    """One cut CLIP session per process and configuration: the graph edit and session start
    cost seconds and ~100 MB, and onnxruntime sessions are safe to run from several threads."""
    key = (str(path or ""), threads, blocks)
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = _ENCODERS[key] = ClipEncoder(path, threads=threads, only_blocks=blocks)
        return encoder


class PixelHead(CalibratedLogisticHead):
    """The calibrated head and the feature spec it was fitted on."""

    label = "pixel"
    REQUIRED = ("feature_spec", *CALIBRATION_FIELDS, "encoder_sha256", "validation")

    def _read(self, data: dict[str, Any]) -> None:
        self.feature_spec: str = data["feature_spec"]
        self.terms = parse_feature_spec(self.feature_spec)
        self.encoder_sha256: str = data["encoder_sha256"]

    @classmethod
    def from_file(cls, path: Path = HEAD_PATH) -> PixelHead:
        return cls(json.loads(path.read_text(encoding="utf-8")))


RESIZABLE_MODES = ("RGB", "RGBA", "L", "LA")


def whole_view(image: Any) -> Any:
    """The whole image at 224x224 RGB (bicubic). Large images are resized *before* the RGB
    copy, with Pillow's ``reducing_gap=3`` (a box pre-reduction, visually the same as the full
    bicubic filter): on a 12 MP photo this takes ~50 ms instead of ~300 ms."""
    from PIL import Image

    if image.mode in RESIZABLE_MODES:
        return to_rgb(image.resize((CROP, CROP), Image.Resampling.BICUBIC, reducing_gap=3.0))
    return to_rgb(image).resize((CROP, CROP), Image.Resampling.BICUBIC, reducing_gap=3.0)


def prepare_views(image: Any, terms: list[FeatureTerm]) -> tuple[np.ndarray, int, list[np.ndarray], dict[str, Any]]:
    """The CLIP batch (whole view first, then native crops), how many native crops it holds,
    the native crops as arrays (for the low-level terms) and what was done."""

    views = {t.view for t in terms}
    batch: list[np.ndarray] = []
    if "whole" in views:
        batch.append(normalise(whole_view(image)))
    native_needed = "native" in views or "low" in views
    crops: list[Any] = []
    info: dict[str, Any] = {"image_size": list(image.size)}
    if native_needed:
        big = upscale_if_small(to_rgb(image))
        info["upscaled"] = big.size != image.size
        boxes = native_boxes(*big.size)
        crops = [big.crop(box) for box in boxes]
        info["native_crops"] = [list(box) for box in boxes]
    if "native" in views:
        batch += [normalise(crop) for crop in crops]
    arrays = [np.asarray(crop, dtype=np.float32) for crop in crops] if "low" in views else []
    n_native = len(crops) if "native" in views else 0
    stacked = np.stack(batch) if batch else np.zeros((0, 3, CROP, CROP), dtype=np.float32)
    return stacked, n_native, arrays, info


def assemble_features(
    tokens: dict[int, np.ndarray], n_native: int, low: np.ndarray | None, terms: list[FeatureTerm]
) -> np.ndarray:
    """The head's feature row from block tokens ``{block: [B,197,768]}`` (whole view at row 0
    when present, native crops in the last ``n_native`` rows) and averaged low-level features."""
    columns: list[np.ndarray] = []
    for term in terms:
        if term.low:
            if low is None:
                raise ValueError("low-level features are missing")
            columns.append(low)
            continue
        hidden = tokens[term.block]
        rows = hidden[-n_native:] if term.view == "native" else hidden[:1]
        token = rows[:, 0, :] if term.part == "cls" else rows[:, 1:, :].mean(axis=1)
        columns.append(token.mean(axis=0))
    return np.concatenate(columns).astype(np.float64)


class PixelDetector(Detector):
    """Frozen CLIP ViT-B/16 blocks (+ residual statistics) and our calibrated head."""

    name = "pixel"
    version = "1.0"
    kind = "statistical"
    obsolete = False
    relevance = 0.5
    """Replaced at import time by the head's leave-source-out validation AUC."""

    def __init__(
        self, encoder_path: Path | None = None, head_path: Path = HEAD_PATH, threads: int = 2, votes: bool = True
    ) -> None:
        """``votes=False`` makes it an indicator (see :attr:`Detector.votes`)."""
        super().__init__()
        self.votes = votes
        self._encoder_path = encoder_path
        self._head_path = head_path
        self._threads = threads
        self._encoder: ClipEncoder | None = None
        self._head: PixelHead | None = None
        self._load_error: str | None = None

    def _load(self) -> None:
        try:
            self._head = PixelHead.from_file(self._head_path)
            if self._head.encoder_sha256 != ENCODER_SHA256:
                raise EncoderUnavailable("the pixel head was fitted on another encoder")
            blocks = tuple(sorted({t.block for t in self._head.terms if not t.low}))
            if blocks:
                self._encoder = shared_encoder(self._encoder_path, self._threads, blocks)
        except Exception as exc:  # reported per request as unknown, never raised
            self._encoder = None
            self._head = None
            self._load_error = self.load_failed(exc)

    def _predict(self, media: MediaInput) -> Prediction:
        head = self._head
        if head is None:
            return self.unknown(f"the pixel model is unavailable: {self._load_error}")
        try:
            batch, n_native, arrays, info = prepare_views(media.image(), head.terms)
        except Exception as exc:
            return self.unknown_because("could not prepare the image", exc)
        tokens = self._encoder.encode_only_blocks(batch) if self._encoder is not None and len(batch) else {}
        low = None
        if arrays:
            from originlens.detectors.residuals import residual_features

            low = np.mean([residual_features(a) for a in arrays], axis=0)
        features = assemble_features(tokens, n_native, low, head.terms)
        logit = float(head.logits(features))
        p = head.calibrate(logit)
        details = {**info, **head.calibration_details(logit, p), "feature_spec": head.feature_spec}
        return head.judge(self, p, details)


PixelDetector.relevance = relevance_from_head(HEAD_PATH)

__all__ = [
    "NATIVE_CROPS",
    "PixelDetector",
    "PixelHead",
    "assemble_features",
    "parse_feature_spec",
    "prepare_views",
    "shared_encoder",
]
