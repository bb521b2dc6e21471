"""weekly_pin's memory, per container: each week's latest pin attempt and the pins it holds.

Folded from the policy's own audit rows, oldest first (`PinLedger.fold`), so an
evaluation applies only the rows appended since the last one:

    backup.pin, week W     the week's latest attempt (`started`, `succeeded`, `failed`, ...);
                           `succeeded` also makes the backup one of the daemon's pins
    backup.unpin, week W   for a pin the daemon holds: the latest unpin attempt (a
                           `skipped` note only says the pin was kept); `succeeded` ends
                           the pin, and the week stays done (never pinned again)

What a dry run wrote counts only while dry-running. Weeks and pins older than
`forget_after` before the newest row are forgotten (weekly_pin's history horizon).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

from policies.base import HistoryRow
from policies.iso_week import IsoWeek

PIN, UNPIN = "backup.pin", "backup.unpin"
RETRY_AFTER = timedelta(hours=1)
DONE_OR_RUNNING = ("started", "succeeded", "dry_run")  # no new attempt after these
# (a `dry_run` row counts only while the daemon itself dry-runs)


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
    """A backup the daemon pinned (`succeeded`) and has not unpinned since."""

    backup_id: str
    week: IsoWeek | None  # None: its row named no week (then the backup's own week counts)
    pinned_at: datetime
    unpin_noted: bool = False  # an unpin row since the pin (a `skipped` note counts)
    unpin_attempt: Attempt | None = None  # the latest unpin attempt since the pin


@dataclass(frozen=True, slots=True)
class PinLedger:
    weeks: Mapping[IsoWeek, Attempt] = field(default_factory=dict)  # each week's latest try
    pins: Mapping[str, DaemonPin] = field(default_factory=dict)  # by backup id, oldest first
    last_pinned_at: datetime | None = None  # the newest pin the daemon made (gauge)

    def fold(
        self, rows: Sequence[HistoryRow], actor: str, dry_run: bool, forget_after: timedelta
    ) -> "PinLedger":
        """The ledger after `rows` (oldest first); rows of other actors are ignored."""
        weeks, pins, last_pinned_at = dict(self.weeks), dict(self.pins), self.last_pinned_at
        newest = None
        for row in rows:
            if row.actor != actor or not row.counts(dry_run):
                continue
            newest = row.at
            week = parse_week(row.iso_week)
            if row.action == PIN:
                if week is not None:
                    weeks[week] = Attempt(row.outcome, row.at)
                if row.outcome == "succeeded" and row.target is not None:
                    pins[row.target] = DaemonPin(row.target, week, row.at)
                    last_pinned_at = row.at
            elif row.action == UNPIN and row.target in pins:
                pin = pins[row.target]
                if row.outcome == "succeeded":
                    del pins[row.target]
                    done = week or pin.week
                    if done is not None:
                        weeks[done] = Attempt(row.outcome, row.at)
                elif row.outcome == "skipped":
                    pins[row.target] = replace(pin, unpin_noted=True)
                else:
                    attempt = Attempt(row.outcome, row.at)
                    pins[row.target] = replace(pin, unpin_noted=True, unpin_attempt=attempt)
        if newest is not None:
            oldest = newest - forget_after
            weeks = {week: a for week, a in weeks.items() if a.at >= oldest}
            pins = {key: pin for key, pin in pins.items() if pin.pinned_at >= oldest}
        return PinLedger(MappingProxyType(weeks), MappingProxyType(pins), last_pinned_at)


# The same few week labels come back in every row: parse each once, share the result.
parse_week = lru_cache(maxsize=4096)(IsoWeek.parse)
