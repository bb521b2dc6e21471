"""The generic validator converts each TOML value by its field's type hint; misfits are errors."""

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal

import pytest

from daemon.config import validate


@dataclass(frozen=True)
class Sample:
    flag: bool = False
    count: int = 1
    ratio: float = 0.5
    name: str = ""
    delay: timedelta = timedelta(0)
    at: time = time(0, 0)
    mode: Literal["fast", "slow"] = "fast"
    globs: tuple[str, ...] = ()
    modes: tuple[Literal["fast", "slow"], ...] = ()


def test_well_typed_values_are_converted():
    sample, errors = validate(
        Sample,
        {
            "flag": True,
            "count": 3,
            "ratio": 2,
            "name": "x",
            "delay": "1h30m",
            "at": "7:05",
            "mode": "slow",
            "globs": ["web-*", "db-?"],
            "modes": ["slow", "fast"],
        },
        "sample.toml",
    )
    assert errors == []
    assert sample == Sample(
        flag=True,
        count=3,
        ratio=2.0,
        name="x",
        delay=timedelta(minutes=90),
        at=time(7, 5),
        mode="slow",
        globs=("web-*", "db-?"),
        modes=("slow", "fast"),
    )


def test_each_wrong_value_gets_its_own_line_and_defaults_stand_in():
    sample, errors = validate(
        Sample,
        {
            "flag": "on",
            "count": 1.0,
            "ratio": True,
            "name": ["x"],
            "delay": {"minutes": 5},
            "at": "7",
            "mode": "quick",
            "globs": "web-*",
            "modes": ["slow", "warp", 3],
        },
        "sample.toml",
    )
    assert errors == [
        'sample.toml: flag: expected true or false, got "on"',
        "sample.toml: count: expected an integer, got 1.0",
        "sample.toml: ratio: expected a number, got true",
        'sample.toml: name: expected a string, got ["x"]',
        'sample.toml: delay: expected a duration like "5m", got a table',
        'sample.toml: at: expected a time of day "HH:MM" (24-hour, UTC), got "7"',
        'sample.toml: mode: expected one of "fast", "slow", got "quick"',
        'sample.toml: globs: expected a list of strings, got "web-*"',
        'sample.toml: modes[1]: expected one of "fast", "slow", got "warp"',
        'sample.toml: modes[2]: expected one of "fast", "slow", got 3',
    ]
    assert sample == Sample()


def test_toml_local_time_is_accepted_for_a_time_of_day(load_text):
    config = load_text("[policies.weekly_pin]\nat = 04:30:00\n")
    assert config.policies.weekly_pin.at == time(4, 30)


def test_durations_accept_integer_seconds(load_text):
    assert load_text("[poll]\nstatus_interval = 20\n").poll.status_interval == timedelta(seconds=20)


def test_long_values_are_shortened_in_messages():
    _, errors = validate(Sample, {"count": "x" * 200}, "sample.toml")
    assert errors == ['sample.toml: count: expected an integer, got "' + "x" * 55 + '..."']


def test_keys_that_are_not_bare_are_quoted():
    _, errors = validate(Sample, {"two words": 1}, "sample.toml")
    assert errors[0].startswith('sample.toml: "two words": unknown key; valid keys: flag, count')


def test_a_field_type_the_validator_does_not_know_is_a_programming_error():
    @dataclass(frozen=True)
    class Odd:
        weights: dict[str, int] | None = None

    with pytest.raises(TypeError, match="not supported"):
        validate(Odd, {"weights": {}}, "odd.toml")
