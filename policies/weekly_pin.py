"""weekly_pin: pin one completed backup per container and ISO week, keep `keep_weeks`.

```toml
[policies.weekly_pin]
enabled = true
match = ["*"]
exclude = []
weekday = "sunday"           # UTC
at = "03:00"                 # UTC, after the 02:00 scheduled backup
keep_weeks = 8               # older weekly pins made by the daemon are unpinned
```

For every ISO week (UTC) that has backups in the list and whose `weekday at`
has passed, the newest completed backup of the week is pinned unless one of
the week's backups is pinned already or the daemon pinned that week before (an
operator who unpins it is not overruled). Past weeks catch up as long as their
backups are listed. The daemon's own pins are its `succeeded` backup.pin rows
(not followed by its own unpin): of those it keeps the newest `keep_weeks` weeks
and unpins the older ones, never a pin it did not make, and nothing at all while
the container's newest completed backup is older than `backup_freshness.max_age`.
A failed pin or unpin is retried after `RETRY_AFTER`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from daemon.audit.record import AuditLog
from daemon.durations import format_duration
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks.models import Backup
from policies.audit_rows import counts, row_details, rows_by_container
from policies.backup_freshness import BackupFreshnessOptions, newest_completed_backup_age
from policies.base import Action, Decision, HistoryQuery, Note, actor_name
from policies.history_memo import HistoryMemo
from policies.iso_week import IsoWeek, Weekday
from policies.name_match import name_matches

POLICY = "weekly_pin"
ACTOR = actor_name(POLICY)
PIN, UNPIN = "backup.pin", "backup.unpin"
RETRY_AFTER = timedelta(hours=1)
DONE_OR_RUNNING = ("started", "succeeded", "dry_run")  # no new attempt after these
# (a `dry_run` row is in the history only while the daemon itself dry-runs)
HISTORY_EXTRA_WEEKS = 52  # daemon pins this much older than keep_weeks are forgotten (kept)


@dataclass(frozen=True)
class WeeklyPinOptions:
    enabled: bool = True
    match: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    weekday: Weekday = "sunday"
    at: time = time(3, 0)
    keep_weeks: int = 8


class ListedWeek(NamedTuple):
    week: IsoWeek
    backups: tuple[Backup, ...]
    pinned: bool  # one of them is pinned


@dataclass(frozen=True)
class DaemonPin:
    backup_id: str
    week: IsoWeek
    pinned_at: datetime


class Known(NamedTuple):
    """What one container's pin rows and backup list say (derived once per change)."""

    rows: Sequence[AuditLog]
    backups: tuple[Backup, ...]
    weeks: list[ListedWeek]
    pins: list[DaemonPin]


NO_ROWS: tuple[AuditLog, ...] = ()


def listed_weeks(backups: tuple[Backup, ...]) -> list[ListedWeek]:
    """The backups grouped by ISO week, oldest week first."""
    weeks: dict[IsoWeek, list[Backup]] = {}
    for backup in backups:
        if backup.created_at is not None:
            weeks.setdefault(IsoWeek.of(backup.created_at), []).append(backup)
    return [
        ListedWeek(week, tuple(members), any(b.pinned for b in members))
        for week, members in sorted(weeks.items())
    ]


class WeeklyPinPolicy:
    name = POLICY

    def __init__(
        self, options: WeeklyPinOptions, freshness: BackupFreshnessOptions, dry_run: bool = False
    ) -> None:
        self.options = options
        self.freshness = freshness
        self.dry_run = dry_run
        self._grouped = HistoryMemo(
            lambda history: rows_by_container(
                r for r in history if r.actor == ACTOR and counts(r, dry_run)
            )
        )
        # What each container's rows and backup list say, kept while both stay the same
        # objects (the history between appends, the list between two refreshes).
        self._known: dict[str, Known] = {}

    def history_query(self, now: datetime) -> HistoryQuery:
        since = now - timedelta(weeks=self.options.keep_weeks + HISTORY_EXTRA_WEEKS)
        return HistoryQuery(since=since, actors=(ACTOR,), actions=(PIN, UNPIN))

    def decide(
        self, snapshot: Snapshot, history: Sequence[AuditLog], now: datetime
    ) -> list[Decision]:
        if not snapshot.status_ok:
            return []
        grouped = self._grouped(history)
        decisions: list[Decision] = []
        for view in snapshot.containers.values():
            if view.backups is None:
                continue
            if not name_matches(view.container.name, self.options.match, self.options.exclude):
                continue
            known = self._known_for(view, grouped.get(view.container.id, NO_ROWS))
            decisions += self._pins(view, known, now)
            decisions += self._unpins(view, known, now)
        if len(self._known) > 2 * len(snapshot.containers):
            self._known = {k: v for k, v in self._known.items() if k in snapshot.containers}
        return decisions

    def _known_for(self, view: ContainerView, rows: Sequence[AuditLog]) -> Known:
        backups = view.backups or ()
        known = self._known.get(view.container.id)
        if known is None or known.rows is not rows or known.backups is not backups:
            known = Known(rows, backups, listed_weeks(backups), _daemon_pins(rows, view))
            self._known[view.container.id] = known
        return known

    def _pins(self, view: ContainerView, known: Known, now: datetime) -> list[Decision]:
        this_week, rows = IsoWeek.of(now), known.rows
        decisions: list[Decision] = []
        for week, backups, pinned in known.weeks:
            if pinned:
                continue
            due = _pin_moment(week, self.options.weekday, self.options.at)
            if now < due:
                continue
            if this_week == week and (view.backups_at is None or view.backups_at < due):
                continue  # the list predates the due time: the 02:00 backup may be missing
            week_rows = [r for r in rows if r.action == PIN and _week_of_row(r) == week]
            if not _may_attempt(week_rows, now):
                continue
            completed = [b for b in backups if b.completed]
            if not completed:
                continue
            newest = max(completed, key=lambda b: b.created_at)
            late = " (catch-up)" if this_week != week else ""
            decisions.append(
                Action(
                    policy=POLICY,
                    action=PIN,
                    container_id=view.container.id,
                    container_name=view.container.name,
                    reason=f"weekly pin for {week.label}: newest completed backup{late}",
                    target=str(newest.id),
                    gated=False,
                    details={
                        "iso_week": week.label,
                        "backup_created_at": newest.created_at.isoformat(),
                    },
                )
            )
        return decisions

    def _unpins(self, view: ContainerView, known: Known, now: datetime) -> list[Decision]:
        pins, rows = known.pins, known.rows
        weeks = {pin.week for pin in pins}
        if len(weeks) <= self.options.keep_weeks:
            return []  # every pin is among the newest keep_weeks weeks
        kept_weeks = sorted(weeks, reverse=True)[: self.options.keep_weeks]
        listed = {str(b.id): b for b in view.backups or ()}
        age = newest_completed_backup_age(view, now)
        decisions: list[Decision] = []
        for pin in pins:
            backup = listed.get(pin.backup_id)
            if pin.week in kept_weeks or backup is None or not backup.pinned:
                continue
            unpin_rows = [
                r
                for r in rows
                if r.action == UNPIN and r.target == pin.backup_id and r.at >= pin.pinned_at
            ]
            fresh = age is not None and age <= self.freshness.max_age
            if not fresh:
                if not unpin_rows:
                    decisions.append(self._kept_note(view, pin, age))
                continue
            attempts = [r for r in unpin_rows if r.outcome != "skipped"]
            if not _may_attempt(attempts, now):
                continue
            decisions.append(
                Action(
                    policy=POLICY,
                    action=UNPIN,
                    container_id=view.container.id,
                    container_name=view.container.name,
                    reason=(
                        f"weekly pin of {pin.week.label} is older than the newest "
                        f"{self.options.keep_weeks} weekly pins"
                    ),
                    target=pin.backup_id,
                    gated=False,
                    details={"iso_week": pin.week.label},
                )
            )
        return decisions

    def _kept_note(self, view: ContainerView, pin: DaemonPin, age: timedelta | None) -> Note:
        newest = (
            "no completed backup"
            if age is None
            else f"the newest completed backup is {format_duration(max(age, timedelta(0)))} old"
        )
        return Note(
            policy=POLICY,
            action=UNPIN,
            container_id=view.container.id,
            container_name=view.container.name,
            outcome="skipped",
            reason=(
                f"kept the weekly pin of {pin.week.label}: {newest} "
                f"(backup_freshness.max_age {format_duration(self.freshness.max_age)})"
            ),
            target=pin.backup_id,
            details={"iso_week": pin.week.label},
        )


def _may_attempt(rows: list[AuditLog], now: datetime) -> bool:
    """No attempt yet, or the latest one ended without success long enough ago to retry."""
    if not rows:
        return True
    latest = rows[-1]
    return latest.outcome not in DONE_OR_RUNNING and now - latest.at >= RETRY_AFTER


def _week_of_row(row: AuditLog) -> IsoWeek | None:
    label = row_details(row).get("iso_week")
    return _parse_week(label) if isinstance(label, str) else None


# The same weeks and rows come back at every evaluation: parse and compute each once.
_parse_week = lru_cache(maxsize=4096)(IsoWeek.parse)


@lru_cache(maxsize=1024)
def _pin_moment(week: IsoWeek, weekday: Weekday, at: time) -> datetime:
    return week.moment(weekday, at)


def _daemon_pins(rows: Sequence[AuditLog], view: ContainerView) -> list[DaemonPin]:
    """Pins this policy made (`succeeded`) and has not unpinned since."""
    created: dict[str, datetime] | None = None
    pins: dict[str, DaemonPin] = {}
    for row in rows:
        if row.outcome != "succeeded" or row.target is None:
            continue
        if row.action == UNPIN:
            pins.pop(row.target, None)
        elif row.action == PIN:
            week = _week_of_row(row)
            if week is None:
                if created is None:
                    created = {
                        str(b.id): b.created_at
                        for b in view.backups or ()
                        if b.created_at is not None
                    }
                week = IsoWeek.of(created.get(row.target, row.at))
            pins[row.target] = DaemonPin(row.target, week, row.at)
    return list(pins.values())
