"""The poller: turns STACKS API reads into a new immutable Snapshot.

`poll_status` costs exactly one `GET /containers` for the whole fleet.
`refresh` (every few seconds) fetches the per-container metrics and backup
lists that are due at the intervals of the current RefreshPlan (stretched to
fit the budget), earliest turn first, at the pace and in the shares a RefreshPacer
allows (see daemon/refresh_plan.py), so the load is spread evenly over time, and
only as far as the rate budget allows refreshes (daemon/stacks/ratebudget.py), so
actions, the backup gate and status polls keep their part of every window. Only
the newest sample of each metrics series is kept: it is all that is exported.
Fail-closed: an API error keeps the last known data, marks the snapshot stale
and records the error; it never yields "no containers".
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from datetime import datetime, timedelta

from daemon.clock import Clock
from daemon.durations import format_duration
from daemon.refresh_plan import (
    SHARES,
    DueRefresh,
    FailedRefreshes,
    Kind,
    Reason,
    RefreshPacer,
    RefreshPlan,
    Turns,
    confirmation_rate,
    due_refreshes,
    plan_refresh,
)
from daemon.snapshot import ContainerView, LatestSnapshot, Snapshot
from daemon.stacks import (
    MAX_BACKUPS,
    BudgetExhausted,
    ContainerMetrics,
    Priority,
    RateLimitedError,
    StacksClient,
    StacksError,
)

log = logging.getLogger(__name__)

STATUS_TICK_SLACK = timedelta(milliseconds=100)  # a tick this early still polls


class Poller:
    def __init__(
        self,
        client: StacksClient,
        clock: Clock,
        *,
        status_interval: timedelta | None,
        metrics_interval: timedelta,
        backups_interval: timedelta,
        latest: LatestSnapshot | None = None,
    ) -> None:
        """`latest` is where the snapshots are published (the readers may hold it first)."""
        self._client = client
        self._budget = client.budget
        self._clock = clock
        self._status_interval = status_interval  # None: auto, from the plan
        self._metrics_interval = metrics_interval
        self._backups_interval = backups_interval
        self._latest = latest or LatestSnapshot()
        self._lock = threading.Lock()  # guards _backup_changes
        self._turns = Turns()
        self._failures = FailedRefreshes()
        self._backup_changes: dict[str, int] = {}  # container_id -> invalidate_backups calls
        self._pacer = RefreshPacer()
        self._polled_at: datetime | None = None  # the last status poll's start
        self._confirmations = 0  # backup lists due for the morning's confirmation, last seen

    def set_intervals(
        self,
        *,
        status_interval: timedelta | None,
        metrics_interval: timedelta,
        backups_interval: timedelta,
    ) -> None:
        """New poll intervals (a config reload); they count from the last poll of each kind."""
        self._status_interval = status_interval
        self._metrics_interval = metrics_interval
        self._backups_interval = backups_interval

    @property
    def snapshot(self) -> Snapshot:
        return self._latest.read()

    def plan(self) -> RefreshPlan:
        return plan_refresh(
            len(self.snapshot.containers),
            status_interval=self._status_interval,
            metrics_interval=self._metrics_interval,
            backups_interval=self._backups_interval,
            polling_capacity=self._budget.polling_capacity,
            confirmations_per_minute=confirmation_rate(self._confirmations, self._clock.now()),
        )

    @property
    def status_interval(self) -> timedelta:
        """How often the status is polled now (auto: what the budget leaves, 1 s to 15 s)."""
        return self._status_interval or self.plan().status_interval

    def status_due(self, now: datetime) -> bool:
        """Whether a status poll is due (the auto interval is polled on a finer tick)."""
        if self._polled_at is None:
            return True
        return now >= self._polled_at + self.status_interval - STATUS_TICK_SLACK

    def poll_status(self) -> Snapshot:
        """One `GET /containers`; returns the new snapshot (stale on failure)."""
        self._polled_at = self._clock.now()
        try:
            containers = self._client.list_containers()
        except StacksError as error:
            log.warning("status poll failed, keeping the last known state: %s", error)
            message = str(error)
            return self._latest.publish(lambda old: old.with_status_failure(message))
        now = self._clock.now()

        def merge(old: Snapshot) -> Snapshot:
            views = {}
            for container in containers:
                previous = old.containers.get(container.id)
                if previous is None:
                    views[container.id] = ContainerView(container=container, seen_at=now)
                else:
                    views[container.id] = replace(previous, container=container, seen_at=now)
            with self._lock:
                self._backup_changes = {
                    cid: count for cid, count in self._backup_changes.items() if cid in views
                }
            self._turns.keep_only(views)
            self._failures.keep_only(views)
            return replace(old, taken_at=now, status_ok=True, containers=views, last_error=None)

        return self._latest.publish(merge)

    def refresh(self, *, everything: bool = False) -> int:
        """Fetch what is due within the budget, paced; returns requests made.

        Data never fetched (and backup lists the daemon changed) comes first, paid
        from whatever the pacer holds, so a fresh start knows the whole fleet as
        soon as the capacity allows. Then the backup lists read before today's
        scheduled backups, paid from the slack or what the metrics share lends
        them, so every new backup is confirmed by the deadline. Then each
        share (backup lists, then metrics) spends what it has accrued on its own
        oldest due data, and the slack goes to the most overdue data whatever its
        kind (see `RefreshPacer`). Every request must also be one the budget allows
        a refresh (`RateBudget.refresh_allowed`: room to spare for the status polls
        still due in the window). `everything` fetches all of it regardless of age (for `once`),
        waiting for the budget.
        """
        if everything:
            due = self.due(everything=True)
            for refresh in due:
                self._fetch(refresh)
            return len(due)
        snapshot, plan, now = self.snapshot, self.plan(), self._clock.now()
        due = [
            refresh
            for refresh in due_refreshes(snapshot, plan, now, turns=self._turns)
            if not self._failures.waiting(refresh, now)
        ]
        rotation = [refresh for refresh in due if not refresh.waits_for_its_pace]
        busy = {refresh.kind.share for refresh in rotation}
        idle = [share for share in SHARES if share not in busy]
        confirmations = sum(refresh.reason is Reason.CONFIRM for refresh in due)
        if confirmations != self._confirmations:  # their pace is part of the plan
            self._confirmations = confirmations
            plan = self.plan()
        self._pacer.earn(plan, len(snapshot.containers), now, idle)
        status_room = self._budget.status_room(self._next_status_poll(), self.status_interval)
        fetched: set[DueRefresh] = set()

        def fetch(candidates: Iterable[DueRefresh], pay: Callable[[DueRefresh], bool]) -> None:
            for refresh in candidates:
                if not self._budget.refresh_allowed(status_room):
                    return
                if refresh in fetched:
                    continue
                if not pay(refresh):
                    return
                fetched.add(refresh)
                self._fetch(refresh)

        pacer = self._pacer
        fetch((r for r in due if r.any_share), lambda r: pacer.spend_any())
        fetch((r for r in due if r.reason is Reason.CONFIRM), lambda r: pacer.spend_confirmation())
        for share in SHARES:
            fetch((r for r in rotation if r.kind.share is share), lambda r, s=share: pacer.spend(s))
        fetch(rotation, lambda r: pacer.spend_slack())
        return len(fetched)

    def due(self, *, everything: bool = False) -> list[DueRefresh]:
        """What is due now (everything, if asked), earliest deadline first."""
        return due_refreshes(
            self.snapshot, self.plan(), self._clock.now(), everything=everything, turns=self._turns
        )

    def _next_status_poll(self) -> datetime | None:
        """When the next status poll is due (None: never polled, so now)."""
        return None if self._polled_at is None else self._polled_at + self.status_interval

    def _fetch(self, refresh: DueRefresh) -> None:
        container_id = refresh.container_id
        try:
            if refresh.kind is Kind.METRICS:
                metrics = newest_samples(
                    self._client.metrics(container_id, priority=Priority.REFRESH)
                )
                self._update_view(container_id, metrics=metrics, metrics_at=self._clock.now())
            elif refresh.kind is Kind.BACKUPS:
                self._fetch_backups(container_id, refresh.in_turn)
            else:
                stats = self._client.backup_stats(priority=Priority.REFRESH)
                at = self._clock.now()
                self._latest.publish(
                    lambda old: replace(old, backup_stats=stats, backup_stats_at=at)
                )
        except StacksError as error:
            retry = ""
            # A read the budget held back or STACKS refused with 429 waits for the budget.
            if not isinstance(error, BudgetExhausted | RateLimitedError):
                plan = self.plan()
                interval = (
                    plan.metrics_interval if refresh.kind is Kind.METRICS else plan.backups_interval
                )
                failures, wait = self._failures.failed(refresh, self._clock.now(), interval)
                retry = f" ({failures} in a row, next try in {format_duration(wait)})"
            log.warning(
                "refreshing the %s of %s failed%s, keeping the last known: %s",
                refresh.kind.value,
                container_id or "the account",
                retry,
                error,
            )
        else:
            self._failures.succeeded(refresh)

    def _fetch_backups(self, container_id: str, in_turn: bool) -> None:
        changes = self._backup_changes.get(container_id, 0)
        backups = tuple(
            self._client.backups(container_id, limit=MAX_BACKUPS, priority=Priority.REFRESH)
        )
        # A change the daemon made while the list was on its way is not in it: read again.
        changed = self._backup_changes.get(container_id, 0) != changes
        at = self._clock.now()
        rotation = {"backups_rotation_at": at} if in_turn else {}
        self._update_view(
            container_id, backups=backups, backups_at=at, backups_changed=changed, **rotation
        )

    def forget(self) -> None:
        """Drop everything known (leadership lost: this instance no longer watches)."""
        self._confirmations = 0
        self._turns = Turns()
        self._failures = FailedRefreshes()
        self._latest.publish(lambda old: Snapshot())

    def invalidate_backups(self, container_id: str) -> None:
        """The daemon changed this container's backups: re-read them first at the next refresh.

        Cheaper than an immediate re-read: the refresh spends the request within the budget.
        """
        with self._lock:
            self._backup_changes[container_id] = self._backup_changes.get(container_id, 0) + 1
        self._update_view(container_id, backups_changed=True)

    def _update_view(self, container_id: str, **fields) -> None:
        def change(old: Snapshot) -> Snapshot:
            view = old.containers.get(container_id)
            if view is None:  # deleted between the status poll and this refresh
                return old
            containers = dict(old.containers)
            containers[container_id] = replace(view, **fields)
            return replace(old, containers=containers)

        self._latest.publish(change)


def newest_samples(metrics: ContainerMetrics) -> ContainerMetrics:
    """Only the newest sample of each series: all that is exported, 1/60 of the memory."""
    return replace(
        metrics, **{series.name: getattr(metrics, series.name)[-1:] for series in fields(metrics)}
    )
