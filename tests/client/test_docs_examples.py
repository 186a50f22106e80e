"""The examples in docs/client.md (``python`` blocks) and docs/api-curl.md (``sh`` blocks) run
against a real server, with the environment variables the docs name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, image_bytes
from tests.support.receiver import webhook_receiver
from tests.support.recordings import speech, tone, write_mp3
from tests.support.shared_data import REPO
from tests.support.speech import SPEECH_EVAL, chord

CLIENT_DOC = REPO / "docs" / "client.md"
CURL_DOC = REPO / "docs" / "api-curl.md"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def blocks(doc: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", doc.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """12 s of recorded speech (the shared eval set), or a tone when that set is absent."""
    path = tmp_path / "call.mp3"
    samples = speech("human", 12.0) if SPEECH_EVAL.is_dir() else tone(12.0)
    return write_mp3(path, samples)


@pytest.fixture
def photo_server(tmp_path: Path, recording: Path) -> Iterator[tuple[str, Path]]:
    """The sample photo on disk and served over HTTP on 127.0.0.1 (for the by-URL examples);
    any path ending in ``.mp3`` serves the recording."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes(size=(96, 64), seed=51))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            mp3 = self.path.endswith(".mp3")
            data = recording.read_bytes() if mp3 else photo.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg" if mp3 else "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/web/photo.png", photo
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def doc_env(
    api: RunningServer, key: str, clip_path: Path, photo_server: tuple[str, Path], recording: Path, tmp_path: Path
) -> dict[str, str]:
    url, photo = photo_server
    audio_path = tmp_path / "speech.wav"
    audio_path.write_bytes(chord(3.0))
    return {
        "ORIGINLENS_URL": api.base_url,
        "ORIGINLENS_API_KEY": key,
        "PHOTO": str(photo),
        "VIDEO": str(clip_path),
        "AUDIO": str(audio_path),
        "RECORDING": str(recording),
        "PHOTO_URL": url,
        "RECORDING_URL": url.replace("photo.png", "call.mp3"),
    }


def test_the_python_examples_run_in_order(
    doc_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    python_blocks = blocks(CLIENT_DOC, "python")
    assert len(python_blocks) >= 10
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name, value in doc_env.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {"__name__": "docs_client"}
    with webhook_receiver() as receiver:
        monkeypatch.setenv("WEBHOOK_URL", receiver.url)
        for number, block in enumerate(python_blocks, 1):
            try:
                exec(compile(block, f"{CLIENT_DOC.name}[python block {number}]", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"python block {number} of {CLIENT_DOC.name} failed:\n{block}") from exc
        assert receiver.event.wait(20), "the webhook example's delivery never arrived"
        delivery = receiver.requests[0]
    printed = capsys.readouterr().out
    assert "\n404 " in printed  # the NotFoundError example printed its status and message
    assert "{'frames': [" in printed  # the BadRequestError example printed the field errors
    assert " s of speech" in printed and "  0.0-  5.0 s  " in printed  # the recording and its chunks
    assert (work / "heatmap.png").read_bytes().startswith(PNG_MAGIC)

    # the receiver function the docs define accepts the real delivery and refuses a forgery
    handle = namespace["handle_webhook"]
    assert handle(delivery.body, delivery.headers) == 200
    assert handle(delivery.body + b" ", delivery.headers) == 400


def _json_lines(text: str) -> list[Any]:
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_the_curl_examples_run_in_one_shell(doc_env: dict[str, str], tmp_path: Path) -> None:
    sh_blocks = blocks(CURL_DOC, "sh")
    assert len(sh_blocks) >= 8
    script = "set -euo pipefail\n" + "".join(
        f"echo '@@ block {n} @@'\n{block}\n" for n, block in enumerate(sh_blocks, 1)
    )
    env = {**os.environ, **doc_env}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    outputs = re.split(r"^@@ block \d+ @@$", done.stdout, flags=re.MULTILINE)[1:]
    assert done.returncode == 0, f"block {len(outputs)} failed: {done.stderr}\n{outputs[-1:]}"
    assert len(outputs) == len(sh_blocks)
    for number, output in enumerate(outputs, 1):
        assert _json_lines(output) or "{" in output, f"block {number} printed no JSON: {output!r}"

    documents = [doc for output in outputs for doc in _json_lines(output)]
    submitted = next(d for d in documents if isinstance(d, dict) and set(d) == {"identifier"})
    assert len(submitted["identifier"]) == 64
    images = [d for d in documents if isinstance(d, dict) and "has_heatmap" in d]
    assert images[0]["status"] == "done" and images[0]["verdict"]["classification"] in {"human", "artificial"}
    from_url = next(d for d in images if d.get("ref_id") == "from-the-web")  # read at once: may still be new
    batch = next(d for d in documents if isinstance(d, list))
    assert [item["identifier"] for item in batch] == [images[0]["identifier"], from_url["identifier"]]
    override = next(d for d in documents if isinstance(d, dict) and d.get("type") == "image")
    assert override["classification"] == "artificial" and override["hash"] == images[0]["hash"]
    assert any(isinstance(d, dict) and "available_credits" in d for d in documents)
    video = next(d for d in documents if isinstance(d, dict) and "frames_total" in d)
    assert video["status"] == "done" and len(video["results"]["images"]) == 5
    recording = next(d for d in documents if isinstance(d, dict) and "chunk_details" in d)
    assert recording["status"] == "done" and recording["ref_id"] == "call-7"
    assert recording["chunk_details"] == recording["details"]["clips"] and recording["duration"] == 3.0
    listed = next(d for d in documents if isinstance(d, dict) and "chunk_details" in (d.get("data") or [{}])[0])
    assert [item["identifier"] for item in listed["data"]] == [recording["identifier"]]
    by_identifier = [d for d in documents if isinstance(d, list)][-1]
    assert [item["identifier"] for item in by_identifier] == [recording["identifier"]]
    assert "HTTP 422" in outputs[-1] and '"frames"' in outputs[-1]
    assert (tmp_path / "heatmap.png").read_bytes().startswith(PNG_MAGIC)
