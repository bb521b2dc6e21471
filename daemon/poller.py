"""The poller: turns STACKS API reads into a new immutable Snapshot.

`poll_status` costs exactly one `GET /containers` for the whole fleet.
`refresh` spends what the budget leaves on per-container metrics and backup
lists, oldest data first (round-robin by age), at the intervals of the current
RefreshPlan. Fail-closed: an API error keeps the last known data, marks the
snapshot stale and records the error; it never yields "no containers".
"""

import logging
import threading
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from daemon.clock import Clock
from daemon.refresh_plan import RefreshPlan, plan_refresh
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks.client import StacksClient
from daemon.stacks.errors import StacksError
from daemon.stacks.models import ContainerMetrics
from daemon.stacks.ratebudget import Priority, RateBudget

log = logging.getLogger(__name__)

BACKUP_LIST_LIMIT = 100  # the API's maximum: weekly pins must stay visible for keep_weeks
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Poller:
    def __init__(
        self,
        client: StacksClient,
        budget: RateBudget,
        clock: Clock,
        *,
        status_interval: timedelta,
        metrics_interval: timedelta,
        backups_interval: timedelta,
        reserve_for_actions: int,
    ) -> None:
        self._client = client
        self._budget = budget
        self._clock = clock
        self._status_interval = status_interval
        self._metrics_interval = metrics_interval
        self._backups_interval = backups_interval
        self._reserve = reserve_for_actions
        self._lock = threading.Lock()
        self._snapshot = Snapshot()

    @property
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def _publish(self, change) -> Snapshot:
        with self._lock:
            self._snapshot = change(self._snapshot)
            return self._snapshot

    def plan(self) -> RefreshPlan:
        return plan_refresh(
            len(self.snapshot.containers),
            status_interval=self._status_interval,
            metrics_interval=self._metrics_interval,
            backups_interval=self._backups_interval,
            limit_per_minute=self._budget.limit,
            reserve_for_actions=self._reserve,
        )

    def poll_status(self) -> Snapshot:
        """One `GET /containers`; returns the new snapshot (stale on failure)."""
        try:
            containers = self._client.list_containers()
        except StacksError as error:
            log.warning("status poll failed, keeping the last known state: %s", error)
            message = str(error)
            return self._publish(lambda old: old.with_status_failure(message))
        now = self._clock.now()

        def merge(old: Snapshot) -> Snapshot:
            views = {}
            for container in containers:
                previous = old.containers.get(container.id)
                if previous is None:
                    views[container.id] = ContainerView(container=container, seen_at=now)
                else:
                    views[container.id] = replace(previous, container=container, seen_at=now)
            return replace(old, taken_at=now, status_ok=True, containers=views, last_error=None)

        return self._publish(merge)

    def refresh(self, *, everything: bool = False) -> int:
        """Fetch due metrics and backup lists within the budget; returns requests made.

        `everything` fetches all of them regardless of age (for `once`), still
        through the budget.
        """
        plan = self.plan()
        now = self._clock.now()
        made = self._refresh_backups(now, plan.backups_interval, everything)
        made += self._refresh_stats(now, plan.backups_interval, everything)
        made += self._refresh_metrics(now, plan.metrics_interval, everything)
        return made

    def _due(self, now: datetime, attribute: str, interval: timedelta, everything: bool):
        """Containers whose `attribute` data is due, oldest (or changed by the daemon) first."""

        def fetched_at(view: ContainerView) -> datetime:
            changed = attribute == "backups_at" and view.backups_changed
            return EPOCH if changed else getattr(view, attribute) or EPOCH

        for view in sorted(self.snapshot.containers.values(), key=fetched_at):
            if everything or now - fetched_at(view) >= interval:
                yield view.container.id

    def _refresh_backups(self, now: datetime, interval: timedelta, everything: bool) -> int:
        made = 0
        for container_id in self._due(now, "backups_at", interval, everything):
            if not everything and self._budget.available(Priority.BACKUPS) <= 0:
                break
            made += 1
            try:
                backups = self._client.backups(container_id, limit=BACKUP_LIST_LIMIT)
            except StacksError as error:
                log.warning("backup list of %s failed: %s", container_id, error)
                continue
            fetched_at = self._clock.now()
            self._update_view(
                container_id, backups=tuple(backups), backups_at=fetched_at, backups_changed=False
            )
        return made

    def _refresh_metrics(self, now: datetime, interval: timedelta, everything: bool) -> int:
        made = 0
        for container_id in self._due(now, "metrics_at", interval, everything):
            if not everything and self._budget.available(Priority.METRICS) <= 0:
                break
            made += 1
            try:
                metrics = self._client.metrics(container_id)
            except StacksError as error:
                log.warning("metrics of %s failed: %s", container_id, error)
                continue
            self._update_view(
                container_id, metrics=newest_samples(metrics), metrics_at=self._clock.now()
            )
        return made

    def _refresh_stats(self, now: datetime, interval: timedelta, everything: bool) -> int:
        fetched = self.snapshot.backup_stats_at
        if not everything and fetched is not None and now - fetched < interval:
            return 0
        if not everything and self._budget.available(Priority.BACKUPS) <= 0:
            return 0
        try:
            stats = self._client.backup_stats()
        except StacksError as error:
            log.warning("backup stats failed: %s", error)
            return 1
        at = self._clock.now()
        self._publish(lambda old: replace(old, backup_stats=stats, backup_stats_at=at))
        return 1

    def invalidate_backups(self, container_id: str) -> None:
        """The daemon changed this container's backups: re-read them first at the next refresh.

        Cheaper than an immediate re-read: the refresh spends the request within the budget.
        """
        self._update_view(container_id, backups_changed=True)

    def _update_view(self, container_id: str, **fields) -> None:
        def change(old: Snapshot) -> Snapshot:
            view = old.containers.get(container_id)
            if view is None:  # deleted between the status poll and this refresh
                return old
            containers = dict(old.containers)
            containers[container_id] = replace(view, **fields)
            return replace(old, containers=containers)

        self._publish(change)


def newest_samples(metrics: ContainerMetrics) -> ContainerMetrics:
    """Only the newest sample of each series: all that is exported, 1/60 of the memory."""
    return replace(
        metrics, **{series.name: getattr(metrics, series.name)[-1:] for series in fields(metrics)}
    )
