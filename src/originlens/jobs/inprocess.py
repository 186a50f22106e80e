"""An in-process worker pool: threads that take job ids from a local queue.

Durability comes from the database, not from this queue: on start-up the service
re-enqueues every unfinished job, so losing this queue's memory loses nothing.
"""

from __future__ import annotations

import logging
import queue
import threading

from originlens.jobs.base import JobHandler

log = logging.getLogger(__name__)
_STOP = -1


class InProcessQueue:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._queue: queue.Queue[int] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def enqueue(self, job_id: int) -> None:
        self._queue.put(job_id)

    def depth(self) -> int:
        return self._queue.qsize()

    def broker_lost(self) -> bool:
        return False  # its memory dies with the process, and start-up resends every new job

    def healthy(self) -> bool:
        return self.workers == 0 or any(t.is_alive() for t in self._threads)

    def start(self, handler: JobHandler) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(handler,), name=f"originlens-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, handler: JobHandler) -> None:
        while True:
            job_id = self._queue.get()
            try:
                if job_id == _STOP or self._stopping.is_set():
                    return  # jobs left in the queue stay 'new' in the database and are recovered
                handler(job_id)
            except Exception:  # the handler records failures itself; never let a worker die
                log.exception("job %s raised", job_id)
            finally:
                self._queue.task_done()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
