"""A periodic background task in a daemon thread (the webhook dispatcher, the job sweeper).

Every process runs its own; they coordinate through the database, never through memory.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs :meth:`tick` now, then every ``interval_s`` or as soon as :meth:`wake` is called.

    A failing tick is logged and retried at the next one: a database or network hiccup must
    never stop the loop for good.
    """

    thread_name = "originlens-background"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("%s failed; retrying", self.thread_name)
            self._wake.wait(self.interval_s)
            self._wake.clear()
