"""`stacks-opsd hold` over real processes: placed while a `change` waits for its pre-change
backup (a slow backup in the simulator), it waits until that action is done, showing on a
pipe what it waits for and whose it is; with --quiet it shows nothing; either way, when it
returns nothing is in flight on the held container any more. An action that outlasts
--wait-timeout: exit 1 naming it, and the hold stays placed."""

import subprocess
from pathlib import Path

from daemon.audit import AuditStore, new_action_id
from daemon.clock import SystemClock
from tests.support.processes import command, free_port, wait_until, write_config

BACKUP_SECONDS = 3  # the pre-change backup the hold has to wait for


def env(key: str) -> dict[str, str]:
    return {"STACKS_API_KEY": key, "PATH": "/usr/bin:/bin"}


def in_flight(database: Path) -> list:
    store = AuditStore.open(f"sqlite:///{database}", "test-reader", SystemClock(), role="cli")
    try:
        return store.actions_in_flight()
    finally:
        store.close()


def hold_during_a_change(simulator, tmp_path, *hold_options: str) -> subprocess.CompletedProcess:
    """Start `change web restart`, and once it is in flight place a hold on web."""
    config = write_config(tmp_path, simulator.base_url, free_port())
    database = tmp_path / "audit.db"
    change = subprocess.Popen(
        command("--config", str(config), "change", "web", "restart", "--quiet"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(simulator.key),
    )
    try:
        wait_until(lambda: database.exists() and in_flight(database), 20, "the change in flight")
        hold = subprocess.run(
            command("--config", str(config), "hold", "web", "--for", "10m", "--reason", "deploy")
            + list(hold_options),
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin"},  # a hold needs no API key
        )
        assert in_flight(database) == []  # when `hold` returns, nothing acts on web
    finally:
        out, err = change.communicate(timeout=60)
    assert change.returncode == 0, err
    assert out.startswith("restart web: succeeded")  # operator changes still work
    return hold


def test_hold_shows_on_a_pipe_what_it_waits_for(simulator, tmp_path):
    simulator.seed("web")
    simulator.control("PATCH", "assumptions", manual_backup_seconds=[BACKUP_SECONDS] * 2)
    hold = hold_during_a_change(simulator, tmp_path)
    assert hold.returncode == 0, hold.stderr
    assert hold.stdout.startswith("held web until ")
    lines = hold.stderr.splitlines()
    assert lines[0] == "waiting for hold web", lines
    assert any(
        line.startswith("hold web: container.restart of web by a `stacks-opsd` command (")
        and "of the 2m timeout" in line
        for line in lines
    ), lines
    assert "\r" not in hold.stderr  # no live line on a pipe


def test_hold_quiet_shows_nothing_while_it_waits(simulator, tmp_path):
    simulator.seed("web")
    simulator.control("PATCH", "assumptions", manual_backup_seconds=[BACKUP_SECONDS] * 2)
    hold = hold_during_a_change(simulator, tmp_path, "--quiet")
    assert hold.returncode == 0, hold.stderr
    assert hold.stderr == ""
    assert hold.stdout.startswith("held web until ")


def test_hold_times_out_naming_the_action_and_stays_placed(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9", free_port())  # hold calls no API
    daemon = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "opsd-1", SystemClock())
    try:
        action_id = new_action_id()
        assert daemon.claim("c-1", "container.restart", action_id) is None  # a restart that
        daemon.append(  # outlasts the wait: this live process never writes its outcome
            "policy:auto_restart", "container.restart", "started",
            action_id=action_id, container_id="c-1", container_name="web",
        )  # fmt: skip
        hold = subprocess.run(
            command(
                *("--config", str(config), "hold", "web", "--for", "10m", "--reason", "deploy"),
                *("--wait-timeout", "1s"),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin"},
        )
        assert hold.returncode == 1
        assert "container.restart of web by the daemon (opsd-1)" in hold.stderr
        assert "is in place" in hold.stderr and "may still finish" in hold.stderr
        assert [h.pattern for h in daemon.active_holds()] == ["web"]  # the hold stays
    finally:
        daemon.close()
