"""Hand-built snapshots and audit rows for the policy unit tests, and the states policies
fold from those rows."""

import itertools
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from daemon.evaluation import fold_rows
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import Backup, Container
from policies import Action, Decision, HistoryRow, Note, Policy

_ids = itertools.count(1)


def container(name: str = "app", status: str = "running") -> Container:
    return Container(id=f"usr-abc12345-{name}", name=name, status=status)


def backup(
    backup_id: int, created_at: datetime, *, status: str = "completed", pinned: bool = False
) -> Backup:
    return Backup(
        id=backup_id,
        container_id="usr-abc12345-app",
        status=status,
        created_at=created_at,
        pinned=pinned,
    )


def snapshot(
    at: datetime,
    *containers: Container,
    backups: dict[str, Iterable[Backup]] | None = None,
    status_ok: bool = True,
) -> Snapshot:
    backups = backups or {}
    views = {
        c.id: ContainerView(
            container=c,
            seen_at=at,
            backups=tuple(backups[c.name]) if c.name in backups else None,
            backups_at=at if c.name in backups else None,
        )
        for c in containers
    }
    return Snapshot(taken_at=at, status_ok=status_ok, containers=views)


def row(
    at: datetime,
    actor: str,
    action: str,
    outcome: str,
    *,
    container_id: str = "usr-abc12345-app",
    target: str | None = None,
    details: dict | None = None,
    action_id: str | None = None,
) -> HistoryRow:
    details = details or {}
    return HistoryRow(
        id=next(_ids),
        at=at,
        actor=actor,
        action=action,
        outcome=outcome,
        action_id=action_id or uuid.uuid4().hex,
        container_id=container_id,
        target=target,
        event=details.get("event"),
        iso_week=details.get("iso_week"),
        dry_run=details.get("dry_run") is True,
    )


def folded(policy: Policy, rows: Iterable[HistoryRow]) -> Mapping[str, Any]:
    """The per-container states `policy` folds from `rows` (oldest first)."""
    return fold_rows(policy, {}, rows)


def performed(
    decisions: Iterable[Decision], at: datetime, outcome: str = "succeeded"
) -> list[HistoryRow]:
    """The rows an executor writes for `decisions` when every API call ends in `outcome`."""
    rows = []
    for decision in decisions:
        action_id = uuid.uuid4().hex
        common = dict(
            container_id=decision.container_id,
            target=decision.target,
            details=dict(decision.details),
            action_id=action_id,
        )
        if isinstance(decision, Note):
            if outcome == "dry_run":  # what the executor marks in dry-run mode
                common["details"] = {**common["details"], "dry_run": True}
            rows.append(row(at, decision.actor, decision.action, decision.outcome, **common))
        elif isinstance(decision, Action):
            first = "dry_run" if outcome == "dry_run" else "started"
            rows.append(row(at, decision.actor, decision.action, first, **common))
            if outcome != "dry_run":
                rows.append(row(at, decision.actor, decision.action, outcome, **common))
    return rows
