"""Tampering detector on real photos from the shared eval set, edited in the test."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput, Prediction
from originlens.detectors.tampering import TamperingDetector, cell_size, tampering_map

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REAL = SHARED / "eval" / "real"
PHOTO = REAL / "exif-samples" / "gps_DSCN0010.jpg"
DONOR = REAL / "exif-samples" / "exif-org_kodak-dc240.jpg"
PNG = REAL / "pypi-scikit-image" / "astronaut.png"

pytestmark = pytest.mark.skipif(not PHOTO.exists(), reason="shared eval photos not available")


@pytest.fixture(scope="module")
def detector() -> TamperingDetector:
    return TamperingDetector()


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _predict(detector: TamperingDetector, data: bytes, mime: str = "image/jpeg") -> Prediction:
    return detector.predict(MediaInput(data=data, mime_type=mime))


def _overlaps(region: dict[str, int], box: tuple[int, int, int, int]) -> bool:
    return region["x1"] < box[2] and box[0] < region["x2"] and region["y1"] < box[3] and box[1] < region["y2"]


def test_metadata(detector: TamperingDetector) -> None:
    assert (detector.name, detector.kind, detector.option) == ("tampering", "auxiliary", "with_tampering")


def test_untouched_photo_is_not_flagged(detector: TamperingDetector) -> None:
    for data in (PHOTO.read_bytes(), _jpeg(_rgb(PHOTO), 85)):
        prediction = _predict(detector, data)
        assert not prediction.unknown, prediction.details
        assert prediction.artificial <= 0.5, prediction.details
        assert prediction.details["regions"] == []
        assert "reason" in prediction.details


def test_copy_move_is_flagged_and_located(detector: TamperingDetector) -> None:
    rgb = _rgb(PHOTO)
    edited = rgb.copy()
    edited[300:420, 453:573] = rgb[40:160, 60:180]
    prediction = _predict(detector, _jpeg(edited))
    assert prediction.artificial > 0.5, prediction.details
    regions = prediction.details["regions"]
    assert any(_overlaps(r, (453, 300, 573, 420)) for r in regions), regions
    # The copy-move cue itself finds the shift, even when other cues carry the verdict.
    assert prediction.details["cue_details"]["copy_move"]["shift_px"] == pytest.approx([393, 260], abs=3)


def test_splice_from_another_photo_is_detected(detector: TamperingDetector) -> None:
    rgb, donor = _rgb(PHOTO), _rgb(DONOR)
    edited = rgb.copy()
    edited[203:383, 301:501] = donor[101:281, 205:405]
    prediction = _predict(detector, _jpeg(edited))
    assert prediction.artificial > 0.5, prediction.details
    assert any(_overlaps(r, (301, 203, 501, 383)) for r in prediction.details["regions"])


def test_tiny_and_flat_inputs_are_unknown(detector: TamperingDetector) -> None:
    tiny = _predict(detector, _jpeg(_rgb(PHOTO)[:50, :50]))
    assert tiny.unknown and "64" in tiny.details["reason"]
    flat = _predict(detector, _jpeg(np.full((256, 256, 3), 128, dtype=np.uint8)))
    assert flat.unknown and "flat" in flat.details["reason"]


def test_png_runs_without_jpeg_cues(detector: TamperingDetector) -> None:
    prediction = _predict(detector, PNG.read_bytes(), "image/png")
    assert not prediction.unknown, prediction.details
    scores = prediction.details["scores"]
    assert scores["double_jpeg"]["statistic"] is None
    for cue in ("ela", "grid", "noise", "copy_move"):
        assert scores[cue]["statistic"] is not None, cue
    assert prediction.artificial <= 0.5, prediction.details
    rgb = _rgb(PNG)
    rgb[330:460, 340:470] = rgb[30:160, 40:170]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    assert _predict(detector, buf.getvalue(), "image/png").artificial > 0.5


def test_tampering_map_marks_the_copy() -> None:
    rgb = _rgb(PHOTO)
    rgb[300:420, 453:573] = rgb[40:160, 60:180]
    with Image.open(io.BytesIO(_jpeg(rgb))) as image:
        image.load()
        grid = tampering_map(image)
    cell = cell_size(640, 480)
    assert grid.dtype == np.float32 and grid.shape == (480 // cell, 640 // cell)
    assert float(grid.min()) >= 0.0 and float(grid.max()) <= 1.0
    assert grid[300 // cell : 420 // cell, 453 // cell : 573 // cell].max() > 0.5
