"""Video classification through the API: upload, per-frame results, the whole-video verdict,
progress, bad input, the separation from image reads, and overrides."""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.conftest import RunningServer, make_user
from tests.support.clips import FPS, flat_frames, write_audio_only, write_clip, write_clip_with_sound
from tests.support.file_server import files_server
from tests.support.shared_data import EVAL, needs_eval
from tests.support.speech import joined_speech, needs_speech, speech_files

BRIGHTNESS = "tests.support.brightness_detector:BrightnessDetector"


def _submit_video(client: httpx.Client, data: bytes, name: str = "clip.mp4", **form: Any) -> httpx.Response:
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return client.post(
        "/api/classification_video",
        files={"video": (name, data, "video/mp4")},
        data=fields,
        headers={"Accept": "application/json"},
    )


def _wait_video(client: httpx.Client, identifier: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/classification_video/{identifier}").json()
        if body["status"] != "new" or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _bright_middle_clip(tmp: Path) -> bytes:
    """3 s: dark, then a bright middle second (a different clip spliced in), then dark again."""
    frames = flat_frames(40, FPS) + flat_frames(235, FPS) + flat_frames(40, FPS)
    return write_clip(tmp / "spliced.mp4", frames).read_bytes()


def test_a_spliced_middle_second_shows_frame_by_frame_and_decides_the_video(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The test double calls bright frames artificial: only the middle second is bright."""
    server = server_factory(extra_detectors=[BRIGHTNESS])
    _, key = make_user(server)
    with server.client(key) as client:
        response = _submit_video(client, _bright_middle_clip(tmp_path), frames=10, ref_id="clip-1")
        assert response.status_code == 200, response.text
        body = _wait_video(client, response.json()["identifier"])
    assert body["status"] == "done", body["errors"]
    images = body["results"]["images"]
    assert len(images) == 10 == body["frames_done"] == body["frames_total"]
    assert body["results"]["audios"] == []
    stamps = [frame["timestamp"] for frame in images]
    assert stamps == sorted(stamps) and stamps[0] >= 0 and stamps[-1] <= 3.0
    for frame in images:
        inside = 1.0 <= frame["timestamp"] < 2.0
        assert frame["verdict"]["classification"] == ("artificial" if inside else "human"), frame["timestamp"]
    # fewer than half of the frames are artificial, but a confident run of them decides
    verdict = body["verdict"]
    assert verdict["classification"] == "artificial"
    assert verdict["count"]["artificial"] == 4 and verdict["count"]["human"] == 6
    assert all(1.0 <= f["timestamp"] < 2.0 for f in verdict["frames_flagged"])
    assert {v["heuristic"] for v in body["verdicts"]} >= {"Majority", "Average", "AverageExcludeObsolete"}
    assert body["ref_id"] == "clip-1" and body["c2pa"] is None


def test_a_plain_dark_video_is_human(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(extra_detectors=[BRIGHTNESS])
    _, key = make_user(server)
    clip = write_clip(tmp_path / "dark.mp4", flat_frames(40, 2 * FPS)).read_bytes()
    with server.client(key) as client:
        body = _wait_video(client, _submit_video(client, clip, frames=5).json()["identifier"])
    assert body["status"] == "done"
    assert body["verdict"]["classification"] == "human"
    assert len(body["results"]["images"]) == 5


def test_not_a_video_is_415_and_a_bad_frames_value_is_422(server: RunningServer) -> None:
    png = io.BytesIO()
    Image.new("RGB", (32, 32)).save(png, "PNG")
    _, key = make_user(server)
    with server.client(key) as client:
        refused = _submit_video(client, png.getvalue(), name="fake.mp4")
        bad_frames = _submit_video(client, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, frames=7)
    assert refused.status_code == 415 and "not a video" in refused.json()["message"]
    assert bad_frames.status_code == 422 and "frames" in bad_frames.json()["errors"]


def test_a_corrupt_video_ends_errored_with_a_readable_text(server: RunningServer) -> None:
    corrupt = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
    _, key = make_user(server)
    with server.client(key) as client:
        body = _wait_video(client, _submit_video(client, corrupt).json()["identifier"])
    assert body["status"] == "errored"
    assert body["errors"].startswith("The video could not be")


def test_videos_and_images_are_read_apart_and_can_be_overridden(server: RunningServer, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "dark.mp4", flat_frames(60, FPS)).read_bytes()
    _, key = make_user(server)
    with server.client(key) as client:
        identifier = _submit_video(client, clip).json()["identifier"]
        body = _wait_video(client, identifier)
        as_image = client.get(f"/api/classification/{identifier}")
        listed = client.get("/api/classifications_video").json()
        images_listed = client.get("/api/classifications").json()
        by_id = client.get("/api/classifications_video", params={"identifiers[]": identifier}).json()
        override = client.post(
            f"/api/classification_video/{body['hash']}/override", json={"classification": "artificial"}
        )
        after = client.get(f"/api/classification_video/{identifier}").json()
    assert as_image.status_code == 404
    assert [row["identifier"] for row in listed["data"]] == [identifier] and listed["total"] == 1
    assert images_listed["total"] == 0
    assert [row["identifier"] for row in by_id] == [identifier]
    assert override.json() == {"classification": "artificial", "type": "video", "hash": body["hash"]}
    assert after["force_classification"] == "artificial"
    assert after["verdict"]["classification"] == "artificial"


@needs_eval
def test_a_real_clip_with_colour_key_frames(server: RunningServer) -> None:
    clip = sorted((EVAL / "video" / "real").glob("*.mp4"))[0]
    _, key = make_user(server)
    with server.client(key) as client:
        response = _submit_video(client, clip.read_bytes(), name=clip.name, key_frames=True, key_frames_method="color")
        body = _wait_video(client, response.json()["identifier"], timeout=120)
    assert body["status"] == "done", body["errors"]
    assert 1 <= len(body["results"]["images"]) <= 5
    assert body["options"]["key_frames_method"] == "color"


def test_credits_are_one_image_per_frame_and_refunded_when_the_video_fails(
    server: RunningServer, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / "dark.mp4", flat_frames(50, FPS)).read_bytes()
    corrupt = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
    _, key = make_user(server, balance=40)
    with server.client(key) as client:
        done = _wait_video(client, _submit_video(client, clip, frames=10).json()["identifier"])
        after_done = client.get("/api/user/credits").json()
        failed = _wait_video(client, _submit_video(client, corrupt, frames=5).json()["identifier"])
        after_failed = client.get("/api/user/credits").json()
        exactly_enough = _submit_video(client, clip, frames=30, no_cache=True)
        one_too_many = _submit_video(client, clip, frames=5, no_cache=True)
    assert done["status"] == "done" and failed["status"] == "errored"
    assert after_done == {"available_credits": 30, "total_spent": 10}
    assert after_failed == after_done  # the errored video was refunded
    assert exactly_enough.status_code == 200  # 30 frames cost 30 credits, all that was left
    assert one_too_many.status_code == 402 and "credits" in one_too_many.json()["message"]


def test_progress_shows_frames_done_while_the_video_is_new(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(extra_detectors=["tests.support.sleepy_detector:SleepyDetector"])
    clip = write_clip(tmp_path / "dark.mp4", flat_frames(50, 2 * FPS)).read_bytes()
    _, key = make_user(server)
    seen: list[tuple[int, int | None, int]] = []
    with server.client(key) as client:
        identifier = _submit_video(client, clip, frames=10).json()["identifier"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = client.get(f"/api/classification_video/{identifier}").json()
            if body["status"] != "new":
                break
            seen.append((body["frames_done"], body["frames_total"], len(body["results"]["images"])))
            time.sleep(0.05)
    assert body["status"] == "done" and body["frames_done"] == 10
    partial = [s for s in seen if s[1] == 10 and 0 < s[0] < 10]
    assert partial, seen
    assert all(done == shown for done, _, shown in partial)  # every finished frame is already visible
    assert "verdict" not in partial and all(s[0] <= 10 for s in seen)


def test_the_webhook_carries_the_video_response(server: RunningServer, tmp_path: Path) -> None:
    from tests.support.receiver import webhook_receiver

    clip = write_clip(tmp_path / "dark.mp4", flat_frames(50, FPS)).read_bytes()
    _, key = make_user(server)
    with webhook_receiver() as receiver, server.client(key) as client:
        identifier = _submit_video(client, clip, webhook_url=receiver.url).json()["identifier"]
        result = _wait_video(client, identifier)
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    payload = json.loads(receiver.requests[0].body)
    assert payload["identifier"] == identifier and payload["status"] == "done"
    assert payload["results"]["images"] == result["results"]["images"]
    assert payload["verdicts"] == result["verdicts"]


@needs_eval
def test_c2pa_is_read_from_the_container(server: RunningServer) -> None:
    signed = EVAL / "c2pa" / "c2pa-rs" / "video1.mp4"
    unsigned = EVAL / "video" / "real" / "waterfall_video1_no_manifest.mp4"
    _, key = make_user(server)
    with server.client(key) as client:
        with_manifest = _wait_video(
            client, _submit_video(client, signed.read_bytes(), name=signed.name).json()["identifier"]
        )
        without = _wait_video(
            client, _submit_video(client, unsigned.read_bytes(), name=unsigned.name).json()["identifier"]
        )
    assert with_manifest["status"] == "done", with_manifest["errors"]
    assert with_manifest["c2pa"] is not None and with_manifest["c2pa"]["manifests"]
    assert with_manifest["verdict"].get("forced_by") is None  # a camera-style manifest with no AI action
    assert without["status"] == "done" and without["c2pa"] is None


def test_video_from_url_is_streamed_in_and_analysed(server: RunningServer, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "remote.mp4", flat_frames(70, FPS)).read_bytes()
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    files = {"/clip.mp4": clip, "/still.png": png.getvalue()}
    _, key = make_user(server)
    with files_server(files) as (base, _), server.client(key, Accept="application/json") as client:
        response = client.post("/api/video_fromurl", data={"file_url": f"{base}/clip.mp4", "frames": "5"})
        assert response.status_code == 200, response.text
        body = _wait_video(client, response.json()["identifier"])
        not_video = client.post("/api/video_fromurl", data={"file_url": f"{base}/still.png"})
    assert body["status"] == "done" and body["name"] == "clip.mp4"
    assert body["hash"] == hashlib.sha256(clip).hexdigest()
    assert len(body["results"]["images"]) == 5
    assert not_video.status_code == 415


def test_empty_and_audio_only_files_get_clear_answers(server: RunningServer, tmp_path: Path) -> None:
    audio = write_audio_only(tmp_path / "audio.mp4")
    _, key = make_user(server)
    with server.client(key) as client:
        empty = _submit_video(client, b"")
        audio_only = _wait_video(client, _submit_video(client, audio.read_bytes()).json()["identifier"])
    assert empty.status_code == 422 and "empty" in empty.json()["message"]
    assert audio_only["status"] == "errored"
    assert "video" in audio_only["errors"].lower() and "track" in audio_only["errors"].lower()
    assert "only sound" in audio_only["errors"] and "/api/classification_audio" in audio_only["errors"]


@needs_speech
def test_a_synthetic_voice_makes_the_video_artificial_and_a_human_voice_proves_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    """The same 8 s of plain frames, dubbed with voice-converted speech (lvc-vc) or with recorded
    speech (LJSpeech, from the diffwave demo page). These two systems are chosen because the current
    speech model gets their whole-recording verdicts right (lvc-vc is its most confident synthetic
    system, the LJSpeech recordings its most confident human ones); the frames alone cannot be
    judged (the default pixel model is an indicator), so the voice is what the user sees decide."""
    frames = flat_frames(90, 8 * FPS)
    synthetic = joined_speech(speech_files("synthetic", "lvc-vc-demo"), 8.0)
    human = joined_speech(speech_files("human", "diffwave-demo"), 8.0)
    dubbed_fake = write_clip_with_sound(tmp_path / "fake-voice.mp4", frames, synthetic).read_bytes()
    dubbed_real = write_clip_with_sound(tmp_path / "real-voice.mp4", frames, human).read_bytes()
    user, key = make_user(server)
    with server.client(key) as client:
        fake = _wait_video(client, _submit_video(client, dubbed_fake).json()["identifier"])
        real = _wait_video(client, _submit_video(client, dubbed_real).json()["identifier"])
    assert fake["status"] == real["status"] == "done", (fake["errors"], real["errors"])
    for body in (fake, real):
        (track,) = body["results"]["audios"]
        assert track["status"] == "done" and track["duration"] == 8.0 and track["speech_seconds"] > 4
        assert track["chunk_details"] == track["details"]["clips"] and len(track["chunk_details"]) == 2
        assert [r["model"] for r in track["results"]] == ["c2pa", "audio-metadata", "speech"]
        assert track["verdict"]["heuristic"] == user["heuristic"]
    fake_verdict = fake["verdict"]
    assert fake["results"]["audios"][0]["verdict"]["classification"] == "artificial"
    assert fake_verdict["classification"] == "artificial" and not fake_verdict["unknown"]
    assert "speech" in fake_verdict["models"] and "synthetic voice" in fake_verdict["reason"]
    assert fake_verdict["speech"]["classification"] == "artificial"
    assert fake_verdict["confidence"] == fake_verdict["speech"]["confidence"]  # the frames said nothing
    real_verdict = real["verdict"]
    assert real["results"]["audios"][0]["verdict"]["classification"] == "human"
    assert real_verdict["speech"]["classification"] == "human"
    assert real_verdict["unknown"] is True and "speech" not in real_verdict["models"]  # the frames decide: unknown
