"""Loading: where the config file is found, how file-level problems read, what a loaded
Config holds, and how the validator converts each TOML value by its field's type hint."""

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal

import pytest

from daemon.config import Config, ConfigError, load_config, validate


def test_argument_beats_the_environment_variable(tmp_path):
    given = tmp_path / "given.toml"
    given.write_text("[daemon]\ndry_run = true\n")
    named = tmp_path / "named.toml"
    named.write_text('[daemon]\nlog_format = "json"\n')
    config = load_config(str(given), env={"STACKS_OPSD_CONFIG": str(named)})
    assert config.daemon.dry_run is True
    assert config.daemon.log_format == "text"
    assert config.source == str(given)


def test_environment_variable_is_used_without_an_argument(tmp_path):
    named = tmp_path / "named.toml"
    named.write_text('[daemon]\nlog_format = "json"\n')
    config = load_config(None, env={"STACKS_OPSD_CONFIG": str(named)})
    assert config.daemon.log_format == "json"
    assert config.source == str(named)


def test_default_file_is_read_when_present(tmp_path):
    default = tmp_path / "config.toml"
    default.write_text("[daemon]\ndry_run = true\n")
    config = load_config(None, env={"STACKS_OPSD_CONFIG": ""}, default_path=str(default))
    assert config.daemon.dry_run is True


def test_absent_default_file_means_all_defaults(tmp_path):
    absent = str(tmp_path / "absent.toml")
    assert load_config(None, env={}, default_path=absent) == Config(source="")


def test_missing_file_given_with_the_argument_is_an_error(tmp_path):
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={})
    assert caught.value.errors == [f"{missing}: no such config file (given with --config)"]


def test_missing_file_named_by_the_environment_is_an_error(tmp_path):
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"STACKS_OPSD_CONFIG": missing})
    assert caught.value.errors == [f"{missing}: no such config file (named by $STACKS_OPSD_CONFIG)"]


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file: Is a directory"):
        load_config(str(tmp_path), env={})


def test_non_utf8_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[daemon]\ninstance_id = "café"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert caught.value.errors == ["latin1.toml: not UTF-8 text (byte 27); save it as UTF-8"]


def test_errors_name_the_file_by_its_basename(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text("[poll]\nstatus_interval = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert caught.value.errors == [
        'site.toml: poll.status_interval: expected a positive duration or "auto", got "0s"'
    ]


def test_config_error_text_is_every_line(load_text):
    with pytest.raises(ConfigError) as caught:
        load_text("[api]\ntimeout = 0\nrate_limit_per_minute = 0\n")
    assert str(caught.value) == (
        'config.toml: api.timeout: expected a positive duration, got "0s"\n'
        "config.toml: api.rate_limit_per_minute: expected a positive integer, got 0"
    )


def test_relative_file_paths_are_relative_to_the_config_directory(tmp_path):
    directory = tmp_path / "etc"
    directory.mkdir()
    path = directory / "config.toml"
    path.write_text(
        '[api]\napi_key_file = "stacks.key"\n'
        '[daemon]\ntls_cert_file = "/srv/tls.crt"\ntls_key_file = "tls/tls.key"\n'
    )
    config = load_config(str(path), env={})
    assert config.api.api_key_file == str(directory / "stacks.key")
    assert config.daemon.tls_cert_file == "/srv/tls.crt"
    assert config.daemon.tls_key_file == str(directory / "tls" / "tls.key")


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
        weights: set[int] | None = None

    with pytest.raises(TypeError, match="not supported"):
        validate(Odd, {"weights": [1]}, "odd.toml")
