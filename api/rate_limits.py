"""Per-principal request rates: a moving window per token, user or address, kept in this
API process's memory; and the login throttles, per address and per username.

In memory rather than in Redis: reads keep working while the broker is down and no
request pays a network round trip; the cost is that N API processes allow N times the
rate, which the README states. The per-minute settings are enforced over 10-second
windows, so a client that overshoots waits seconds, not a minute.
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["RateLimits", "too_many"]

_WINDOW_S = 10


class RateLimits:
    def __init__(
        self,
        *,
        requests_per_minute: int,
        uploads_per_minute: int,
        logins_per_address_per_minute: int,
        logins_per_user_per_minute: int,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._requests = _per_window(requests_per_minute)
        self._uploads = _per_window(uploads_per_minute)
        # A whole minute, not 10 s windows: a typo and the retry must both get through.
        self._address_logins = RateLimitItemPerMinute(logins_per_address_per_minute)
        self._user_logins = RateLimitItemPerMinute(logins_per_user_per_minute)

    def request_wait_s(self, key: str) -> float | None:
        """Count one request by ``key``; None if allowed, else seconds until it would be."""
        return self._take(self._requests, "request", key)

    def upload_wait_s(self, key: str) -> float | None:
        """Count one new upload by ``key``, on top of its request."""
        return self._take(self._uploads, "upload", key)

    def login_wait_s(self, *, client_ip: str, username: str) -> float | None:
        """Count one login attempt from ``client_ip`` for ``username``; None if allowed."""
        wait_s = self._take(self._address_logins, "login-address", client_ip)
        if wait_s is None:
            wait_s = self._take(self._user_logins, "login-user", username.strip().lower())
        return wait_s

    def _take(self, item: RateLimitItem, kind: str, key: str) -> float | None:
        if self._limiter.hit(item, kind, key):
            return None
        reset_at = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1.0, math.ceil(reset_at - time.time()))


def _per_window(per_minute: int) -> RateLimitItem:
    return RateLimitItemPerSecond(max(1, per_minute * _WINDOW_S // 60), _WINDOW_S)


def too_many(wait_s: float, *, russian: str, english: str) -> HTTPException:
    """The 429 for a limit: ``russian``/``english`` name what there was too much of."""
    return HTTPException(
        429,
        f"{russian}; повторите через {wait_s:.0f} с. {english}; retry in {wait_s:.0f} s.",
        headers={"Retry-After": f"{wait_s:.0f}"},
    )
