"""The client-side request budget: the only place that says who may spend a request.

STACKS allows `limit` requests per fixed one-minute window per key and reports
`X-RateLimit-Limit/Remaining/Reset` on every response. `RateBudget` is shared by
all threads using the key: each request first takes one unit from it.

Who spends at which priority (lower value wins):

    ACTION   changes, the checks that authorise them and the gate's backup polls
    STATUS   the fleet's status poll (and any read that names no other priority)
    BACKUPS  backup lists and stats; REFRESH (an alias) is every refresh of the
             poller, metrics included, so the last reserve stays with actions
    METRICS  metrics read outside the poller's refreshes

A priority may only spend what is left above its floor, so the last requests of a
window stay available to more important work:

    ACTION   floor 0                    (may use every request)
    STATUS   floor reserve // 2
    BACKUPS  floor reserve              ("low priorities never use the last reserve")
    METRICS  floor reserve + reserve // 2

Refreshes leave one more request for each status poll still due before the window
ends (`status_room`, `refresh_allowed`), so a refresh never delays the poll that
detects a crash. Polling (status and refreshes) plans on `polling_capacity` per
window: the limit less the configured reserve.

When the server reports a lower limit than configured, the reserve shrinks in
proportion (a key limited to 5/min with a configured 60/10 keeps 1 in reserve), so
low priorities are slowed, not starved. No floor reaches the limit: in a fresh
window every priority may send (a key allowing 1/min serves all of them in turn).

The local view is corrected from the headers of every response (the server is
right; other programs may share the key). A Reset less than a minute (plus
`RESET_SLACK_SECONDS` of clock skew) ahead names the server's window: one more than
`NEW_WINDOW_MARGIN` after the Reset that named ours (or after our own window's end)
starts a new window with the server's count; otherwise it is our window, and the
lower remaining wins (older answers may still be in flight). Such a window
ends at most a minute from now: a fixed window never has more left, so a Reset
beyond that means the server's clock runs ahead of ours. A Reset that is missing,
past or further ahead names no window, but the answer's Remaining still counts,
against the window we are in (started now if none is running): it can hold
requests back for one window at most. A Limit outside 1..`MAX_LIMIT` is ignored;
a Remaining is clamped to 0..limit. A 429 blocks every caller until its
`Retry-After` has passed (at most `MAX_RETRY_AFTER`). Waiting happens through
`clock.sleep` in steps of at most one second, so a `ManualClock` makes tests
instant, and is bounded by `max_wait` (then `BudgetExhausted`).

Invariants, kept after every call whatever the headers said:

    1 <= limit;  0 <= remaining <= limit;  floor(priority) < limit
    remaining < limit  implies  a window is running (what was spent comes back)
    a running window ends at most WINDOW_SECONDS from now
    a Retry-After block ends at most MAX_RETRY_AFTER from now

Hence the guarantee: however hostile the headers were, once they stop (answers
carry none, or honest ones), a request of any priority is admitted within one
window (60 s) plus the Retry-After being honoured.

Reservations: `with budget.reserved(priority, count):` takes `count` units at once
(waiting like `acquire`), so a check and the change it authorises go out without a
wait between them. Inside the block the thread's next `count` calls of `acquire` or
`try_acquire` (any priority) use a reserved unit and never wait; a unit used after
its window rolled over is charged to the current one. If a Retry-After block is
running at such a call (it began after the reservation, which could not be taken
while blocked), nothing is sent: `acquire` raises `RequestDeferred` (`try_acquire`
returns False), the unused units are given back, and every later acquire in the
block raises `RequestDeferred` too, since the check it relied on is stale. Leaving
the block gives unused units back to the window they came from (none if it has
rolled over). Reservations are per thread and do not nest.
"""

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from daemon.clock import Clock, SystemClock
from daemon.stacks.errors import MAX_RETRY_AFTER, BudgetExhausted, RequestDeferred

WINDOW_SECONDS = 60.0
RESET_SLACK_SECONDS = 5.0  # a header reset further ahead than one window + this is not believed
NEW_WINDOW_MARGIN = 1.0  # a reset this much after our window's end belongs to a later window
MAX_LIMIT = 1_000_000  # a Limit header above this is a broken header, not a key
MAX_SLEEP_STEP = 1.0


class Priority(IntEnum):
    """Who may spend a request, most important first (see the module docstring)."""

    ACTION = 0
    STATUS = 1
    BACKUPS = 2
    METRICS = 3
    REFRESH = 2  # alias of BACKUPS: the poller's refreshes, metrics included


@dataclass
class _Reservation:
    units: int  # reserved units not used yet
    window: int  # serial of the window they were taken from
    deferred: bool = False  # a Retry-After began: the block must start over


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
        self._window_end: float | None = None  # epoch seconds; None while nothing is spent
        self._server_reset: float | None = None  # the Reset naming the window we are in
        self._window_serial = 0  # counts windows, so reserved units go back to their own
        self._blocked_until = 0.0
        self._throttled_total = 0
        self._reservations: dict[int, _Reservation] = {}  # by thread id

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
            now = self._now()
            self._roll(now)
            until = self._blocked_until
        return datetime.fromtimestamp(until, UTC) if until > now else None

    def floor(self, priority: Priority) -> int:
        """Requests of each window that `priority` leaves to more important work."""
        limit = self._limit
        reserve = self._reserve
        if limit < self._configured_limit:
            reserve = math.ceil(reserve * limit / self._configured_limit)
        half = reserve // 2
        floor = {
            Priority.ACTION: 0,
            Priority.STATUS: half,
            Priority.BACKUPS: reserve,
            Priority.METRICS: reserve + half,
        }[Priority(priority)]
        return min(floor, limit - 1)

    def available(self, priority: Priority) -> int:
        """Requests `priority` may still send now, in the current window."""
        with self._lock:
            now = self._now()
            self._roll(now)
            if now < self._blocked_until:
                return 0
            return max(0, self._remaining - self.floor(priority))

    @property
    def polling_capacity(self) -> int:
        """Requests per window that status polls and refreshes may plan on: the limit
        less the reserve for actions (as configured)."""
        with self._lock:
            return self._limit - self._reserve

    def status_room(self, next_poll: datetime | None, every: timedelta) -> int:
        """Requests refreshes leave to the status polls still due before the window ends
        (or a minute from now, when none is running): one every `every` from `next_poll`
        (None or past: now)."""
        now = self._clock.now()
        end = self.window_resets_at or now + timedelta(seconds=WINDOW_SECONDS)
        moment = now if next_poll is None else max(now, next_poll)
        return max(0, -((moment - end) // every))

    def refresh_allowed(self, status_room: int) -> bool:
        """Whether a refresh may send a request now: REFRESH leaves its floor to more
        important work and `status_room` requests to the status polls still due."""
        return self.available(Priority.REFRESH) > status_room

    # -- spending ------------------------------------------------------------

    def try_acquire(self, priority: Priority) -> bool:
        """Take one request for `priority` if the budget allows it now (a reserved one first)."""
        with self._lock:
            now = self._now()
            reservation = self._reservations.get(threading.get_ident())
            if reservation is not None and (reservation.units or reservation.deferred):
                return self._use_reserved(reservation, now)
            return self._take(priority, now, 1)

    def acquire(self, priority: Priority, max_wait: float = 300.0) -> None:
        """Take one request for `priority`, waiting (on the clock) until the budget allows it.

        Inside `reserved()` a reserved unit is used instead, without waiting, or
        `RequestDeferred` is raised if a Retry-After began meanwhile.
        """
        with self._lock:
            now = self._now()
            reservation = self._reservations.get(threading.get_ident())
            if reservation is not None and (reservation.units or reservation.deferred):
                given_up = reservation.deferred
                if self._use_reserved(reservation, now):
                    return
                name = Priority(priority).name
                if given_up:
                    raise RequestDeferred(
                        f"reserved {name} request not sent: this reservation was given up "
                        "after a Retry-After; leave the reserved block, check the state "
                        "again, then send"
                    )
                until = datetime.fromtimestamp(self._blocked_until, UTC)
                raise RequestDeferred(
                    f"reserved {name} request not sent: STACKS asked every caller to wait "
                    f"(Retry-After, until {until:%H:%M:%S} UTC) after the reservation was "
                    "made; wait, check the state again, then send"
                )
        self._wait_and_take(priority, 1, max_wait, reserve=False)

    def reserved_left(self) -> int:
        """Reserved requests this thread has not used yet (0 outside a `reserved()` block)."""
        with self._lock:
            reservation = self._reservations.get(threading.get_ident())
            return 0 if reservation is None or reservation.deferred else reservation.units

    @contextmanager
    def reserved(self, priority: Priority, count: int, max_wait: float = 300.0) -> Iterator[None]:
        """Take `count` requests for `priority` at once; the block's acquires use them.

        Waits like `acquire` (bounded by `max_wait`, then `BudgetExhausted`). See the
        module docstring for what happens inside the block and on leaving it.
        """
        if count < 1:
            raise ValueError(f"a reservation needs at least 1 request, got {count}")
        me = threading.get_ident()
        with self._lock:
            if me in self._reservations:
                raise RuntimeError(
                    "RateBudget.reserved() blocks do not nest: reserve every request of the "
                    "check and the change in one block"
                )
        self._wait_and_take(priority, count, max_wait, reserve=True)
        try:
            yield
        finally:
            with self._lock:
                self._give_back(self._reservations.pop(me), self._now())

    # -- corrections from the server ----------------------------------------

    def update_from_headers(
        self, limit: int | None, remaining: int | None, reset_epoch: float | None
    ) -> None:
        """Adopt the server's `X-RateLimit-*` view (any of them may be missing or nonsense)."""
        with self._lock:
            now = self._now()
            self._roll(now)
            limit, remaining, reset = _finite(limit), _finite(remaining), _finite(reset_epoch)
            if limit is not None and 1 <= limit <= MAX_LIMIT:
                self._limit = int(limit)
                if self._window_end is None:
                    self._remaining = self._limit  # nothing spent yet: all of the new limit
            if remaining is not None:
                remaining = max(0, min(int(remaining), self._limit))
            if reset is not None and not 0 < reset - now <= WINDOW_SECONDS + RESET_SLACK_SECONDS:
                reset = None  # past or absurd: it names no window
            # A fixed window never has more than a minute left: beyond, the server's clock
            # runs ahead of ours, and its window ends (on our clock) within a minute.
            server_end = None if reset is None else min(reset, now + WINDOW_SECONDS)
            ours = self._window_end if self._server_reset is None else self._server_reset
            if reset is not None and (ours is None or reset > ours + NEW_WINDOW_MARGIN):
                # The server has started a window we had not seen: its count is the truth.
                self._window_end, self._server_reset = server_end, reset
                self._window_serial += 1
                self._remaining = self._limit if remaining is None else remaining
            else:
                if reset is not None:
                    self._window_end, self._server_reset = server_end, reset
                if remaining is not None:
                    # Our window: the lower count wins (other requests may be in flight), and
                    # units reserved but not sent yet are still ours to send.
                    self._remaining = min(self._remaining, remaining - self._reserved_here())
            self._settle(now)

    def on_retry_after(self, seconds: float) -> None:
        """A 429 said to wait `seconds`: every caller waits until then."""
        with self._lock:
            now = self._now()
            self._roll(now)
            self._throttled_total += 1
            if seconds != seconds:  # NaN: no usable wait, so the rest of a window
                seconds = WINDOW_SECONDS
            seconds = min(MAX_RETRY_AFTER, max(0.0, seconds))  # ints beyond floats too
            self._blocked_until = max(self._blocked_until, now + seconds)

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
        """End a window that is over; pull ends back that a clock gone backwards pushed out."""
        if self._window_end is not None:
            if now >= self._window_end:
                self._window_end = self._server_reset = None
                self._window_serial += 1
                self._remaining = self._limit
            elif self._window_end - now > WINDOW_SECONDS:
                self._window_end = now + WINDOW_SECONDS
        if self._blocked_until - now > MAX_RETRY_AFTER:
            self._blocked_until = now + MAX_RETRY_AFTER

    def _settle(self, now: float) -> None:
        """Restore the invariants: remaining within 0..limit, and a spent unit comes back."""
        self._remaining = max(0, min(self._remaining, self._limit))
        if self._remaining < self._limit and self._window_end is None:
            self._window_end = now + WINDOW_SECONDS

    def _take(self, priority: Priority, now: float, count: int) -> bool:
        self._roll(now)
        if now < self._blocked_until or self._remaining - count < self.floor(priority):
            return False
        if self._window_end is None:
            self._window_end = now + WINDOW_SECONDS
        self._remaining -= count
        return True

    def _wait_and_take(
        self, priority: Priority, count: int, max_wait: float, reserve: bool
    ) -> None:
        started = self._clock.monotonic()
        name = Priority(priority).name
        what = f"{name} work" if count == 1 else f"{count} {name} requests at once"
        while True:
            with self._lock:
                now = self._now()
                if count > self._limit - self.floor(priority):
                    raise BudgetExhausted(
                        f"no STACKS request budget for {what}: the key allows "
                        f"{self._limit}/min and {name} leaves {self.floor(priority)} of them "
                        "to more important work, so no window can hold them; reserve fewer"
                    )
                if self._take(priority, now, count):
                    if reserve:
                        self._reservations[threading.get_ident()] = _Reservation(
                            count, self._window_serial
                        )
                    return
                wait = self._wait_hint(now)
            waited = self._clock.monotonic() - started
            if waited >= max_wait:
                raise BudgetExhausted(
                    f"no STACKS request budget for {what} within "
                    f"{max_wait:.0f} s (limit {self.limit}/min, {self.remaining} left, "
                    f"{self.floor(priority)} kept for more important work): lower the poll "
                    "frequency or raise api.rate_limit_per_minute if the key allows more"
                )
            self._clock.sleep(max(0.01, min(wait, MAX_SLEEP_STEP, max_wait - waited)))

    def _wait_hint(self, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        return WINDOW_SECONDS if self._window_end is None else self._window_end - now

    def _use_reserved(self, reservation: _Reservation, now: float) -> bool:
        """Spend one reserved unit; False (and the rest given back) if a Retry-After runs."""
        self._roll(now)
        if reservation.deferred or now < self._blocked_until:
            self._give_back(reservation, now)
            reservation.deferred = True
            return False
        reservation.units -= 1
        if reservation.window != self._window_serial:
            # Taken from a window that has ended: this request counts against the current one.
            self._remaining -= 1
            self._settle(now)
        return True

    def _give_back(self, reservation: _Reservation, now: float) -> None:
        self._roll(now)
        if reservation.window == self._window_serial:
            self._remaining = min(self._limit, self._remaining + reservation.units)
        reservation.units = 0

    def _reserved_here(self) -> int:
        """Units reserved from the current window and not used yet, over all threads."""
        return sum(r.units for r in self._reservations.values() if r.window == self._window_serial)


def _finite(value: float | None) -> float | None:
    """`value` as a finite float; None for None, NaN, infinities and ints beyond floats."""
    try:
        number = float(value)  # None: TypeError
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
