"""Injectable time: everything below the CLI asks a Clock, never the wall clock.

`SystemClock` is the real one. `ManualClock` only moves when told (or when code
sleeps on it), so a week of crash loops runs in milliseconds. `OffsetClock` is
wall time plus an adjustable offset, for a simulator served over real HTTP whose
clock tests advance through `/_sim/clock/advance`.
"""

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a ManualClock advances instead)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when advanced; sleeping advances it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._elapsed += seconds

    def set(self, moment: datetime) -> None:
        """Jump forward to `moment` (never backwards)."""
        self.advance((moment - self.now()).total_seconds())


class OffsetClock(SystemClock):
    """Wall-clock time shifted by an offset that only grows."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + timedelta(seconds=offset)

    def monotonic(self) -> float:
        with self._lock:
            offset = self._offset
        return time.monotonic() + offset

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self._offset += seconds


class StopRequested(Exception):
    """Raised from `StoppableClock.sleep` once the daemon is shutting down."""


class StoppableClock:
    """Wraps a clock so that every wait ends, with StopRequested, when `stop()` is called.

    The daemon's threads all wait through their clock (budget, retries, the backup
    gate's polling), so one `stop()` lets SIGTERM end them within moments, and the
    executor audits what it had in flight as `interrupted`.
    """

    def __init__(self, inner: Clock) -> None:
        self._inner = inner
        self._stopping = threading.Event()

    def now(self) -> datetime:
        return self._inner.now()

    def monotonic(self) -> float:
        return self._inner.monotonic()

    def sleep(self, seconds: float) -> None:
        if self._stopping.is_set():
            raise StopRequested
        if isinstance(self._inner, ManualClock):
            self._inner.sleep(seconds)
        elif seconds > 0:
            self._stopping.wait(seconds)
        if self._stopping.is_set():
            raise StopRequested

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()
