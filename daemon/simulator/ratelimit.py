"""Per-key fixed-window rate limit (requests per minute) and its X-RateLimit-* headers."""

import math
from datetime import datetime

from daemon.simulator.exchange import ApiError

WINDOW = 60


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window start, requests)

    def _used(self, key: str, now: datetime) -> tuple[int, int]:
        start = int(now.timestamp()) // WINDOW * WINDOW
        window, used = self._windows.get(key, (start, 0))
        return (start, 0) if window != start else (start, used)

    def headers(self, key: str | None, limit: int, now: datetime) -> dict[str, str]:
        """The three headers as they stand, without spending a request."""
        start, used = self._used(key, now) if key else (int(now.timestamp()) // WINDOW * WINDOW, 0)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(start + WINDOW),
        }

    def spend(self, key: str, limit: int, now: datetime) -> dict[str, str]:
        """Count one request, or raise 429 with Retry-After when the window is used up."""
        start, used = self._used(key, now)
        if used >= limit:
            reset = start + WINDOW
            retry_after = max(1, math.ceil(reset - now.timestamp()))
            raise ApiError(
                429,
                {
                    "error": "Rate limit exceeded",
                    "message": f"This API key allows {limit} requests per minute. "
                    f"Retry after {retry_after} seconds.",
                    "retry_after": retry_after,
                },
                {"Retry-After": str(retry_after), **self.headers(key, limit, now)},
            )
        self._windows[key] = (start, used + 1)
        return self.headers(key, limit, now)
