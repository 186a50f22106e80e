"""No accepted job is lost: a server process killed with SIGKILL mid-job finishes it after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from originlens.cli import bootstrap_first_user
from originlens.settings import Settings
from originlens.store.db import make_engine, make_session_factory
from originlens.store.models import Analysis
from tests.conftest import REPO, free_port, image_bytes, submit, wait_done

pytestmark = pytest.mark.slow


class ServiceProcess:
    """``originlens serve`` in its own process, as an operator would run it."""

    def __init__(self, data_dir: Path, tmp: Path, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "ORIGINLENS_DATA_DIR": str(data_dir),
            "ORIGINLENS_RATELIMIT_ENABLED": "false",
            "ORIGINLENS_WORKERS": "1",
            "ORIGINLENS_EXTRA_DETECTORS": '["tests.support.slow_detector:BlockingDetector"]',
            "ORIGINLENS_TEST_STARTED_FILE": str(tmp / "started"),
            "ORIGINLENS_TEST_BLOCK_FILE": str(tmp / "block"),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "originlens.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode() if self.proc.stderr else ""
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("service did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _setup(tmp_path: Path, **env: str) -> tuple[ServiceProcess, str]:
    data_dir = tmp_path / "data"
    key = bootstrap_first_user(Settings(data_dir=data_dir))
    assert key
    (tmp_path / "block").write_text("hold the job")
    return ServiceProcess(data_dir, tmp_path, **env), key


def _submit_and_kill_mid_job(service: ServiceProcess, key: str, tmp_path: Path) -> str:
    service.start()
    with httpx.Client(base_url=service.url, headers={"X-Api-Key": key}, timeout=30) as client:
        identifier = submit(client, image_bytes(seed=80))
    deadline = time.time() + 30
    while not (tmp_path / "started").exists():
        assert time.time() < deadline, "the job never started"
        time.sleep(0.05)
    service.kill()
    return identifier


def _analysis(data_dir: Path) -> Analysis:
    sessions = make_session_factory(make_engine(Settings(data_dir=data_dir).resolved_database_url))
    with sessions() as session:
        return session.query(Analysis).one()


def test_job_killed_mid_way_finishes_after_restart(tmp_path: Path) -> None:
    service, key = _setup(tmp_path)
    try:
        identifier = _submit_and_kill_mid_job(service, key, tmp_path)
        assert _analysis(tmp_path / "data").state == "running"  # the dead worker held it
        (tmp_path / "block").unlink()
        service.start()
        with httpx.Client(base_url=service.url, headers={"X-Api-Key": key}, timeout=30) as client:
            body = wait_done(client, identifier)
        assert body["status"] == "done"
        assert {"c2pa", "blocking-test-detector"} <= {r["model"] for r in body["results"]}
        assert _analysis(tmp_path / "data").attempts == 2
    finally:
        service.stop()


def test_job_that_keeps_killing_its_worker_ends_errored(tmp_path: Path) -> None:
    service, key = _setup(tmp_path, ORIGINLENS_JOB_MAX_ATTEMPTS="1")
    try:
        identifier = _submit_and_kill_mid_job(service, key, tmp_path)
        service.start()  # the block file is still there, but the job is not tried again
        with httpx.Client(base_url=service.url, headers={"X-Api-Key": key}, timeout=30) as client:
            body = wait_done(client, identifier)
        assert body["status"] == "errored"
        assert "interrupted 1 time(s)" in body["errors"]
    finally:
        service.stop()
