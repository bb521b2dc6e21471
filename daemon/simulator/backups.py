"""Backups: jobs on the timeline (daily at 02:00 UTC, manual, 7-day retention) and their routes.

Each container has a daily slot at 02:00 UTC plus a few seconds (fixed per
container, as on a real cluster working through its list). At its slot a running
container gets a `scheduled` backup that completes (or fails, when backups are
made to fail) two to four seconds later; then retention deletes its unpinned,
finished backups created 7 days or more before that moment, so seven daily
backups remain. A container that is not running is not backed up (unless
`scheduled_backup_requires_running` is off), but its retention still runs at the
slot. Manual backups take `manual_backup_seconds` (three to eight by default).

Routes: list (newest first, `limit` at most 100), manual trigger (202), stats,
restore, pin, unpin, delete. A manual backup and a restore need a `running`
container; a restore restarts it as `PUT status restart` does (`restore_restarts`).
"""

import zlib
from datetime import datetime, timedelta
from typing import Any

from daemon.simulator.exchange import Call, Reply, bad_request, iso
from daemon.simulator.world import BackupRecord, ContainerRecord, World

DAY = timedelta(days=1)
RETENTION = timedelta(days=7)
FAILURE_MESSAGE = "Backup failed: snapshot upload to replicated storage timed out"
MAX_LIMIT = 100  # backups one list answer holds at most


# -- jobs on the timeline --------------------------------------------------------------


def schedule_daily_backups(world: World, container: ContainerRecord, now: datetime) -> None:
    """Put the container's first daily slot on the timeline (02:00 UTC + 5-54 s, by its id)."""
    offset = timedelta(seconds=5 + zlib.crc32(container.id.encode()) % 50)
    slot = now.replace(hour=2, minute=0, second=0, microsecond=0) + offset
    if slot <= now:
        slot += DAY
    world.timeline.schedule(slot, lambda at: _daily_slot(world, container, at))


def _daily_slot(world: World, container: ContainerRecord, at: datetime) -> None:
    if world.containers.get(container.id) is not container:
        return  # deleted: its schedule ends
    world.timeline.schedule(at + DAY, lambda next_at: _daily_slot(world, container, next_at))
    if container.status == "running" or not world.assumptions.scheduled_backup_requires_running:
        start_backup(world, container, "scheduled", at)
    else:
        apply_retention(world, container, at)


def start_backup(
    world: World, container: ContainerRecord, backup_type: str, now: datetime
) -> BackupRecord:
    """An `in_progress` backup that finishes on the timeline."""
    backup = BackupRecord(
        id=world.next_backup_id,
        container_id=container.id,
        container_name=container.name,
        backup_type=backup_type,
        status="in_progress",
        created_at=now,
        backup_server=f"cluster1host{1 + world.next_backup_id % 4}",
    )
    world.next_backup_id += 1
    world.add_backup(backup)
    shortest, longest = (
        (2, 4) if backup_type == "scheduled" else world.assumptions.manual_backup_seconds
    )
    seconds = world.rng.randint(shortest, longest)
    world.timeline.schedule(
        now + timedelta(seconds=seconds), lambda at: _finish(world, container, backup, at)
    )
    return backup


def _finish(world: World, container: ContainerRecord, backup: BackupRecord, at: datetime) -> None:
    if world.backups.get(backup.id) is not backup:
        return  # deleted while running
    backup.completed_at = at
    if world.backups_fail(container.id):
        backup.status = "failed"
        backup.error_message = FAILURE_MESSAGE
    else:
        backup.status = "completed"
        backup.snapshot_id = world.hex(8)
        backup.size_bytes = world.rng.randint(200_000, 9_000_000)
    if backup.backup_type == "scheduled":
        apply_retention(world, container, at)


def apply_retention(world: World, container: ContainerRecord, at: datetime) -> None:
    cutoff = at - RETENTION
    for backup in world.backups_of(container.id):
        if not backup.pinned and backup.status != "in_progress" and backup.created_at <= cutoff:
            world.remove_backup(backup)


# -- routes ----------------------------------------------------------------------------


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
    limit = call.bounded_count("limit", 50, MAX_LIMIT)
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
    backup = call.backup()
    c = call.world.containers[backup.container_id]
    assume = call.world.assumptions
    if backup.status != "completed" and assume.restore_requires_completed:
        raise bad_request(f"Backup {backup.id} cannot be restored: it is {backup.status}")
    _require_running(c, "restore a backup")
    if assume.restore_restarts:
        call.world.restart(c, call.now)
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
    backup = call.backup()
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
    backup = call.backup()
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
