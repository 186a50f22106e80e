"""The documented scale-out settings (Celery on Redis, limits in Redis) start every time.

A background thread importing ``redis`` while the rate limiter checked its version made 8 of 9
starts fail ("minimum version of 3.0 for 'redis' ... Found version: 0.0.0"). Redis need not be
reachable for this: both imports happen at start-up either way (a real one is used when present).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.processes import OriginlensProcess
from tests.support.redis_server import redis_binary, running_redis

STARTS = 20


@contextmanager
def _redis_url() -> Iterator[str]:
    if redis_binary() is not None:
        with running_redis() as server:
            yield server.url
        return
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"


def _starts(tmp: Path, redis_url: str, n: int) -> str | None:
    """Start ``serve``; None once it answers HTTP, else why it did not."""
    process = OriginlensProcess(
        "serve",
        tmp / f"serve-{n}.log",
        ORIGINLENS_DATA_DIR=str(tmp / f"data-{n}"),
        ORIGINLENS_QUEUE_URL=redis_url.replace("redis://", "celery+redis://"),
        ORIGINLENS_RATELIMIT_URL=redis_url,
        ORIGINLENS_RATELIMIT_ENABLED="true",
        ORIGINLENS_DISABLED_DETECTORS='["faces"]',
    )
    process.start(wait=False)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if not process.alive():
                return process.log()
            try:
                httpx.get(f"{process.url}/api/health", timeout=2)
                return None
            except httpx.TransportError:
                time.sleep(0.1)
        return f"no answer in 60 s:\n{process.log()}"
    finally:
        process.stop()


def test_serve_with_celery_and_redis_limits_starts_every_time(tmp_path: Path) -> None:
    with _redis_url() as url, ThreadPoolExecutor(4) as pool:
        failures = [f for f in pool.map(lambda n: _starts(tmp_path, url, n), range(STARTS)) if f is not None]
    assert failures == [], f"{len(failures)} of {STARTS} starts failed; the first:\n{failures[0]}"
