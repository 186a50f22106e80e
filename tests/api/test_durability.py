"""No accepted job is lost: a server process killed with SIGKILL mid-job finishes it after restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from originlens.cli import bootstrap_first_user
from originlens.settings import Settings
from originlens.store.db import make_engine, make_session_factory
from originlens.store.models import Analysis
from tests.conftest import image_bytes, submit, wait_done
from tests.support.processes import OriginlensProcess

pytestmark = pytest.mark.slow


def _setup(tmp_path: Path, **env: str) -> tuple[OriginlensProcess, str]:
    data_dir = tmp_path / "data"
    key = bootstrap_first_user(Settings(data_dir=data_dir))
    assert key
    (tmp_path / "block").write_text("hold the job")
    service = OriginlensProcess(
        "serve",
        tmp_path / "serve.log",
        ORIGINLENS_DATA_DIR=str(data_dir),
        ORIGINLENS_WORKERS="1",
        ORIGINLENS_EXTRA_DETECTORS='["tests.support.slow_detector:BlockingDetector"]',
        ORIGINLENS_TEST_STARTED_FILE=str(tmp_path / "started"),
        ORIGINLENS_TEST_BLOCK_FILE=str(tmp_path / "block"),
        **env,
    )
    return service, key


def _submit_and_kill_mid_job(service: OriginlensProcess, key: str, tmp_path: Path) -> str:
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
