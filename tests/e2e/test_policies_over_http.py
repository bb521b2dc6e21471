"""Policies in `stacks-opsd run` over real HTTP, and operator commands through the gate.

The simulator's log of accepted mutating requests is the truth: every change in it
has its `started` and outcome audit rows, and no audit row claims a change the
simulator did not receive.
"""

import json
import subprocess

import httpx

from daemon.audit import AuditLog, AuditStore
from daemon.clock import SystemClock
from daemon.simulator import Mutation
from tests.policies.audit_truth import assert_audit_matches
from tests.support.processes import (
    free_port,
    metric_lines,
    run_cli,
    wait_until,
    write_config,
)


def mutations(simulator) -> list[Mutation]:
    listed = simulator.control("GET", "mutations").json()["mutations"]
    return [Mutation(**entry) for entry in listed]


def audit_rows(database) -> list[AuditLog]:
    store = AuditStore.open(f"sqlite:///{database}", "test", SystemClock())
    try:
        return store.query()
    finally:
        store.close()


def cli(config, key: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli(config, *args, key=key)


def test_a_crash_is_restarted_and_shows_in_mutations_audit_and_metrics(
    simulator, start_daemon, tmp_path
):
    web = simulator.seed("web")
    simulator.seed("shop-db", "postgresql")
    daemon, port = start_daemon()
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the daemon to become ready")  # fmt: skip

    simulator.control("POST", f"containers/{web}/crash")

    def restarted():
        return [m for m in mutations(simulator) if m.path.endswith(f"/{web}/status")]

    restarts = wait_until(restarted, 10, "the daemon to restart web")
    assert restarts[0].body == {"status": "restart"}

    listed = cli(tmp_path / "config.toml", simulator.key, "audit", "list", "--format", "json",
                 "--container", "web", "--action", "container.restart")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    outcomes = [row["outcome"] for row in json.loads(listed.stdout)]
    assert outcomes[:2] == ["started", "succeeded"]
    mistyped = cli(tmp_path / "config.toml", simulator.key, "audit", "list", "--action", "restart")
    assert mistyped.returncode == 2  # not an empty table that looks like "nothing happened"
    assert "invalid choice: 'restart' (choose from 'container.restart'" in mistyped.stderr

    def counted():
        return any(
            'action="container.restart"' in line and 'outcome="succeeded"' in line
            and 'policy="auto_restart"' in line and line.endswith(" 1.0")
            for line in metric_lines(port, "stacks_opsd_actions_total")
        )  # fmt: skip

    wait_until(counted, 15, "stacks_opsd_actions_total to count the restart")
    assert daemon.terminate() == 0
    assert_audit_matches(audit_rows(tmp_path / "audit.db"), mutations(simulator))


def test_change_takes_a_backup_first_and_backup_pins(simulator, tmp_path):
    web = simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())

    changed = cli(config, simulator.key, "change", "web", "restart")
    assert changed.returncode == 0, changed.stderr
    assert "restart web: succeeded (pre-change backup" in changed.stdout

    log = mutations(simulator)
    assert [m.path.rsplit("/", 1)[-1] for m in log] == ["backup", "status"]
    rows = audit_rows(tmp_path / "audit.db")
    backup_row = next(r for r in rows if r.action == "backup.create" and r.outcome == "succeeded")
    change_row = next(
        r for r in rows if r.action == "container.restart" and r.outcome == "succeeded"
    )
    assert change_row.correlation_id == backup_row.correlation_id
    assert change_row.target == backup_row.target
    assert json.loads(change_row.details)["backup_id"] == int(backup_row.target)

    pinned = cli(config, simulator.key, "backup", "web", "--pin")
    assert pinned.returncode == 0, pinned.stderr
    backup_id = int(pinned.stdout.split()[1])
    auth = {"Authorization": f"Bearer {simulator.key}"}
    listed = httpx.get(f"{simulator.base_url}/containers/{web}/backups", headers=auth).json()
    pins = {b["id"]: b["pinned"] for b in listed["data"]}
    assert pins[backup_id] == 1
    assert backup_id != int(backup_row.target)
    assert_audit_matches(audit_rows(tmp_path / "audit.db"), mutations(simulator))


def test_a_change_whose_backup_fails_is_aborted_and_changes_nothing(simulator, tmp_path):
    web = simulator.seed("web")
    simulator.control("POST", "backups/fail", container_id=web, enabled=True)
    config = write_config(tmp_path, simulator.base_url, free_port())

    changed = cli(config, simulator.key, "change", "web", "stop")
    assert changed.returncode == 1
    assert "aborted" in changed.stderr
    assert not [m for m in mutations(simulator) if m.path.endswith("/status")]
    status = httpx.get(f"{simulator.base_url}/containers/status/{web}",
                       headers={"Authorization": f"Bearer {simulator.key}"}).json()  # fmt: skip
    assert status["status"] == "running"
    assert_audit_matches(audit_rows(tmp_path / "audit.db"), mutations(simulator))


def test_backup_says_what_it_did_in_dry_run_and_without_waiting(simulator, tmp_path):
    web = simulator.seed("web")
    config = write_config(tmp_path, simulator.base_url, free_port())
    (tmp_path / "dry").mkdir()
    dry = write_config(tmp_path / "dry", simulator.base_url, free_port())
    dry.write_text(dry.read_text().replace("[daemon]\n", "[daemon]\ndry_run = true\n", 1))

    for flags in ((), ("--no-wait",)):
        rehearsed = cli(dry, simulator.key, "backup", "web", *flags)
        assert rehearsed.returncode == 0, rehearsed.stderr
        assert rehearsed.stdout == "backup of web: dry_run (daemon.dry_run: nothing was sent)\n"
    assert mutations(simulator) == []

    triggered = cli(config, simulator.key, "backup", "web", "--no-wait")
    assert triggered.returncode == 0, triggered.stderr
    assert triggered.stdout == "backup of web triggered (not waiting)\n"
    assert [m.path for m in mutations(simulator)] == [f"/api/v1/containers/{web}/backup"]
