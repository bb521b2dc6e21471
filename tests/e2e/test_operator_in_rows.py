"""Which person acted: every audit row an operator's `change` or `backup` writes (the change,
its pre-change backup, a backup and its pin; `started` and outcome alike) names them in
`details.operator`, user@host as the holds they place record it in `set_by`."""

import json
import socket
import subprocess

from tests.e2e.test_policies_over_http import audit_rows
from tests.support.processes import free_port, run_cli, write_config

OPERATOR = f"ops-alice@{socket.gethostname()}"


def as_alice(config, key: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli(config, *args, key=key, user="ops-alice")


def test_change_and_backup_rows_name_the_operator_who_ran_them(simulator, tmp_path):
    simulator.seed("web")
    simulator.control("PATCH", "assumptions", manual_backup_seconds=[1, 2])
    config = write_config(tmp_path, simulator.base_url, free_port())

    for args in (("change", "web", "restart"), ("backup", "web", "--pin")):
        done = as_alice(config, simulator.key, *args, "--quiet")
        assert done.returncode == 0, done.stderr
    held = as_alice(config, simulator.key, "hold", "web", "--for", "1h", "--reason", "x")
    assert held.returncode == 0, held.stderr

    rows = audit_rows(tmp_path / "audit.db")
    acted = [
        (row.action, row.outcome, json.loads(row.details or "{}").get("operator"))
        for row in rows
        if row.actor == "cli" and not row.action.startswith("hold.")
    ]
    assert acted == [
        ("backup.create", "started", OPERATOR),  # the pre-change backup
        ("backup.create", "succeeded", OPERATOR),
        ("container.restart", "started", OPERATOR),
        ("container.restart", "succeeded", OPERATOR),
        ("backup.create", "started", OPERATOR),
        ("backup.create", "succeeded", OPERATOR),
        ("backup.pin", "started", OPERATOR),
        ("backup.pin", "succeeded", OPERATOR),
    ]
    hold_set = next(row for row in rows if row.action == "hold.set")
    assert json.loads(hold_set.details)["set_by"] == OPERATOR
