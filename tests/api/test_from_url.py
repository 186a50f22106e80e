"""POST /api/image_fromurl: the server fetches the file, safely."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import RunningServer, image_bytes, make_user, wait_done

PNG = image_bytes(seed=90)


@contextmanager
def file_server() -> Iterator[tuple[str, list[str]]]:
    """Serves /photo.png, /missing (404), /loop (endless redirects), /big (over the cap)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/photo.png":
                self.send_response(200)
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)
            elif self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
            elif self.path == "/big":
                self.send_response(200)
                self.send_header("Content-Length", str(80 * 1024 * 1024))
                self.end_headers()
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_image_from_url_is_fetched_and_analysed(server: RunningServer) -> None:
    _, key = make_user(server)
    with file_server() as (base, _), server.client(key, Accept="application/json") as client:
        response = client.post("/api/image_fromurl", data={"file_url": f"{base}/photo.png", "ref_id": "u1"})
        assert response.status_code == 200, response.text
        body = wait_done(client, response.json()["identifier"])
    assert body["status"] == "done"
    assert body["name"] == "photo.png"
    assert body["ref_id"] == "u1"


def test_fetch_failures_are_422_naming_file_url(server: RunningServer) -> None:
    _, key = make_user(server)
    with file_server() as (base, _), server.client(key) as client:
        missing = client.post("/api/image_fromurl", data={"file_url": f"{base}/missing"})
        looping = client.post("/api/image_fromurl", data={"file_url": f"{base}/loop"})
        ftp = client.post("/api/image_fromurl", data={"file_url": "ftp://127.0.0.1/x.png"})
        big = client.post("/api/image_fromurl", data={"file_url": f"{base}/big"})
    assert missing.status_code == 422 and "404" in missing.json()["message"]
    assert looping.status_code == 422 and "redirect" in looping.json()["message"]
    assert ftp.status_code == 422 and "file_url" in ftp.json()["errors"]
    assert big.status_code == 413


def test_private_addresses_are_refused_unless_allowed(server_factory) -> None:  # type: ignore[no-untyped-def]
    strict = server_factory(outbound_allowed_networks=[])
    _, key = make_user(strict)
    with file_server() as (base, hits), strict.client(key) as client:
        local = client.post("/api/image_fromurl", data={"file_url": f"{base}/photo.png"})
        metadata = client.post("/api/image_fromurl", data={"file_url": "http://169.254.169.254/latest/meta-data"})
    assert local.status_code == 422 and "private or local" in local.json()["message"]
    assert metadata.status_code == 422
    assert hits == []  # nothing reached the server
