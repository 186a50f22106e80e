"""The queue interface. The database row is the job; a queue only carries its id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlparse

JobHandler = Callable[[int], None]


class JobQueue(Protocol):
    def enqueue(self, job_id: int) -> None: ...
    def start(self, handler: JobHandler) -> None: ...
    def stop(self, timeout: float = 10.0) -> None: ...
    def depth(self) -> int: ...
    def healthy(self) -> bool: ...


def make_queue(url: str, workers: int) -> JobQueue:
    scheme = urlparse(url).scheme
    if scheme == "inprocess":
        from originlens.jobs.inprocess import InProcessQueue

        return InProcessQueue(workers)
    raise ValueError(f"unsupported queue URL {url!r}: use inprocess://")
