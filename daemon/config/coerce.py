"""Turn one parsed TOML value into the Python type a config field's hint asks for.

Supported hints: bool, int, float, str, timedelta (a duration), datetime.time ("HH:MM"
or a TOML local time), Literal[...] (one of the choices), tuple[X, ...] (a TOML
array; strings in arrays must be non-empty) and X | Y (the first that fits). A value
that does not fit raises Mismatch carrying what was expected (per bad list item); the
validator turns it into the user's error line.
"""

import re
from dataclasses import dataclass
from datetime import time, timedelta
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from daemon.durations import parse_duration

_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Problem:
    """`value`, at list index path `at` within the field, is not `expected`."""

    expected: str
    value: object
    at: tuple[int, ...] = ()


class Mismatch(Exception):
    """A value does not fit its field; one Problem per bad item of a list."""

    def __init__(self, *problems: Problem):
        super().__init__("; ".join(problem.expected for problem in problems))
        self.problems = problems


def coerce(hint: object, value: object) -> object:
    """Return `value` converted to `hint`, or raise Mismatch."""
    if hint is bool:
        return _check(isinstance(value, bool), "true or false", value)
    if hint is int:
        return _check(isinstance(value, int) and not isinstance(value, bool), "an integer", value)
    if hint is float:
        _check(isinstance(value, int | float) and not isinstance(value, bool), "a number", value)
        return float(value)
    if hint is str:
        return _check(isinstance(value, str), "a string", value)
    if hint is timedelta:
        try:
            return parse_duration(value)
        except ValueError:
            raise Mismatch(Problem('a duration like "5m"', value)) from None
    if hint is time:
        return _time_of_day(value)
    if get_origin(hint) is Literal:
        choices = get_args(hint)
        if not any(type(value) is type(choice) and value == choice for choice in choices):
            expected = "one of " + ", ".join(f'"{choice}"' for choice in choices)
            raise Mismatch(Problem(expected, value))
        return value
    if get_origin(hint) is tuple and len(get_args(hint)) == 2 and get_args(hint)[1] is Ellipsis:
        return _sequence(get_args(hint)[0], value)
    if get_origin(hint) in (UnionType, Union):
        return _either(get_args(hint), value)
    raise TypeError(f"config fields of type {hint!r} are not supported by the validator")


def _either(hints: tuple[object, ...], value: object) -> object:
    """The value as the first of `hints` it fits; else what each expected, joined by "or"."""
    expected = []
    for hint in hints:
        try:
            return coerce(hint, value)
        except Mismatch as mismatch:
            expected += [problem.expected.removeprefix("one of ") for problem in mismatch.problems]
    raise Mismatch(Problem(" or ".join(expected), value))


def _check(ok: bool, expected: str, value: object) -> object:
    if not ok:
        raise Mismatch(Problem(expected, value))
    return value


def _time_of_day(value: object) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise Mismatch(Problem('a time of day "HH:MM" (24-hour, UTC)', value))
    return time(int(match.group(1)), int(match.group(2)))


def _sequence(item_hint: object, value: object) -> tuple:
    if not isinstance(value, list):
        raise Mismatch(Problem(f"a list of {_plural(item_hint)}", value))
    items, problems = [], []
    for index, item in enumerate(value):
        try:
            converted = coerce(item_hint, item)
        except Mismatch as mismatch:
            problems += [Problem(p.expected, p.value, (index, *p.at)) for p in mismatch.problems]
            continue
        if converted == "":
            problems.append(Problem("a non-empty string", item, (index,)))
        items.append(converted)
    if problems:
        raise Mismatch(*problems)
    return tuple(items)


def _plural(hint: object) -> str:
    return "strings" if hint is str else "values"
