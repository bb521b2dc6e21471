"""Delivery: each sink's stream of audit rows, from its cursor, at least once and in order.

    notifications = Notifications(config.notify, store, clock, metrics, may_deliver=leading)
    notifications.start()          # one thread per sink (`run`); tests call deliver_pending()
    notifications.stop()

One `DeliveryWorker` per sink repeats a pass:

1. Only while `may_deliver()` (this instance leads, its predecessor reconciled).
   A standby reads nothing; the cursor lives in the database (`notify_cursor`),
   so after a restart or a takeover the new leader resumes where delivery stopped.
   The first pass after delivery (re)starts calls the sink's `resume(store, cursor)`
   first, so a sink with state (Alertmanager's open alerts) rebuilds it.
2. Read the rows after the cursor, oldest first. A row the sink's filters reject
   is passed over; a wanted row is sent, and the cursor moves past it only once
   the sink took it. So every wanted row arrives, in audit order, and a crash
   between the send and the cursor's move means one repeat (receivers drop it by
   `id`), never a gap.
3. A failure (SinkError; or any other exception, a bug, logged with its traceback)
   stops the pass; the same row is retried after a backoff (1 s doubling to 5 min,
   each wait drawn between half and all of it, so many daemons do not hammer a
   receiver in step). Nothing else waits for it: actions
   write the audit row and go on; the sink only lags, and the lag is exported.
   A row the receiver refuses for good (SinkDeadLetter: HTTP 400, 422, ...) is a
   dead letter: logged once with its id and the receiver's answer, counted
   (result `rejected`), and the cursor moves past it; the stream goes on.
4. Rows are sent one by one until the oldest wanted one is older than the sink's
   `summarize_after` by a further `SUMMARY_SPAN` of it (25 h, of the default 24 h:
   one summary per hour of rows while a sink stays down, not one per retry). Then
   every row older than `summarize_after` after the cursor is counted, and one `notify.summary` row
   (actor `notify`, outcome `skipped`, target the sink, details counting what was
   skipped by action and outcome, and the rows skipped by hash: `spans`, see
   daemon/audit/passed_over.py) is appended in the same transaction that moves
   the cursor past them. That row is audited like any other and delivered to the
   sink when it recovers; nothing is dropped silently. The summarized rows are
   handed to the sink's `passed_over()` first, so a sink with state (Alertmanager's
   open alerts) still folds them in.

A pass sends at most `BATCH` rows, then the worker runs again at once. While a
sink is caught up its worker looks for new rows every `POLL`. Every pass that ends
without a failure, with rows or without, calls the sink's `tick()` (Alertmanager's
re-sends: a steady stream of rows must not hold them back); a SinkError from
`tick()` (a re-send that failed) backs off like a failed row, and a `tick()` that
raises nothing clears the failures, as a sent row does.

`Notifications.observe_backups(views, max_age)` hands the backup lists the leader
just read to every sink (`Sink.observe_backups`, which only keeps them; the sink's
own thread acts on them), so a refresh never waits for a receiver.
"""

import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from daemon.audit import (
    SPANS_DETAIL,
    AuditAction,
    AuditError,
    AuditLog,
    AuditStore,
    Outcome,
    PassedOver,
    new_action_id,
)
from daemon.clock import Clock
from daemon.notify.message import notification_of
from daemon.notify.settings import NotifyConfig
from daemon.notify.sink import (
    DeliveryResult,
    Sink,
    SinkDeadLetter,
    SinkEnvironment,
    SinkError,
)
from daemon.notify.sinks import build_sinks
from daemon.snapshot import ContainerView
from daemon.stacks import Backoff
from policies import MaxAge

log = logging.getLogger(__name__)

BATCH = 100
SUMMARY_SPAN = 1 / 24  # of summarize_after: how much older the oldest row gets first
POLL = timedelta(seconds=0.5)
RETRY_INITIAL = timedelta(seconds=1)
RETRY_MAX = timedelta(minutes=5)
NOTIFY_ACTOR = "notify"
STOP_JOIN = 2.0  # seconds to wait for a worker at shutdown (it may be inside a send)


class DeliveryMetrics(Protocol):
    def add_sink(self, sink: str) -> None: ...
    def count(self, sink: str, result: str, rows: int = 1) -> None: ...
    def delivered(self, sink: str, at: datetime) -> None: ...
    def set_lag(self, sink: str, rows: int) -> None: ...
    def forget_lag(self, sink: str) -> None: ...


def retry_delay(failures: int, rng: random.Random) -> float:
    """Seconds before retry number `failures` (>= 1): exponential, capped, jittered
    between half and all of it (the client's `Backoff`)."""
    backoff = Backoff(RETRY_INITIAL.total_seconds(), RETRY_MAX.total_seconds(), rng, least=0.5)
    return backoff.delay(failures - 1)


class DeliveryWorker:
    """One sink's stream. `step()` is one pass; `run()` repeats it on a thread."""

    def __init__(
        self,
        sink: Sink,
        settings: NotifyConfig,
        store: AuditStore,
        clock: Clock,
        metrics: DeliveryMetrics,
        may_deliver: Callable[[], bool],
        rng: random.Random | None = None,
    ) -> None:
        self.sink = sink
        self.settings = settings
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._metrics.add_sink(sink.name)
        self._may_deliver = may_deliver
        self._rng = rng or random.Random()
        self.failures = 0
        self.last_error: str | None = None
        self._retry_at: float | None = None  # on the clock's monotonic seconds
        self._resumed = False  # the sink's resume() ran since this instance began delivering
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.sink.name

    # -- one pass ----------------------------------------------------------------------

    def step(self) -> int:
        """One pass; returns how many rows it sent. Never raises for a sink or database fault."""
        if not self._may_deliver():
            self._metrics.forget_lag(self.name)
            self._resumed = False
            return 0
        if self._retry_at is not None and self._clock.monotonic() < self._retry_at:
            return 0
        try:
            return self._pass()
        except AuditError as error:
            self._back_off(str(error))
            return 0

    def _pass(self) -> int:
        cursor = self._store.notify_cursor(self.name)
        if not self._resumed:
            self.sink.resume(self._store, cursor)
            self._resumed = True
        position, sent = cursor, 0
        rows = self._store.rows_after(cursor, BATCH)
        for row in rows:
            if not self.settings.wants(row):
                position = row.id
                continue
            if position != cursor:  # passed-over rows: the cursor goes past them first
                if not self._move(cursor, position):
                    return sent
                cursor = position
            if self._too_old(row):
                self._summarize_from(cursor)
                return sent
            try:
                self.sink.send(notification_of(row))
            except SinkDeadLetter as error:
                self._metrics.count(self.name, error.result)
                log.warning(
                    "notification sink %s: %s; audit row %d is passed over (a dead letter)",
                    self.name,
                    error,
                    row.id,
                )
            except SinkError as error:
                self._metrics.count(self.name, error.result)
                self._back_off(str(error))
                self._update_lag(cursor)
                return sent
            else:
                self._metrics.delivered(self.name, self._clock.now())
                sent += 1
                self._recovered()
            if not self._move(cursor, row.id):
                return sent
            cursor = position = row.id
        if position != cursor and self._move(cursor, position):
            cursor = position
        self._update_lag(cursor)
        try:
            self.sink.tick()
        except SinkError as error:
            self._metrics.count(self.name, error.result)
            self._back_off(str(error))
        else:
            self._recovered()
        return sent

    def _move(self, expected: int, last_id: int) -> bool:
        if self._store.move_notify_cursor(self.name, expected, last_id):
            return True
        log.warning(
            "notification sink %s: its cursor was moved by another instance; re-reading it",
            self.name,
        )
        return False

    def _too_old(self, row: AuditLog) -> bool:
        """Whether summarizing starts at `row`: older than `summarize_after` by a further
        `SUMMARY_SPAN` of it, so a sink down for days gets one summary per span (an hour
        of rows by default), not one per retry."""
        span = self.settings.summarize_after * (1 + SUMMARY_SPAN)
        return row.at < self._clock.now() - span

    def _summarize_from(self, cursor: int) -> None:
        """Count every row older than `summarize_after` after `cursor`, hand the wanted ones
        to the sink's `passed_over`, and record one audited summary that moves the cursor
        past them."""
        cutoff = self._clock.now() - self.settings.summarize_after
        counts: Counter[str] = Counter()
        first_id = last_id = None
        spans = PassedOver(self.name)
        position = cursor
        while True:
            rows = self._store.rows_after(position, BATCH)
            old = list(itertools.takewhile(lambda row: row.at < cutoff, rows))
            spans.take(old)
            wanted = [row for row in old if self.settings.wants(row)]
            for row in wanted:
                counts[f"{row.action} {row.outcome}"] += 1
                first_id = first_id if first_id is not None else row.id
                last_id = row.id
            self.sink.passed_over(notification_of(row) for row in wanted)
            if old:
                position = old[-1].id
            if len(old) < len(rows) or len(rows) < BATCH:
                break
        skipped = sum(counts.values())
        what = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        summary = self._store.append_summary(
            self.name,
            cursor,
            position,
            {
                "actor": NOTIFY_ACTOR,
                "action": AuditAction.NOTIFY_SUMMARY,
                "outcome": Outcome.SKIPPED,
                "action_id": new_action_id(),
                "target": self.name,
                "reason": (
                    f"{skipped} audit rows older than the sink's summarize_after were not "
                    f"delivered to {self.name} one by one: {what}"
                ),
                "error": self.last_error,
                "details": {
                    "sink": self.name,
                    "skipped": skipped,
                    "first_id": first_id,
                    "last_id": last_id,
                    SPANS_DETAIL: spans.joined(),
                    "counts": dict(sorted(counts.items())),
                },
            },
        )
        if summary is not None:
            self._metrics.count(self.name, DeliveryResult.SUMMARIZED, skipped)
            log.warning("notification sink %s: %s", self.name, summary.reason)

    def _update_lag(self, cursor: int) -> None:
        self._metrics.set_lag(self.name, self._store.count_after(cursor))

    def _back_off(self, error: str, traceback: bool = False) -> None:
        self.failures += 1
        self.last_error = error
        delay = retry_delay(self.failures, self._rng)
        self._retry_at = self._clock.monotonic() + delay
        log.warning(
            "notification sink %s: %s (attempt %d; next in %.1f s)",
            self.name,
            error,
            self.failures,
            delay,
            exc_info=traceback,
        )

    def _recovered(self) -> None:
        if self.failures:
            log.info("notification sink %s: delivering again", self.name)
        self.failures = 0
        self.last_error = None
        self._retry_at = None

    # -- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread, unless it runs already (a worker a reload carried over)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self.run, name=f"notify-{self.name}", daemon=True)
        self._thread.start()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.step()
            except Exception as error:  # a bug in a sink must not end its stream for good
                self._back_off(f"delivery pass failed: {error!r}", traceback=True)
                sent = 0
            if sent < BATCH:
                self._stop.wait(self._pause())

    def _pause(self) -> float:
        if self._retry_at is None:
            return POLL.total_seconds()
        return max(0.0, min(self._retry_at - self._clock.monotonic(), POLL.total_seconds()))

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = STOP_JOIN) -> None:
        """End the thread (waiting up to `timeout` s for a send in flight) and the sink."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.sink.close()


class Notifications:
    """Every configured sink's worker; nothing at all when no `[[notify]]` table exists."""

    def __init__(
        self,
        settings: Iterable[NotifyConfig],
        store: AuditStore,
        clock: Clock,
        metrics: DeliveryMetrics,
        may_deliver: Callable[[], bool],
        environment: SinkEnvironment | None = None,
        kept: Mapping[str, DeliveryWorker] = MappingProxyType({}),
    ) -> None:
        """Builds every sink now but those `kept` (a reload's unchanged sinks, by name: their
        workers go on as they are): SinkConfigError (listing each) if one cannot be built."""
        settings = tuple(settings)
        built = iter(build_sinks([one for one in settings if one.name not in kept], environment))
        self.workers = [
            kept[one.name]
            if one.name in kept
            else DeliveryWorker(next(built), one, store, clock, metrics, may_deliver)
            for one in settings
        ]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def observe_backups(self, views: Iterable[ContainerView], max_age: MaxAge) -> None:
        """The backup lists as just read, for the sinks that act on them (never blocks)."""
        views = tuple(views)
        for worker in self.workers:
            worker.sink.observe_backups(views, max_age)

    def deliver_pending(self) -> int:
        """One pass of every worker on the caller's thread (simulated time, tests)."""
        return sum(worker.step() for worker in self.workers)

    def stop(self, keep: Iterable[DeliveryWorker] = ()) -> None:
        """Stop every worker but those to `keep` within `STOP_JOIN` seconds in all; a send
        still in flight then ends with the process (its row is sent again by the next
        leader)."""
        kept = {id(worker) for worker in keep}
        stopping = [worker for worker in self.workers if id(worker) not in kept]
        for worker in stopping:
            worker.request_stop()
        deadline = time.monotonic() + STOP_JOIN
        for worker in stopping:
            worker.stop(max(0.0, deadline - time.monotonic()))
