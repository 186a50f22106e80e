"""Per-key rate limits with the ``limits`` library: in memory, or in Redis by URL."""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


_DRIVERS = {"redis": "redis", "rediss": "redis", "redis+sentinel": "redis", "redis+cluster": "redis"}


def _import_driver(storage_url: str) -> None:
    """Import the storage's client library completely before ``limits`` looks at it.

    ``limits`` checks a driver's version with ``sys.modules`` and ``__version__``: while another
    thread (Celery's broker connection, the job sweeper) is half-way through importing ``redis``,
    it reads no version ("0.0.0") and refuses to start. An ``import`` waits for that other
    import to finish, so after this the check sees the whole module.
    """
    driver = _DRIVERS.get(urlsplit(storage_url).scheme)
    if driver is not None:
        importlib.import_module(driver)


class RateLimiter:
    def __init__(self, storage_url: str, read_limits: str, write_limits: str, enabled: bool = True) -> None:
        self.enabled = enabled
        _import_driver(storage_url)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._read: list[RateLimitItem] = parse_many(read_limits)
        self._write: list[RateLimitItem] = parse_many(write_limits)

    def hit(self, key: str, write: bool) -> Decision:
        """Count one request for ``key``; refuse it if any window is full."""
        if not self.enabled:
            return Decision(True)
        items = self._write if write else self._read
        namespace = "w" if write else "r"
        for item in items:
            if not self._limiter.test(item, namespace, key):
                stats = self._limiter.get_window_stats(item, namespace, key)
                return Decision(False, max(1, math.ceil(stats.reset_time - time.time())))
        for item in items:
            self._limiter.hit(item, namespace, key)
        return Decision(True)
