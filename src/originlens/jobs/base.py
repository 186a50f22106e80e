"""The queue interface. The database row is the job; a queue only carries its id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
