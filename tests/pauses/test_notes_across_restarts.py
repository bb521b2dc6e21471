"""A pause is noted once per container and hold or window activation, whichever process
leads: a new process reads back the notes written since each pause in force began. The
real Daemon in simulated time, restarted on the same audit database
(tests/support/simulated_run.py)."""

import dataclasses
from datetime import timedelta

from daemon.config import TimeRangeConfig, WindowConfig
from tests.support.simulated_run import MONDAY, SimulatedRun, config_with

INTERVAL = timedelta(minutes=1)  # a status poll a minute: a simulated day stays cheap


def windowed_run(tmp_path, window: WindowConfig) -> SimulatedRun:
    config = config_with(status_interval=INTERVAL)
    return SimulatedRun(tmp_path, dataclasses.replace(config, windows=(window,)))


def window_notes(run: SimulatedRun, name: str) -> list[str]:
    """The day of each note of window `name` keeping a restart back."""
    return [
        row.at.date().isoformat()
        for row in run.rows(action="container.restart", outcome="skipped")
        if (row.reason or "").startswith(f"maintenance window {name!r}")
    ]


def test_restarting_the_daemon_within_a_window_writes_no_second_note(tmp_path):
    window = WindowConfig(name="freeze", match=("web",), pause=("container.restart",))
    run = windowed_run(tmp_path, window)
    web = run.seed("web")
    run.advance(timedelta(minutes=1))
    run.simulator.crash(web)
    run.advance(timedelta(minutes=2))
    for _ in range(2):  # a redeploy, then a `once`: new processes in the same activation
        run.restart_daemon()
        run.advance(timedelta(minutes=2))
    assert len(window_notes(run, "freeze")) == 1
    run.close()


def test_a_window_opening_again_is_noted_though_a_hold_older_than_its_last_opening_is_active(
    tmp_path,
):
    nightly = WindowConfig(
        name="nightly",
        times=(TimeRangeConfig("01:00", "02:00"),),
        match=("web",),
        pause=("container.restart",),
    )
    run = windowed_run(tmp_path, nightly)
    run.daemon.store.place_hold("other", "audit", "ana@ops-1", MONDAY + timedelta(days=3), "cli")
    web = run.seed("web")
    run.advance(timedelta(hours=1, minutes=10))
    run.simulator.crash(web)  # Monday 01:10, in the window: noted, restarted at 02:00
    run.advance(timedelta(days=1, minutes=-5))
    run.restart_daemon()  # Tuesday 01:05: the window opened again, before this process
    run.advance(timedelta(minutes=5))
    run.simulator.crash(web)
    run.advance(timedelta(minutes=20))
    assert window_notes(run, "nightly") == ["2026-01-05", "2026-01-06"]
    run.close()
