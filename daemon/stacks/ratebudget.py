"""The client-side request budget that keeps every caller of one API key under its limit.

STACKS allows `limit` requests per fixed one-minute window per key and reports
`X-RateLimit-Limit/Remaining/Reset` on every response. `RateBudget` is shared by
all threads using the key: each request first takes one unit from it.

Priorities (lower value wins): ACTION < STATUS < BACKUPS < METRICS. A priority
may only spend what is left above its floor, so the last requests of a window
stay available to more important work:

    ACTION   floor 0                    (may use every request)
    STATUS   floor reserve // 2
    BACKUPS  floor reserve              ("low priorities never use the last reserve")
    METRICS  floor reserve + reserve // 2

When the server reports a lower limit than configured, the reserve shrinks in
proportion (a key limited to 5/min with a configured 60/10 keeps 1 in reserve), so
low priorities are slowed, not starved.

The local view is corrected from the headers of every response (the server is
right; other programs may share the key). A 429 blocks every caller until its
`Retry-After` has passed. Waiting happens through `clock.sleep` in steps of at
most one second, so a `ManualClock` makes tests instant, and is bounded by
`max_wait` (then `BudgetExhausted`).
"""

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import IntEnum

from daemon.clock import Clock, SystemClock
from daemon.stacks.errors import BudgetExhausted

WINDOW_SECONDS = 60.0
RESET_SLACK_SECONDS = 5.0  # a header reset further ahead than one window + this is clock skew
MAX_SLEEP_STEP = 1.0


class Priority(IntEnum):
    ACTION = 0
    STATUS = 1
    BACKUPS = 2
    METRICS = 3


class RateBudget:
    def __init__(
        self,
        limit_per_minute: int = 60,
        reserve_for_actions: int = 10,
        clock: Clock | None = None,
    ) -> None:
        if limit_per_minute < 1:
            raise ValueError(f"rate limit must be at least 1 per minute, got {limit_per_minute}")
        if not 0 <= reserve_for_actions < limit_per_minute:
            raise ValueError(
                f"reserve_for_actions must be between 0 and the rate limit - 1 "
                f"({limit_per_minute - 1}), got {reserve_for_actions}"
            )
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._configured_limit = limit_per_minute
        self._limit = limit_per_minute
        self._reserve = reserve_for_actions
        self._remaining = limit_per_minute
        self._window_end: float | None = None  # epoch seconds; None until the first request
        self._blocked_until = 0.0
        self._throttled_total = 0

    # -- reading -------------------------------------------------------------

    @property
    def limit(self) -> int:
        with self._lock:
            return self._limit

    @property
    def remaining(self) -> int:
        """Requests left in the current window (for any priority)."""
        with self._lock:
            self._roll(self._now())
            return self._remaining

    @property
    def throttled_total(self) -> int:
        """How many 429 answers this budget has been told about."""
        with self._lock:
            return self._throttled_total

    @property
    def window_resets_at(self) -> datetime | None:
        with self._lock:
            self._roll(self._now())
            end = self._window_end
        return None if end is None else datetime.fromtimestamp(end, UTC)

    @property
    def blocked_until(self) -> datetime | None:
        """When the last `Retry-After` ends, while it has not ended yet."""
        with self._lock:
            until = self._blocked_until
        return datetime.fromtimestamp(until, UTC) if until > self._now() else None

    def floor(self, priority: Priority) -> int:
        """Requests of each window that `priority` leaves to more important work."""
        reserve = self._reserve
        if self._limit < self._configured_limit:
            reserve = math.ceil(reserve * self._limit / self._configured_limit)
        half = reserve // 2
        return {
            Priority.ACTION: 0,
            Priority.STATUS: half,
            Priority.BACKUPS: reserve,
            Priority.METRICS: reserve + half,
        }[Priority(priority)]

    def available(self, priority: Priority) -> int:
        """Requests `priority` may still send now, in the current window."""
        with self._lock:
            now = self._now()
            self._roll(now)
            if now < self._blocked_until:
                return 0
            return max(0, self._remaining - self.floor(priority))

    # -- spending ------------------------------------------------------------

    def try_acquire(self, priority: Priority) -> bool:
        """Take one request for `priority` if the budget allows it now."""
        with self._lock:
            return self._take(priority, self._now())

    def acquire(self, priority: Priority, max_wait: float = 300.0) -> None:
        """Take one request for `priority`, waiting (on the clock) until the budget allows it."""
        started = self._clock.monotonic()
        while True:
            with self._lock:
                now = self._now()
                if self._take(priority, now):
                    return
                wait = self._wait_hint(now)
            waited = self._clock.monotonic() - started
            if waited >= max_wait:
                raise BudgetExhausted(
                    f"no STACKS request budget for {Priority(priority).name} work within "
                    f"{max_wait:.0f} s (limit {self.limit}/min, {self.remaining} left, "
                    f"{self.floor(priority)} kept for more important work): lower the poll "
                    "frequency or raise api.rate_limit_per_minute if the key allows more"
                )
            self._clock.sleep(max(0.01, min(wait, MAX_SLEEP_STEP, max_wait - waited)))

    @contextmanager
    def reserved(self, priority: Priority, count: int, max_wait: float = 300.0) -> Iterator[None]:
        """Placeholder until the reservation lands: takes nothing up front."""
        yield

    # -- corrections from the server ----------------------------------------

    def update_from_headers(
        self, limit: int | None, remaining: int | None, reset_epoch: float | None
    ) -> None:
        """Adopt the server's `X-RateLimit-*` view (any of them may be missing)."""
        with self._lock:
            now = self._now()
            self._roll(now)
            if limit is not None and limit > 0:
                self._limit = limit
            server_end = None
            if reset_epoch is not None and 0 < reset_epoch - now <= WINDOW_SECONDS + (
                RESET_SLACK_SECONDS
            ):
                server_end = reset_epoch
            if server_end is not None and (
                self._window_end is None or server_end > self._window_end + 1.0
            ):
                # The server has started a window we had not seen: its count is the truth.
                self._window_end = server_end
                self._remaining = self._limit if remaining is None else max(0, remaining)
                return
            if server_end is not None:
                self._window_end = server_end
            if remaining is not None:
                # Same window: the lower count wins (other requests may be in flight).
                self._remaining = max(0, min(self._remaining, remaining))
            self._remaining = min(self._remaining, self._limit)

    def on_retry_after(self, seconds: float) -> None:
        """A 429 said to wait `seconds`: every caller waits until then."""
        with self._lock:
            self._throttled_total += 1
            self._blocked_until = max(self._blocked_until, self._now() + max(0.0, seconds))

    def seconds_until_reset(self) -> float:
        """Seconds until the current window ends (0 when no window is running)."""
        with self._lock:
            now = self._now()
            self._roll(now)
            return 0.0 if self._window_end is None else max(0.0, self._window_end - now)

    # -- internals (lock held) ------------------------------------------------

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _roll(self, now: float) -> None:
        if self._window_end is not None and now >= self._window_end:
            self._window_end = None
            self._remaining = self._limit

    def _take(self, priority: Priority, now: float) -> bool:
        self._roll(now)
        if now < self._blocked_until or self._remaining <= self.floor(priority):
            return False
        if self._window_end is None:
            self._window_end = now + WINDOW_SECONDS
        self._remaining -= 1
        return True

    def _wait_hint(self, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        return WINDOW_SECONDS if self._window_end is None else self._window_end - now
