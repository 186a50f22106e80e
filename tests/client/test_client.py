"""The sync client against a real server: what a user of ``originlens.client`` sees."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from originlens.client import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    ImageResult,
    InsufficientCreditsError,
    NotFoundError,
    OriginlensError,
    PermissionDeniedError,
    ServerError,
    StorageFullError,
    TransportError,
    UnsupportedMediaTypeError,
    VideoResult,
    WaitTimeoutError,
)
from tests.conftest import RunningServer, free_port, image_bytes, make_user
from tests.support.shared_data import EVAL, needs_eval

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bytes_path_and_file_object_uploads_end_as_typed_done_results(client: Client, photo_path: Path) -> None:
    from_bytes = client.submit_image(image_bytes(seed=1), filename="one.png", ref_id="r-1")
    from_path = client.submit_image(photo_path)
    with photo_path.open("rb") as handle:
        handle.read(10)  # a half-read file object is still sent whole
        from_file = client.submit_image(handle, with_heatmap=True)
    assert len({from_bytes.identifier, from_path.identifier, from_file.identifier}) == 3

    first = client.wait(from_bytes.identifier, timeout=30)
    assert isinstance(first, ImageResult)
    assert first.done and not first.pending and first.status == "done"
    assert first.name == "one.png" and first.ref_id == "r-1" and first.api_version
    assert first.verdict is not None and first.verdict.heuristic == "Average"
    assert first.classification == first.verdict.classification in {"human", "artificial"}
    assert {v.heuristic for v in first.verdicts} >= {"Majority", "Average", "TopRelevant"}
    brightness = first.result("brightness-test-double")
    assert brightness is not None and not brightness.unknown
    assert brightness.artificial_score is not None and 0.0 <= brightness.artificial_score <= 1.0
    assert brightness.scores["human"] == pytest.approx(1 - brightness.artificial_score, abs=1e-3)
    assert first.details[0].object == "face" and first.faces == []
    assert first.created_at is not None and first.options["with_heatmap"] is False

    by_path = client.wait(from_path.identifier, timeout=30)
    assert by_path.name == "photo.png" and by_path.hash != first.hash
    by_file = client.wait(from_file.identifier, timeout=30)
    assert by_file.hash == by_path.hash  # the same file, sent from its start
    assert by_file.name == "photo.png" and by_file.has_heatmap
    assert client.heatmap(from_file.identifier).startswith(PNG_MAGIC)

    tampering = client.wait(
        client.submit_image(image_bytes(size=(128, 96), seed=12), with_tampering=True).identifier, timeout=30
    )
    assert tampering.has_tampering_map and tampering.result("tampering") is not None
    assert client.tampering_map(tampering.identifier).startswith(PNG_MAGIC)


def test_fields_a_newer_server_adds_stay_readable(client: Client) -> None:
    """originlens' extensions are not declared on every model; ``extra="allow"`` keeps them."""
    result = client.wait(client.submit_image(image_bytes(seed=2)).identifier, timeout=30)
    brightness = result.result("brightness-test-double")
    assert brightness is not None and brightness.model_extra is not None
    assert "relevance" in brightness.model_extra  # not in the vendor schema, still there


def test_get_many_keeps_the_order_asked_and_drops_unknown_identifiers(client: Client) -> None:
    ids = [client.submit_image(image_bytes(seed=s)).identifier for s in (3, 4)]
    results = client.get_many([ids[1], "no-such-identifier", ids[0]])
    assert [r.identifier for r in results] == [ids[1], ids[0]]
    assert all(isinstance(r, ImageResult) for r in results)
    assert client.get_many([]) == []  # no request: the bare path would list your own results instead
    # the server takes 100 identifiers per request: a longer list is split, and the order kept
    padded = [f"unknown-{n}" for n in range(130)]
    padded[20], padded[120] = ids[0], ids[1]
    assert [r.identifier for r in client.get_many(padded)] == [ids[0], ids[1]]
    with pytest.raises(NotFoundError):
        client.get("../classifications")  # identifiers are escaped: no other endpoint is reachable


def test_a_video_is_analysed_frame_by_frame(client: Client, clip_path: Path) -> None:
    submitted = client.submit_video(clip_path, frames=5, ref_id="clip")
    video = client.wait(submitted.identifier, video=True, timeout=60)
    assert isinstance(video, VideoResult)
    assert video.done, video.errors
    assert video.frames_done == video.frames_total == len(video.frames) == 5
    stamps = [frame.timestamp for frame in video.frames]
    assert stamps == sorted(stamps) and stamps[0] >= 0 and stamps[-1] <= 1.0
    assert all(frame.verdict is not None for frame in video.frames)
    assert video.verdict is not None and video.classification == video.verdict.classification
    assert isinstance(video.verdict.count, dict) and sum(video.verdict.count.values()) == 5
    assert video.ref_id == "clip" and video.results.audios == []
    assert [v.identifier for v in client.get_many_videos([submitted.identifier])] == [submitted.identifier]
    with pytest.raises(NotFoundError):
        client.get(submitted.identifier)  # a video is not an image result

    flipped = "human" if video.classification == "artificial" else "artificial"
    client.override(video.hash, flipped, video=True)
    assert client.get_video(submitted.identifier).force_classification == flipped


@contextmanager
def _serving(body: bytes, content_type: str) -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1 answering every GET with ``body``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/pictures/remote.png"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_submit_image_url_has_the_server_fetch_the_file(client: Client) -> None:
    data = image_bytes(seed=5)
    with _serving(data, "image/png") as url:
        submitted = client.submit_image_url(url, ref_id="remote")
    result = client.wait(submitted.identifier, timeout=30)
    assert result.done and result.ref_id == "remote" and result.name == "remote.png"
    assert result.hash == hashlib.sha256(data).hexdigest()


def test_an_override_changes_what_get_returns(client: Client) -> None:
    result = client.wait(client.submit_image(image_bytes(seed=6)).identifier, timeout=30)
    assert result.force_classification is None
    flipped = "human" if result.classification == "artificial" else "artificial"
    client.override(result.hash, flipped)
    again = client.get(result.identifier)
    assert again.force_classification == flipped
    assert again.verdict is not None and again.verdict.classification == flipped and again.verdict.confidence == 1.0
    with pytest.raises(NotFoundError):
        client.override("0" * 64, "human")  # a hash this account never submitted


def test_missing_things_are_not_found(client: Client) -> None:
    result = client.wait(client.submit_image(image_bytes(seed=7)).identifier, timeout=30)
    with pytest.raises(NotFoundError) as missing_map:
        client.heatmap(result.identifier)  # submitted without with_heatmap
    assert missing_map.value.status_code == 404
    assert missing_map.value.message == "This classification has no heatmap."
    with pytest.raises(NotFoundError):
        client.tampering_map(result.identifier)
    with pytest.raises(NotFoundError) as unknown:
        client.get("no-such-identifier")
    assert isinstance(unknown.value.body, dict) and unknown.value.body["message"] == unknown.value.message


def test_a_wrong_key_is_an_authentication_error(api: RunningServer) -> None:
    with Client(base_url=api.base_url, api_key="not-a-key") as client, pytest.raises(AuthenticationError) as caught:
        client.credits()
    assert caught.value.status_code == 401 and caught.value.message == "Unauthorized"
    assert caught.value.response.request.headers["X-Api-Key"] == "not-a-key"


def test_no_key_at_all_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORIGINLENS_API_KEY", raising=False)
    with pytest.raises(OriginlensError, match="ORIGINLENS_API_KEY"):
        Client(base_url="http://127.0.0.1:9")


def test_the_environment_supplies_url_and_key(api: RunningServer, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGINLENS_URL", api.base_url)
    monkeypatch.setenv("ORIGINLENS_API_KEY", key)
    with Client() as client:
        profile = client.me()
        assert client.credits().unlimited
    assert profile.webhook_secret is not None and profile.webhook_secret.startswith("whsec_")
    assert profile.heuristic == "Average" and profile.terms_accepted is True


def test_no_credits_left_is_a_402(api: RunningServer) -> None:
    _, key = make_user(api, balance=0)
    with Client(base_url=api.base_url, api_key=key) as client:
        assert client.credits().available_credits == 0
        with pytest.raises(InsufficientCreditsError) as caught:
            client.submit_image(image_bytes(seed=8))
    assert caught.value.status_code == 402 and caught.value.message


def test_a_read_only_account_may_not_submit(api: RunningServer) -> None:
    _, key = make_user(api, readonly=True)
    with Client(base_url=api.base_url, api_key=key) as client, pytest.raises(PermissionDeniedError) as caught:
        client.submit_video(b"\x00" * 64)
    assert caught.value.status_code == 403 and caught.value.body["error"] == "Forbidden"


def test_a_text_file_is_unsupported_media(client: Client) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        client.submit_image(io.BytesIO(b"just some text\n"), filename="notes.txt")
    assert caught.value.status_code == 415 and "Accepted formats" in caught.value.message


def test_a_bad_option_is_a_bad_request_naming_the_field(client: Client, clip_path: Path) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.submit_video(clip_path, frames=7)
    assert caught.value.status_code == 422
    assert list(caught.value.errors) == ["frames"] and "5, 10 or 30" in caught.value.errors["frames"][0]
    assert caught.value.message == caught.value.errors["frames"][0]


def test_wait_gives_up_on_a_server_that_never_finishes(server_factory: Callable[..., RunningServer]) -> None:
    stuck = server_factory(workers=0)
    _, key = make_user(stuck)
    with Client(base_url=stuck.base_url, api_key=key) as client:
        identifier = client.submit_image(image_bytes(seed=9)).identifier
        with pytest.raises(WaitTimeoutError) as caught:
            client.wait(identifier, timeout=0.6, poll_interval=0.1, max_interval=0.2)
    assert caught.value.identifier == identifier and caught.value.timeout == 0.6
    assert isinstance(caught.value.last, ImageResult) and caught.value.last.pending
    assert caught.value.last.verdict is None and caught.value.last.classification is None


def test_a_closed_port_is_a_transport_error() -> None:
    with (
        Client(base_url=f"http://127.0.0.1:{free_port()}", api_key="k") as client,
        pytest.raises(TransportError) as caught,
    ):
        client.get("anything")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert not isinstance(caught.value, APIError)


def test_answers_no_originlens_server_gives_still_map_to_errors() -> None:
    """``httpx.MockTransport`` here, and only here, because the real server cannot be made to answer
    these: a reverse proxy's HTML 502, a 507 from a full disk, a captive portal's HTML 200."""

    def proxy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/full"):
            return httpx.Response(507, json={"message": "storage is full"})
        if request.url.path.endswith("/portal"):
            return httpx.Response(200, text="<html>Please log in to the Wi-Fi</html>")
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with Client(base_url="http://proxy.invalid", api_key="k", transport=httpx.MockTransport(proxy)) as client:
        with pytest.raises(StorageFullError) as full:
            client.get("full")
        with pytest.raises(ServerError) as gateway:
            client.get("anything")
        with pytest.raises(APIError, match="not JSON") as portal:
            client.get("portal")  # a 200 that is not the API's answer is an error, not a crash
    assert isinstance(full.value, ServerError) and full.value.message == "storage is full"
    assert gateway.value.status_code == 502 and gateway.value.message == "<html>Bad Gateway</html>"
    assert not isinstance(gateway.value, StorageFullError)
    assert portal.value.status_code == 200 and "Wi-Fi" in portal.value.body


@needs_eval
def test_content_credentials_come_back_typed(client: Client) -> None:
    """A real C2PA-signed file: the vendor's C2PA schema, typed down to the signature."""
    result = client.wait(client.submit_image(EVAL / "c2pa" / "c2pa-rs" / "C.jpg").identifier, timeout=60)
    assert result.c2pa is not None and result.c2pa.manifests
    active = result.c2pa.active
    assert active is not None and active.signature_info is not None and active.signature_info.alg
    assert active.assertions and all(a.label for a in active.assertions)
    assert result.c2pa.validation_state in {"Valid", "Invalid", "Trusted", "Unknown"}
    assert result.result("c2pa") is not None
