"""Per-key rate limits with the ``limits`` library: in memory, or in Redis by URL."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


class RateLimiter:
    def __init__(self, storage_url: str, read_limits: str, write_limits: str, enabled: bool = True) -> None:
        self.enabled = enabled
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
