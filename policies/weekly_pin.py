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

What the daemon did is folded from its rows into a `PinLedger` per container
(policies.pin_ledger). The history it asks for: the last `ATTEMPTS_MATTER`
(the guide keeps unpinned backups 7 days, so only this ISO week and the two
before it can still have unpinned backups listed, and be pinned), and the rows
since each pin it still holds, however old (within `keep_weeks` +
`HISTORY_EXTRA_WEEKS`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from daemon.audit import Episode, RowKind
from daemon.durations import format_duration
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup
from policies.backup_freshness import BackupFreshnessOptions, newest_completed_backup_age
from policies.base import (
    Action,
    Decision,
    HistoryQuery,
    HistoryRow,
    Note,
    PolicyGauges,
    actor_name,
)
from policies.iso_week import IsoWeek, Weekday
from policies.name_match import name_matches
from policies.pin_ledger import PIN, UNPIN, DaemonPin, PinLedger

POLICY = "weekly_pin"
ACTOR = actor_name(POLICY)
ATTEMPTS_MATTER = timedelta(weeks=3)  # a week's pin attempts, while its backups may be listed
HISTORY_EXTRA_WEEKS = 52  # daemon pins this much older than keep_weeks are forgotten (kept)
NO_PINS = PinLedger()


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


class Known(NamedTuple):
    """What one container's ledger and backup list say (derived once per change of either)."""

    ledger: PinLedger
    backups: tuple[Backup, ...]
    weeks: list[ListedWeek]
    pins: list[DaemonPin]  # each with its week
    kept_weeks: frozenset[IsoWeek] | None  # the newest keep_weeks of them; None: all are kept


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
        # What each container's ledger and backup list say, kept while both stay the same
        # objects (the ledger between its rows, the list between two refreshes).
        self._known: dict[str, Known] = {}

    def history_query(self, now: datetime) -> HistoryQuery:
        return HistoryQuery(
            since=now - ATTEMPTS_MATTER,
            actors=(ACTOR,),
            actions=(PIN, UNPIN),
            episode=Episode(
                key=("container_id", "target"),
                opens=(RowKind(ACTOR, PIN, "succeeded"),),
                closes=(RowKind(ACTOR, UNPIN, "succeeded"),),
                not_before=now - self.horizon(),
            ),
            dry_run=self.dry_run,
        )

    def horizon(self) -> timedelta:
        """How long the daemon remembers its pins and pin attempts."""
        return timedelta(weeks=self.options.keep_weeks + HISTORY_EXTRA_WEEKS)

    def fold(self, state: PinLedger | None, rows: Sequence[HistoryRow]) -> PinLedger:
        return (state or NO_PINS).fold(rows, ACTOR, self.dry_run, self.horizon())

    def decide(
        self, snapshot: Snapshot, states: Mapping[str, PinLedger], now: datetime
    ) -> list[Decision]:
        if not snapshot.status_ok:
            return []
        decisions: list[Decision] = []
        for view in snapshot.containers.values():
            if view.backups is None:
                continue
            if not name_matches(view.container.name, self.options.match, self.options.exclude):
                continue
            known = self._known_for(view, states.get(view.container.id, NO_PINS))
            decisions += self._pins(view, known, now)
            decisions += self._unpins(view, known, now)
        if len(self._known) > 2 * len(snapshot.containers):
            self._known = {k: v for k, v in self._known.items() if k in snapshot.containers}
        return decisions

    def export(
        self,
        snapshot: Snapshot,
        states: Mapping[str, PinLedger],
        now: datetime,
        gauges: PolicyGauges,
    ) -> None:
        """`stacks_opsd_weekly_pin_last_timestamp_seconds`."""
        for container_id, ledger in states.items():
            view = snapshot.containers.get(container_id)
            if view is not None and ledger.last_pinned_at is not None:
                gauges.set_weekly_pin(container_id, view.container.name, ledger.last_pinned_at)

    def describe(self, state: PinLedger, now: datetime) -> Mapping[str, Any]:
        last = state.last_pinned_at
        return {"pins": len(state.pins), "last_pinned_at": last.isoformat() if last else None}

    def _known_for(self, view: ContainerView, ledger: PinLedger) -> Known:
        backups = view.backups or ()
        known = self._known.get(view.container.id)
        if known is None or known.ledger is not ledger or known.backups is not backups:
            pins = _daemon_pins(ledger, backups)
            weeks = {pin.week for pin in pins}
            keep = self.options.keep_weeks
            kept = None if len(weeks) <= keep else frozenset(sorted(weeks, reverse=True)[:keep])
            known = Known(ledger, backups, listed_weeks(backups), pins, kept)
            self._known[view.container.id] = known
        return known

    def _pins(self, view: ContainerView, known: Known, now: datetime) -> list[Decision]:
        this_week = IsoWeek.of(now)
        decisions: list[Decision] = []
        for week, backups, pinned in known.weeks:
            if pinned:
                continue
            due = _pin_moment(week, self.options.weekday, self.options.at)
            if now < due:
                continue
            if this_week == week and (view.backups_at is None or view.backups_at < due):
                continue  # the list predates the due time: the 02:00 backup may be missing
            attempt = known.ledger.weeks.get(week)
            if attempt is not None and not attempt.allows_another(now):
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
        kept_weeks = known.kept_weeks
        if kept_weeks is None:
            return []  # every pin is among the newest keep_weeks weeks
        listed = {str(b.id): b for b in view.backups or ()}
        age = newest_completed_backup_age(view, now)
        decisions: list[Decision] = []
        for pin in known.pins:
            backup = listed.get(pin.backup_id)
            if pin.week in kept_weeks or backup is None or not backup.pinned:
                continue
            fresh = age is not None and age <= self.freshness.max_age
            if not fresh:
                if not pin.unpin_noted:
                    decisions.append(self._kept_note(view, pin, age))
                continue
            attempt = pin.unpin_attempt
            if attempt is not None and not attempt.allows_another(now):
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


@lru_cache(maxsize=1024)
def _pin_moment(week: IsoWeek, weekday: Weekday, at: time) -> datetime:
    return week.moment(weekday, at)


def _daemon_pins(ledger: PinLedger, backups: tuple[Backup, ...]) -> list[DaemonPin]:
    """The ledger's pins, each with its week: the one its row named, else its backup's."""
    created: dict[str, datetime] | None = None
    pins = []
    for pin in ledger.pins.values():
        if pin.week is None:
            if created is None:
                created = {str(b.id): b.created_at for b in backups if b.created_at is not None}
            pin = replace(pin, week=IsoWeek.of(created.get(pin.backup_id, pin.pinned_at)))
        pins.append(pin)
    return pins
