"""The `[[windows]]` tables: maintenance windows, as Alertmanager time intervals plus a scope.

```toml
[[windows]]
name = "sunday-night"          # required, unique; the `window` label of stacks_opsd_window_active
times = [{ start_time = "01:00", end_time = "03:00" }]   # start included, end excluded
weekdays = ["sunday"]          # names or ranges "monday:friday"; [] = any day
days_of_month = []             # 1..31, -1 = the last day, ranges "1:5", "-3:-1"; [] = any
months = []                    # names or 1..12, ranges "may:august"; [] = any
years = []                     # 2026, ranges "2026:2027"; [] = any
location = "UTC"               # IANA zone the fields above are read in, or "Local"
match = ["*"]                  # container name globs the window applies to
types = []                     # container types (templates) it applies to; [] = any
pause = ["all"]                # "all", or action names such as "container.restart", "backup.pin"
```

Each window is one Alertmanager `time_interval` (daemon/time_intervals.py has
the semantics); every field is checked when the config loads, so a running
daemon never meets a window it cannot evaluate. While a window is active the
automatic actions it pauses do not reach the containers it scopes
(daemon/pauses.py); operator commands are not paused.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from functools import cached_property
from typing import ClassVar

from daemon.audit import AuditAction
from daemon.time_intervals import (
    TimeInterval,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_of_day,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)
from policies import OptionRule, unique_names

ALL_ACTIONS = "all"
# What a window can pause: the actions policies take (never a hold's own rows).
PAUSABLE_ACTIONS = tuple(
    action.value for action in AuditAction if not action.value.startswith("hold.")
)


def _parses(parse, items: tuple) -> bool:
    try:
        for item in items:
            parse(item)
    except ValueError:
        return False
    return True


def _first_problem(parse, items: tuple) -> str:
    for item in items:
        try:
            parse(item)
        except ValueError as problem:
            return f"{problem} ({json.dumps(item)} is not)"
    return ""


def _list_rule(key: str, parse) -> OptionRule:
    return OptionRule(
        key,
        lambda window: _parses(parse, getattr(window, key)),
        lambda window: _first_problem(parse, getattr(window, key)),
    )


def _valid_time(value: str, *, end: bool = False) -> bool:
    try:
        parse_time_of_day(value, end=end)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TimeRangeConfig:
    """One entry of `times`: from start_time (included) to end_time (excluded)."""

    start_time: str = "00:00"
    end_time: str = "24:00"

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "start_time", lambda r: _valid_time(r.start_time), 'a time "HH:MM" from 00:00 to 23:59'
        ),
        OptionRule(
            "end_time",
            lambda r: _valid_time(r.end_time, end=True),
            'a time "HH:MM" from 00:01 to 24:00',
        ),
        OptionRule(
            "end_time",
            lambda r: parse_time_of_day(r.end_time, end=True) > parse_time_of_day(r.start_time),
            lambda r: f'a time after start_time "{r.start_time}" (the end is excluded)',
            needs=("start_time",),
        ),
    )


def _valid_location(name: str) -> bool:
    try:
        parse_location(name)
    except ValueError:
        return False
    return True


def _valid_pause(pause: tuple[str, ...]) -> bool:
    if ALL_ACTIONS in pause:
        return pause == (ALL_ACTIONS,)
    return bool(pause) and all(action in PAUSABLE_ACTIONS for action in pause)


@dataclass(frozen=True)
class WindowConfig:
    """One `[[windows]]` table (see the module docstring)."""

    name: str = ""
    times: tuple[TimeRangeConfig, ...] = ()
    weekdays: tuple[str, ...] = ()
    days_of_month: tuple[int | str, ...] = ()
    months: tuple[int | str, ...] = ()
    years: tuple[int | str, ...] = ()
    location: str = "UTC"
    match: tuple[str, ...] = ("*",)
    types: tuple[str, ...] = ()
    pause: tuple[str, ...] = (ALL_ACTIONS,)

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule("name", lambda w: bool(w.name.strip()), "a name for the window"),
        _list_rule("weekdays", parse_weekday_range),
        _list_rule("days_of_month", parse_day_of_month_range),
        _list_rule("months", parse_month_range),
        _list_rule("years", parse_year_range),
        OptionRule(
            "location",
            lambda w: _valid_location(w.location),
            'an IANA time zone like "Europe/Berlin", "UTC" or "Local"',
        ),
        OptionRule(
            "pause",
            lambda w: _valid_pause(w.pause),
            f'["{ALL_ACTIONS}"] or some of ' + ", ".join(f'"{a}"' for a in PAUSABLE_ACTIONS),
        ),
    )

    @cached_property
    def interval(self) -> TimeInterval:
        """The window's time interval (valid: the loader checked every field)."""
        return TimeInterval(
            times=tuple(parse_time_range(r.start_time, r.end_time) for r in self.times),
            weekdays=tuple(parse_weekday_range(item) for item in self.weekdays),
            days_of_month=tuple(parse_day_of_month_range(item) for item in self.days_of_month),
            months=tuple(parse_month_range(item) for item in self.months),
            years=tuple(parse_year_range(item) for item in self.years),
            location=parse_location(self.location),
        )

    def active(self, now: datetime) -> bool:
        return self.interval.contains(now)

    def scopes(self, name: str, container_type: str | None) -> bool:
        """Whether the window applies to a container of this name and type."""
        if not any(fnmatchcase(name, pattern) for pattern in self.match):
            return False
        return not self.types or container_type in self.types

    def pauses(self, action: str) -> bool:
        return self.pause == (ALL_ACTIONS,) or action in self.pause


def window_names_rule() -> OptionRule:
    """For Config: window names must be unique (they label a metric and name an export)."""
    return unique_names("windows", "windows with unique names")
