"""Fuzz corpus: hundreds of malformed files (``tests/support/fuzz_corpus``) sent to every upload
route and the dashboard upload. No 5xx, no request over 30 s, every job ends (``done`` or
``errored`` with a sentence), and the server still answers afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import func, select

from originlens.store.models import Analysis
from tests.api.test_failure_texts import INTERNALS
from tests.conftest import SHARED, make_user, start_server
from tests.dashboard.conftest import db_session, page_csrf, set_password, sign_in
from tests.support.fuzz_corpus import corpus

ADVERSARIAL = SHARED / "adversarial"
REQUEST_TIMEOUT_S = 30
FROM_URL_EVERY = 5
"""Every fifth input is also fetched by URL (the fetch itself is tested elsewhere)."""


@contextmanager
def _files_server(files: dict[str, bytes]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _post(client: httpx.Client, path: str, **kwargs: object) -> httpx.Response:
    started = time.monotonic()
    response = client.post(path, **kwargs)  # type: ignore[arg-type]
    assert time.monotonic() - started < REQUEST_TIMEOUT_S, f"{path} took too long"
    return response


def test_malformed_uploads_never_break_the_server(tmp_path: Path) -> None:
    inputs = list(corpus())
    assert len(inputs) >= 500
    if ADVERSARIAL.is_dir():  # the files an outside test found, when the shared data is there
        inputs += [(p.name, p.read_bytes()) for p in sorted(ADVERSARIAL.iterdir()) if p.suffix not in (".py", ".md")]
    # Input handling is under test, not detection: the pixel model would only add ~0.1 s of
    # CLIP per decodable input (the same code runs on every valid image in the other tests).
    server = start_server(
        tmp_path / "fuzz", video_decode_deadline_s=20.0, audio_decode_deadline_s=20.0, disabled_detectors=["pixel"]
    )
    try:
        user, key = make_user(server)
        set_password(server, user["id"])
        failures: list[str] = []
        statuses: dict[int, int] = {}
        served = {f"f{i}": data for i, (_, data) in enumerate(inputs)}
        with (
            _files_server(served) as files,
            server.client(key, Accept="application/json") as api,
            sign_in(server, user["email"]) as dash,
        ):
            api.timeout = dash.timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
            token = page_csrf(dash, "/dashboard/upload")
            for i, (name, data) in enumerate(inputs):
                answers = [
                    _post(api, "/api/classification", files={"image": (name, data)}),
                    _post(api, "/api/classification_video", files={"video": (name, data)}),
                    _post(api, "/api/classification_audio", files={"audio": (name, data)}),
                    _post(dash, "/dashboard/upload", files={"file": (name, data)},
                          headers={"X-CSRF-Token": token, "Accept": "application/json"}),
                ]  # fmt: skip
                if i % FROM_URL_EVERY == 0:
                    answers.append(_post(api, "/api/image_fromurl", data={"file_url": f"{files}/f{i}"}))
                    answers.append(_post(api, "/api/video_fromurl", data={"file_url": f"{files}/f{i}"}))
                    answers.append(_post(api, "/api/audio_fromurl", data={"file_url": f"{files}/f{i}"}))
                for response in answers:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{name} {response.request.url.path}: {response.status_code} {response.text[:200]}"
                        )
        assert failures == []
        assert statuses.get(200, 0) > 100 and statuses.get(415, 0) > 100  # both paths were exercised

        deadline = time.monotonic() + 120
        while True:
            with db_session(server) as session:
                pending = session.scalar(select(func.count()).where(Analysis.state.in_(("new", "running"))))
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert pending == 0, f"{pending} job(s) never finished"
        with db_session(server) as session:
            texts = list(session.scalars(select(Analysis.errors).where(Analysis.state == "errored")))
        assert texts, "no input failed in the worker: the corpus is too kind"
        leaking = [t for t in texts if t is None or INTERNALS.search(t)]
        assert leaking == []
        with server.client(key) as client:
            assert client.get("/api/health").status_code == 200
            assert client.get("/api/user/credits").status_code == 200
    finally:
        server.stop()
