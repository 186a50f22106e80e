"""The queue interface. The database row is the job; a queue only carries its id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlparse

JobHandler = Callable[[int], None]


class JobQueue(Protocol):
    def enqueue(self, job_id: int) -> None:
        """Hand the job on; must not raise (a job that is not sent is resent by the sweeper)."""

    def start(self, handler: JobHandler) -> None:
        """Start this process's workers, if the backend runs any in the API process."""

    def stop(self, timeout: float = 10.0) -> None: ...

    def depth(self) -> int:
        """Jobs waiting; raises when the backend cannot be reached."""

    def healthy(self) -> bool: ...

    def broker_lost(self) -> bool:
        """Whether the queue lost what it held since the last call (true at most once per loss)."""


def make_queue(url: str, workers: int, visibility_timeout_s: float = 3600.0) -> JobQueue:
    scheme = urlparse(url).scheme
    if scheme == "inprocess":
        from originlens.jobs.inprocess import InProcessQueue

        return InProcessQueue(workers)
    if scheme.startswith("celery+"):
        from originlens.jobs.celery_queue import CeleryQueue

        return CeleryQueue(url, visibility_timeout_s)
    raise ValueError(f"unsupported queue URL {url!r}: use inprocess:// or celery+redis://host:port/db")
