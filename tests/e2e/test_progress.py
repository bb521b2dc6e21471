"""Progress of `backup` and `change` as a user sees it: plain lines on a pipe naming the
backup's status against the timeout, a live line on a terminal, nothing with --quiet."""

import os
import pty
import select
import subprocess

from tests.support.processes import command, free_port, run_cli, write_config


def quick_backups(simulator) -> None:
    """Manual backups that take a second or two instead of three to eight (test time)."""
    simulator.control("PATCH", "assumptions", manual_backup_seconds=[1, 2])


def run(config, key: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli(config, *args, key=key)


def test_backup_on_a_pipe_prints_plain_lines_with_status_and_timeout(simulator, tmp_path):
    simulator.seed("web")
    quick_backups(simulator)
    config = write_config(tmp_path, simulator.base_url, free_port())
    backed_up = run(config, simulator.key, "backup", "web")
    assert backed_up.returncode == 0, backed_up.stderr
    lines = backed_up.stderr.splitlines()
    assert lines[0] == "waiting for backup.create web"
    assert any("backup triggered, 0s of the 15m timeout" in line for line in lines), lines
    assert any(" completed, " in line and "of the 15m timeout" in line for line in lines), lines
    assert "\r" not in backed_up.stderr  # no live line on a pipe
    assert backed_up.stdout.startswith("backup ")


def test_quiet_prints_only_the_result(simulator, tmp_path):
    simulator.seed("web")
    quick_backups(simulator)
    config = write_config(tmp_path, simulator.base_url, free_port())
    changed = run(config, simulator.key, "change", "web", "restart", "--quiet")
    assert changed.returncode == 0, changed.stderr
    assert changed.stderr == ""
    assert changed.stdout.startswith("restart web: succeeded")


def test_backup_on_a_terminal_redraws_one_live_line(simulator, tmp_path):
    simulator.seed("web")
    quick_backups(simulator)
    config = write_config(tmp_path, simulator.base_url, free_port())
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command("--config", str(config), "backup", "web"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={"STACKS_API_KEY": simulator.key, "PATH": "/usr/bin:/bin"},
    )
    os.close(follower)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the process closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        assert process.wait(timeout=60) == 0
    text = shown.decode()
    assert "\r\x1b[Kbackup.create web: backup" in text
    assert "of the 15m timeout" in text
    assert text.endswith("\r\x1b[K")  # the line is cleared before the result
    assert b"waiting for" not in shown  # plain lines are for pipes
