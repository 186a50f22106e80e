"""Shared fixtures: a real originlens server (uvicorn on 127.0.0.1, SQLite file) and helpers."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import uvicorn
from PIL import Image

from originlens.api.app import create_app
from originlens.cli import bootstrap_first_user
from originlens.settings import Settings
from tests.support.schema import assert_valid
from tests.support.shared_data import EVAL, REPO, SHARED, SPEC

__all__ = ["EVAL", "REPO", "SHARED", "SPEC"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    """A small real image, different for each seed (so hashes differ)."""
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, 120))
    for x in range(0, size[0], 7):
        image.putpixel((x, (x + seed) % size[1]), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@dataclass
class RunningServer:
    base_url: str
    settings: Settings
    operator_key: str
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        hdrs = {"X-Api-Key": key} if key else {}
        hdrs.update(headers)
        return httpx.Client(base_url=self.base_url, headers=hdrs, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def start_server(tmp: Path, operator_key: str | None = None, **overrides: Any) -> RunningServer:
    """A real server on 127.0.0.1; ``operator_key`` when it joins a database another server
    already bootstrapped (several API processes on one database)."""
    port = free_port()
    values: dict[str, Any] = {
        "data_dir": tmp,
        "public_url": f"http://127.0.0.1:{port}",
        "ratelimit_enabled": False,
        "outbound_allowed_networks": ["127.0.0.1/32"],
        "workers": 2,
        "webhook_backoff_base_s": 0.2,
        "webhook_backoff_factor": 2.0,
    }
    values.update(overrides)
    settings = Settings(**values)
    key = bootstrap_first_user(settings) or operator_key
    assert key is not None
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    return RunningServer(f"http://127.0.0.1:{port}", settings, key, server, thread)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("originlens"))
    yield running
    running.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def factory(**overrides: Any) -> RunningServer:
        running = start_server(tmp_path / f"s{len(started)}", **overrides)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


_counter = iter(range(1, 10**9))


class ApiServer(Protocol):
    """Anything serving the API with an operator account: a thread or a whole deployment."""

    operator_key: str

    def client(self, key: str | None = None, **headers: str) -> httpx.Client: ...


def make_user(server: ApiServer, **fields: Any) -> tuple[dict[str, Any], str]:
    """Create a user through the public API (as the operator partner), terms accepted; returns
    (user, key). A ``readonly`` user accepts the terms before its partner makes it read-only
    (a read-only key cannot accept them)."""
    n = next(_counter)
    readonly = bool(fields.pop("readonly", False))
    form = {"name": f"User {n}", "email": f"user{n}-{os.getpid()}@example.org", "heuristic": "Average"}
    form.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()})
    with server.client(server.operator_key) as client:
        response = client.post("/api/user", data=form)
        assert response.status_code == 200, response.text
        body = response.json()
    with server.client(body["api_key"]) as client:
        assert client.post("/api/user/accept_terms").status_code == 200
    if readonly:
        with server.client(server.operator_key) as client:
            update = {**form, "id": str(body["data"]["id"]), "readonly": "true"}
            response = client.post("/api/partner/user", data=update)
            assert response.status_code == 200, response.text
            body["data"] = response.json()["data"]
    return body["data"], body["api_key"]


def submit(client: httpx.Client, data: bytes, name: str = "photo.png", **form: Any) -> str:
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    response = client.post(
        "/api/classification", files={"image": (name, data)}, data=fields, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["identifier"])


def get_result(client: httpx.Client, identifier: str, path: str = "/api/classification/") -> dict[str, Any]:
    """GET one result and check it against the vendor's ImageResponse schema."""
    response = client.get(f"{path}{identifier}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_valid(SPEC, "ImageResponse", body)
    return body


def wait_done(client: httpx.Client, identifier: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        body = get_result(client, identifier)
        if body["status"] != "new":
            return body
        if time.time() > deadline:
            raise AssertionError(f"{identifier} still new after {timeout}s: {body}")
        time.sleep(0.05)
