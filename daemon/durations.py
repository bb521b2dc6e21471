"""Durations as people write them: "15s", "5m", "1h30m", "26h", "7d", "500ms", or integer seconds.

Used by the config loader and by CLI options such as `audit list --since 24h`.
Units are d, h, m, s and ms, each at most once and largest first; a bare number
string ("30") is refused so that nobody has to guess its unit. No duration is longer
than `MAX_DURATION` (3650d, about ten years): every moment the daemon derives from
durations (`now - window`, the reach back of several `backoff_max + reset_after`, a
hold's end) stays within the dates it can represent, and a slip such as "1000000d" is
refused where it is written rather than failing every evaluation later.
"""

import re
from datetime import timedelta

_UNITS = (
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)
_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")
EXAMPLES = '"15s", "5m", "1h30m", "26h", "7d" or integer seconds'
MAX_DURATION = timedelta(days=3650)
MAX_DURATION_TEXT = f"{MAX_DURATION.days}d (about ten years)"  # as people write it
_MILLISECOND = timedelta(milliseconds=1)


class DurationTooLong(ValueError):
    """A duration that reads well but is longer than MAX_DURATION."""


def parse_duration(value: object) -> timedelta:
    """Return the timedelta for a duration string or non-negative integer seconds.

    Raises ValueError saying what was given and what is accepted (DurationTooLong when
    only the limit is exceeded).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"invalid duration {value}: must not be negative")
        return _at_most_the_limit(str(value), value * 1000)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: expected {EXAMPLES}")
    text = value.strip()
    if text.isdigit():
        raise ValueError(f'invalid duration "{value}": add a unit, e.g. "{text}s"')
    match = _PATTERN.fullmatch(text)
    if not text or match is None:
        raise ValueError(f'invalid duration "{value}": expected {EXAMPLES}')
    millis = sum(
        int(amount) * (unit // _MILLISECOND)
        for amount, (_, unit) in zip(match.groups(), _UNITS, strict=True)
        if amount is not None
    )
    return _at_most_the_limit(f'"{value}"', millis)


def _at_most_the_limit(shown: str, millis: int) -> timedelta:
    """`millis` milliseconds; DurationTooLong naming the limit if that is longer than it."""
    if millis > MAX_DURATION // _MILLISECOND:
        raise DurationTooLong(
            f"invalid duration {shown}: longer than the limit of {MAX_DURATION_TEXT}"
        )
    return timedelta(milliseconds=millis)


def format_duration(duration: timedelta) -> str:
    """Return the string parse_duration reads back: "7d" for whole days, else "26h", "1h30m"."""
    if duration < timedelta(0):
        raise ValueError(f"cannot format a negative duration ({duration})")
    millis = round(duration / _MILLISECOND)
    if millis == 0:
        return "0s"
    day_ms = 86_400_000
    if millis % day_ms == 0:
        return f"{millis // day_ms}d"
    parts = []
    for name, unit in _UNITS[1:]:
        unit_ms = unit // _MILLISECOND
        amount, millis = divmod(millis, unit_ms)
        if amount:
            parts.append(f"{amount}{name}")
    return "".join(parts)
