"""weekly_pin: pin one completed backup per container and ISO week, keep `keep_weeks`.

```toml
[policies.weekly_pin]
enabled = true
match = ["*"]                # container name globs
exclude = []
weekday = "sunday"           # UTC
at = "03:00"                 # UTC, after the 02:00 scheduled backup
keep_weeks = 8               # 1 to 520; older weekly pins made by the daemon are unpinned
```

For every ISO week (UTC) that has backups in the list and whose `weekday at`
has passed, the newest completed backup of the week is pinned unless one of
the week's backups is pinned already or the daemon pinned that week before (an
operator who unpins it is not overruled). Past weeks catch up as long as their
backups are listed. The daemon's own pins are its `succeeded` backup.pin rows
(not followed by its own unpin), and those whose answer was lost (`unknown`,
`interrupted`) once the first backup list read after them shows the backup
pinned: that read settles each such pin with a `skipped` note (`details.event`
`lost_pin_pinned`, or `lost_pin_absent`, and then it is not the daemon's, so an
operator who pins that backup later keeps the pin). Of its pins it keeps the
newest `keep_weeks` weeks and unpins the older ones that are listed pinned,
never a pin it did not make, and nothing at all while the container's newest
completed backup is older than `backup_freshness.max_age`.
A failed pin or unpin is retried after `RETRY_AFTER`.

What the daemon did is folded from its own rows, oldest first, into a
`PinLedger` per container, so an evaluation applies only the rows appended since
the last one. A container's rows are read once its backup list has been read
(`state_needed`: nothing is decided before), so a start reads none of them:

    backup.pin, week W     the week's latest attempt (`started`, `succeeded`, `failed`, ...);
                           `succeeded` also makes the backup one of the daemon's pins,
                           and so do `unknown` and `interrupted` (it may be pinned)
                           until a `lost_pin_*` note settles them
    backup.unpin, week W   for a pin the daemon holds: the latest unpin attempt (a
                           `skipped` note only says the pin was kept); `succeeded` ends
                           the pin, and the week stays done (never pinned again)

What a dry run wrote counts only while dry-running. The history it asks for: the
last `ATTEMPTS_MATTER` (the guide keeps unpinned backups 7 days, so only this ISO
week and the two before it can still have unpinned backups listed, and be
pinned), and the rows since each pin it still holds, however old (within
`keep_weeks` + `HISTORY_EXTRA_WEEKS`; older weeks and pins are forgotten).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NamedTuple, get_args

from daemon.audit import AuditAction, Episode, HistoryQuery, HistoryRow, Outcome, RowKind
from daemon.durations import format_duration
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, newest_completed
from policies.backup_freshness import (
    BackupFreshnessOptions,
    max_age_of,
    newest_completed_backup_age,
)
from policies.base import (
    Action,
    Decision,
    Note,
    OptionRule,
    PolicyGauges,
    PolicySpec,
    Subject,
    actor_name,
    applies_to,
    positive_integer,
)
from policies.overrides import PolicyOptions

POLICY = "weekly_pin"
ACTOR = actor_name(POLICY)
PIN, UNPIN = AuditAction.BACKUP_PIN, AuditAction.BACKUP_UNPIN
RETRY_AFTER = timedelta(hours=1)
# No new attempt after these (a `dry_run` row counts only while the daemon itself dry-runs).
DONE_OR_RUNNING = (Outcome.STARTED, Outcome.SUCCEEDED, Outcome.DRY_RUN)
# A pin that ended so may have been applied: the daemon counts it as its own.
MAYBE_PINNED = (Outcome.SUCCEEDED, Outcome.UNKNOWN, Outcome.INTERRUPTED)
# The notes that settle a pin whose answer was lost, from the first list read after it.
LOST_PIN_PINNED, LOST_PIN_ABSENT = "lost_pin_pinned", "lost_pin_absent"
ATTEMPTS_MATTER = timedelta(weeks=3)  # a week's pin attempts, while its backups may be listed
HISTORY_EXTRA_WEEKS = 52  # daemon pins this much older than keep_weeks are forgotten (kept)
DAYS_REMEMBERED = 1024  # days whose ISO week is cached: pinned backups listed for ~2 years

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


@dataclass(frozen=True)
class WeeklyPinOptions:
    enabled: bool = True
    match: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    weekday: Weekday = "sunday"
    at: time = time(3, 0)
    keep_weeks: int = 8

    # At most ten years of weekly pins (the longest duration, daemon/durations.py): the
    # history it reads reaches back that far, and a date further back does not exist.
    RULES: ClassVar[tuple[OptionRule, ...]] = (positive_integer("keep_weeks", at_most=520),)


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week (UTC): which week a backup belongs to, and when its pin is due."""

    year: int
    week: int

    @classmethod
    def of(cls, moment: datetime) -> "IsoWeek":
        return _week_of_day(moment.astimezone(UTC).date())

    @classmethod
    def parse(cls, label: object) -> "IsoWeek | None":
        """`2026-W02` back into an IsoWeek; None for anything else."""
        if not isinstance(label, str):
            return None
        year, sep, week = label.partition("-W")
        if not sep or not year.isdigit() or not week.isdigit():
            return None
        return cls(int(year), int(week))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def span(self) -> tuple[datetime, datetime]:
        """From this week's Monday 00:00 UTC to the next one's."""
        monday = datetime.combine(date.fromisocalendar(self.year, self.week, 1), time(0), UTC)
        return monday, monday + timedelta(days=7)

    def moment(self, weekday: str, at: time) -> datetime:
        """`weekday` at `at` (UTC) within this week."""
        day = date.fromisocalendar(self.year, self.week, WEEKDAYS.index(weekday) + 1)
        return datetime.combine(day, at.replace(tzinfo=None), UTC)


# weekly_pin asks for the week of every listed backup at every evaluation. Keyed by the
# UTC day, not the moment: every new backup brings a new moment, but only each new day
# a new entry, so the cache stays a few hundred bytes per day of backups listed.
@lru_cache(maxsize=DAYS_REMEMBERED)
def _week_of_day(day: date) -> IsoWeek:
    year, week, _ = day.isocalendar()
    return IsoWeek(year, week)


# The same few week labels come back in every row: parse each once, share the result.
parse_week = lru_cache(maxsize=4096)(IsoWeek.parse)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The latest try at a pin or an unpin."""

    outcome: str
    at: datetime

    def allows_another(self, now: datetime) -> bool:
        """It ended without success long enough ago to try again."""
        return self.outcome not in DONE_OR_RUNNING and now - self.at >= RETRY_AFTER


@dataclass(frozen=True, slots=True)
class DaemonPin:
    """A backup the daemon pinned (`succeeded`, or `unknown`/`interrupted`: `maybe`) and
    has not unpinned since."""

    backup_id: str
    week: IsoWeek | None  # None: its row named no week (then the backup's own week counts)
    pinned_at: datetime
    maybe: bool = False  # the pin's answer was lost: it counts only while listed pinned
    unpin_noted: bool = False  # an unpin row since the pin (a `skipped` note counts)
    unpin_attempt: Attempt | None = None  # the latest unpin attempt since the pin


@dataclass(frozen=True, slots=True)
class PinLedger:
    """weekly_pin's memory of one container (see the module docstring)."""

    weeks: Mapping[IsoWeek, Attempt] = field(default_factory=dict)  # each week's latest try
    pins: Mapping[str, DaemonPin] = field(default_factory=dict)  # by backup id, oldest first
    last_pinned_at: datetime | None = None  # the newest pin the daemon made (gauge)
    unsettled: bool = False  # a pin whose answer was lost waits for a list read to settle it

    def fold(
        self, rows: Sequence[HistoryRow], actor: str, dry_run: bool, forget_after: timedelta
    ) -> "PinLedger":
        """The ledger after `rows` (oldest first); rows of other actors are ignored. Weeks
        and pins older than `forget_after` before the newest row are forgotten."""
        weeks, pins, last_pinned_at = dict(self.weeks), dict(self.pins), self.last_pinned_at
        newest = None
        for row in rows:
            if row.actor != actor or not row.counts(dry_run):
                continue
            newest = row.at
            week = parse_week(row.iso_week)
            if row.action == PIN and row.event in (LOST_PIN_PINNED, LOST_PIN_ABSENT):
                pin = pins.get(row.target or "")
                if pin is not None and pin.maybe:  # an observation, not an attempt
                    if row.event == LOST_PIN_PINNED:
                        pins[pin.backup_id] = replace(pin, maybe=False)
                    else:
                        del pins[pin.backup_id]
            elif row.action == PIN:
                if week is not None:
                    weeks[week] = Attempt(row.outcome, row.at)
                if row.outcome in MAYBE_PINNED and row.target is not None:
                    maybe = row.outcome != Outcome.SUCCEEDED
                    pins[row.target] = DaemonPin(row.target, week, row.at, maybe=maybe)
                if row.outcome == Outcome.SUCCEEDED:
                    last_pinned_at = row.at
            elif row.action == UNPIN and row.target in pins:
                pin = pins[row.target]
                if row.outcome == Outcome.SUCCEEDED:
                    del pins[row.target]
                    done = week or pin.week
                    if done is not None:
                        weeks[done] = Attempt(row.outcome, row.at)
                elif row.outcome == Outcome.SKIPPED:
                    pins[row.target] = replace(pin, unpin_noted=True)
                else:
                    attempt = Attempt(row.outcome, row.at)
                    pins[row.target] = replace(pin, unpin_noted=True, unpin_attempt=attempt)
        if newest is not None:
            oldest = newest - forget_after
            weeks = {week: a for week, a in weeks.items() if a.at >= oldest}
            pins = {key: pin for key, pin in pins.items() if pin.pinned_at >= oldest}
        unsettled = any(pin.maybe for pin in pins.values())
        return PinLedger(MappingProxyType(weeks), MappingProxyType(pins), last_pinned_at, unsettled)


NO_PINS = PinLedger()


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
    keep_weeks: int  # the container's keep_weeks when this was derived


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


def backup_list_read(view: ContainerView) -> bool:
    """Whether weekly_pin can decide about the container: nothing before its backup list."""
    return view.backups is not None


class WeeklyPinPolicy:
    name = POLICY
    # A container's ledger is read once its backup list is (nothing is decided before).
    state_needed = staticmethod(backup_list_read)

    def __init__(
        self,
        options: WeeklyPinOptions | PolicyOptions,
        freshness: BackupFreshnessOptions | PolicyOptions,
        dry_run: bool = False,
    ) -> None:
        """`options`, `freshness`: per container (overrides applied), or one set for all."""
        if not isinstance(options, PolicyOptions):
            options = PolicyOptions(POLICY, options)
        if not isinstance(freshness, PolicyOptions):
            freshness = PolicyOptions("backup_freshness", freshness)
        self.options = options
        # Worked out once: every fold asks for it (options never change; a reload rebuilds).
        self._horizon = timedelta(weeks=max(options.values("keep_weeks")) + HISTORY_EXTRA_WEEKS)
        self.max_age = max_age_of(freshness)
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
                opens=tuple(RowKind(ACTOR, PIN, outcome) for outcome in MAYBE_PINNED),
                closes=(
                    RowKind(ACTOR, UNPIN, Outcome.SUCCEEDED),
                    # A lost pin the list showed absent was never the daemon's (PinLedger.fold).
                    RowKind(ACTOR, PIN, Outcome.SKIPPED, event=LOST_PIN_ABSENT),
                ),
                not_before=now - self.horizon(),
            ),
            dry_run=self.dry_run,
        )

    def horizon(self) -> timedelta:
        """How long the daemon remembers its pins and pin attempts (the longest any
        container's `keep_weeks` needs)."""
        return self._horizon

    def fold(
        self, state: PinLedger | None, rows: Sequence[HistoryRow], subject: Subject | None = None
    ) -> PinLedger:
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
            options = self._options(view)
            if not applies_to(options, view.container.name):
                continue
            ledger = states.get(view.container.id, NO_PINS)
            decisions += _settled_lost_pins(view, ledger)
            known = self._known_for(view, ledger, options)
            decisions += self._pins(view, known, now, options)
            decisions += self._unpins(view, known, now, options)
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

    def explain(
        self, view: ContainerView, state: PinLedger | None, now: datetime
    ) -> Mapping[str, Any]:
        """For `explain`: when the next weekly pin is due and which backup it would pin."""
        ledger = state or NO_PINS
        options = self._options(view)
        applies = applies_to(options, view.container.name)
        week = IsoWeek.of(now)
        due = _pin_moment(week, options.weekday, options.at)
        backups = view.backups
        this_week = [b for b in backups or () if b.created_at and IsoWeek.of(b.created_at) == week]
        attempt = ledger.weeks.get(week)
        done = any(b.pinned for b in this_week) or (
            attempt is not None and attempt.outcome in DONE_OR_RUNNING
        )
        candidate = newest_completed(this_week)
        if now >= due and done:
            due, candidate = due + timedelta(weeks=1), None
            would_pin = "the newest completed backup of next week"
        elif backups is None:
            would_pin = "unknown: the backup list was not read"
        elif candidate is None:
            would_pin = "none yet: no completed backup this week"
        else:
            would_pin = f"backup {candidate.id} (as of now: the newest completed of {week.label})"
        last = ledger.last_pinned_at
        return {
            "applies": applies,
            "next_pin_due": due.isoformat(),
            "overdue": now >= due,
            "would_pin": would_pin,
            "would_pin_backup_id": candidate.id if candidate else None,
            "daemon_pins": len(ledger.pins),
            "last_pinned_at": last.isoformat() if last else None,
        }

    def _options(self, view: ContainerView) -> WeeklyPinOptions:
        return self.options.of(view.container.name, view.container.type)

    def _known_for(
        self, view: ContainerView, ledger: PinLedger, options: WeeklyPinOptions
    ) -> Known:
        backups = view.backups or ()
        known = self._known.get(view.container.id)
        keep = options.keep_weeks
        if (
            known is None
            or known.ledger is not ledger
            or known.backups is not backups
            or known.keep_weeks != keep
        ):
            pins = _daemon_pins(ledger, backups)
            weeks = {pin.week for pin in pins}
            kept = None if len(weeks) <= keep else frozenset(sorted(weeks, reverse=True)[:keep])
            known = Known(ledger, backups, listed_weeks(backups), pins, kept, keep)
            self._known[view.container.id] = known
        return known

    def _pins(
        self, view: ContainerView, known: Known, now: datetime, options: WeeklyPinOptions
    ) -> list[Decision]:
        this_week = IsoWeek.of(now)
        decisions: list[Decision] = []
        for week, backups, pinned in known.weeks:
            if pinned:
                continue
            due = _pin_moment(week, options.weekday, options.at)
            if now < due:
                continue
            if this_week == week and (view.backups_at is None or view.backups_at < due):
                continue  # the list predates the due time: the 02:00 backup may be missing
            attempt = known.ledger.weeks.get(week)
            if attempt is not None and not attempt.allows_another(now):
                continue
            newest = newest_completed(backups)
            if newest is None:
                continue
            late = " (catch-up)" if this_week != week else ""
            decisions.append(
                _change(
                    view,
                    PIN,
                    f"weekly pin for {week.label}: newest completed backup{late}",
                    str(newest.id),
                    unless_pinned_within=week.span,
                    iso_week=week.label,
                    backup_created_at=newest.created_at.isoformat(),
                )
            )
        return decisions

    def _unpins(
        self, view: ContainerView, known: Known, now: datetime, options: WeeklyPinOptions
    ) -> list[Decision]:
        kept_weeks = known.kept_weeks
        if kept_weeks is None:
            return []  # every pin is among the newest keep_weeks weeks
        listed = {str(b.id): b for b in view.backups or ()}
        age = newest_completed_backup_age(view, now)
        max_age = self.max_age(view)
        decisions: list[Decision] = []
        for pin in known.pins:
            backup = listed.get(pin.backup_id)
            if pin.week in kept_weeks or backup is None or not backup.pinned:
                continue
            fresh = age is not None and age <= max_age
            if not fresh:
                if not pin.unpin_noted:
                    decisions.append(self._kept_note(view, pin, age, max_age))
                continue
            attempt = pin.unpin_attempt
            if attempt is not None and not attempt.allows_another(now):
                continue
            decisions.append(
                _change(
                    view,
                    UNPIN,
                    f"weekly pin of {pin.week.label} is older than the newest "
                    f"{options.keep_weeks} weekly pins",
                    pin.backup_id,
                    iso_week=pin.week.label,
                )
            )
        return decisions

    def _kept_note(
        self, view: ContainerView, pin: DaemonPin, age: timedelta | None, max_age: timedelta
    ) -> Note:
        newest = (
            "no completed backup"
            if age is None
            else f"the newest completed backup is {format_duration(max(age, timedelta(0)))} old"
        )
        return _note(
            view,
            UNPIN,
            f"kept the weekly pin of {pin.week.label}: {newest} "
            f"(backup_freshness.max_age {format_duration(max_age)})",
            pin.backup_id,
            iso_week=pin.week.label,
        )


def _settled_lost_pins(view: ContainerView, ledger: PinLedger) -> list[Note]:
    """For each pin whose answer was lost, once a backup list was read after it: a note
    saying whether that list shows the backup pinned (the daemon's pin, then) or not."""
    if not ledger.unsettled:  # nearly always: nothing to look at in this hot path
        return []
    notes: list[Note] = []
    listed = {str(b.id): b for b in view.backups or ()}
    for pin in ledger.pins.values():
        if not pin.maybe or view.backups_at is None or view.backups_at <= pin.pinned_at:
            continue
        backup = listed.get(pin.backup_id)
        pinned = backup is not None and backup.pinned
        seen = "shows it pinned: the daemon's pin" if pinned else "does not show it pinned"
        notes.append(
            _note(
                view,
                PIN,
                f"the pin of backup {pin.backup_id}, whose answer was lost: the backup list "
                f"read at {view.backups_at.isoformat(timespec='seconds')} {seen}",
                pin.backup_id,
                event=LOST_PIN_PINNED if pinned else LOST_PIN_ABSENT,
            )
        )
    return notes


def _note(
    view: ContainerView, action: AuditAction, reason: str, backup_id: str, **details: str
) -> Note:
    """A note about one backup (`skipped`: it changes nothing)."""
    return Note(
        policy=POLICY,
        action=action,
        container_id=view.container.id,
        container_name=view.container.name,
        outcome=Outcome.SKIPPED,
        reason=reason,
        target=backup_id,
        details=details,
    )


def _change(
    view: ContainerView,
    action: AuditAction,
    reason: str,
    backup_id: str,
    *,
    unless_pinned_within: tuple[datetime, datetime] | None = None,
    **details: str,
) -> Action:
    """A pin or an unpin of one backup: never gated (it changes no container)."""
    return Action(
        policy=POLICY,
        action=action,
        container_id=view.container.id,
        container_name=view.container.name,
        reason=reason,
        target=backup_id,
        gated=False,
        unless_pinned_within=unless_pinned_within,
        details=details,
    )


@lru_cache(maxsize=1024)
def _pin_moment(week: IsoWeek, weekday: Weekday, at: time) -> datetime:
    return week.moment(weekday, at)


def _daemon_pins(ledger: PinLedger, backups: tuple[Backup, ...]) -> list[DaemonPin]:
    """The ledger's pins, each with its week: the one its row named, else its backup's. A
    pin whose answer was lost counts only while its backup is listed pinned."""
    created: dict[str, datetime] | None = None
    listed_pinned = {str(b.id) for b in backups if b.pinned}
    pins = []
    for pin in ledger.pins.values():
        if pin.maybe and pin.backup_id not in listed_pinned:
            continue
        if pin.week is None:
            if created is None:
                created = {str(b.id): b.created_at for b in backups if b.created_at is not None}
            pin = replace(pin, week=IsoWeek.of(created.get(pin.backup_id, pin.pinned_at)))
        pins.append(pin)
    return pins


WEEKLY_PIN = PolicySpec(
    name=POLICY,
    options=WeeklyPinOptions,
    build=lambda options, dry_run: WeeklyPinPolicy(
        options[POLICY], options["backup_freshness"], dry_run
    ),
)
