"""Speech/audio classification through the API: upload, the whole-recording verdict and its
chunks, recordings that are not speech, bad input, the cache, credits, webhooks, overrides,
from-URL fetching and the lists."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from typing import Any

import httpx
import pytest

from originlens.media.audio import ACCEPTED_AUDIO_FORMATS
from tests.api.test_webhooks import wait_for_calls
from tests.conftest import RunningServer, image_bytes, make_user, submit, wait_done
from tests.support.file_server import files_server
from tests.support.receiver import webhook_receiver
from tests.support.speech import chord, needs_speech, silence, speech_recording

DAMAGED_FLAC = b"fLaC\x00\x00\x00\x22" + bytes(range(256)) * 20
"""A FLAC signature followed by noise: accepted on upload (the first bytes are audio), fails in the worker."""


def submit_audio(client: httpx.Client, data: bytes, name: str = "speech.mp3", **form: Any) -> httpx.Response:
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return client.post(
        "/api/classification_audio",
        files={"audio": (name, data, "audio/mpeg")},
        data=fields,
        headers={"Accept": "application/json"},
    )


def submitted(client: httpx.Client, data: bytes, name: str = "speech.mp3", **form: Any) -> str:
    response = submit_audio(client, data, name, **form)
    assert response.status_code == 200, response.text
    return str(response.json()["identifier"])


def wait_audio(client: httpx.Client, identifier: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/classification_audio/{identifier}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "new":
            return body
        assert time.monotonic() < deadline, f"{identifier} still new after {timeout}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def human_speech() -> bytes:
    """12 s of recorded (human) speech from the eval set, as a 64 kbps MP3."""
    return speech_recording("human", 12.0)


# ----------------------------------------------------------------------------- the answer


@needs_speech
def test_a_speech_recording_is_judged_whole_and_chunk_by_chunk(server: RunningServer, human_speech: bytes) -> None:
    user, key = make_user(server)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, human_speech, ref_id="call-7"))
    assert body["status"] == "done", body["errors"]
    assert body["hash"] == hashlib.sha256(human_speech).hexdigest()
    assert body["name"] == "speech.mp3" and body["ref_id"] == "call-7" and body["errors"] is None
    assert body["api_version"] and body["result_url"].endswith(body["identifier"])
    assert body["duration"] == pytest.approx(12.0, abs=0.1)
    assert 0 < body["speech_seconds"] <= body["duration"]
    speech = next(r for r in body["results"] if r["model"] == "speech")
    assert speech["unknown"] is False and speech["votes"] is True
    assert body["verdict"]["heuristic"] == user["heuristic"]
    assert body["verdict"]["classification"] in ("human", "artificial") and "speech" in body["verdict"]["models"]
    assert {v["heuristic"] for v in body["verdicts"]} >= {"Majority", "Average", "AverageExcludeObsolete"}
    # the chunks: the same list under both of the vendor's names, covering the recording in order
    chunks = body["chunk_details"]
    assert chunks == body["details"]["clips"]
    assert [c["index"] for c in chunks] == list(range(len(chunks))) and len(chunks) == 3
    assert chunks[0]["start"] == 0 and chunks[-1]["end"] == pytest.approx(body["duration"], abs=1e-3)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(chunks))
    for chunk in chunks:
        assert [r["model"] for r in chunk["results"]] == ["speech"]
        assert chunk["verdict"]["heuristic"] == user["heuristic"]
        assert chunk["verdict"] in chunk["verdicts"]
    assert body["cached"] is False and body["options"] == {"no_cache": False, "prevent_c2pa_forces": False}


@pytest.mark.parametrize(("what", "make"), [("silence", silence), ("a chord", chord)])
def test_a_recording_without_speech_is_unknown_and_says_why(server: RunningServer, what: str, make: Any) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, make(6.0), name="room.wav"))
    assert body["status"] == "done", body["errors"]
    verdict = body["verdict"]
    assert verdict["unknown"] is True and verdict["models"] == [], what
    assert verdict["reason"].startswith("no speech found")
    speech = next(r for r in body["results"] if r["model"] == "speech")
    assert speech["classification_details"]["reason"].startswith("no speech found")
    assert body["speech_seconds"] == 0
    assert body["chunk_details"] and all(c["verdict"]["unknown"] for c in body["chunk_details"])


def test_the_identifier_is_plain_text_unless_json_is_asked(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        response = client.post("/api/classification_audio", files={"audio": ("a.wav", silence(1.0))})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert len(response.text) == 64


# ------------------------------------------------------------------------------- bad input


def test_bad_uploads_are_refused_with_a_message(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        not_audio = submit_audio(client, image_bytes(seed=500), name="voice.mp3")
        empty = submit_audio(client, b"")
        no_file = client.post("/api/classification_audio", data={"ref_id": "x"})
        bad_hook = submit_audio(client, silence(1.0), webhook_url="file:///etc/passwd")
    assert not_audio.status_code == 415
    assert ACCEPTED_AUDIO_FORMATS in not_audio.json()["message"]
    assert empty.status_code == 422 and "empty" in empty.json()["message"]
    assert no_file.status_code == 422 and "audio" in no_file.json()["errors"]
    assert bad_hook.status_code == 422 and "webhook_url" in bad_hook.json()["errors"]


def test_a_recording_sent_as_a_video_is_refused_with_the_right_route(server: RunningServer, tmp_path: Any) -> None:
    """An MP3, or an MP4 whose brand says sound only (M4A), is not a video: 415 names the audio route."""
    from tests.support.recordings import tone, write_mp4_audio

    m4a = write_mp4_audio(tmp_path / "tone.m4a", tone(2.0), container="ipod").read_bytes()
    _, key = make_user(server)
    with server.client(key) as client:
        for name, data in (("voice.mp3", chord(2.0, codec="mp3")), ("voice.m4a", m4a)):
            response = client.post(
                "/api/classification_video",
                files={"video": (name, data, "video/mp4")},
                headers={"Accept": "application/json"},
            )
            assert response.status_code == 415, name
            assert "/api/classification_audio" in response.json()["message"], name


def test_a_recording_over_the_size_limit_is_413(server_factory) -> None:  # type: ignore[no-untyped-def]
    """Over the limit by less than the multipart allowance: the stream is cut off in the blob
    store; far over it: the declared length is refused before the body is read."""
    running = server_factory(max_audio_upload_bytes=1024 * 1024)
    _, key = make_user(running)
    with running.client(key) as client:
        a_bit_over = submit_audio(client, silence(40.0), name="40s.wav")  # 1.28 MB
        far_over = submit_audio(client, silence(100.0), name="100s.wav")  # 3.2 MB
        within = submit_audio(client, silence(20.0), name="20s.wav")
        credits = client.get("/api/user/credits").json()
    for response in (a_bit_over, far_over):
        assert response.status_code == 413
        assert response.json()["message"] == "The recording must not be larger than 1 MB."
    assert within.status_code == 200
    assert credits["total_spent"] == 1  # only the accepted one was charged


def test_a_damaged_recording_ends_errored_with_a_sentence_and_is_refunded(server: RunningServer) -> None:
    _, key = make_user(server, balance=5)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, DAMAGED_FLAC, name="broken.flac"))
        credits = client.get("/api/user/credits").json()
    assert body["status"] == "errored"
    assert body["errors"].startswith("The recording could not be analysed: ") and body["errors"].endswith(".")
    assert "Error" not in body["errors"] and "Traceback" not in body["errors"]
    assert "verdict" not in body and body["duration"] is None and body["chunk_details"] == []
    assert credits == {"available_credits": 5, "total_spent": 0}


def test_a_recording_over_the_duration_limit_ends_errored_saying_so(server_factory) -> None:  # type: ignore[no-untyped-def]
    running = server_factory(audio_max_seconds=4.0)
    _, key = make_user(running)
    with running.client(key) as client:
        body = wait_audio(client, submitted(client, silence(9.0), name="long.wav"))
    assert body["status"] == "errored"
    assert "9 s long" in body["errors"] and "at most 4 s" in body["errors"]


# ------------------------------------------------------------------------ cache and credits


def test_the_same_recording_is_served_from_the_cache_unless_no_cache(server: RunningServer) -> None:
    recording = chord(2.0)
    _, key = make_user(server, balance=10)
    with server.client(key) as client:
        first = wait_audio(client, submitted(client, recording))
        again = wait_audio(client, submitted(client, recording, prevent_c2pa_forces=True))
        fresh = wait_audio(client, submitted(client, recording, no_cache=True))
        credits = client.get("/api/user/credits").json()
    assert first["cached"] is False and again["cached"] is True and fresh["cached"] is False
    assert again["identifier"] != first["identifier"]
    assert again["results"] == first["results"] and again["chunk_details"] == first["chunk_details"]
    assert again["options"]["prevent_c2pa_forces"] is True  # read per submission
    assert credits == {"available_credits": 8, "total_spent": 2}  # the cached one was free


@needs_speech
def test_a_recording_costs_one_analysis_whatever_its_length_and_options(server: RunningServer) -> None:
    _, key = make_user(server, balance=2)
    with server.client(key) as client:
        long = wait_audio(client, submitted(client, speech_recording("human", 40.0), with_heatmap=True))
        short = wait_audio(client, submitted(client, silence(2.0)))
        credits = client.get("/api/user/credits").json()
        broke = submit_audio(client, chord(1.0))
    assert long["status"] == short["status"] == "done"
    assert len(long["chunk_details"]) == 8 and "with_heatmap" not in long["options"]
    assert credits == {"available_credits": 0, "total_spent": 2}
    assert broke.status_code == 402 and "credits" in broke.json()["message"]


def test_a_readonly_account_cannot_submit(server: RunningServer) -> None:
    _, key = make_user(server, readonly=True)
    with server.client(key, Accept="application/json") as client:
        upload = client.post("/api/classification_audio", files={"audio": ("a.wav", silence(1.0))})
        from_url = client.post("/api/audio_fromurl", data={"file_url": "http://127.0.0.1:9/a.wav"})
        listed = client.get("/api/classifications_audio")
    assert upload.status_code == from_url.status_code == 403
    assert "read-only" in upload.json()["message"]
    assert listed.status_code == 200 and listed.json()["total"] == 0


# ------------------------------------------------------------------- webhooks and overrides


def test_the_webhook_carries_the_audio_response(server: RunningServer) -> None:
    from originlens.webhooks.signing import verify

    _, key = make_user(server)
    with webhook_receiver() as receiver, server.client(key) as client:
        secret = client.get("/api/user").json()["data"]["webhook_secret"]
        identifier = submitted(client, chord(3.0), webhook_url=receiver.url)
        result = wait_audio(client, identifier)
        wait_for_calls(receiver, 1)
        failed = submitted(client, DAMAGED_FLAC, webhook_url=receiver.url)
        wait_audio(client, failed)
        wait_for_calls(receiver, 2)
    done_call, errored_call = receiver.requests
    verify(secret, done_call.headers, done_call.body)
    payload = json.loads(done_call.body)
    assert payload["identifier"] == identifier and payload["status"] == "done"
    assert payload["chunk_details"] == result["chunk_details"] and payload["verdicts"] == result["verdicts"]
    assert payload["duration"] == result["duration"]
    errored = json.loads(errored_call.body)
    assert errored["identifier"] == failed and errored["status"] == "errored" and errored["errors"]


@needs_speech
def test_an_override_forces_every_verdict_chunks_included(server: RunningServer, human_speech: bytes) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        identifier = submitted(client, human_speech)
        body = wait_audio(client, identifier)
        override = client.post(
            f"/api/classification_audio/{body['hash'].upper()}/override", json={"classification": "artificial"}
        )
        after = wait_audio(client, identifier)
        unknown_hash = client.post(f"/api/classification_audio/{'0' * 64}/override", json={"classification": "human"})
        bad_label = client.post(f"/api/classification_audio/{body['hash']}/override", json={"classification": "ai"})
        as_image = client.post(f"/api/classification/{body['hash']}/override", json={"classification": "human"})
    assert override.status_code == 200
    assert override.json() == {"classification": "artificial", "type": "audio", "hash": body["hash"]}
    assert after["force_classification"] == "artificial"
    shown = [after["verdict"], *after["verdicts"]]
    for chunk in after["chunk_details"]:
        shown += [chunk["verdict"], *chunk["verdicts"]]
    assert all(v["classification"] == "artificial" and v["forced_by"] == "override" for v in shown)
    assert after["verdict"]["unforced"]["classification"] == body["verdict"]["classification"]
    assert after["details"]["clips"] == after["chunk_details"]
    assert unknown_hash.status_code == 404 and bad_label.status_code == 422
    assert as_image.status_code == 404  # an override names its media type


# -------------------------------------------------------------------------------- from a URL


def test_a_recording_from_a_url_is_streamed_in_and_analysed(server: RunningServer) -> None:
    recording = chord(4.0, codec="flac")
    files = {"/take.flac": recording, "/still.png": image_bytes(seed=501), "/empty.wav": b""}
    _, key = make_user(server)
    with files_server(files) as (base, _), server.client(key, Accept="application/json") as client:
        response = client.post("/api/audio_fromurl", data={"file_url": f"{base}/take.flac", "ref_id": "u-1"})
        assert response.status_code == 200, response.text
        body = wait_audio(client, response.json()["identifier"])
        not_audio = client.post("/api/audio_fromurl", data={"file_url": f"{base}/still.png"})
        empty = client.post("/api/audio_fromurl", data={"file_url": f"{base}/empty.wav"})
        missing = client.post("/api/audio_fromurl", data={"file_url": f"{base}/gone.mp3"})
    assert body["status"] == "done" and body["name"] == "take.flac" and body["ref_id"] == "u-1"
    assert body["hash"] == hashlib.sha256(recording).hexdigest()
    assert body["duration"] == pytest.approx(4.0, abs=0.05)
    assert not_audio.status_code == 415 and ACCEPTED_AUDIO_FORMATS in not_audio.json()["message"]
    assert empty.status_code == 422 and "file_url" in empty.json()["errors"]
    assert missing.status_code == 422 and "404" in missing.json()["message"]


def test_private_addresses_are_not_fetched_unless_allowed(server_factory) -> None:  # type: ignore[no-untyped-def]
    strict = server_factory(outbound_allowed_networks=[])
    _, key = make_user(strict)
    with files_server({"/a.wav": silence(1.0)}) as (base, hits), strict.client(key) as client:
        local = client.post("/api/audio_fromurl", data={"file_url": f"{base}/a.wav"})
        metadata = client.post("/api/audio_fromurl", data={"file_url": "http://169.254.169.254/latest/meta-data"})
        ftp = client.post("/api/audio_fromurl", data={"file_url": "ftp://127.0.0.1/a.wav"})
    assert local.status_code == 422 and "private or local" in local.json()["message"]
    assert metadata.status_code == 422 and ftp.status_code == 422
    assert hits == []  # nothing reached the server


# ------------------------------------------------------------------------------------ reads


def test_lists_pages_identifiers_and_the_separation_from_images(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        ids = [submitted(client, chord(1.0 + i), name=f"r{i}.wav", ref_id="batch" if i else "solo") for i in range(3)]
        for identifier in ids:
            wait_audio(client, identifier)
        image = submit(client, image_bytes(seed=502))
        wait_done(client, image)
        first_page = client.get("/api/classifications_audio", params={"per_page": 2}).json()
        second_page = client.get("/api/classifications_audio", params={"per_page": 2, "page": 2}).json()
        by_ref = client.get("/api/classifications_audio", params={"ref_id": "batch"}).json()
        asked = [ids[2], "f" * 64, image, ids[0]]
        by_ids = client.get("/api/classifications_audio", params={"identifiers[]": asked}).json()
        too_many = client.get("/api/classifications_audio", params={"identifiers[]": [str(i) for i in range(101)]})
        as_image = client.get(f"/api/classification/{ids[0]}")
        image_as_audio = client.get(f"/api/classification_audio/{image}")
        images = client.get("/api/classifications").json()
        missing = client.get(f"/api/classification_audio/{'e' * 64}")
    assert first_page["total"] == 3 and first_page["last_page"] == 2 and first_page["next_page_url"]
    assert [r["identifier"] for r in first_page["data"]] == [ids[2], ids[1]]  # newest first
    assert [r["identifier"] for r in second_page["data"]] == [ids[0]] and second_page["next_page_url"] is None
    assert {r["identifier"] for r in by_ref["data"]} == {ids[1], ids[2]}
    assert [r["identifier"] for r in by_ids] == [ids[2], ids[0]]  # in the order asked; others left out
    assert all("chunk_details" in r for r in by_ids)
    assert too_many.status_code == 422 and "identifiers[]" in too_many.json()["errors"]
    assert as_image.status_code == image_as_audio.status_code == missing.status_code == 404
    assert [r["identifier"] for r in images["data"]] == [image]


def test_another_users_recording_is_not_found(server: RunningServer) -> None:
    _, owner = make_user(server)
    _, other = make_user(server)
    with server.client(owner) as client:
        identifier = submitted(client, chord(1.0))
        body = wait_audio(client, identifier)
    with server.client(other) as client:
        read = client.get(f"/api/classification_audio/{identifier}")
        listed = client.get("/api/classifications_audio", params={"identifiers[]": identifier}).json()
        override = client.post(f"/api/classification_audio/{body['hash']}/override", json={"classification": "human"})
    assert read.status_code == 404 and listed == [] and override.status_code == 404
