"""Per-container refresh intervals that fit the API budget, and the order of what is due.

The status of the whole fleet costs one request per status interval whatever
its size. What remains of the per-minute limit, after `reserve_for_actions`, is
shared by metrics and backup refreshes in proportion to what their configured
intervals ask for; when the fleet asks for more than the budget holds, both
intervals are stretched by the same factor so the daemon stays under the limit.

`due_refreshes` orders what is due across both kinds by deadline (the moment
each piece of data reached its interval), so the oldest data is fetched first
whatever its kind, round-robin over the fleet; never-fetched data and backup
lists the daemon just changed come before everything else.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from daemon.snapshot import Snapshot
from daemon.stacks.ratebudget import Priority

MINUTE = 60.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RefreshPlan:
    metrics_interval: timedelta
    backups_interval: timedelta
    stretch: float
    requests_per_minute: float

    @property
    def stretched(self) -> bool:
        return self.stretch > 1.0


def plan_refresh(
    containers: int,
    *,
    status_interval: timedelta,
    metrics_interval: timedelta,
    backups_interval: timedelta,
    limit_per_minute: int,
    reserve_for_actions: int,
) -> RefreshPlan:
    """The per-container refresh intervals that fit `limit_per_minute`."""
    status_per_minute = MINUTE / status_interval.total_seconds()
    # /backups/stats costs one request per backups interval on top of the per-container lists.
    stats_per_minute = MINUTE / backups_interval.total_seconds()
    capacity = max(limit_per_minute - reserve_for_actions - status_per_minute - stats_per_minute, 1)
    metrics_demand = containers * MINUTE / metrics_interval.total_seconds()
    backups_demand = containers * MINUTE / backups_interval.total_seconds()
    demand = metrics_demand + backups_demand
    stretch = max(1.0, demand / capacity)
    return RefreshPlan(
        metrics_interval=metrics_interval * stretch,
        backups_interval=backups_interval * stretch,
        stretch=stretch,
        requests_per_minute=status_per_minute + stats_per_minute + demand / stretch,
    )


class Kind(Enum):
    METRICS = "metrics"
    BACKUPS = "backups"
    STATS = "stats"  # /backups/stats, the account's totals


PRIORITY = {
    Kind.METRICS: Priority.METRICS,
    Kind.BACKUPS: Priority.BACKUPS,
    Kind.STATS: Priority.BACKUPS,
}
MOST_URGENT = min(PRIORITY.values())  # once it is out of budget, no refresh fits


@dataclass(frozen=True)
class DueRefresh:
    due: datetime
    position: int  # ties (never fetched) go container by container, metrics then backups
    kind: Kind
    container_id: str | None  # None for STATS

    @property
    def priority(self) -> Priority:
        return PRIORITY[self.kind]


def due_refreshes(
    snapshot: Snapshot, plan: RefreshPlan, now: datetime, *, everything: bool = False
) -> list[DueRefresh]:
    """What is due at `now` (everything, if asked), earliest deadline first."""
    metrics_cutoff = now - plan.metrics_interval
    backups_cutoff = now - plan.backups_interval
    due = []
    stats_at = snapshot.backup_stats_at
    if everything or stats_at is None or stats_at <= backups_cutoff:
        stats_due = EPOCH if stats_at is None else stats_at + plan.backups_interval
        due.append(DueRefresh(stats_due, 0, Kind.STATS, None))
    for position, (cid, view) in enumerate(snapshot.containers.items(), start=1):
        fetched = view.metrics_at
        if fetched is None:
            due.append(DueRefresh(EPOCH, position, Kind.METRICS, cid))
        elif everything or fetched <= metrics_cutoff:
            due.append(DueRefresh(fetched + plan.metrics_interval, position, Kind.METRICS, cid))
        fetched = view.backups_at
        if fetched is None or view.backups_changed:
            due.append(DueRefresh(EPOCH, position, Kind.BACKUPS, cid))
        elif everything or fetched <= backups_cutoff:
            due.append(DueRefresh(fetched + plan.backups_interval, position, Kind.BACKUPS, cid))
    due.sort(key=lambda refresh: (refresh.due, refresh.position))
    return due
