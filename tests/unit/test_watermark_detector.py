"""The invisible-watermark (imwatermark dwtDct) detector.

Three sources of truth, none of them the detector itself:

* ``shared/eval/MANIFEST.csv``: every file's ``sd1-wm-bit-acc`` note, measured with
  invisible-watermark 0.2.0's own decoder against "StableDiffusionV1";
* ``tests/fixtures/watermark/``: crops of public-domain / CC0 photos marked by the reference
  encoder the way SD 1.x, SD 2.x, SDXL (sgm, and diffusers before 0.27) and FLUX mark their
  outputs, with the bits the reference decoder reads back (``scripts/make_watermark_fixtures.py``);
* a straightforward PyWavelets transcription of ``EmbedMaxDct.decode`` (when pywt is installed).
"""

from __future__ import annotations

import ast
import csv
import functools
import io
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput, Prediction
from originlens.detectors.watermark import (
    AI_SCORE,
    FALSE_ALARM_PER_MESSAGE,
    KNOWN_MARKS,
    SCALE,
    WatermarkDetector,
    _exact_uint8_votes,
    _u_plane,
    binomial_tail,
    bits_from_bytes,
    bits_from_int,
    block_votes,
    check_marks,
    min_matching_bits,
)
from tests.support.shared_data import EVAL, MIME_BY_EXT, REPO, needs_eval

FIXTURES = REPO / "tests" / "fixtures" / "watermark"
MODULE = REPO / "src" / "originlens" / "detectors" / "watermark.py"
MARKS = {mark.name: mark for mark in KNOWN_MARKS}
SD1_THRESHOLD = 87 / 136


# ---------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class EvalFile:
    file: str
    label: str
    sd1_bit_accuracy: float | None

    @property
    def path(self) -> Path:
        return EVAL / self.file

    @property
    def is_sd1(self) -> bool:
        return self.file.startswith("ai/sd-v1/")


def _eval_files() -> list[EvalFile]:
    manifest = EVAL / "MANIFEST.csv"
    if not manifest.is_file():
        return []
    files = []
    with manifest.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if Path(row["file"]).suffix.lower() not in MIME_BY_EXT:
                continue
            match = re.search(r"sd1-wm-bit-acc=([0-9.]+)", row["notes"])
            files.append(EvalFile(row["file"], row["label"], float(match.group(1)) if match else None))
    return files


EVAL_FILES = _eval_files()
SD1_FILES = [f for f in EVAL_FILES if f.is_sd1]


def _fixtures() -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / "fixtures.json").read_text())["fixtures"])


FIXTURE_ENTRIES = _fixtures()


def _media_file(path: Path) -> MediaInput:
    return MediaInput(path.read_bytes(), MIME_BY_EXT[path.suffix.lower()], path.name)


def _media_image(image: Image.Image, mime: str = "image/png") -> MediaInput:
    return MediaInput(b"", mime, decoded=image)


def _encode(image: Image.Image, fmt: str, **params: Any) -> MediaInput:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return MediaInput(buffer.getvalue(), f"image/{fmt.lower()}")


def _fixture_image(entry: dict[str, Any]) -> Image.Image:
    image = Image.open(FIXTURES / entry["file"])
    image.load()
    return image


def _message(prediction: Prediction, name: str) -> dict[str, Any]:
    (found,) = [m for m in prediction.details["messages"] if m["name"] == name]
    return dict(found)


def _assert_hit(prediction: Prediction, name: str) -> None:
    mark = MARKS[name]
    assert not prediction.unknown, prediction.details["reason"]
    assert prediction.artificial == AI_SCORE and prediction.label == "artificial"
    assert prediction.forces == "artificial"
    details = prediction.details
    assert details["message"] == mark.message
    assert details["generator"] == mark.generator
    assert details["bits"] == len(mark.bits)
    assert details["bit_accuracy"] >= details["threshold"]
    assert details["false_alarm_probability"] <= FALSE_ALARM_PER_MESSAGE
    assert details["reason"] == (
        f"{mark.generator} invisible watermark decoded ({details['bit_accuracy']:.0%} of {len(mark.bits)} bits)"
    )
    assert _message(prediction, name)["hit"] is True


def _assert_no_hit(prediction: Prediction) -> None:
    assert prediction.unknown, prediction.details.get("reason")
    assert prediction.forces is None and prediction.artificial == 0.5
    reason = prediction.details["reason"]
    if "messages" in prediction.details:
        assert re.fullmatch(r"no known invisible watermark \(best bit accuracy \d\.\d\d\)", reason), reason
        assert not any(m["hit"] for m in prediction.details["messages"])


@pytest.fixture(scope="module")
def detector() -> WatermarkDetector:
    d = WatermarkDetector()
    d.load()
    return d


@pytest.fixture(scope="module")
def eval_results(detector: WatermarkDetector) -> dict[str, Prediction]:
    return {f.file: detector.predict(_media_file(f.path)) for f in EVAL_FILES}


# ---------------------------------------------------------------------------- messages and thresholds


def test_known_messages_are_the_reference_bits() -> None:
    sd1 = MARKS["StableDiffusionV1"]
    assert len(sd1.bits) == 136 and sd1.bits[:8] == (0, 1, 0, 1, 0, 0, 1, 1)  # "S", MSB first (np.unpackbits)
    assert sd1.convention == "bgr-uint8"
    assert MARKS["SDV2"].bits == bits_from_bytes(b"SDV2") and len(MARKS["SDV2"].bits) == 32
    sdxl = "101100111110110010010000011110111011000110011110"
    assert "".join(map(str, MARKS["SDXL"].bits)) == sdxl
    assert MARKS["SDXL-rgb"].bits == MARKS["SDXL"].bits
    assert (MARKS["SDXL"].convention, MARKS["SDXL-rgb"].convention) == ("bgr-float", "rgb-float")
    # FLUX has its own message; bin() drops its two leading zeros, as the reference code does.
    assert "".join(map(str, MARKS["FLUX"].bits)) == "1010101111111010000111100111001111010100101110"
    assert bits_from_int(0b0011) == (1, 1)
    assert MARKS["FLUX"].convention == "bgr-float"
    assert len({mark.name for mark in KNOWN_MARKS}) == len(KNOWN_MARKS)


def test_thresholds_come_from_the_binomial_tail() -> None:
    expected = {"StableDiffusionV1": 87, "SDV2": 26, "SDXL": 36, "SDXL-rgb": 36, "FLUX": 34}
    for mark in KNOWN_MARKS:
        n = len(mark.bits)
        k = min_matching_bits(n, FALSE_ALARM_PER_MESSAGE)
        assert k == expected[mark.name]
        assert binomial_tail(n, k) <= FALSE_ALARM_PER_MESSAGE < binomial_tail(n, k - 1)
        # A flat image decodes to one repeated bit: it must never reach the threshold.
        ones = sum(mark.bits)
        assert max(ones, n - ones) < k
    assert binomial_tail(136, 87) == pytest.approx(7.09e-4, rel=1e-2)
    assert binomial_tail(136, 84) == pytest.approx(3.81e-3, rel=1e-2)  # what 0.62 (84/136) would cost
    assert binomial_tail(10, 0) == 1.0 and binomial_tail(10, 11) == 0.0
    assert min_matching_bits(136, 1e-4) == 91


def test_false_alarm_setting_changes_the_threshold() -> None:
    strict = WatermarkDetector(false_alarm_per_message=1e-6)
    assert strict.false_alarm_per_message == 1e-6
    with pytest.raises(ValueError):
        WatermarkDetector(false_alarm_per_message=0.0)


def test_detector_metadata() -> None:
    d = WatermarkDetector()
    assert (d.name, d.kind, d.version, d.relevance) == ("watermark", "provenance", "1.0", 0.9)
    assert d.accepts(MediaInput(b"", "image/webp")) and not d.accepts(MediaInput(b"", "video/mp4"))


# ---------------------------------------------------------------------------- the shared evaluation set


@needs_eval
def test_manifest_has_the_sd1_files() -> None:
    assert len(SD1_FILES) >= 15
    assert all(f.sd1_bit_accuracy is not None and f.path.is_file() for f in SD1_FILES)


@needs_eval
@pytest.mark.parametrize("case", SD1_FILES, ids=lambda f: f.file)
def test_sd1_files_decode_like_imwatermark(case: EvalFile, eval_results: dict[str, Prediction]) -> None:
    prediction = eval_results[case.file]
    accuracy = _message(prediction, "StableDiffusionV1")["bit_accuracy"]
    assert case.sd1_bit_accuracy is not None
    assert abs(accuracy - case.sd1_bit_accuracy) <= 0.03
    assert round(accuracy, 2) == case.sd1_bit_accuracy  # in fact bit-exact with imwatermark
    if case.sd1_bit_accuracy >= SD1_THRESHOLD:
        _assert_hit(prediction, "StableDiffusionV1")
        assert prediction.details["message"] == "StableDiffusionV1"
    else:
        # 00042.png: 84 of 136 bits (0.62). A random image does that 3.8 times in 1000, above the
        # 1e-3 budget per message: a documented miss, reported with its bit accuracy.
        _assert_no_hit(prediction)
        assert prediction.details["best_message"] == "StableDiffusionV1"


@needs_eval
def test_sd1_files_with_the_mark_intact_are_caught(eval_results: dict[str, Prediction]) -> None:
    caught = [f.file for f in SD1_FILES if not eval_results[f.file].unknown]
    missed = [f.file for f in SD1_FILES if eval_results[f.file].unknown]
    assert missed == ["ai/sd-v1/00042.png"], missed
    assert len(caught) == len(SD1_FILES) - 1


@needs_eval
def test_no_other_eval_file_is_a_hit(eval_results: dict[str, Prediction]) -> None:
    others = [f for f in EVAL_FILES if not f.is_sd1]
    assert len(others) > 300
    hits = [f.file for f in others if not eval_results[f.file].unknown]
    assert hits == []
    for f in others:
        _assert_no_hit(eval_results[f.file])
    assert any(f.label == "human" for f in others)


@needs_eval
def test_small_eval_files_stay_below_every_threshold_too() -> None:
    """Files under 256x256 are 'too small' for the detector (as for imwatermark); the raw decoder
    still runs on them here, to see that no message comes near its threshold."""
    checked = 0
    for f in EVAL_FILES:
        if f.is_sd1:
            continue
        try:
            image = Image.open(f.path)
            image.load()
        except Exception:
            continue
        if image.width * image.height >= 256 * 256 or (image.width // 8) * (image.height // 8) < 136:
            continue
        for result in check_marks(block_votes(image), KNOWN_MARKS, FALSE_ALARM_PER_MESSAGE):
            assert not result.hit, (f.file, result.as_dict())
        checked += 1
    assert checked > 100


@needs_eval
def test_eval_verdicts_are_reported_for_every_message(eval_results: dict[str, Prediction]) -> None:
    for f in EVAL_FILES:
        prediction = eval_results[f.file]
        json.dumps(prediction.details)
        if "messages" in prediction.details:
            names = [m["name"] for m in prediction.details["messages"]]
            assert names == [mark.name for mark in KNOWN_MARKS]
            assert prediction.details["blocks_read"] <= prediction.details["blocks_total"]


@needs_eval
def test_resized_or_recompressed_sd1_files_are_not_detected(detector: WatermarkDetector) -> None:
    for name in ("00044.png", "grid-0004.png"):
        image = Image.open(EVAL / "ai" / "sd-v1" / name).convert("RGB")
        _assert_hit(detector.predict(_media_image(image)), "StableDiffusionV1")
        half = image.resize((image.width // 2, image.height // 2), Image.Resampling.BICUBIC)
        _assert_no_hit(detector.predict(_media_image(half)))
        _assert_no_hit(detector.predict(_encode(image, "JPEG", quality=75)))


@needs_eval
def test_sampled_decode_of_a_large_image_still_finds_the_mark() -> None:
    grid = Image.open(EVAL / "ai" / "sd-v1" / "grid-0004.png")  # 776x518: 64 x 97 blocks
    sampler = WatermarkDetector(full_decode_max_pixels=0, sample_pixels=64 * 97 * 16)
    prediction = sampler.predict(_media_file(EVAL / "ai" / "sd-v1" / "grid-0004.png"))
    _assert_hit(prediction, "StableDiffusionV1")
    assert prediction.details["sampled"] is True
    assert prediction.details["blocks_read"] == 16 * 97 < prediction.details["blocks_total"] == 64 * 97
    assert grid.size == (776, 518)


# ---------------------------------------------------------------------------- the reference encoder's fixtures


def test_fixtures_are_small_and_listed() -> None:
    files = {entry["file"] for entry in FIXTURE_ENTRIES}
    on_disk = {p.name for p in FIXTURES.glob("*.png")}
    assert files == on_disk
    assert {entry["check"] for entry in FIXTURE_ENTRIES} == set(MARKS)
    assert sum(p.stat().st_size for p in FIXTURES.iterdir()) < 300_000


@pytest.mark.parametrize("entry", FIXTURE_ENTRIES, ids=lambda e: e["file"])
def test_reference_encoder_output_is_detected(entry: dict[str, Any], detector: WatermarkDetector) -> None:
    mark = MARKS[entry["check"]]
    assert "".join(map(str, mark.bits)) == entry["bits"]
    prediction = detector.predict(_media_file(FIXTURES / entry["file"]))
    _assert_hit(prediction, mark.name)
    assert prediction.details["sampled"] is False
    # The same bits as imwatermark's decoder: exactly for the uint8 convention, and within a
    # bit or two for the float ones (decoded here from the 8-bit file, see the module docstring).
    votes = block_votes(_fixture_image(entry), (mark.convention,))
    decoded = "".join("1" if b else "0" for b in votes.bits(mark.convention, len(mark.bits)))
    differing = sum(a != b for a, b in zip(decoded, entry["reference_bits"], strict=True))
    if mark.convention == "bgr-uint8":
        assert differing == 0
    else:
        assert differing <= 2
    assert prediction.details["bit_accuracy"] >= entry["reference_bit_accuracy"] - 2 / len(mark.bits)


@pytest.mark.parametrize("entry", FIXTURE_ENTRIES, ids=lambda e: e["file"])
def test_recompressed_or_resized_fixture_is_not_detected(entry: dict[str, Any], detector: WatermarkDetector) -> None:
    image = _fixture_image(entry).convert("RGB")
    _assert_no_hit(detector.predict(_encode(image, "JPEG", quality=75)))
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.BICUBIC)
    too_small = detector.predict(_media_image(half))
    assert too_small.unknown and "too small" in too_small.details["reason"]
    shifted = Image.new("RGB", (image.width + 8, image.height + 8), (128, 128, 128))
    shifted.paste(image, (4, 4))  # the mark off the 8-pixel block grid, as after a crop
    _assert_no_hit(detector.predict(_media_image(shifted)))


@pytest.mark.parametrize("entry", FIXTURE_ENTRIES, ids=lambda e: e["file"])
def test_fixture_survives_lossless_container_changes(entry: dict[str, Any], detector: WatermarkDetector) -> None:
    image = _fixture_image(entry).convert("RGB")
    rgba = image.convert("RGBA")
    rgba.putalpha(200)
    _assert_hit(detector.predict(_encode(rgba, "PNG")), entry["check"])  # alpha is dropped, as cv2.imread does
    _assert_hit(detector.predict(_encode(image, "WEBP", lossless=True)), entry["check"])
    wide = np.asarray(image).astype(np.uint16) * 257  # 16 bits per channel, high byte = the 8-bit value
    _assert_hit(detector.predict(MediaInput(_png16(wide), "image/png")), entry["check"])


@needs_eval
@pytest.mark.parametrize("entry", FIXTURE_ENTRIES, ids=lambda e: e["file"])
def test_unmarked_original_is_not_detected(entry: dict[str, Any], detector: WatermarkDetector) -> None:
    original = Image.open(EVAL / entry["source"]).convert("RGB").crop(tuple(entry["crop_box"]))
    prediction = detector.predict(_media_image(original))
    _assert_no_hit(prediction)
    assert _message(prediction, entry["check"])["bit_accuracy"] < entry["reference_bit_accuracy"]


# ---------------------------------------------------------------------------- exactness against pywt


def _pywt_decode_votes(u: np.ndarray) -> np.ndarray:
    """EmbedMaxDct.decode_frame's votes, transcribed line by line with pywt (imwatermark 0.2.0)."""
    pywt = pytest.importorskip("pywt")
    rows, cols = u.shape
    ca1, _ = pywt.dwt2(u[: rows // 4 * 4, : cols // 4 * 4].astype(np.uint8), "haar")
    votes = []
    for i in range(ca1.shape[0] // 4):
        row = []
        for j in range(ca1.shape[1] // 4):
            block = ca1[i * 4 : i * 4 + 4, j * 4 : j * 4 + 4]
            pos = np.argmax(abs(block.flatten()[1:])) + 1
            val = abs(block[pos // 4][pos % 4])
            row.append((val % SCALE) > 0.5 * SCALE)
        votes.append(row)
    return np.array(votes, dtype=bool)


def test_integer_shortcut_matches_pywt_including_boundary_blocks() -> None:
    pytest.importorskip("pywt")
    rng = np.random.default_rng(7)
    # A narrow range of U values makes many blocks land exactly on the mod-72 boundary.
    rgb = rng.integers(118, 138, size=(256, 264, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    u = _u_plane(rgb)
    expected = _pywt_decode_votes(u)
    votes = block_votes(image, ("bgr-uint8",)).votes["bgr-uint8"]
    assert votes.shape == expected.shape == (32, 33)
    assert np.array_equal(votes, expected)
    # and the float fix-up alone, on every block
    bi, bj = np.nonzero(np.ones_like(expected))
    assert np.array_equal(_exact_uint8_votes(u, 32, 33, bi, bj).reshape(32, 33), expected)


def test_u_plane_is_cv2s_integer_formula() -> None:
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [0, 0, 255], [255, 0, 0], [12, 200, 99]]], dtype=np.uint8)
    # cv2.cvtColor(bgr, COLOR_BGR2YUV)[..., 1] for these colours (OpenCV 4.14)
    assert _u_plane(rgb).tolist() == [[128, 128, 239, 91, 112]]
    assert _u_plane(rgb, swapped=True).tolist() == [[128, 128, 91, 239, 61]]


# ---------------------------------------------------------------------------- hostile input


def _png16(array: np.ndarray) -> bytes:
    """A 16-bit PNG (grayscale or RGB) written by hand: Pillow cannot write 48-bit RGB."""
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour_type = {1: 0, 3: 2}[channels]
    rows = array.astype(">u2").reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@functools.cache
def _hostile_inputs() -> dict[str, MediaInput]:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, size=(300, 300, 3), dtype=np.uint8)
    palette = Image.fromarray(noise).quantize(64)
    palette.info["transparency"] = 0
    cmyk = Image.fromarray(noise).convert("CMYK")
    return {
        "1x1": _encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "3x3": _encode(Image.new("RGB", (3, 3)), "PNG"),
        "strip 65536x1": _media_image(Image.new("RGB", (65536, 1), (200, 10, 10))),
        "strip 2x40000": _media_image(Image.new("RGB", (2, 40000), (200, 10, 10))),
        "grayscale": _encode(Image.fromarray(noise[..., 0]), "PNG"),
        "grayscale+alpha": _encode(Image.fromarray(noise[..., :2].copy()), "PNG"),
        "bilevel": _encode(Image.fromarray(noise[..., 0]).convert("1"), "PNG"),
        "palette": _encode(palette, "PNG"),
        "palette gif": _encode(palette, "GIF"),
        "rgba": _encode(Image.fromarray(noise).convert("RGBA"), "PNG"),
        "16-bit gray": MediaInput(_png16(rng.integers(0, 65536, (300, 300), dtype=np.uint16)), "image/png"),
        "16-bit rgb": MediaInput(_png16(rng.integers(0, 65536, (300, 300, 3), dtype=np.uint16)), "image/png"),
        "32-bit int": _media_image(Image.fromarray(rng.integers(0, 2**20, (300, 300), dtype=np.int32))),
        "float": _media_image(Image.fromarray(rng.random((300, 300), dtype=np.float32))),
        "cmyk jpeg": _encode(cmyk, "JPEG"),
        "flat colour": _encode(Image.new("RGB", (512, 512), (90, 140, 200)), "PNG"),
        "black": _encode(Image.new("RGB", (512, 512)), "PNG"),
        "odd size": _encode(Image.fromarray(noise[:263, :299].copy()), "PNG"),
        "truncated png": MediaInput(_encode(Image.fromarray(noise), "PNG").data[:500], "image/png"),
        "not an image": MediaInput(b"definitely not an image", "image/png"),
        "empty": MediaInput(b"", "image/jpeg"),
    }


@pytest.mark.parametrize("name", list(_hostile_inputs()))
def test_hostile_input_never_raises(name: str, detector: WatermarkDetector) -> None:
    prediction = detector.predict(_hostile_inputs()[name])
    assert isinstance(prediction, Prediction)
    assert prediction.unknown, prediction.details
    assert prediction.details["reason"]
    json.dumps(prediction.details)
    if name in {"1x1", "3x3", "strip 65536x1", "strip 2x40000"}:
        assert "too small" in prediction.details["reason"]
    if name in {"grayscale", "grayscale+alpha", "bilevel", "16-bit gray", "32-bit int", "float"}:
        assert "grayscale" in prediction.details["reason"]
    if name in {"truncated png", "not an image", "empty"}:
        assert "could not be decoded" in prediction.details["reason"]


def test_other_media_types_are_not_judged(detector: WatermarkDetector) -> None:
    prediction = detector.predict(MediaInput(b"\x00\x00\x00\x18ftypmp42", "video/mp4"))
    assert prediction.unknown and "does not judge" in prediction.details["reason"]


# ---------------------------------------------------------------------------- speed and purity


def test_twelve_megapixel_image_is_cheap(detector: WatermarkDetector) -> None:
    rng = np.random.default_rng(11)
    small = Image.fromarray(rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8))
    image = small.resize((4000, 3000), Image.Resampling.BILINEAR)
    media = _media_image(image)
    detector.predict(media)  # warm caches
    started = time.perf_counter()
    prediction = detector.predict(media)
    elapsed = time.perf_counter() - started
    _assert_no_hit(prediction)
    assert prediction.details["sampled"] is True
    assert prediction.details["blocks_total"] == 375 * 500
    assert 16 * 500 <= prediction.details["blocks_read"] <= 60 * 500
    assert elapsed < 1.0, f"{elapsed * 1000:.0f} ms"  # about 30 ms on a developer machine


def test_full_decode_up_to_the_limit() -> None:
    image = Image.new("RGB", (1536, 1536), (120, 130, 140))
    votes = block_votes(image, ("bgr-uint8",))
    assert not votes.sampled and votes.blocks_read == 192 * 192
    bigger = Image.new("RGB", (1544, 1536), (120, 130, 140))
    assert block_votes(bigger, ("bgr-uint8",)).sampled


def test_module_is_a_pure_detector() -> None:
    tree = ast.parse(MODULE.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name.startswith("originlens")} == {"originlens.detectors.base"}
    assert not imported & {"torch", "cv2", "imwatermark", "pywt", "scipy"}
