"""Durations as written in config files and CLI options, and their shortest spelling."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.durations import MAX_DURATION, format_duration, parse_duration
from policies import AutoRestartOptions, AutoRestartPolicy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15s", timedelta(seconds=15)),
        ("5m", timedelta(minutes=5)),
        ("26h", timedelta(hours=26)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("500ms", timedelta(milliseconds=500)),
        ("1m500ms", timedelta(minutes=1, milliseconds=500)),
        ("0s", timedelta(0)),
        (" 5m ", timedelta(minutes=5)),
        (0, timedelta(0)),
        (90, timedelta(seconds=90)),
    ],
)
def test_parses_units_and_integer_seconds(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "value",
    ["", "soon", "5M", "1.5h", "-5s", "5m1h", "1h 30m", "5mm", "1w", "s", -1, True, 1.5, None],
)
def test_refuses_what_is_not_a_duration(value):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


def test_bare_number_string_is_refused_with_the_unit_suggested():
    with pytest.raises(ValueError, match=re.escape('add a unit, e.g. "30s"')):
        parse_duration("30")


def test_error_names_the_value_and_the_accepted_forms():
    with pytest.raises(ValueError) as caught:
        parse_duration("soon")
    assert str(caught.value) == (
        'invalid duration "soon": expected "15s", "5m", "1h30m", "26h", "7d" or integer seconds'
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("99999999999d", '"99999999999d"'),
        ("1000000d", '"1000000d"'),
        ("3650d1ms", '"3650d1ms"'),
        ("87601h", '"87601h"'),
        (315_360_001, "315360001"),
        (10**30, str(10**30)),
    ],
)
def test_a_duration_longer_than_the_limit_is_refused_naming_the_limit(value, shown):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == (
        f"invalid duration {shown}: longer than the limit of 3650d (about ten years)"
    )


@pytest.mark.parametrize("value", ["3650d", "87600h", 315_360_000])
def test_the_limit_itself_is_accepted(value):
    assert parse_duration(value) == MAX_DURATION == timedelta(days=3650)


def test_the_longest_durations_keep_every_auto_restart_date_representable():
    """The policy reaches back several `backoff_max + reset_after`; at the limit that is
    centuries, not beyond year 1 (each evaluation would fail with OverflowError)."""
    longest = AutoRestartOptions(
        backoff_initial=timedelta(0),
        backoff_max=MAX_DURATION,
        reset_after=MAX_DURATION,
        window=MAX_DURATION,
    )
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert AutoRestartPolicy(longest).history_query(now).since.year > 1000


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=15), "15s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=26), "26h"),
        (timedelta(days=7), "7d"),
        (timedelta(hours=48), "2d"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(days=1, seconds=1), "24h1s"),
    ],
)
def test_formats_shortest_familiar_spelling(duration, text):
    assert format_duration(duration) == text


def test_format_refuses_negative_durations():
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.integers(min_value=0, max_value=MAX_DURATION // timedelta(milliseconds=1)))
def test_format_then_parse_round_trips(milliseconds):
    duration = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(duration)) == duration
