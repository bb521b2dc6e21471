"""Backup routes: list (newest first), manual trigger (202), stats, restore, pin, unpin, delete."""

from typing import Any

from daemon.simulator.backup_jobs import start_backup
from daemon.simulator.call import Call, bounded_count
from daemon.simulator.containers import restart
from daemon.simulator.exchange import Reply, bad_request
from daemon.simulator.isotime import iso
from daemon.simulator.state import BackupRecord, ContainerRecord

MAX_LIMIT = 100


def backup_view(b: BackupRecord) -> dict[str, Any]:
    return {
        "id": b.id,
        "container_id": b.container_id,
        "container_name": b.container_name,
        "backup_type": b.backup_type,
        "status": b.status,
        "snapshot_id": b.snapshot_id,
        "size_bytes": b.size_bytes,
        "backup_server": b.backup_server,
        "created_at": iso(b.created_at),
        "completed_at": iso(b.completed_at) if b.completed_at else None,
        "error_message": b.error_message,
        "pinned": int(b.pinned),
    }


def _require_running(c: ContainerRecord, doing: str) -> None:
    if c.status != "running":
        raise bad_request(f"Container {c.id} must be running to {doing} (it is {c.status})")


def list_backups(call: Call) -> Reply:
    c = call.container()
    limit = bounded_count(call, "limit", 50, MAX_LIMIT)
    newest_first = sorted(
        call.world.backups_of(c.id), key=lambda b: (b.created_at, b.id), reverse=True
    )
    return Reply({"success": True, "data": [backup_view(b) for b in newest_first[:limit]]})


def trigger_backup(call: Call) -> Reply:
    c = call.container()
    _require_running(c, "create a backup")
    if call.world.assumptions.manual_backup_requires_none_in_progress and any(
        b.status == "in_progress" for b in call.world.backups_of(c.id)
    ):
        raise bad_request(f"A backup of {c.id} is already in progress; wait until it finishes")
    backup = start_backup(call.world, c, "manual", call.now)
    return Reply(
        {
            "success": True,
            "message": "Backup started in background",
            "data": {"container_id": c.id, "status": "in_progress"},
        },
        status=202,
        container_id=c.id,
        backup_id=backup.id,
    )


def backup_stats(call: Call) -> Reply:
    world = call.world
    mine = [
        b
        for c in world.containers.values()
        if c.account == call.account
        for b in world.backups_of(c.id)
    ]
    completed = [b for b in mine if b.status == "completed"]
    failed = [b for b in mine if b.status == "failed"]
    last = max((b.created_at for b in mine), default=None)
    data = {
        "total_backups": len(mine),
        "completed_backups": str(len(completed)),
        "failed_backups": str(len(failed)),
        "total_size_bytes": str(sum(b.size_bytes or 0 for b in completed)),
        "last_backup_at": iso(last) if last else None,
    }
    return Reply({"success": True, "data": data})


def restore_backup(call: Call) -> Reply:
    backup = call.world.backup(call.account, call.params["backup_id"])
    c = call.world.containers[backup.container_id]
    assume = call.world.assumptions
    if backup.status != "completed" and assume.restore_requires_completed:
        raise bad_request(f"Backup {backup.id} cannot be restored: it is {backup.status}")
    _require_running(c, "restore a backup")
    if assume.restore_restarts:
        restart(call.world, c, call.now)
        message = f"Backup {backup.id} restored to {c.id}; the container was restarted."
    else:
        c.updated_at = call.now
        message = f"Backup {backup.id} restored to {c.id}."
    return Reply(
        {
            "success": True,
            "message": message,
            "data": {"backup_id": backup.id, "container_id": c.id, "status": c.status},
        },
        container_id=c.id,
        backup_id=backup.id,
    )


def _set_pinned(call: Call, pinned: bool) -> Reply:
    backup = call.world.backup(call.account, call.params["backup_id"])
    if pinned and backup.status != "completed" and call.world.assumptions.pin_requires_completed:
        raise bad_request(
            f"Only completed backups can be pinned; backup {backup.id} is {backup.status}"
        )
    backup.pinned = pinned
    return Reply(
        {
            "success": True,
            "message": f"Backup {backup.id} {'pinned' if pinned else 'unpinned'}",
            "data": {"id": backup.id, "pinned": int(pinned)},
        },
        container_id=backup.container_id,
        backup_id=backup.id,
    )


def pin_backup(call: Call) -> Reply:
    return _set_pinned(call, True)


def unpin_backup(call: Call) -> Reply:
    return _set_pinned(call, False)


def delete_backup(call: Call) -> Reply:
    backup = call.world.backup(call.account, call.params["backup_id"])
    if backup.status == "in_progress" and call.world.assumptions.delete_backup_requires_finished:
        raise bad_request(
            f"Backup {backup.id} is still in progress; delete it once it has finished"
        )
    call.world.remove_backup(backup)
    return Reply(
        {"success": True, "message": f"Backup {backup.id} deleted"},
        container_id=backup.container_id,
        backup_id=backup.id,
    )
