"""Absolute links use the public base URL: ``ORIGINLENS_PUBLIC_URL``, or else the address
``originlens serve`` listens on (also for the commands run beside it, on the same data)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from originlens.cli import app
from tests.conftest import image_bytes
from tests.support.processes import OriginlensProcess


def _result_url(process: OriginlensProcess, key: str) -> str:
    headers = {"X-Api-Key": key, "Accept": "application/json"}
    with httpx.Client(base_url=process.url, headers=headers, timeout=30) as client:
        identifier = client.post("/api/classification", files={"image": ("a.png", image_bytes(seed=5))}).json()
        body = client.get(f"/api/classification/{identifier['identifier']}").json()
    return str(body["result_url"])


def _operator_key(process: OriginlensProcess) -> str:
    return next(word for word in process.log().split() if word.startswith("ol_"))


def test_links_follow_the_port_serve_listens_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    process = OriginlensProcess("serve", tmp_path / "serve.log", ORIGINLENS_DATA_DIR=str(data)).start()
    try:
        result_url = _result_url(process, _operator_key(process))
    finally:
        process.stop()
    assert process.port != 8000
    assert result_url.startswith(f"http://127.0.0.1:{process.port}/dashboard/results/")
    monkeypatch.setenv("ORIGINLENS_DATA_DIR", str(data))
    monkeypatch.delenv("ORIGINLENS_PUBLIC_URL", raising=False)
    link = CliRunner().invoke(app, ["users", "set-password", "operator@localhost"])
    assert link.exit_code == 0, link.output
    assert f"http://127.0.0.1:{process.port}/dashboard/set-password?token=" in link.output


def test_the_public_url_setting_wins(tmp_path: Path) -> None:
    process = OriginlensProcess(
        "serve",
        tmp_path / "serve.log",
        ORIGINLENS_DATA_DIR=str(tmp_path / "data"),
        ORIGINLENS_PUBLIC_URL="https://lens.example.org",
    ).start()
    try:
        result_url = _result_url(process, _operator_key(process))
    finally:
        process.stop()
    assert result_url.startswith("https://lens.example.org/dashboard/results/")
