"""What `Progress` prints for a wait, per mode, on a manual clock (no threads, no sleep)."""

import io
from datetime import timedelta

from daemon.cli.progress import PLAIN_EVERY, Progress
from daemon.executor import BackupWait


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wait(status: str, seconds: int, backup_id: int | None = None) -> BackupWait:
    return BackupWait("web", timedelta(seconds=seconds), timedelta(minutes=15), status, backup_id)


def test_plain_lines_on_each_change_and_at_most_every_thirty_seconds_otherwise():
    out, clock = io.StringIO(), Ticks()
    progress = Progress(out, live=False, monotonic=clock, ticker=False)
    with progress.waiting("backup.create web"):
        progress.backup(wait("triggered", 0))
        clock.now += 2
        progress.backup(wait("in_progress", 2, 42))
        clock.now += 2
        progress.backup(wait("in_progress", 4, 42))  # the same status: no line
        progress.tick()
        clock.now += PLAIN_EVERY
        progress.tick()  # nothing new for 30 s: one line says it is still waiting
        clock.now += 1
        progress.backup(wait("completed", 35, 42))
    assert out.getvalue().splitlines() == [
        "waiting for backup.create web",
        "backup.create web: backup triggered, 0s of the 15m timeout (waiting 0s)",
        "backup.create web: backup 42 in_progress, 2s of the 15m timeout (waiting 2s)",
        "backup.create web: backup 42 in_progress, 4s of the 15m timeout (waiting 34s)",
        "backup.create web: backup 42 completed, 35s of the 15m timeout (waiting 35s)",
    ]


def test_a_live_line_is_redrawn_in_place_and_cleared_at_the_end():
    out, clock = io.StringIO(), Ticks()
    progress = Progress(out, live=True, monotonic=clock, ticker=False)
    with progress.waiting("container.restart web"):
        progress.backup(wait("in_progress", 3, 7))
        clock.now += 1
        progress.tick()
    assert out.getvalue() == (
        "\r\x1b[Kcontainer.restart web: backup 7 in_progress, 3s of the 15m timeout (waiting 0s)"
        "\r\x1b[Kcontainer.restart web: backup 7 in_progress, 3s of the 15m timeout (waiting 1s)"
        "\r\x1b[K"
    )


def test_quiet_prints_nothing():
    out = io.StringIO()
    progress = Progress(out, quiet=True, live=True, ticker=False)
    with progress.waiting("backup.create web"):
        progress.backup(wait("in_progress", 3, 7))
        progress.update("another action on web is in progress")
        progress.tick()
    assert out.getvalue() == ""
