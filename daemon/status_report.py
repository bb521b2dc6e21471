"""The `/status` document: the snapshot and the policies' view of each container, as JSON.

The runtime builds it from the current snapshot and its last evaluation; the
exporter's server serves it.

Each container carries one entry per deciding policy, under the policy's name:
what the policy's `describe` says of its state, or null while it has none.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from daemon.snapshot import Snapshot


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def status_document(
    snapshot: Snapshot,
    *,
    leader: bool,
    instance: str,
    dry_run: bool,
    policy_states: Mapping[str, Mapping[str, Mapping[str, Any]]],
    now: datetime,
) -> dict[str, Any]:
    """`policy_states`: policy name -> container id -> the policy's description of it."""
    containers = []
    for view in sorted(snapshot.containers.values(), key=lambda v: v.container.name):
        newest = view.newest_completed_backup
        containers.append(
            {
                "id": view.container.id,
                "name": view.container.name,
                "status": view.container.status,
                "type": view.container.type,
                "plan": view.container.plan,
                "metrics_at": iso(view.metrics_at),
                "backups_at": iso(view.backups_at),
                "newest_completed_backup": None
                if newest is None
                else {"id": newest.id, "created_at": iso(newest.created_at)},
                "pinned_backups": sum(1 for b in view.backups or () if b.pinned),
                **{name: states.get(view.container.id) for name, states in policy_states.items()},
            }
        )
    return {
        "instance": instance,
        "leader": leader,
        "dry_run": dry_run,
        "now": iso(now),
        "api_up": snapshot.status_ok,
        "last_poll": iso(snapshot.taken_at),
        "last_error": snapshot.last_error,
        "containers": containers,
    }
