"""Checks audit rows against the simulator's log of accepted mutating requests (the truth)."""

from collections import Counter

from daemon.audit import AuditLog
from daemon.simulator import Mutation

STATUS_ACTIONS = {
    "restart": "container.restart",
    "running": "container.start",
    "stopped": "container.stop",
}


def mutation_key(m: Mutation) -> tuple[str, str | None]:
    parts = m.path.removeprefix("/api/v1/").split("/")
    if m.method == "PUT" and parts[-1] == "status":
        return STATUS_ACTIONS[m.body["status"]], m.container_id
    if m.method == "POST" and parts[-1] == "backup":
        return "backup.create", m.container_id
    if m.method == "POST" and parts[0] == "backups":
        return f"backup.{parts[-1]}", parts[1]
    if m.method == "DELETE" and parts[0] == "containers":
        return "container.delete", m.container_id
    raise AssertionError(f"unexpected mutation {m.method} {m.path}")


def row_key(row: AuditLog) -> tuple[str, str | None]:
    if row.action.startswith("backup.") and row.action != "backup.create":
        return row.action, row.target
    return row.action, row.container_id


def accepted(row: AuditLog) -> bool:
    """A row saying STACKS accepted the request: succeeded, or a backup that ran and failed."""
    if row.outcome == "succeeded":
        return True
    return (
        row.action == "backup.create"
        and row.outcome == "failed"
        and '"triggered":true' in (row.details or "")
    )


def assert_audit_matches(rows: list[AuditLog], mutations: list[Mutation]) -> None:
    """Each accepted change has started+outcome rows; no row claims a change not made."""
    started = {r.action_id for r in rows if r.outcome == "started"}
    outcomes = [r for r in rows if accepted(r)]
    assert all(r.action_id in started for r in outcomes), "an outcome row without a started row"
    assert Counter(row_key(r) for r in outcomes) == Counter(mutation_key(m) for m in mutations)
