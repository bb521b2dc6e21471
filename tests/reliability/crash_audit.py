"""After a crash: the audit rows checked against the simulator's mutation log (the ground truth).

    rows = audit_rows(database_url)            # every row, oldest first, details parsed
    unfinished(rows)                           # action ids whose only row is `started`
    assert_reconciled(before, rows)            # each of them now has an `interrupted` row
    assert_every_mutation_audited(mutations, rows)
    assert_verify_ok(config_path)              # `stacks-opsd audit verify` exits 0

Works on SQLite and PostgreSQL alike (plain SELECTs through SQLAlchemy).
"""

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.support.processes import SimulatorProcess, command

COLUMNS = (
    "id, instance, actor, action, container_id, container_name, target, outcome, "
    "action_id, correlation_id, details"
)
CONTAINER_PATH = re.compile(r"/api/v1/containers/(?P<cid>[^/]+)(?P<rest>/.*)?")
BACKUP_PATH = re.compile(r"/api/v1/backups/(?P<bid>\d+)(?:/(?P<verb>pin|unpin|restore))?")
STATUS_ACTIONS = {
    "restart": "container.restart",
    "running": "container.start",
    "stopped": "container.stop",
}


def audit_rows(database_url: str) -> list[dict[str, Any]]:
    """Every audit row, oldest first; `details` parsed to a dict."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(f"SELECT {COLUMNS} FROM audit_log ORDER BY id"))
            rows = [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()
    for row in rows:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    return rows


def outcomes_by_action(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    by_action: dict[str, list[str]] = {}
    for row in rows:
        by_action.setdefault(row["action_id"], []).append(row["outcome"])
    return by_action


def unfinished(rows: list[dict[str, Any]]) -> set[str]:
    """Action ids whose only row is `started`: their outcome is unknown."""
    return {a for a, outcomes in outcomes_by_action(rows).items() if outcomes == ["started"]}


def assert_reconciled(unfinished_before: set[str], rows: list[dict[str, Any]]) -> None:
    """Every action left at `started` got one `interrupted` row; none got two."""
    outcomes = outcomes_by_action(rows)
    for action_id in unfinished_before:
        assert outcomes[action_id] == ["started", "interrupted"], (action_id, outcomes[action_id])
    assert not unfinished(rows), f"actions still without an outcome: {unfinished(rows)}"
    for action_id, seen in outcomes.items():
        assert seen.count("interrupted") <= 1, (action_id, seen)


def mutations(simulator: SimulatorProcess) -> list[dict[str, Any]]:
    return simulator.control("GET", "mutations").json()["mutations"]


def audited_action(mutation: dict[str, Any]) -> tuple[str, str]:
    """(audit action, container id) that must have been written before this API call."""
    method, path = mutation["method"], mutation["path"]
    container = CONTAINER_PATH.fullmatch(path)
    backup = BACKUP_PATH.fullmatch(path)
    if container and method == "POST" and container["rest"] == "/backup":
        return "backup.create", container["cid"]
    if container and method == "PUT" and container["rest"] == "/status":
        return STATUS_ACTIONS[mutation["body"]["status"]], container["cid"]
    if container and method == "DELETE" and not container["rest"]:
        return "container.delete", container["cid"]
    if backup and method == "POST" and backup["verb"]:
        return f"backup.{backup['verb']}", mutation["container_id"]
    raise AssertionError(f"a mutation stacks-opsd never makes: {method} {path}")


def assert_every_mutation_audited(
    applied: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> None:
    """Each accepted mutating request has its own action with a write-ahead `started` row."""
    needed = Counter(audited_action(m) for m in applied)
    started = Counter(
        (row["action"], row["container_id"]) for row in rows if row["outcome"] == "started"
    )
    for (action, container_id), count in needed.items():
        assert started[(action, container_id)] >= count, (
            f"{count} {action} request(s) reached STACKS for {container_id} but only "
            f"{started[(action, container_id)]} were audited before the call"
        )


def restarts_per_container(applied: list[dict[str, Any]]) -> Counter:
    return Counter(
        cid for m in applied for action, cid in [audited_action(m)] if action == "container.restart"
    )


def assert_verify_ok(*configs: Path) -> None:
    """`stacks-opsd audit verify` exits 0 for each config's database (run side by side)."""
    running = [
        subprocess.Popen(
            command("--config", str(config), "audit", "verify"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for config in configs
    ]
    for process in running:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "hash chain intact" in output
