"""The optional analyses through the API: faces in ``details``, ``with_morphing``,
``with_nsfw`` and ``with_tampering``, on real photos from ../shared/eval."""

from __future__ import annotations

import io
import random

from PIL import Image

from originlens.detectors.morphing import MorphingDetector
from originlens.faces.detection import FaceDetector
from tests.conftest import RunningServer, make_user, submit, wait_done
from tests.support.morphs import self_blend
from tests.support.shared_data import EVAL, needs_eval

pytestmark = needs_eval

TWO_PEOPLE = EVAL / "faces" / "face_recognition" / "two_people.jpg"
PORTRAIT = EVAL / "faces" / "face_recognition" / "biden.jpg"
DOGS = EVAL / "faces" / "dlib" / "dogs.jpg"
AUXILIARY = {"tampering", "nsfw", "morphing"}


def _result(body: dict, model: str) -> dict | None:
    return next((r for r in body["results"] if r["model"] == model), None)


def _voters(body: dict) -> set[str]:
    return {m for v in body["verdicts"] for m in v.get("models", [])}


class TestFaces:
    def test_every_face_is_a_detection_with_a_box_inside_the_image(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, TWO_PEOPLE.read_bytes(), name="two_people.jpg"), timeout=60)
        width, height = Image.open(TWO_PEOPLE).size
        detections = body["details"][0]["detections"]
        assert len(detections) == 2
        for detection in detections:
            box = detection["box"]
            assert 0 <= box["x1"] < box["x2"] <= width and 0 <= box["y1"] < box["y2"] <= height
            assert detection["verdict"]["heuristic"] and detection["verdict"]["classification"] in (
                "human",
                "artificial",
            )
        # two different faces, not one face twice
        assert abs(detections[0]["box"]["x1"] - detections[1]["box"]["x1"]) > 50
        assert _result(body, "morphing") is None, "morphing runs only when asked"

    def test_an_image_without_faces_has_no_detections(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, DOGS.read_bytes(), name="dogs.jpg"), timeout=60)
        assert body["details"][0]["detections"] == []


class TestMorphing:
    def test_each_face_is_judged_and_the_image_gets_a_morphing_result(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, PORTRAIT.read_bytes(), name="biden.jpg", with_morphing=True), 60)
        morphing = _result(body, "morphing")
        assert morphing is not None and morphing["kind"] == "auxiliary"
        detections = body["details"][0]["detections"]
        assert len(detections) == 1
        face_models = [r["model"] for r in detections[0]["results"]]
        assert "morphing" in face_models
        face_morph = detections[0]["results"][face_models.index("morphing")]
        if not morphing["unknown"]:
            assert morphing["classification"][1]["score"] == face_morph["classification"][1]["score"]
            assert morphing["classification"][1]["score"] < 0.5, "a real portrait must not be called a morph"
        else:
            assert morphing["classification_details"]["reason"]
        assert "morphing" not in _voters(body), "the morph model never votes on the image's AI verdict"

    def test_a_self_blended_face_scores_higher_than_the_same_face_untouched(self, server: RunningServer) -> None:
        """The same portrait with and without a morph (a self-blend made here from the real face)."""
        portrait = Image.open(PORTRAIT).convert("RGB")
        face = FaceDetector().detect(portrait)[0]
        x1, y1, x2, y2 = (round(v) for v in face.box)
        crop = portrait.crop((x1, y1, x2, y2))
        forged = portrait.copy()
        forged.paste(self_blend(MorphingDetector(), crop), (x1, y1))
        scores = []
        _, key = make_user(server)
        with server.client(key) as client:
            for image in (portrait, forged):
                out = io.BytesIO()
                image.save(out, "PNG")
                body = wait_done(client, submit(client, out.getvalue(), name="p.png", with_morphing=True), 60)
                results = body["details"][0]["detections"][0]["results"]
                morph = next(r for r in results if r["model"] == "morphing")
                scores.append(morph["classification_details"]["logit"])
        assert scores[1] > scores[0] + 0.3, scores

    def test_no_face_means_unknown_with_the_reason(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, DOGS.read_bytes(), name="dogs.jpg", with_morphing=True), 60)
        morphing = _result(body, "morphing")
        assert morphing is not None and morphing["unknown"] is True
        assert morphing["classification_details"]["reason"] == "no face found"


class TestNsfw:
    def test_a_safe_photo_is_not_nsfw_and_is_nsfw_is_present_only_when_asked(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            asked = wait_done(client, submit(client, TWO_PEOPLE.read_bytes(), name="a.jpg", with_nsfw=True), 60)
            plain = wait_done(client, submit(client, TWO_PEOPLE.read_bytes(), name="b.jpg"), 60)
        assert asked["is_nsfw"] is False
        nsfw = _result(asked, "nsfw")
        assert nsfw is not None and nsfw["unknown"] is False and nsfw["kind"] == "auxiliary"
        assert nsfw["classification_details"]["is_nsfw"] is False
        assert "nsfw" not in _voters(asked)
        assert "is_nsfw" not in plain and _result(plain, "nsfw") is None


def _spliced_copy_move(path: str) -> bytes:
    """A region of the photo pasted elsewhere in it (a copy-move), saved as JPEG q90."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    side = min(w, h) // 4
    rng = random.Random(5)
    sx, sy = rng.randrange(0, w // 2 - side), rng.randrange(0, h - side)
    patch = image.crop((sx, sy, sx + side, sy + side))
    image.paste(patch, (w - side - 8, max(0, min(h - side, sy + side // 2))))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class TestTampering:
    def test_copy_move_is_flagged_with_a_map_and_the_original_is_not(self, server: RunningServer) -> None:
        """Both saved at the same JPEG quality, so a re-save alone cannot explain the difference."""
        photo = str(EVAL / "faces" / "dlib" / "bald_guys.jpg")
        original = io.BytesIO()
        Image.open(photo).convert("RGB").save(original, "JPEG", quality=90)
        _, key = make_user(server)
        with server.client(key) as client:
            edited_id = submit(client, _spliced_copy_move(photo), name="edited.jpg", with_tampering=True)
            clean_id = submit(client, original.getvalue(), name="clean.jpg", with_tampering=True)
            edited, clean = wait_done(client, edited_id, 60), wait_done(client, clean_id, 60)
            png = client.get(f"/api/classification/tampering/{edited_id}")
            grid = client.get(f"/api/classification/tampering/{edited_id}", params={"format": "json"})
        flagged, untouched = _result(edited, "tampering"), _result(clean, "tampering")
        assert flagged is not None and untouched is not None
        assert flagged["classification"][1]["score"] > 0.5 > untouched["classification"][1]["score"]
        assert flagged["classification_details"]["regions"], "the suspicious regions are listed"
        assert edited["has_tampering_map"] is True
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert grid.json()["values"]
        assert "tampering" not in _voters(edited)

    def test_no_map_without_the_option(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            identifier = submit(client, DOGS.read_bytes(), name="dogs.jpg")
            body = wait_done(client, identifier, 60)
            response = client.get(f"/api/classification/tampering/{identifier}")
        assert body["has_tampering_map"] is False and _result(body, "tampering") is None
        assert response.status_code == 404 and "with_tampering" in response.json()["message"]


class TestConcurrency:
    def test_parallel_workers_give_the_same_faces_and_scores(self, server: RunningServer) -> None:
        """Two worker threads share one set of models (TFLite interpreters are not thread-safe)."""
        _, key = make_user(server)
        data = TWO_PEOPLE.read_bytes()
        options = {"with_morphing": True, "with_tampering": True, "with_nsfw": True, "no_cache": True}
        with server.client(key) as client:
            identifiers = [submit(client, data, name=f"{i}.jpg", **options) for i in range(4)]
            bodies = [wait_done(client, identifier, 120) for identifier in identifiers]

        def summary(body: dict) -> tuple:
            boxes = tuple(tuple(d["box"].values()) for d in body["details"][0]["detections"])
            scores = tuple((r["model"], r["classification"][1]["score"]) for r in body["results"])
            return boxes, scores, body["is_nsfw"]

        assert all(body["status"] == "done" for body in bodies)
        assert len({summary(body) for body in bodies}) == 1, [summary(b) for b in bodies]
        assert len(bodies[0]["details"][0]["detections"]) == 2
