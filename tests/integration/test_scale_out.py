"""The scale-out mode, whole: API processes and Celery worker processes (``originlens serve``
and ``originlens worker``, each its own OS process) on a real PostgreSQL, a real Redis broker
and an S3-compatible server, and the faults a deployment meets: a worker killed with SIGKILL
mid-job, Redis restarted (losing its queue), PostgreSQL connections dropped.

What a user must see every time: every accepted job ends ``done`` (or ``errored`` with a
reason), none is finished twice (one webhook per submission, credits charged once).

The S3 server is moto's server mode, standing in for the cloud service (AWS S3, MinIO...),
which a test cannot reach; PostgreSQL and Redis are the real servers (``.ci/run`` installs them).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from originlens.cli import bootstrap_first_user
from originlens.jobs.celery_queue import CeleryQueue
from originlens.settings import Settings
from tests.conftest import image_bytes, make_user, submit
from tests.support.clips import FPS, flat_frames, write_clip
from tests.support.postgres import find_binaries, postgres_server
from tests.support.processes import OriginlensProcess
from tests.support.receiver import Receiver, webhook_receiver
from tests.support.redis_server import RedisServer, redis_binary, running_redis
from tests.support.s3_server import s3_server
from tests.support.speech import chord

pytest.importorskip("celery")
pytest.importorskip("psycopg")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_binaries() is None, reason="PostgreSQL is not installed (.ci/run installs it)"),
    pytest.mark.skipif(redis_binary() is None, reason="redis-server is not installed (.ci/run installs it)"),
]

SECRET = "scale-out-test-secret-key-0123456789"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


@dataclass
class Deployment:
    """One originlens installation: its own database, Redis database and bucket."""

    tmp: Path
    env: dict[str, str]
    database_url: str
    operator_key: str = ""
    processes: list[OriginlensProcess] = field(default_factory=list)

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        """A client of the first API process (for ``make_user``)."""
        api = next(p for p in self.processes if p.command == "serve")
        return httpx.Client(base_url=api.url, headers={**({"X-Api-Key": key} if key else {}), **headers}, timeout=30)

    def api(self, **env: str) -> OriginlensProcess:
        return self._start("serve", env)

    def worker(self, **env: str) -> OriginlensProcess:
        return self._start("worker", env)

    def _start(self, command: str, env: dict[str, str]) -> OriginlensProcess:
        n = len(self.processes)
        process = OriginlensProcess(
            command,
            self.tmp / f"{command}-{n}.log",
            ORIGINLENS_DATA_DIR=str(self.tmp / f"{command}-{n}"),  # nothing shared through local disk
            **{**self.env, **env},
        )
        self.processes.append(process)
        return process.start()

    def rows(self, sql: str) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql)))
        finally:
            engine.dispose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.command} {p.log_path.name}\n{p.log()}" for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.stop()


@pytest.fixture
def deployment(postgres: str, redis: RedisServer, s3_endpoint: str, tmp_path: Path) -> Iterator[Deployment]:
    number = next(_numbers)
    database = f"originlens_{number}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    database_url = postgres.rsplit("/", 1)[0] + f"/{database}"
    bucket = f"originlens-{number}"
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    ).create_bucket(Bucket=bucket)
    env = {
        "ORIGINLENS_DATABASE_URL": database_url,
        "ORIGINLENS_QUEUE_URL": f"celery+redis://127.0.0.1:{redis.port}/{number % 16}",
        "ORIGINLENS_STORAGE_URL": f"s3://{bucket}/media?endpoint_url={s3_endpoint}&region=us-east-1&addressing=path",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "ORIGINLENS_SECRET_KEY": SECRET,
        "ORIGINLENS_OUTBOUND_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
        "ORIGINLENS_WEBHOOK_BACKOFF_BASE_S": "0.2",
        "ORIGINLENS_JOB_LEASE_S": "30",
        "ORIGINLENS_JOB_SWEEP_INTERVAL_S": "0.5",
        "ORIGINLENS_JOB_RESEND_AFTER_S": "3",
    }
    made = Deployment(tmp_path, env, database_url)
    made.operator_key = bootstrap_first_user(
        Settings(data_dir=tmp_path / "bootstrap", database_url=database_url, secret_key=SECRET)
    ) or pytest.fail("no operator key")
    try:
        yield made
    finally:
        made.close()


def _client(api: OriginlensProcess, key: str) -> httpx.Client:
    return httpx.Client(base_url=api.url, headers={"X-Api-Key": key, "Accept": "application/json"}, timeout=30)


def _wait_finished(api: OriginlensProcess, key: str, identifiers: list[str], deployment: Deployment) -> list[dict]:
    """Poll until no identifier is ``new``; their bodies in the same order."""
    deadline = time.monotonic() + 120
    with _client(api, key) as client:
        while True:
            bodies = []
            for chunk in range(0, len(identifiers), 20):
                response = client.get("/api/classifications", params={"identifiers[]": identifiers[chunk : chunk + 20]})
                assert response.status_code == 200, response.text
                bodies += response.json()
            if all(body["status"] != "new" for body in bodies):
                by_id = {body["identifier"]: body for body in bodies}
                return [by_id[identifier] for identifier in identifiers]
            assert time.monotonic() < deadline, f"still new: {bodies}\n{deployment.logs()}"
            time.sleep(0.25)


def _wait_webhooks(receiver: Receiver, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(receiver.requests) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # a duplicate would arrive now
    return [json.loads(r.body) for r in receiver.requests]


def test_two_apis_and_two_workers_do_every_job_exactly_once(deployment: Deployment, tmp_path: Path) -> None:
    apis = [deployment.api(), deployment.api()]
    workers = [deployment.worker(), deployment.worker()]
    clip = write_clip(tmp_path / "c.mp4", flat_frames(60, FPS)).read_bytes()
    with webhook_receiver() as receiver:
        images: list[str] = []
        for n in range(12):  # spread over both API processes
            with _client(apis[n % 2], deployment.operator_key) as client:
                images.append(submit(client, image_bytes(seed=900 + n), webhook_url=receiver.url))
        with _client(apis[1], deployment.operator_key) as client:
            response = client.post("/api/classification_video", files={"video": ("c.mp4", clip)}, data={"frames": "5"})
            assert response.status_code == 200, response.text
            video = response.json()["identifier"]
            response = client.post("/api/classification_audio", files={"audio": ("a.wav", chord(6.0))})
            assert response.status_code == 200, response.text
            recording = response.json()["identifier"]
        bodies = _wait_finished(apis[0], deployment.operator_key, images, deployment)
        hooks = _wait_webhooks(receiver, len(images))
        deadline = time.monotonic() + 120
        with _client(apis[0], deployment.operator_key) as client:
            while (video_body := client.get(f"/api/classification_video/{video}").json())["status"] == "new":
                assert time.monotonic() < deadline, deployment.logs()
                time.sleep(0.25)
            while (audio_body := client.get(f"/api/classification_audio/{recording}").json())["status"] == "new":
                assert time.monotonic() < deadline, deployment.logs()
                time.sleep(0.25)
    assert [body["status"] for body in bodies] == ["done"] * 12, deployment.logs()
    assert video_body["status"] == "done" and len(video_body["results"]["images"]) == 5
    assert audio_body["status"] == "done" and audio_body["duration"] == 6.0, audio_body["errors"]
    assert sorted(hook["identifier"] for hook in hooks) == sorted(images), "one webhook per submission, no more"
    jobs = deployment.rows("select attempts, state, claimed_by from analyses")
    assert len(jobs) == 14 and all(attempts == 1 and state == "done" for attempts, state, _ in jobs), jobs
    claimers = {claimed_by.split(":")[1] for *_, claimed_by in jobs}
    assert claimers == {str(w.pid) for w in workers}, "both worker processes took jobs; no API process did"

    # Celery may deliver a message again (acks_late): every job id sent once more changes nothing.
    broker = CeleryQueue(deployment.env["ORIGINLENS_QUEUE_URL"])
    analysis_ids = [row[0] for row in deployment.rows("select id from analyses")]
    for analysis_id in analysis_ids:
        broker.enqueue(analysis_id)
    deadline = time.monotonic() + 30
    while broker.depth() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    broker.stop()
    assert broker.depth() == 0, "the workers consumed the duplicates"
    again = deployment.rows("select attempts, state from analyses")
    assert sorted(again) == sorted((attempts, state) for attempts, state, _ in jobs), "nothing ran twice"
    assert deployment.rows("select count(*) from webhook_deliveries") == [(len(images),)], "no webhook twice"
    with _client(apis[1], deployment.operator_key) as client:
        health = client.get("/api/health").json()
    assert health["components"]["queue"]["status"] == "ok"
    assert health["components"]["queue"]["workers"] == "separate processes"


def test_a_worker_killed_mid_job_loses_nothing_and_the_job_is_finished_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    started, block = tmp_path / "started", tmp_path / "block"
    block.write_text("hold the job")
    holding = {
        "ORIGINLENS_EXTRA_DETECTORS": '["tests.support.slow_detector:BlockingDetector"]',
        "ORIGINLENS_TEST_STARTED_FILE": str(started),
        "ORIGINLENS_TEST_BLOCK_FILE": str(block),
        "ORIGINLENS_JOB_LEASE_S": "4",
    }
    api = deployment.api(**holding)
    workers = [deployment.worker(**holding), deployment.worker(**holding)]
    _, key = make_user(deployment, balance=5)
    with webhook_receiver() as receiver:
        with _client(api, key) as client:
            identifier = submit(client, image_bytes(seed=950), webhook_url=receiver.url)
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline, deployment.logs()
            time.sleep(0.05)
        victim = next(w for w in workers if w.pid == int(started.read_text()))
        victim.kill()
        block.unlink()
        [body] = _wait_finished(api, key, [identifier], deployment)
        hooks = _wait_webhooks(receiver, 1)
        with _client(api, key) as client:
            credits = client.get("/api/user/credits").json()
    assert body["status"] == "done", body
    assert [hook["identifier"] for hook in hooks] == [identifier]
    [(attempts, claimed_by)] = deployment.rows("select attempts, claimed_by from analyses")
    survivor = next(w for w in workers if w is not victim)
    assert attempts == 2 and claimed_by.split(":")[1] == str(survivor.pid)
    assert credits == {"available_credits": 4, "total_spent": 1}, "charged once, for one analysis"


def test_redis_restarted_with_jobs_queued_loses_none(deployment: Deployment, redis: RedisServer) -> None:
    api = deployment.api()  # no worker yet: the jobs wait in Redis
    with _client(api, deployment.operator_key) as client:
        queued = [submit(client, image_bytes(seed=960 + n)) for n in range(4)]
        redis.stop()  # without persistence: the queued messages are gone
        during = submit(client, image_bytes(seed=970))  # accepted while the broker is down
        health = client.get("/api/health").json()
    assert health["components"]["queue"]["status"] == "down"
    redis.start()
    deployment.worker()
    deployment.worker()
    bodies = _wait_finished(api, deployment.operator_key, [*queued, during], deployment)
    assert [body["status"] for body in bodies] == ["done"] * 5
    attempts = [row[0] for row in deployment.rows("select attempts from analyses")]
    assert attempts == [1] * 5, attempts


def test_dropped_postgres_connections_lose_nothing_and_finish_each_job_once(deployment: Deployment) -> None:
    apis = [deployment.api(), deployment.api()]
    deployment.worker()
    deployment.worker()
    with webhook_receiver() as receiver:
        identifiers = []
        for n in range(10):
            with _client(apis[n % 2], deployment.operator_key) as client:
                identifiers.append(submit(client, image_bytes(seed=980 + n), webhook_url=receiver.url))
        killed = 0
        for _ in range(6):  # every connection of every process, several times while they work
            killed += len(
                deployment.rows(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where datname = current_database() and pid <> pg_backend_pid()"
                )
            )
            time.sleep(0.3)
        bodies = _wait_finished(apis[0], deployment.operator_key, identifiers, deployment)
        hooks = _wait_webhooks(receiver, len(identifiers))
    assert killed > 0
    assert [body["status"] for body in bodies] == ["done"] * 10, deployment.logs()
    assert sorted(hook["identifier"] for hook in hooks) == sorted(identifiers), "one webhook per submission"
    deliveries = deployment.rows("select classification_id, count(*) from webhook_deliveries group by 1")
    assert len(deliveries) == 10 and all(count == 1 for _, count in deliveries)
