"""`[[windows]]` in the config: every error in one pass, the example's keys, the Grafana export."""

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from daemon.cli.windows_command import grafana_mute_timing
from daemon.config import ConfigError, WindowConfig
from daemon.config.load import _parse

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def load(text: str):
    return _parse(text.encode(), "config.toml")


def test_a_valid_window_loads_and_answers_for_a_moment():
    config = load(
        '[[windows]]\nname = "night"\ntimes = [{ start_time = "01:00", end_time = "03:00" }]\n'
        'weekdays = ["sunday"]\ndays_of_month = [1, "-7:-1"]\npause = ["container.restart"]\n'
    )
    (window,) = config.windows
    assert window.pauses("container.restart") and not window.pauses("backup.pin")
    assert window.scopes("anything", "nodejs")


def test_every_window_error_is_reported_with_its_key_path():
    with pytest.raises(ConfigError) as raised:
        load(
            '[[windows]]\nname = "a"\n[[windows]]\nname = "a"\n'
            'times = [{ start_time = "05:00", end_time = "04:00" }]\n'
            'weekdays = ["saturday:sunday"]\nlocation = "Mars/Base"\npause = ["reboot"]\n'
        )
    errors = raised.value.errors
    assert any(e.startswith("config.toml: windows[1].times[0].end_time: expected a time after")
               for e in errors)  # fmt: skip
    assert any(e.startswith("config.toml: windows[1].weekdays: expected") and "sunday" in e
               for e in errors)  # fmt: skip
    assert any(e.startswith("config.toml: windows[1].location: expected an IANA") for e in errors)
    assert any(e.startswith("config.toml: windows[1].pause: expected") for e in errors)
    assert 'config.toml: windows: expected windows with unique names, got ["a", "a"]' in errors
    with pytest.raises(ConfigError, match=r"windows: expected an array of tables"):
        load('windows = "sundays"\n')


def test_the_example_shows_every_window_key_with_its_default():
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index("# [[windows]]") : text.index("\nwindows = []")]
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    config = load(uncommented.replace('name = ""', 'name = "example"'))
    (window,) = config.windows
    keys = {line.split("=")[0].strip() for line in uncommented.splitlines()[1:] if "=" in line
            and not line.startswith(" ")}  # fmt: skip
    assert keys == {field.name for field in dataclasses.fields(WindowConfig)}
    assert window == WindowConfig(name="example")


def test_a_window_exports_as_a_grafana_mute_timing_provisioning_file():
    (window,) = load(
        '[[windows]]\nname = "maintenance"\n'
        'times = [{ start_time = "01:00", end_time = "24:00" }]\n'
        'weekdays = ["monday:friday"]\ndays_of_month = [1, "-3:-1"]\nmonths = ["may:august"]\n'
        'years = ["2026:2027"]\nlocation = "Europe/Berlin"\n'
    ).windows
    document = yaml.safe_load(grafana_mute_timing(window, org_id=2))
    assert document == {
        "apiVersion": 1,
        "muteTimes": [
            {
                "orgId": 2,
                "name": "maintenance",
                "time_intervals": [
                    {
                        "times": [{"start_time": "01:00", "end_time": "24:00"}],
                        "weekdays": ["monday:friday"],
                        "days_of_month": ["1", "-3:-1"],
                        "months": ["may:august"],
                        "years": ["2026:2027"],
                        "location": "Europe/Berlin",
                    }
                ],
            }
        ],
    }
