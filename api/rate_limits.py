"""Per-principal request rates: a moving window per token, user or address, kept in this
API process's memory.

In memory rather than in Redis: reads keep working while the broker is down and no
request pays a network round trip; the cost is that N API processes allow N times the
rate, which the README states. The per-minute settings are enforced over 10-second
windows, so a client that overshoots waits seconds, not a minute.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["RateLimits"]

_WINDOW_S = 10


class RateLimits:
    def __init__(self, *, requests_per_minute: int, uploads_per_minute: int) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._requests = _per_window(requests_per_minute)
        self._uploads = _per_window(uploads_per_minute)

    def request_wait_s(self, key: str) -> float | None:
        """Count one request by ``key``; None if allowed, else seconds until it would be."""
        return self._take(self._requests, "request", key)

    def upload_wait_s(self, key: str) -> float | None:
        """Count one new upload by ``key``, on top of its request."""
        return self._take(self._uploads, "upload", key)

    def _take(self, item: RateLimitItem, kind: str, key: str) -> float | None:
        if self._limiter.hit(item, kind, key):
            return None
        reset_at = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1.0, math.ceil(reset_at - time.time()))


def _per_window(per_minute: int) -> RateLimitItem:
    return RateLimitItemPerSecond(max(1, per_minute * _WINDOW_S // 60), _WINDOW_S)
