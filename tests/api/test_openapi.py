"""The served OpenAPI document is usable by client generators: every route publishes its
answers (bodies and error codes), and what the server answers matches what it publishes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_audio import DAMAGED_FLAC, submit_audio, wait_audio
from tests.api.test_submit_and_results import png_header_only
from tests.api.test_video import _submit_video, _wait_video
from tests.conftest import RunningServer, image_bytes, make_user, submit, wait_done
from tests.support.clips import FPS, flat_frames, write_clip
from tests.support.openapi import assert_matches
from tests.support.speech import chord

KEYED_ERRORS = {"401", "403", "422", "429"}
SUBMIT_ERRORS = {"402", "413", "415", "507"}


@pytest.fixture(scope="module")
def doc(server: RunningServer) -> dict[str, Any]:
    with server.client() as client:
        return dict(client.get("/openapi.json").json())


def test_every_operation_publishes_its_body_and_its_errors(doc: dict[str, Any]) -> None:
    problems = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            if not success:
                problems.append(f"{method} {path}: no success response")
            for code in success:
                if code != "204" and "schema" not in responses[code].get("content", {}).get("application/json", {}):
                    problems.append(f"{method} {path}: {code} has no JSON schema")
            if path != "/api/health" and not set(responses) >= KEYED_ERRORS:
                problems.append(f"{method} {path}: missing {KEYED_ERRORS - set(responses)}")
            uploads = ("/api/classification", "/api/classification_video", "/api/classification_audio")
            if method == "post" and path in uploads and not set(responses) >= SUBMIT_ERRORS:
                problems.append(f"{method} {path}: missing {SUBMIT_ERRORS - set(responses)}")
    assert problems == []
    schemas = doc["components"]["schemas"]
    for name in ("ImageResponse", "VideoResponse", "AudioResponse", "ImagePage", "VideoPage", "AudioPage", "UserPage"):
        assert name in schemas


def test_delete_user_publishes_and_answers_204(server: RunningServer, doc: dict[str, Any]) -> None:
    assert "204" in doc["paths"]["/api/user"]["delete"]["responses"]
    assert "200" not in doc["paths"]["/api/user"]["delete"]["responses"]
    _, key = make_user(server)
    with server.client(key) as client:
        response = client.delete("/api/user")
    assert response.status_code == 204
    assert_matches(doc, "DELETE", "/api/user", response)


def test_405_says_which_methods_are_allowed(server: RunningServer, doc: dict[str, Any]) -> None:
    with server.client(server.operator_key) as client:
        response = client.put("/api/classification")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert_matches(
        doc, "PUT" if "put" in doc["paths"]["/api/classification"] else "POST", "/api/classification", response
    )


def test_image_answers_match_the_published_schemas(server: RunningServer, doc: dict[str, Any]) -> None:
    _, key = make_user(server, balance=3)
    data = image_bytes(seed=301)
    with server.client(key, Accept="application/json") as client:
        submitted = client.post("/api/classification", files={"image": ("a.png", data)}, data={"ref_id": "r-1"})
        identifier = submitted.json()["identifier"]
        wait_done(client, identifier)
        answers = [
            ("POST", "/api/classification", submitted),
            ("GET", "/api/classification/{identifier}", client.get(f"/api/classification/{identifier}")),
            ("GET", "/api/classifications", client.get("/api/classifications")),
            ("GET", "/api/classifications", client.get("/api/classifications", params={"identifiers[]": identifier})),
            ("GET", "/api/classification/{identifier}", client.get(f"/api/classification/{'0' * 64}")),
            (
                "GET",
                "/api/classification/heatmap/{identifier}",
                client.get(f"/api/classification/heatmap/{identifier}"),
            ),
            (
                "POST",
                "/api/classification/{hash}/override",
                client.post(
                    f"/api/classification/{hashlib.sha256(data).hexdigest()}/override", json={"classification": "human"}
                ),
            ),
            ("POST", "/api/classification", client.post("/api/classification", files={"image": ("t.txt", b"text")})),
            (
                "POST",
                "/api/classification",
                client.post("/api/classification", files={"image": ("b.png", png_header_only(60000, 60000))}),
            ),
            ("GET", "/api/classifications", client.get("/api/classifications", params={"page": "0"})),
            ("GET", "/api/user/credits", client.get("/api/user/credits")),
            ("GET", "/api/user", client.get("/api/user")),
            ("POST", "/api/user/accept_terms", client.post("/api/user/accept_terms")),
            ("POST", "/api/user/webhook_secret", client.post("/api/user/webhook_secret")),
        ]
        for seed in (302, 303):  # spend the rest of the balance
            submit(client, image_bytes(seed=seed))
        answers.append(
            (
                "POST",
                "/api/classification",
                client.post("/api/classification", files={"image": ("c.png", image_bytes(seed=399))}),
            )
        )
    with server.client("ol_nope") as anonymous:
        answers.append(("GET", "/api/user/credits", anonymous.get("/api/user/credits")))
    with server.client(key) as client:  # not a partner
        answers.append(("GET", "/api/partner/pricings", client.get("/api/partner/pricings")))
    statuses = {response.status_code for _, _, response in answers}
    assert {200, 401, 402, 403, 404, 413, 415, 422} <= statuses
    for method, path, response in answers:
        assert_matches(doc, method, path, response)


def test_partner_answers_match_the_published_schemas(server: RunningServer, doc: dict[str, Any]) -> None:
    with server.client(server.operator_key, Accept="application/json") as client:
        created = client.post("/api/user", data={"name": "Schema", "email": "schema@example.org"})
        user_id = created.json()["data"]["id"]
        answers = [
            ("POST", "/api/user", created),
            (
                "POST",
                "/api/partner/user",
                client.post(
                    "/api/partner/user",
                    data={"id": str(user_id), "name": "S", "email": "schema@example.org", "heuristic": "Average"},
                ),
            ),
            ("GET", "/api/partner/users", client.get("/api/partner/users", params={"per_page": "2"})),
            ("GET", "/api/partner/pricings", client.get("/api/partner/pricings")),
            (
                "POST",
                "/api/partner/send_creation_email",
                client.post("/api/partner/send_creation_email", data={"id": str(user_id)}),
            ),
            ("DELETE", "/api/user", client.delete("/api/user", params={"id": str(user_id)})),
            ("DELETE", "/api/user", client.delete("/api/user", params={"id": str(user_id)})),
            ("GET", "/api/health", client.get("/api/health")),
        ]
    for method, path, response in answers:
        assert_matches(doc, method, path, response)


def test_video_answers_match_the_published_schemas(server: RunningServer, doc: dict[str, Any], tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.mp4", flat_frames(100, FPS)).read_bytes()
    _, key = make_user(server)
    with server.client(key) as client:
        submitted = _submit_video(client, clip, frames=5)
        identifier = submitted.json()["identifier"]
        _wait_video(client, identifier)
        answers = [
            ("POST", "/api/classification_video", submitted),
            ("GET", "/api/classification_video/{identifier}", client.get(f"/api/classification_video/{identifier}")),
            ("GET", "/api/classifications_video", client.get("/api/classifications_video")),
            (
                "GET",
                "/api/classifications_video",
                client.get("/api/classifications_video", params={"identifiers[]": identifier}),
            ),
        ]
    for method, path, response in answers:
        assert_matches(doc, method, path, response)


def test_audio_answers_match_the_published_schemas(server: RunningServer, doc: dict[str, Any]) -> None:
    recording = chord(7.0)
    _, key = make_user(server, balance=2)
    with server.client(key) as client:
        submitted = submit_audio(client, recording, ref_id="a-1")
        identifier = submitted.json()["identifier"]
        done = wait_audio(client, identifier)
        failed = submit_audio(client, DAMAGED_FLAC)
        wait_audio(client, failed.json()["identifier"])
        answers = [
            ("POST", "/api/classification_audio", submitted),
            ("POST", "/api/classification_audio", failed),
            ("GET", "/api/classification_audio/{identifier}", client.get(f"/api/classification_audio/{identifier}")),
            (
                "GET",
                "/api/classification_audio/{identifier}",
                client.get(f"/api/classification_audio/{failed.json()['identifier']}"),
            ),
            ("GET", "/api/classification_audio/{identifier}", client.get(f"/api/classification_audio/{'0' * 64}")),
            ("GET", "/api/classifications_audio", client.get("/api/classifications_audio")),
            (
                "GET",
                "/api/classifications_audio",
                client.get("/api/classifications_audio", params={"identifiers[]": identifier}),
            ),
            (
                "POST",
                "/api/classification_audio/{hash}/override",
                client.post(f"/api/classification_audio/{done['hash']}/override", json={"classification": "human"}),
            ),
            ("POST", "/api/classification_audio", submit_audio(client, image_bytes(seed=310))),
            ("POST", "/api/classification_audio", submit_audio(client, b"")),
            ("POST", "/api/classification_audio", submit_audio(client, recording, no_cache=True)),
            ("POST", "/api/classification_audio", submit_audio(client, recording, no_cache=True)),  # 402: spent
            ("POST", "/api/audio_fromurl", client.post("/api/audio_fromurl", data={"file_url": "ftp://x/a.wav"})),
        ]
    statuses = {response.status_code for _, _, response in answers}
    assert {200, 402, 404, 415, 422} <= statuses
    for method, path, response in answers:
        assert_matches(doc, method, path, response)


def test_rate_limited_answers_match_the_published_schema(server_factory) -> None:  # type: ignore[no-untyped-def]
    limited = server_factory(ratelimit_enabled=True, ratelimit_get="1/minute")
    with limited.client() as client:
        doc = client.get("/openapi.json").json()
    _, key = make_user(limited)
    with limited.client(key) as client:
        client.get("/api/user/credits")
        throttled = client.get("/api/user/credits")
    assert throttled.status_code == 429 and throttled.headers["retry-after"]
    assert_matches(doc, "GET", "/api/user/credits", throttled)
