"""Submitting images and reading results, as an identifAI client would."""

from __future__ import annotations

import hashlib
import re
import socket
import struct
import zlib

import pytest

from tests.conftest import (
    EVAL,
    SPEC,
    RunningServer,
    get_result,
    image_bytes,
    make_user,
    submit,
    wait_done,
)
from tests.support.schema import assert_valid

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEURISTICS = [
    "Majority",
    "Average",
    "AverageExcludeObsolete",
    "AverageExclude10",
    "AverageExclude20",
    "AverageExclude30",
    "TopRelevant",
]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions in a few bytes: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


class TestSubmitResponse:
    def test_json_identifier_with_accept_json(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            identifier = submit(client, image_bytes(seed=1))
        assert HEX64.match(identifier)

    def test_bare_identifier_as_text_otherwise(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            for accept in ("text/plain", "*/*"):
                response = client.post(
                    "/api/classification", files={"image": ("a.png", image_bytes(seed=2))}, headers={"Accept": accept}
                )
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain")
                assert HEX64.match(response.text)

    def test_each_submission_gets_its_own_identifier(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            data = image_bytes(seed=3)
            assert submit(client, data) != submit(client, data)


class TestResult:
    def test_done_result_carries_every_field(self, server: RunningServer) -> None:
        _, key = make_user(server)
        data = image_bytes("JPEG", seed=4)
        with server.client(key) as client:
            identifier = submit(client, data, name="holiday.jpg", ref_id="case-42")
            body = wait_done(client, identifier)
        assert body["status"] == "done"
        assert body["hash"] == hashlib.sha256(data).hexdigest()
        assert body["identifier"] == identifier
        assert body["name"] == "holiday.jpg"
        assert body["ref_id"] == "case-42"
        assert body["api_version"] == "1.1.0"
        assert body["errors"] is None
        assert body["c2pa"] is None
        assert body["has_heatmap"] is False
        assert body["force_classification"] is None
        assert body["result_url"].endswith(identifier)
        assert "is_nsfw" not in body
        assert [v["heuristic"] for v in body["verdicts"]] == HEURISTICS
        c2pa = next(r for r in body["results"] if r["model"] == "c2pa")
        assert c2pa["unknown"] is True
        assert {c["label"] for c in c2pa["classification"]} == {"human", "artificial"}
        assert sum(c["score"] for c in c2pa["classification"]) == pytest.approx(1.0)
        # the pixel model is shown as an indicator that does not vote (its accuracy targets are
        # not met: docs/models/pixel.md), so without provenance the verdict is unknown
        pixel = next(r for r in body["results"] if r["model"] == "pixel")
        assert pixel["kind"] == "statistical" and pixel["votes"] is False
        assert {c["label"] for c in pixel["classification"]} == {"human", "artificial"}
        assert body["verdict"]["unknown"] is True
        assert body["verdict"]["models"] == []
        assert body["verdict"]["heuristic"] == "Average"  # the user's default heuristic

    def test_the_pixel_model_decides_when_the_operator_lets_it_vote(self, server_factory) -> None:  # type: ignore[no-untyped-def]
        voting = server_factory(pixel_votes=True)
        _, key = make_user(voting)
        with voting.client(key) as client:
            body = wait_done(client, submit(client, image_bytes("JPEG", seed=4)))
        pixel = next(r for r in body["results"] if r["model"] == "pixel")
        assert pixel["votes"] is True
        if pixel["unknown"]:  # inside its abstain band
            assert body["verdict"]["unknown"] is True
        else:
            assert body["verdict"]["models"] == ["pixel"]
            assert body["verdict"]["evidence"] == "statistical"
            score = next(c["score"] for c in pixel["classification"] if c["label"] == "artificial")
            assert body["verdict"]["classification"] == ("artificial" if score >= 0.5 else "human")

    def test_alias_path_returns_the_same_result(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            identifier = submit(client, image_bytes(seed=5))
            body = wait_done(client, identifier)
            alias = get_result(client, identifier, "/api/classification_image/")
        assert alias == body

    def test_unknown_identifier_is_404(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.get("/api/classification/" + "0" * 64)
        assert response.status_code == 404
        assert "message" in response.json()

    def test_another_users_identifier_is_404(self, server: RunningServer) -> None:
        _, owner = make_user(server)
        _, stranger = make_user(server)
        with server.client(owner) as client:
            identifier = submit(client, image_bytes(seed=6))
        with server.client(stranger) as client:
            assert client.get(f"/api/classification/{identifier}").status_code == 404

    def test_heatmap_option_is_recorded_and_explained(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            identifier = submit(client, image_bytes(seed=7), with_heatmap=True)
            body = wait_done(client, identifier)
            heatmap = client.get(f"/api/classification/heatmap/{identifier}")
            alias = client.get(f"/api/classification_image/heatmap/{identifier}")
        assert body["options"]["with_heatmap"] is True
        assert "is_nsfw" not in body
        notes = " ".join(body["notes"])
        # a heatmap is made when a statistical detector can judge the image; otherwise a note says why
        assert body["has_heatmap"] or "with_heatmap" in notes
        if not body["has_heatmap"]:
            assert heatmap.status_code == 404
            assert heatmap.headers["content-type"] == "application/json"
            assert alias.status_code == 404 and "heatmap" in alias.json()["message"]


class TestBadInput:
    def test_missing_key_is_401(self, server: RunningServer) -> None:
        with server.client() as client:
            response = client.get("/api/classifications")
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}

    def test_wrong_key_is_401(self, server: RunningServer) -> None:
        with server.client("ol_not-a-key") as client:
            response = client.post("/api/classification", files={"image": ("a.png", image_bytes())})
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}

    def test_not_an_image_is_415_whatever_its_name(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.post(
                "/api/classification",
                files={"image": ("photo.png", b"%PDF-1.4 this is not an image", "image/png")},
            )
        assert response.status_code == 415
        message = response.json()["message"]
        for fmt in ("PNG", "JPEG", "GIF", "WebP", "TIFF"):
            assert fmt in message

    def test_missing_image_is_422_naming_the_field(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.post("/api/classification", data={"ref_id": "x"})
        assert response.status_code == 422
        assert "image" in response.json()["errors"]

    def test_malformed_boolean_is_422_naming_the_field(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.post(
                "/api/classification", files={"image": ("a.png", image_bytes())}, data={"with_heatmap": "perhaps"}
            )
        assert response.status_code == 422
        assert "with_heatmap" in response.json()["errors"]

    def test_oversize_declared_body_is_413_before_it_is_sent(self, server: RunningServer) -> None:
        """The server answers from the headers alone: we never send the 60 MB."""
        _, key = make_user(server)
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                (
                    f"POST /api/classification HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {key}\r\n"
                    "Content-Type: multipart/form-data; boundary=x\r\n"
                    f"Content-Length: {60 * 1024 * 1024}\r\n\r\n"
                ).encode()
            )
            reply = sock.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 413")
        assert "50 MB" in reply

    def test_oversize_streamed_body_is_413(self, server_factory) -> None:  # type: ignore[no-untyped-def]
        small = server_factory(max_upload_bytes=64 * 1024)
        _, key = make_user(small)

        def chunks():  # type: ignore[no-untyped-def]
            yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
            for _ in range(100):
                yield b"\0" * 16384

        with small.client(key) as client:
            response = client.post(
                "/api/classification", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
            )
        assert response.status_code == 413

    def test_decompression_bomb_is_refused(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.post("/api/classification", files={"image": ("bomb.png", png_header_only(60000, 60000))})
        assert response.status_code == 413
        assert "pixels" in response.json()["message"]

    def test_undecodable_image_ends_errored_with_a_reason(self, server: RunningServer) -> None:
        _, key = make_user(server, balance=5)
        broken = image_bytes("PNG", size=(200, 200), seed=8)[:300]  # header fine, data cut short
        with server.client(key) as client:
            body = wait_done(client, submit(client, broken, name="cut.png"))
            credits = client.get("/api/user/credits").json()
        assert body["status"] == "errored"
        assert "could not be analysed" in body["errors"]
        assert "verdict" not in body
        assert credits == {"available_credits": 5, "total_spent": 0}  # an errored analysis is refunded

    def test_gif_webp_tiff_are_accepted(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            for fmt in ("GIF", "WEBP", "TIFF"):
                body = wait_done(client, submit(client, image_bytes(fmt, seed=9), name=f"x.{fmt.lower()}"))
                assert body["status"] == "done", (fmt, body["errors"])


class TestCache:
    def test_same_bytes_and_options_reuse_the_analysis(self, server: RunningServer) -> None:
        _, key = make_user(server, balance=10)
        data = image_bytes(seed=10)
        with server.client(key) as client:
            first = wait_done(client, submit(client, data, ref_id="a"))
            second = wait_done(client, submit(client, data, ref_id="b"))
            credits = client.get("/api/user/credits").json()
        assert first["identifier"] != second["identifier"]
        assert second["ref_id"] == "b"
        assert second["cached"] is True and first["cached"] is False
        assert second["results"] == first["results"]
        assert credits["total_spent"] == 1  # the cache hit was free

    def test_no_cache_and_other_options_reanalyse(self, server: RunningServer) -> None:
        _, key = make_user(server)
        data = image_bytes(seed=11)
        with server.client(key) as client:
            wait_done(client, submit(client, data))
            forced = wait_done(client, submit(client, data, no_cache=True))
            other = wait_done(client, submit(client, data, with_tampering=True))
        assert forced["cached"] is False
        assert other["cached"] is False


class TestListing:
    def test_batch_get_keeps_order_and_drops_unknown(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            ids = [submit(client, image_bytes(seed=20 + i)) for i in range(3)]
            wanted = [ids[2], "f" * 64, ids[0]]
            response = client.get("/api/classifications", params=[("identifiers[]", i) for i in wanted])
            alias = client.get("/api/classifications_image", params=[("identifiers[]", i) for i in wanted])
        assert response.status_code == 200
        assert [r["identifier"] for r in response.json()] == [ids[2], ids[0]]
        assert [r["identifier"] for r in alias.json()] == [ids[2], ids[0]]
        for item in response.json():
            assert_valid(SPEC, "ImageResponse", item)

    def test_batch_of_more_than_100_is_422(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            response = client.get("/api/classifications", params=[("identifiers[]", str(i)) for i in range(101)])
        assert response.status_code == 422
        assert "identifiers" in " ".join(response.json()["errors"])

    def test_own_list_is_newest_first_paginated_and_filterable(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            ids = [submit(client, image_bytes(seed=30 + i), ref_id="batch" if i % 2 else "solo") for i in range(5)]
            page1 = client.get("/api/classifications", params={"per_page": 2}).json()
            page3 = client.get("/api/classifications", params={"per_page": 2, "page": 3}).json()
            filtered = client.get("/api/classifications", params={"ref_id": "batch"}).json()
        assert [r["identifier"] for r in page1["data"]] == [ids[4], ids[3]]
        assert page1["total"] == 5 and page1["last_page"] == 3 and page1["next_page_url"]
        assert [r["identifier"] for r in page3["data"]] == [ids[0]]
        assert page3["next_page_url"] is None
        assert [r["identifier"] for r in filtered["data"]] == [ids[3], ids[1]]
        for item in page1["data"] + filtered["data"]:
            assert_valid(SPEC, "ImageResponse", item)


class TestOverride:
    def test_override_forces_every_result_with_that_hash(self, server: RunningServer) -> None:
        _, key = make_user(server)
        _, other_key = make_user(server)
        data = image_bytes(seed=40)
        digest = hashlib.sha256(data).hexdigest()
        with server.client(key) as client:
            first, second = submit(client, data), submit(client, data, no_cache=True)
            wait_done(client, first)
            wait_done(client, second)
            response = client.post(f"/api/classification/{digest}/override", json={"classification": "artificial"})
            bodies = [get_result(client, i) for i in (first, second)]
        with server.client(other_key) as client:
            theirs = wait_done(client, submit(client, data))
        assert response.status_code == 200
        assert response.json() == {"classification": "artificial", "type": "image", "hash": digest}
        for body in bodies:
            assert body["force_classification"] == "artificial"
            assert body["verdict"]["classification"] == "artificial"
            assert body["verdict"]["forced_by"] == "override"
        assert theirs["force_classification"] is None

    def test_override_of_unknown_hash_is_404_and_bad_label_422(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            missing = client.post(f"/api/classification/{'a' * 64}/override", json={"classification": "human"})
            bad = client.post(f"/api/classification/{'a' * 64}/override", json={"classification": "robot"})
        assert missing.status_code == 404
        assert bad.status_code == 422 and "classification" in bad.json()["errors"]


AI_C2PA = EVAL / "c2pa" / "c2pa-rs" / "ocsp.jpg"
HUMAN_C2PA = EVAL / "c2pa" / "public-testfiles" / "adobe-20220124-C.jpg"


@pytest.mark.skipif(not AI_C2PA.exists(), reason="shared eval files are not beside the repo")
class TestC2PA:
    def test_ai_assertion_forces_artificial(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, AI_C2PA.read_bytes(), name="ocsp.jpg"))
        assert body["c2pa"] is not None
        assert body["c2pa"]["validation_state"] == "Valid"
        assert body["verdict"]["classification"] == "artificial"
        assert body["verdict"]["forced_by"] == "c2pa"
        assert body["verdict"]["evidence"] == "provenance"
        assert "trainedAlgorithmicMedia" in body["verdict"]["reason"] or "AI" in body["verdict"]["reason"]
        # the heuristics' own verdicts stay the statistical view: provenance never votes
        assert all("c2pa" not in v["models"] for v in body["verdicts"])

    def test_prevent_c2pa_forces_keeps_the_models_verdict(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, AI_C2PA.read_bytes(), prevent_c2pa_forces=True))
        assert body["c2pa"] is not None
        assert "forced_by" not in body["verdict"]
        assert body["verdict"]["evidence"] == "none"  # no voting model: the pixel model is an indicator

    def test_camera_manifest_does_not_force(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, HUMAN_C2PA.read_bytes(), name="camera.jpg"))
        assert body["c2pa"] is not None
        assert "forced_by" not in body["verdict"]
        assert body["verdict"]["classification"] == "human"


COMFY = sorted((EVAL / "ai" / "comfyui").glob("*.png"))
CAMERA = EVAL / "real" / "exif-samples" / "exif-org_nikon-e950.jpg"


@pytest.mark.skipif(not COMFY or not CAMERA.exists(), reason="shared eval files are not beside the repo")
class TestGeneratorMetadata:
    def test_generator_metadata_forces_with_its_reason(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, COMFY[0].read_bytes(), name="comfy.png"))
        metadata = next(r for r in body["results"] if r["model"] == "metadata")
        assert metadata["kind"] == "provenance"
        assert metadata["classification_details"]["generator"] == "ComfyUI"
        assert body["verdict"]["classification"] == "artificial"
        assert body["verdict"]["forced_by"] == "metadata"
        assert "ComfyUI" in body["verdict"]["reason"]

    def test_prevent_c2pa_forces_does_not_switch_off_other_provenance(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, COMFY[0].read_bytes(), prevent_c2pa_forces=True))
        assert body["verdict"]["forced_by"] == "metadata"

    def test_camera_exif_is_reported_but_never_forces(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            body = wait_done(client, submit(client, CAMERA.read_bytes(), name="camera.jpg"))
        metadata = next(r for r in body["results"] if r["model"] == "metadata")
        assert metadata["unknown"] is False
        assert "NIKON" in metadata["classification_details"]["reason"]
        assert "forced_by" not in body["verdict"]
