"""Alertmanager `time_intervals`, parsed and matched the way Alertmanager does.

A maintenance window (`[[windows]]` in the config) is one Alertmanager time
interval, so operators can reuse what they already wrote for Alertmanager or a
Grafana mute timing. The semantics, as Alertmanager's configuration reference
gives them:

- every field is a list; an empty or absent list matches any value, a non-empty
  one matches when at least one of its entries does; a moment is in the interval
  when every field matches;
- `times`: `start_time`/`end_time` as "HH:MM" (24-hour, end may be "24:00");
  inclusive of the start, exclusive of the end ("17:00" to "24:00" ends just
  before midnight); the start must come before the end;
- `weekdays`: names ("monday", any case) or inclusive ranges "monday:friday";
  the week begins on Sunday, so "saturday:sunday" is refused (write
  ["saturday", "sunday"]);
- `days_of_month`: 1..31 or -31..-1 counted from the end (-1 is the last day),
  inclusive ranges "1:5", "-3:-1"; ranges are clamped to the month (["1:31"]
  covers all of February), and a range starting after the month's last day
  matches nothing in that month;
- `months`: names ("may", any case) or numbers 1..12, inclusive ranges
  "1:3", "may:august";
- `years`: numbers, inclusive ranges "2020:2022";
- `location`: an IANA zone ("Europe/Berlin") the other fields are read in,
  "Local" for the machine's zone, default "UTC". "Local" is the IANA zone the `TZ`
  environment variable names, else the one /etc/localtime links to, so its
  daylight saving time applies; where neither names one, "Local" is refused:
  write the IANA name instead.

Entries may be TOML integers where they are numbers (`days_of_month = [1, -1]`).
Each `parse_*` raises ValueError with what was expected; `TimeInterval.contains`
answers for one moment, and `TimeInterval.entered` says when the unbroken stretch of
the interval that holds a moment began (when a maintenance window last opened).
"""

import os
import re
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_HH_MM = re.compile(r"(?:([01]\d|2[0-3]):([0-5]\d))|(24):(00)")
LOCAL = "Local"
LOCALTIME = Path("/etc/localtime")
IANA_EXAMPLE = 'an IANA zone name, like "Europe/Berlin"'

Range = tuple[int, int]  # inclusive on both ends
MINUTE = timedelta(minutes=1)  # the interval's resolution: every field changes on a minute
DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class TimeRange:
    """Minutes of the day: start included, end excluded."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        return self.start <= minute < self.end


@dataclass(frozen=True)
class TimeInterval:
    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[Range, ...] = ()  # Sunday = 0
    days_of_month: tuple[Range, ...] = ()
    months: tuple[Range, ...] = ()  # January = 1
    years: tuple[Range, ...] = ()
    location: tzinfo = UTC

    def contains(self, moment: datetime) -> bool:
        """Whether the aware `moment` lies in the interval."""
        local = moment.astimezone(self.location)
        if self.times:
            minute = local.hour * 60 + local.minute
            if not any(span.contains(minute) for span in self.times):
                return False
        return self._date_matches(local.date())

    def entered(self, moment: datetime, lookback: timedelta) -> datetime | None:
        """When the unbroken stretch of the interval that holds the aware `moment` began
        (the first minute of it, UTC), or None when `moment` is not in the interval. A
        stretch longer than `lookback` counts as begun about `lookback` before `moment`.

        Walks back minute by minute, and a whole local day at a time where every minute
        of the day before is in the interval, so a long stretch costs one step a day."""
        if not self.contains(moment):
            return None
        start = moment.astimezone(UTC).replace(second=0, microsecond=0)
        while start > moment - lookback:
            local = start.astimezone(self.location)
            day_before = local.date() - timedelta(days=1)
            if local.time() == time() and self._whole_day(day_before):
                start = datetime.combine(day_before, time(), self.location).astimezone(UTC)
            elif self.contains(start - MINUTE):
                start -= MINUTE
            else:
                break
        return start

    def _whole_day(self, day: date) -> bool:
        """Whether every minute of the local `day` is in the interval."""
        covered = 0
        for span in sorted(self.times, key=lambda span: span.start):
            if span.start > covered:
                break
            covered = max(covered, span.end)
        return (not self.times or covered >= DAY_MINUTES) and self._date_matches(day)

    def _date_matches(self, day: date) -> bool:
        """Whether the local `day` matches every field but `times`."""
        if self.weekdays:
            weekday = (day.weekday() + 1) % 7  # Python: Monday = 0; Alertmanager: Sunday = 0
            if not _within(self.weekdays, weekday):
                return False
        if self.days_of_month and not _day_of_month_matches(self.days_of_month, day):
            return False
        if self.months and not _within(self.months, day.month):
            return False
        return not self.years or _within(self.years, day.year)


def _within(ranges: tuple[Range, ...], value: int) -> bool:
    return any(start <= value <= end for start, end in ranges)


def _day_of_month_matches(ranges: tuple[Range, ...], day: date) -> bool:
    """Alertmanager's day-of-month test: negative days count from the month's end, a range
    starting past the month's end matches nothing, the rest is clamped to the month."""
    days = monthrange(day.year, day.month)[1]
    for start, end in ranges:
        begin = days + start + 1 if start < 0 else start
        finish = days + end + 1 if end < 0 else end
        if begin > days:
            continue
        begin, finish = max(begin, 1), min(finish, days)
        if begin <= day.day <= finish:
            return True
    return False


# -- parsing -------------------------------------------------------------------------


def parse_time_of_day(value: object, *, end: bool = False) -> int:
    """ "HH:MM" (or a TOML local time) as minutes since midnight; "24:00" only as an end."""
    if isinstance(value, time) and value.tzinfo is None and not value.second:
        return value.hour * 60 + value.minute
    found = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if found is None or (not end and found.group(3)):
        limit = "24:00" if end else "23:59"
        raise ValueError(f'a time "HH:MM" from 00:00 to {limit}')
    hours, minutes = (found.group(1), found.group(2)) if found.group(1) else ("24", "00")
    return int(hours) * 60 + int(minutes)


def parse_time_range(start: object, end: object) -> TimeRange:
    span = TimeRange(parse_time_of_day(start), parse_time_of_day(end, end=True))
    if span.start >= span.end:
        raise ValueError("an end_time after start_time (the end is exclusive)")
    return span


def _bounds(item: object) -> tuple[str, str]:
    if isinstance(item, int) and not isinstance(item, bool):
        return str(item), str(item)
    if not isinstance(item, str) or not item.strip():
        raise ValueError("a value or a range START:END")
    start, colon, end = item.strip().partition(":")
    return (start, end) if colon else (start, start)


def _ordered(start: int, end: int, what: str) -> Range:
    if start > end:
        raise ValueError(f"a range whose start comes before its end ({what})")
    return start, end


def parse_weekday_range(item: object) -> Range:
    start, end = _bounds(item)
    names = [name.strip().lower() for name in (start, end)]
    if any(name not in WEEKDAYS for name in names):
        raise ValueError('weekday names or ranges like "monday:friday"')
    return _ordered(
        WEEKDAYS.index(names[0]),
        WEEKDAYS.index(names[1]),
        "the week begins on sunday: list the days instead",
    )


def parse_day_of_month_range(item: object) -> Range:
    start, end = (_number(part, "days of month") for part in _bounds(item))
    for day in (start, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError("days of month from 1 to 31, or -31 to -1 from the month's end")
    # As Alertmanager does: compare as if in a 31-day month (shorter months are clamped).
    as_31 = [day + 32 if day < 0 else day for day in (start, end)]
    _ordered(*as_31, "in a 31-day month")
    return start, end


def parse_month_range(item: object) -> Range:
    start, end = _bounds(item)
    return _ordered(_month(start), _month(end), "months run from january to december")


def parse_year_range(item: object) -> Range:
    start, end = (_number(part, "years") for part in _bounds(item))
    if start < 1 or end < 1:
        raise ValueError('years like 2026 or ranges like "2026:2027"')
    return _ordered(start, end, "years")


def parse_location(name: str) -> tzinfo:
    """An IANA zone; "Local" is this machine's zone (`local_zone`), "UTC" (or "") UTC."""
    if name in ("", "UTC"):
        return UTC
    if name == LOCAL:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError('an IANA time zone like "Europe/Berlin", "UTC" or "Local"') from None


def local_zone(environ: Mapping[str, str] = os.environ, localtime: Path = LOCALTIME) -> tzinfo:
    """This machine's zone with its daylight saving time: the IANA zone `TZ` names
    ("Europe/Berlin", ":Europe/Berlin" or a path into a zoneinfo directory), else the
    one `localtime` links to, or UTC without that file or with TZ set empty (as the C
    library reads them). A fixed offset would be an hour off for half the year, so a
    zone found neither way is refused (ValueError)."""
    named = environ.get("TZ")
    if named == "":
        return UTC
    if named is not None:
        zone = _zone_named(named.removeprefix(":"))
        if zone is None:
            raise ValueError(
                f'"{LOCAL}" is the zone TZ names, and TZ="{named}" is not an IANA zone; '
                f"write location as {IANA_EXAMPLE}"
            )
        return zone
    if not localtime.exists():
        return UTC  # what the C library reads then (a container without the file)
    zone = _zone_named(str(localtime))
    if zone is None:
        raise ValueError(
            f'"{LOCAL}" is the zone {localtime} links to, and it links to no IANA zone; '
            f"write location as {IANA_EXAMPLE}"
        )
    return zone


def _zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone of a name, or of a path into a zoneinfo directory (links followed)."""
    if name.startswith("/"):
        name = os.path.realpath(name).partition("/zoneinfo/")[2]
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _number(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f'{what} as numbers or ranges like "1:5"') from None


def _month(text: str) -> int:
    name = text.strip().lower()
    if name in MONTHS:
        return MONTHS.index(name) + 1
    if name.isdigit() and 1 <= int(name) <= 12:
        return int(name)
    raise ValueError('month names or numbers 1-12, or ranges like "may:august"')
