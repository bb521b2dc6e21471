"""Backups as jobs on the timeline: daily scheduled runs at 02:00 UTC, manual runs, 7-day retention.

Each container has a daily slot at 02:00 UTC plus a few seconds (fixed per
container, as on a real cluster working through its list). At its slot a running
container gets a `scheduled` backup that completes (or fails, when backups are
made to fail) two to four seconds later; then retention deletes its unpinned,
finished backups created 7 days or more before that moment, so seven daily
backups remain. A container that is not running is not backed up (unless
`scheduled_backup_requires_running` is off), but its retention still runs at the
slot. Manual backups take `manual_backup_seconds` (three to eight by default).
"""

import zlib
from datetime import datetime, timedelta

from daemon.simulator.state import BackupRecord, ContainerRecord, World

DAY = timedelta(days=1)
RETENTION = timedelta(days=7)
FAILURE_MESSAGE = "Backup failed: snapshot upload to replicated storage timed out"


def schedule_daily_backups(world: World, container: ContainerRecord, now: datetime) -> None:
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
