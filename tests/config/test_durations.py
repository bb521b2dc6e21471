"""Durations as written in config files and CLI options, and their shortest spelling."""

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.durations import format_duration, parse_duration


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


def test_absurdly_long_duration_is_a_value_error():
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999d")


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


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(milliseconds):
    duration = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(duration)) == duration
