"""A window with `location = "Local"` follows the machine's zone across daylight saving
time changes: "Local" is the IANA zone TZ names (or /etc/localtime links to), never the
UTC offset in force when the config was loaded."""

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.config import ConfigError, load_config
from daemon.time_intervals import local_zone

NIGHTLY_LOCAL = """\
[[windows]]
name = "nightly"
times = [{ start_time = "01:00", end_time = "03:00" }]
location = "Local"
"""


@pytest.fixture
def machine_in_berlin(monkeypatch):
    """This process runs as on a machine in Europe/Berlin (its own local time too)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def nightly(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(NIGHTLY_LOCAL, encoding="utf-8")
    (window,) = load_config(str(path), env={}).windows
    return window


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "active"),
    [
        ("2026-03-28T00:30", True),  # 01:30 CET, the night before the change
        ("2026-03-28T02:30", False),  # 03:30 CET
        ("2026-03-29T23:30", True),  # 01:30 CEST, the night after it
        ("2026-03-30T01:30", False),  # 03:30 CEST
        ("2026-07-04T23:30", True),  # 01:30 CEST in July
        ("2026-10-25T00:30", True),  # 02:30 CEST, the night it ends (clocks go back at 03:00)
        ("2026-10-25T01:30", True),  # 02:30 CET, the hour repeated
        ("2026-10-25T02:30", False),  # 03:30 CET
    ],
)
def test_a_local_window_runs_at_berlin_time_in_winter_and_summer(
    tmp_path, machine_in_berlin, instant, active
):
    assert nightly(tmp_path).active(utc(instant)) is active


def test_local_is_the_zone_etc_localtime_links_to_when_tz_is_unset(tmp_path):
    localtime = tmp_path / "localtime"
    localtime.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert local_zone({}, localtime) == ZoneInfo("Europe/Berlin")


def test_local_without_etc_localtime_is_utc_as_the_c_library_reads_it(tmp_path):
    """A container image without /etc/localtime and no TZ runs on UTC."""
    assert local_zone({}, tmp_path / "no-localtime") == UTC
    berlin = tmp_path / "localtime"
    berlin.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert local_zone({"TZ": ""}, berlin) == UTC  # TZ set empty is UTC too


def test_local_without_a_zone_to_find_is_refused_asking_for_an_iana_name(tmp_path):
    copied = tmp_path / "localtime"
    copied.write_bytes(b"TZif2 not a link")  # a copied file names no zone
    with pytest.raises(ValueError, match="IANA zone"):
        local_zone({}, copied)
    with pytest.raises(ValueError, match="IANA zone"):
        local_zone({"TZ": "CET-1CEST,M3.5.0,M10.5.0/3"}, tmp_path / "no-localtime")


def test_a_config_with_local_on_a_machine_whose_zone_has_no_iana_name_is_refused(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")
    with pytest.raises(ConfigError, match=r"windows\[0\]\.location: expected an IANA time zone"):
        nightly(tmp_path)
