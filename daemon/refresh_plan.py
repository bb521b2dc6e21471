"""The poller's refresh plan: the intervals that fit the API budget, what is due, and its pace.

The status of the whole fleet costs one request per status interval whatever
its size. What remains of the budget's `polling_capacity` (the per-minute limit
less `reserve_for_actions`) is shared by metrics and backup refreshes in
proportion to what their configured intervals ask for; when the fleet asks for
more than the budget holds, both intervals are stretched by the same factor so
the daemon stays under the limit, with a little room left (`STRETCH_FILL`) so that
data read late (a start, a burst of actions) catches up instead of staying late.
With `status_interval = "auto"` the status polls get most (`AUTO_SHARE`) of what
metrics and backups leave over (the reserve kept), between `AUTO_FLOOR` and
`AUTO_CEILING`: a small fleet notices a crash within a second or two, a large
one every 15 s as before.

`due_refreshes` lists what is due, earliest deadline first (the moment each
piece of data reached its turn). Each container's metrics and backup list have
a fixed place in their interval (`phase_of`, from the container id), so the
reads of a fleet spread evenly over the interval however they began, and a
late read does not push the next one (`next_turn`). Never-fetched data and
backup lists the daemon just changed come first, paid from whatever the pacer
holds (the backup lists' own share last).

After the daily scheduled backups (02:00 UTC, the guide), every backup list read
before them is due for a confirmation, before any metrics are lent to anything:
the confirmations are paced so that every list is confirmed `CONFIRM_WITHIN`
after `schedule_mark` (`confirmation_rate`). An auto status interval makes room
for them; what it cannot, the metrics share lends (`RefreshPacer`), never the
backup lists' rotation. A confirmation is a read besides the rotation: it leaves
the list's next turn where it was (`ContainerView.backups_rotation_at`), so the
lists confirmed in the morning do not all fall due together one interval later.
A backup is never reported stale merely because its list was not read since
(the list's own age is exported beside it).

`RefreshPacer` spreads the refreshes evenly over time and keeps each kind's
share, so a crowd of one kind falling due together never starves the other.
`FailedRefreshes` holds back a read whose last try failed (an error, an answer
that cannot be read): it stays due, and without a wait it would be sent again
at every tick, spending its kind's whole pace on one broken answer.

Who may spend a request, and the room status polls keep, is the rate budget's
to say (daemon/stacks/ratebudget.py): this module says only what is due and how
fast.
"""

import threading
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum

from daemon.snapshot import Snapshot
from daemon.stacks import Backoff

MINUTE = 60.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PACING_WINDOW_SECONDS = 30.0  # how much accrued capacity may be spent at once
AUTO_FLOOR = timedelta(seconds=1)  # `status_interval = "auto"`: never more often than this
AUTO_CEILING = timedelta(seconds=15)  # ... and never less often
AUTO_SHARE = 0.9  # of what is left: the rest absorbs the refreshes' timing and retries
STRETCH_FILL = 0.97  # a stretched plan fills this much: the rest lets a backlog drain
SCHEDULED_BACKUPS = time(2, 0)  # UTC, daily (the guide)
SCHEDULE_SETTLED = timedelta(minutes=5)  # scheduled backups take seconds; confirm after this
CONFIRM_WITHIN = timedelta(minutes=30)  # every list confirmed this long after the mark
RETRY_FIRST = timedelta(minutes=1)  # a failed read waits this long, doubling while it fails
RETRY_MOST = timedelta(minutes=30)  # ... up to this (or the data's interval, if shorter)


@dataclass(frozen=True)
class RefreshPlan:
    metrics_interval: timedelta
    backups_interval: timedelta
    refresh_capacity_per_minute: float  # what metrics and backup lists may spend
    status_interval: timedelta = AUTO_CEILING
    confirmations_per_minute: float = 0.0  # the morning's, at the pace of their deadline


def plan_refresh(
    containers: int,
    *,
    status_interval: timedelta | None,
    metrics_interval: timedelta,
    backups_interval: timedelta,
    polling_capacity: int,
    confirmations_per_minute: float = 0.0,
) -> RefreshPlan:
    """The status interval (None: auto) and per-container refresh intervals that fit the
    `polling_capacity` of every minute (what the budget leaves besides the reserve for
    actions). An auto status interval also leaves room for the morning's confirmations
    (`confirmation_rate`); the intervals never stretch for them."""
    # /backups/stats costs one request per backups interval on top of the per-container lists.
    stats_per_minute = MINUTE / backups_interval.total_seconds()
    metrics_demand = containers * MINUTE / metrics_interval.total_seconds()
    backups_demand = containers * MINUTE / backups_interval.total_seconds()
    demand = metrics_demand + backups_demand
    if status_interval is None:
        spare = polling_capacity - stats_per_minute - demand - confirmations_per_minute
        spare *= AUTO_SHARE
        fastest, slowest = (
            MINUTE / AUTO_FLOOR.total_seconds(),
            MINUTE / AUTO_CEILING.total_seconds(),
        )
        status_interval = timedelta(seconds=MINUTE / min(fastest, max(slowest, spare)))
    status_per_minute = MINUTE / status_interval.total_seconds()
    capacity = max(polling_capacity - status_per_minute - stats_per_minute, 1)
    stretch = max(1.0, demand / (capacity * STRETCH_FILL))
    return RefreshPlan(
        metrics_interval=metrics_interval * stretch,
        backups_interval=backups_interval * stretch,
        refresh_capacity_per_minute=capacity,
        status_interval=status_interval,
        confirmations_per_minute=confirmations_per_minute,
    )


def schedule_mark(now: datetime) -> datetime:
    """The latest moment by which the daily scheduled backups have run, as of `now`."""
    today = datetime.combine(now.date(), SCHEDULED_BACKUPS, UTC) + SCHEDULE_SETTLED
    return today if now >= today else today - timedelta(days=1)


def confirmation_rate(confirmations: int, now: datetime) -> float:
    """Reads per minute that confirm `confirmations` lists by the deadline (at once, after it)."""
    left = (schedule_mark(now) + CONFIRM_WITHIN - now).total_seconds()
    return confirmations * MINUTE / max(left, PACING_WINDOW_SECONDS)


class Kind(Enum):
    METRICS = "metrics"
    BACKUPS = "backups"
    STATS = "stats"  # /backups/stats, the account's totals: part of the backups share

    @property
    def share(self) -> "Kind":
        return Kind.METRICS if self is Kind.METRICS else Kind.BACKUPS


SHARES = (Kind.BACKUPS, Kind.METRICS)


class Reason(Enum):
    """Why a piece of data is due."""

    FIRST = "first"  # never fetched yet
    CHANGED = "changed"  # a backup list the daemon changed since it was read
    CONFIRM = "confirm"  # a backup list read before today's scheduled backups
    ROTATION = "rotation"  # its interval has passed since its last read in the rotation


@dataclass(frozen=True)
class DueRefresh:
    due: datetime
    position: int  # ties (never fetched) go container by container, metrics then backups
    kind: Kind
    container_id: str | None  # None for STATS
    reason: Reason = Reason.ROTATION
    in_turn: bool = True  # the read is also the data's turn in its rotation

    @property
    def any_share(self) -> bool:
        """Paid from whatever the pacer holds: data never fetched, or just changed."""
        return self.reason in (Reason.FIRST, Reason.CHANGED)

    @property
    def waits_for_its_pace(self) -> bool:
        """A confirmation whose turn in the rotation has not come: only the confirmations'
        pace pays it (`RefreshPacer.spend_confirmation`)."""
        return self.reason is Reason.CONFIRM and not self.in_turn


def phase_of(container_id: str, kind: Kind) -> float:
    """Where in each interval the turn of a container's data of `kind` falls, as a fraction
    of the interval: the same on every start, so a fleet's reads spread evenly over the
    interval however they began (all at once, at a start; together, in the morning)."""
    return zlib.crc32(f"{kind.value}:{container_id}".encode()) / 2**32


def next_turn(last: datetime, interval: timedelta, phase: float) -> datetime:
    """The data's next turn in its rotation after its read in it at `last`: the first moment
    after `last` at `phase` of an interval, counted from the start of `last`'s day (UTC), so
    an interval stretched a little for one more container moves the turns a little. Data is
    read at most once per turn, never more than an interval apart when read on time, and a
    late read never makes the next one late too."""
    day = datetime.combine(last.astimezone(UTC).date(), time(0), UTC)
    offset = interval * phase
    return day + offset + interval * ((last - day - offset) // interval + 1)


class Turns:
    """Each container's next turns, worked out once per read and interval.

    `due_refreshes` asks for every container's turns on every refresh tick; the answer
    changes only when the data is read again or the interval is stretched, so it is
    kept here, a table per kind keyed by container (the tick's loop looks each up once,
    as cheaply as a dict can). `keep_only` drops the containers that are gone, so what
    is kept is bounded by the fleet. An entry lost to a race between threads is merely
    worked out again.
    """

    def __init__(self) -> None:
        self._known: dict[Kind, dict[str, tuple[datetime, timedelta, datetime]]] = {
            kind: {} for kind in Kind
        }

    def of(self, kind: Kind) -> Callable[[str, datetime, timedelta], datetime]:
        """`next_turn` of a container's data of `kind`, read in its rotation at `last`:
        `of(kind)(container_id, last, interval)`."""
        known = self._known[kind]

        def next_of(container_id: str, last: datetime, interval: timedelta) -> datetime:
            entry = known.get(container_id)
            if entry is not None and entry[0] == last and entry[1] == interval:
                return entry[2]
            turn = next_turn(last, interval, phase_of(container_id, kind))
            known[container_id] = (last, interval, turn)
            return turn

        return next_of

    def __len__(self) -> int:
        return sum(map(len, self._known.values()))

    def keep_only(self, container_ids: Collection[str]) -> None:
        """Forget the turns of every container not in `container_ids`."""
        for known in self._known.values():
            # list(): a snapshot of the keys, as the refresh thread may add one meanwhile
            for gone in [cid for cid in list(known) if cid not in container_ids]:
                del known[gone]


class FailedRefreshes:
    """The reads whose last try failed, and when each may be tried again.

    The first failure in a row waits `RETRY_FIRST`, each further one twice as long,
    never longer than `RETRY_MOST` nor the data's own interval (then it is read no more
    often than in its rotation): a read that fails for good is tried twice an hour,
    and a list the daemon must read again (after a pin, the morning's confirmation)
    waits half an hour at most. A success, or the container's going away, forgets it.
    Thread-safe: the refresh thread records, the status poll's thread prunes.
    """

    def __init__(self) -> None:
        self._failed: dict[tuple[Kind, str | None], tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def failed(
        self, refresh: DueRefresh, now: datetime, interval: timedelta
    ) -> tuple[int, timedelta]:
        """Record a failed try of `refresh` at `now`: (failures in a row, the wait until
        the next try)."""
        key = (refresh.kind, refresh.container_id)
        with self._lock:
            failures = self._failed.get(key, (0, now))[0] + 1
            most = max(min(interval, RETRY_MOST), RETRY_FIRST)
            backoff = Backoff(RETRY_FIRST.total_seconds(), most.total_seconds(), least=1.0)
            wait = timedelta(seconds=backoff.delay(failures - 1))
            self._failed[key] = (failures, now + wait)
        return failures, wait

    def succeeded(self, refresh: DueRefresh) -> None:
        with self._lock:
            self._failed.pop((refresh.kind, refresh.container_id), None)

    def waiting(self, refresh: DueRefresh, now: datetime) -> bool:
        """Whether `refresh` failed lately and must not be tried again yet."""
        entry = self._failed.get((refresh.kind, refresh.container_id))
        return entry is not None and now < entry[1]

    def keep_only(self, container_ids: Collection[str]) -> None:
        """Forget the containers not in `container_ids` (the account's stats are kept)."""
        with self._lock:
            self._failed = {
                key: entry
                for key, entry in self._failed.items()
                if key[1] is None or key[1] in container_ids
            }


def due_refreshes(
    snapshot: Snapshot,
    plan: RefreshPlan,
    now: datetime,
    *,
    everything: bool = False,
    turns: Turns | None = None,
) -> list[DueRefresh]:
    """What is due at `now` (everything, if asked), earliest deadline first.

    `turns` keeps the containers' turns between calls (a caller that asks often)."""
    turns = Turns() if turns is None else turns
    mark = schedule_mark(now)
    due = []
    stats_at = snapshot.backup_stats_at
    if stats_at is None:
        due.append(DueRefresh(EPOCH, 0, Kind.STATS, None, Reason.FIRST))
    elif everything or stats_at + plan.backups_interval <= now:
        due.append(DueRefresh(stats_at + plan.backups_interval, 0, Kind.STATS, None))
    metrics_turn, backups_turn = turns.of(Kind.METRICS), turns.of(Kind.BACKUPS)
    metrics_interval, backups_interval = plan.metrics_interval, plan.backups_interval
    for position, (cid, view) in enumerate(snapshot.containers.items(), start=1):
        fetched = view.metrics_at
        if fetched is None:
            due.append(DueRefresh(EPOCH, position, Kind.METRICS, cid, Reason.FIRST))
        else:
            turn = metrics_turn(cid, fetched, metrics_interval)
            if everything or turn <= now:
                due.append(DueRefresh(turn, position, Kind.METRICS, cid))
        fetched = view.backups_at
        if fetched is None:
            due.append(DueRefresh(EPOCH, position, Kind.BACKUPS, cid, Reason.FIRST))
            continue
        rotated = view.backups_rotation_at or fetched
        turn = backups_turn(cid, rotated, backups_interval)
        turned = turn <= now
        if view.backups_changed:
            due.append(DueRefresh(EPOCH, position, Kind.BACKUPS, cid, Reason.CHANGED, turned))
        elif fetched < mark:  # counted in the confirmations' pace even when its turn came
            due.append(DueRefresh(mark, position, Kind.BACKUPS, cid, Reason.CONFIRM, turned))
        elif everything or turned:
            due.append(DueRefresh(turn, position, Kind.BACKUPS, cid))
    due.sort(key=lambda refresh: (refresh.due, refresh.position))
    return due


class RefreshPacer:
    """Spreads refreshes over time and splits the capacity fairly between the kinds.

    Each share (metrics; backup lists with the account's stats) accrues what its
    stretched interval asks for the fleet and spends it on its own due data, so a
    crowd of one kind falling due together is served at that kind's pace and never
    starves the other. The morning's confirmations accrue at the pace that confirms
    every list by the deadline (`confirmation_rate`), taken from the slack first
    and from the metrics share only for what the slack cannot give, never from the
    backup lists' own rotation. The slack (capacity the shares do not need, plus
    what a share with nothing due cannot hold) goes to whatever is most overdue,
    such as a backlog after an outage; data never fetched or just changed may be
    paid from any balance (`spend_any`). Every balance holds at most
    `PACING_WINDOW_SECONDS` of accrual, so refreshes are spread over the minute and
    their next due times stay spread.
    """

    def __init__(self) -> None:
        self._at: datetime | None = None
        self._shares: dict[Kind, float] = dict.fromkeys(SHARES, 0.0)
        self._slack = 0.0  # what any kind may spend
        self._confirmations = 0.0  # what the morning's confirmations may spend

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
        slack_rate = max(0.0, capacity - sum(rates.values()))
        # Never more than the slack and the metrics share can give: a fleet too large to
        # confirm by the deadline confirms later, and its rotation keeps its pace.
        confirm_rate = min(plan.confirmations_per_minute / MINUTE, slack_rate + rates[Kind.METRICS])
        lent = max(0.0, min(rates[Kind.METRICS], confirm_rate - slack_rate))
        rates[Kind.METRICS] -= lent
        slack_rate = max(0.0, slack_rate - confirm_rate)
        overflow = 0.0
        for share, rate in rates.items():
            balance = self._shares[share] + rate * elapsed
            most = max(1.0, rate * PACING_WINDOW_SECONDS)
            if share in idle:
                overflow += max(0.0, balance - most)
            self._shares[share] = min(balance, most)
        if confirm_rate:
            most = max(1.0, confirm_rate * PACING_WINDOW_SECONDS)
            self._confirmations = min(self._confirmations + confirm_rate * elapsed, most)
        else:
            self._confirmations = 0.0
        most = max(1.0, capacity * PACING_WINDOW_SECONDS)
        self._slack = min(self._slack + slack_rate * elapsed + overflow, most)

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

    def spend_any(self) -> bool:
        """Spend one refresh from the slack, else the metrics share, else the backup lists'
        (last: their long rotation is the slowest to catch up on what it lends)."""
        return self.spend_slack() or self.spend(Kind.METRICS) or self.spend(Kind.BACKUPS)

    def spend_confirmation(self) -> bool:
        """Spend one confirmation of a backup list if their balance holds one."""
        if self._confirmations < 1:
            return False
        self._confirmations -= 1
        return True
