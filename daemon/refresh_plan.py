"""The poller's refresh plan: the intervals that fit the API budget, what is due, and its pace.

The status of the whole fleet costs one request per status interval whatever
its size. What remains of the budget's `polling_capacity` (the per-minute limit
less `reserve_for_actions`) is shared by metrics and backup refreshes in
proportion to what their configured intervals ask for; when the fleet asks for
more than the budget holds, both intervals are stretched by the same factor so
the daemon stays under the limit.
With `status_interval = "auto"` the status polls get most (`AUTO_SHARE`) of what
metrics and backups leave over (the reserve kept), between `AUTO_FLOOR` and
`AUTO_CEILING`: a small fleet notices a crash within a second or two, a large
one every 15 s as before.

`due_refreshes` lists what is due, earliest deadline first (the moment each
piece of data reached its interval): round-robin over the fleet by age;
never-fetched data and backup lists the daemon just changed come first, paid
from whatever the pacer holds. After the daily scheduled backups (02:00 UTC,
the guide), every backup list read before them is due at once in the same way,
ahead of metrics: the new backups are confirmed
within about the time the budget needs to read every list once, and a backup
is never reported stale merely because its list was not read since.
`RefreshPacer` spreads the refreshes evenly over time and keeps each kind's
share, so a crowd of one kind falling due together never starves the other;
only data never fetched may use any share.

Who may spend a request, and the room status polls keep, is the rate budget's
to say (daemon/stacks/ratebudget.py): this module says only what is due and how
fast.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum

from daemon.snapshot import Snapshot

MINUTE = 60.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PACING_WINDOW_SECONDS = 30.0  # how much accrued capacity may be spent at once
AUTO_FLOOR = timedelta(seconds=1)  # `status_interval = "auto"`: never more often than this
AUTO_CEILING = timedelta(seconds=15)  # ... and never less often
AUTO_SHARE = 0.9  # of what is left: the rest absorbs the refreshes' timing and retries
SCHEDULED_BACKUPS = time(2, 0)  # UTC, daily (the guide)
SCHEDULE_SETTLED = timedelta(minutes=5)  # scheduled backups take seconds; confirm after this


@dataclass(frozen=True)
class RefreshPlan:
    metrics_interval: timedelta
    backups_interval: timedelta
    refresh_capacity_per_minute: float  # what metrics and backup lists may spend
    status_interval: timedelta = AUTO_CEILING


def plan_refresh(
    containers: int,
    *,
    status_interval: timedelta | None,
    metrics_interval: timedelta,
    backups_interval: timedelta,
    polling_capacity: int,
) -> RefreshPlan:
    """The status interval (None: auto) and per-container refresh intervals that fit the
    `polling_capacity` of every minute (what the budget leaves besides the reserve for
    actions)."""
    # /backups/stats costs one request per backups interval on top of the per-container lists.
    stats_per_minute = MINUTE / backups_interval.total_seconds()
    metrics_demand = containers * MINUTE / metrics_interval.total_seconds()
    backups_demand = containers * MINUTE / backups_interval.total_seconds()
    demand = metrics_demand + backups_demand
    if status_interval is None:
        spare = (polling_capacity - stats_per_minute - demand) * AUTO_SHARE
        fastest, slowest = (
            MINUTE / AUTO_FLOOR.total_seconds(),
            MINUTE / AUTO_CEILING.total_seconds(),
        )
        status_interval = timedelta(seconds=MINUTE / min(fastest, max(slowest, spare)))
    status_per_minute = MINUTE / status_interval.total_seconds()
    capacity = max(polling_capacity - status_per_minute - stats_per_minute, 1)
    stretch = max(1.0, demand / capacity)
    return RefreshPlan(
        metrics_interval=metrics_interval * stretch,
        backups_interval=backups_interval * stretch,
        refresh_capacity_per_minute=capacity,
        status_interval=status_interval,
    )


def schedule_mark(now: datetime) -> datetime:
    """The latest moment by which the daily scheduled backups have run, as of `now`."""
    today = datetime.combine(now.date(), SCHEDULED_BACKUPS, UTC) + SCHEDULE_SETTLED
    return today if now >= today else today - timedelta(days=1)


class Kind(Enum):
    METRICS = "metrics"
    BACKUPS = "backups"
    STATS = "stats"  # /backups/stats, the account's totals: part of the backups share

    @property
    def share(self) -> "Kind":
        return Kind.METRICS if self is Kind.METRICS else Kind.BACKUPS


SHARES = (Kind.BACKUPS, Kind.METRICS)


@dataclass(frozen=True)
class DueRefresh:
    due: datetime
    position: int  # ties (never fetched) go container by container, metrics then backups
    kind: Kind
    container_id: str | None  # None for STATS
    first: bool = False  # never fetched yet
    urgent: bool = False  # a backup list the daemon changed, or read before today's schedule

    @property
    def any_share(self) -> bool:
        """Paid from whatever the pacer holds: data never fetched, or backups to confirm."""
        return self.first or self.urgent


def due_refreshes(
    snapshot: Snapshot, plan: RefreshPlan, now: datetime, *, everything: bool = False
) -> list[DueRefresh]:
    """What is due at `now` (everything, if asked), earliest deadline first."""
    metrics_cutoff = now - plan.metrics_interval
    backups_cutoff = now - plan.backups_interval
    mark = schedule_mark(now)
    due = []
    stats_at = snapshot.backup_stats_at
    if everything or stats_at is None or stats_at <= backups_cutoff:
        stats_due = EPOCH if stats_at is None else stats_at + plan.backups_interval
        due.append(DueRefresh(stats_due, 0, Kind.STATS, None, first=stats_at is None))
    for position, (cid, view) in enumerate(snapshot.containers.items(), start=1):
        fetched = view.metrics_at
        if fetched is None:
            due.append(DueRefresh(EPOCH, position, Kind.METRICS, cid, first=True))
        elif everything or fetched <= metrics_cutoff:
            due.append(DueRefresh(fetched + plan.metrics_interval, position, Kind.METRICS, cid))
        fetched = view.backups_at
        if fetched is None or view.backups_changed:
            first = fetched is None
            due.append(DueRefresh(EPOCH, position, Kind.BACKUPS, cid, first, urgent=not first))
        elif fetched < mark:
            due.append(DueRefresh(mark, position, Kind.BACKUPS, cid, urgent=True))
        elif everything or fetched <= backups_cutoff:
            due.append(DueRefresh(fetched + plan.backups_interval, position, Kind.BACKUPS, cid))
    due.sort(key=lambda refresh: (refresh.due, refresh.position))
    return due


class RefreshPacer:
    """Spreads refreshes over time and splits the capacity fairly between the kinds.

    Each share (metrics; backup lists with the account's stats) accrues what its
    stretched interval asks for the fleet and spends it on its own due data, so a
    crowd of one kind falling due together is served at that kind's pace and never
    starves the other. The slack (capacity the shares do not need, plus what a
    share with nothing due cannot hold) goes to whatever is most overdue, such as
    a backlog after an outage; data never fetched may be paid from any balance
    (`spend_any`). Every balance holds at most `PACING_WINDOW_SECONDS` of accrual,
    so refreshes are spread over the minute and their next due times stay spread.
    """

    def __init__(self) -> None:
        self._at: datetime | None = None
        self._shares: dict[Kind, float] = dict.fromkeys(SHARES, 0.0)
        self._slack = 0.0  # what any kind may spend

    def earn(
        self, plan: RefreshPlan, containers: int, now: datetime, idle: Collection[Kind]
    ) -> None:
        """Accrue what the time since the last call is worth under `plan`.

        A share in `idle` (nothing of its kind is due) passes what it cannot hold
        to the slack; a busy one only stops accruing, so a share the budget holds
        back never turns into extra requests later.
        """
        if self._at is None:
            elapsed = PACING_WINDOW_SECONDS
        else:
            elapsed = min(max(0.0, (now - self._at).total_seconds()), PACING_WINDOW_SECONDS)
        self._at = now
        capacity = plan.refresh_capacity_per_minute / MINUTE
        rates = {
            Kind.METRICS: containers / plan.metrics_interval.total_seconds(),
            Kind.BACKUPS: (containers + 1) / plan.backups_interval.total_seconds(),
        }
        overflow = 0.0
        for share, rate in rates.items():
            balance = self._shares[share] + rate * elapsed
            most = max(1.0, rate * PACING_WINDOW_SECONDS)
            if share in idle:
                overflow += max(0.0, balance - most)
            self._shares[share] = min(balance, most)
        slack = max(0.0, capacity - sum(rates.values())) * elapsed + overflow
        most = max(1.0, capacity * PACING_WINDOW_SECONDS)
        self._slack = min(self._slack + slack, most)

    def spend(self, share: Kind) -> bool:
        """Spend one refresh from `share` if it holds one."""
        if self._shares[share] < 1:
            return False
        self._shares[share] -= 1
        return True

    def spend_slack(self) -> bool:
        """Spend one refresh from the slack if it holds one."""
        if self._slack < 1:
            return False
        self._slack -= 1
        return True

    def spend_any(self, share: Kind) -> bool:
        """Spend one refresh from `share`, else the slack, else the other shares."""
        return self.spend(share) or self.spend_slack() or any(self.spend(other) for other in SHARES)
