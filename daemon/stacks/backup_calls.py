"""Backup endpoints: list, trigger, stats, restore, pin, unpin, delete."""

from collections.abc import Mapping
from typing import Any

from daemon.stacks import routes
from daemon.stacks.calls import (
    EndpointCalls,
    in_range,
    read_acknowledgement,
    read_body,
)
from daemon.stacks.fields import require_list, require_mapping, unwrap
from daemon.stacks.models import Backup, BackupStats
from daemon.stacks.ratebudget import Priority
from daemon.stacks.results import ActionResult, BackupTriggered

MAX_BACKUPS = 100


class BackupCalls(EndpointCalls):
    """Backups of one container and of the account."""

    def backups(
        self, container_id: str, limit: int = 50, *, priority: Priority | None = None
    ) -> tuple[Backup, ...]:
        def parse(body: Mapping[str, Any]) -> tuple[Backup, ...]:
            return tuple(Backup.from_api(item) for item in require_list(unwrap(body), "backups"))

        return self._call(
            routes.BACKUPS,
            read_body(parse),
            priority,
            params={"limit": in_range("limit", limit, 1, MAX_BACKUPS)},
            container_id=container_id,
        )

    def trigger_backup(
        self, container_id: str, *, priority: Priority | None = None
    ) -> BackupTriggered:
        """Start a manual backup (the container must be running); never retried blindly."""
        return self._call(
            routes.TRIGGER_BACKUP,
            read_body(BackupTriggered.from_api),
            priority,
            container_id=container_id,
        )

    def backup_stats(self, *, priority: Priority | None = None) -> BackupStats:
        def parse(body: Mapping[str, Any]) -> BackupStats:
            return BackupStats.from_api(require_mapping(unwrap(body), "backup stats"))

        return self._call(routes.BACKUP_STATS, read_body(parse), priority)

    def restore_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.RESTORE_BACKUP, read_acknowledgement, priority, backup_id=backup_id
        )

    def pin_backup(self, backup_id: int | str, *, priority: Priority | None = None) -> ActionResult:
        return self._call(routes.PIN_BACKUP, read_acknowledgement, priority, backup_id=backup_id)

    def unpin_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.UNPIN_BACKUP, read_acknowledgement, priority, backup_id=backup_id)

    def delete_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.DELETE_BACKUP, read_acknowledgement, priority, backup_id=backup_id)
