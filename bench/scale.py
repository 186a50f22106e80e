"""Scale-out benchmark: throughput and submit-to-done latency of a fixed batch of images,
embedded mode versus Celery mode, with the same number of workers.

- embedded: one ``originlens serve`` process, SQLite, ``ORIGINLENS_WORKERS=k`` threads;
- celery: one ``originlens serve`` process and ``k`` ``originlens worker`` processes, Redis
  broker, PostgreSQL (SQLite when PostgreSQL is not installed).

Both keep media in one local directory, so the difference is the queue and the database.
For each worker count both deployments are started, warmed up (models loaded in every worker),
then batches run alternately, embedded then celery, so machine noise hits both; figures are
medians over the rounds. Throughput = batch size / (last finish - first submission), from
the timestamps the service records; latency = finish - submission of each job.

    .venv/bin/python bench/scale.py [--images 40] [--rounds 3] [--workers 1,2]

Target: the Celery mode within 15% of the embedded mode's throughput (ratio >= 0.85).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import bindparam, create_engine, text  # noqa: E402
from tests.support.postgres import find_binaries, postgres_server  # noqa: E402
from tests.support.processes import OriginlensProcess  # noqa: E402
from tests.support.redis_server import running_redis  # noqa: E402

from _common import make_jpeg  # noqa: E402
from originlens.cli import bootstrap_first_user  # noqa: E402
from originlens.settings import Settings  # noqa: E402

SECRET = "bench-scale-secret-0123456789abcdef"


@dataclass
class Deployment:
    name: str
    database_url: str
    key: str
    api: OriginlensProcess
    workers: list[OriginlensProcess] = field(default_factory=list)

    def stop(self) -> None:
        for process in [self.api, *self.workers]:
            process.stop()


def _photos(count: int, offset: int) -> list[bytes]:
    eval_dir = ROOT.parent / "shared" / "eval"
    sources = sorted(p for p in eval_dir.rglob("*.jpg") if "real" in str(p).lower())[:10] if eval_dir.exists() else []
    photos = []
    for n in range(count):
        source = sources[n % len(sources)] if sources else None
        data = make_jpeg(source, 1024 + (offset + n) % 64, 768)  # ~0.8 MP, each one different
        photos.append(data)
    return photos


def _start(name: str, tmp: Path, database_url: str, workers: int, broker: str | None) -> Deployment:
    env = {
        "ORIGINLENS_DATABASE_URL": database_url,
        "ORIGINLENS_STORAGE_URL": f"file://{tmp / 'blobs'}",
        "ORIGINLENS_SECRET_KEY": SECRET,
        "ORIGINLENS_WORKERS": str(workers),
    }
    if broker:
        env["ORIGINLENS_QUEUE_URL"] = f"celery+{broker}"
    key = bootstrap_first_user(Settings(data_dir=tmp / "boot", database_url=database_url, secret_key=SECRET))
    assert key
    api = OriginlensProcess("serve", tmp / f"{name}-api.log", ORIGINLENS_DATA_DIR=str(tmp / "api"), **env).start()
    deployment = Deployment(name, database_url, key, api)
    if broker:
        for n in range(workers):
            deployment.workers.append(
                OriginlensProcess(
                    "worker", tmp / f"{name}-worker{n}.log", ORIGINLENS_DATA_DIR=str(tmp / f"w{n}"), **env
                ).start()
            )
    return deployment


def _run_batch(deployment: Deployment, photos: list[bytes]) -> tuple[float, list[float]]:
    """Submit every photo (4 clients at once), wait until all are finished; (jobs/s, latencies)."""
    headers = {"X-Api-Key": deployment.key, "Accept": "application/json"}
    with httpx.Client(base_url=deployment.api.url, headers=headers, timeout=60) as client:

        def send(data: bytes) -> str:
            response = client.post("/api/classification", files={"image": ("p.jpg", data)})
            response.raise_for_status()
            return str(response.json()["identifier"])

        with ThreadPoolExecutor(4) as pool:
            identifiers = list(pool.map(send, photos))
        deadline = time.monotonic() + 600
        pending = list(identifiers)
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{deployment.name}: {len(pending)} jobs not done after 10 minutes")
            chunk = pending[:20]
            bodies = client.get("/api/classifications", params={"identifiers[]": chunk}).json()
            finished = {b["identifier"] for b in bodies if b["status"] != "new"}
            failed = [b for b in bodies if b["status"] == "errored"]
            if failed:
                raise RuntimeError(f"{deployment.name}: errored job: {failed[0]['errors']}")
            pending = [i for i in pending if i not in finished]
            if pending:
                time.sleep(0.1)
    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "select c.created_at, a.finished_at from classifications c join analyses a on a.id = c.analysis_id "
                    "where c.identifier in :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": identifiers},
            ).all()
    finally:
        engine.dispose()
    starts = [_as_seconds(created) for created, _ in rows]
    ends = [_as_seconds(finished) for _, finished in rows]
    latencies = [end - start for start, end in zip(starts, ends, strict=True)]
    return len(rows) / (max(ends) - min(starts)), latencies


def _as_seconds(value: object) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=None).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def _postgres_or_none() -> Iterator[str | None]:
    if find_binaries() is None:
        yield None
        return
    with postgres_server() as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_dir,
        running_redis() as redis,
        _postgres_or_none() as pg,
    ):
        tmp = Path(tmp_dir)
        print(f"celery mode database: {'PostgreSQL' if pg else 'SQLite'}; broker: Redis; media: local directory")
        offset = 0
        for k in counts:
            embedded_url = f"sqlite:///{tmp / f'embedded{k}.db'}"
            celery_url = f"sqlite:///{tmp / f'celery{k}.db'}"
            if pg:
                admin = create_engine(pg, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f"CREATE DATABASE bench_{k}"))
                admin.dispose()
                celery_url = pg.rsplit("/", 1)[0] + f"/bench_{k}"
            deployments = [
                _start(f"embedded{k}", tmp / f"e{k}", embedded_url, k, None),
                _start(f"celery{k}", tmp / f"c{k}", celery_url, k, f"{redis.url[:-1]}{k}"),
            ]
            try:
                for deployment in deployments:  # warm-up: every worker loads its models
                    _run_batch(deployment, _photos(4 * k, offset))
                    offset += 4 * k
                results: dict[str, list[tuple[float, list[float]]]] = {d.name: [] for d in deployments}
                for _ in range(args.rounds):
                    photos = _photos(args.images, offset)
                    offset += args.images
                    for deployment in deployments:
                        results[deployment.name].append(_run_batch(deployment, photos))
            finally:
                for deployment in deployments:
                    deployment.stop()
            throughput = {}
            for name, runs in results.items():
                rate = statistics.median(r[0] for r in runs)
                p50 = statistics.median(_percentile(r[1], 0.5) for r in runs)
                p95 = statistics.median(_percentile(r[1], 0.95) for r in runs)
                throughput[name] = rate
                rows.append((name.rstrip("0123456789"), k, rate, p50, p95))
            rows.append(("ratio", k, throughput[f"celery{k}"] / throughput[f"embedded{k}"], None, None))

    print(f"\n{args.images} images (~0.8 MP JPEG) per batch, median of {args.rounds} batches\n")
    print(f"{'mode':<10}{'workers':>8}{'jobs/s':>10}{'p50 s':>9}{'p95 s':>9}")
    for mode, k, rate, p50, p95 in rows:
        if mode == "ratio":
            verdict = "meets" if rate >= 0.85 else "MISSES"
            print(f"{'celery/embedded throughput':<28}{rate:>8.2f}  ({verdict} the >= 0.85 target)")
        else:
            print(f"{mode:<10}{k:>8}{rate:>10.2f}{p50:>9.2f}{p95:>9.2f}")


if __name__ == "__main__":
    main()
