"""Every change the executor makes: its request, the state that authorises it, and its proof.

For each audited action name (`container.restart`, `backup.pin`, ...) a `Change`
says three things:

- `read`: what to read from STACKS right before the request (the container's
  status, or its backup list), the same read that later verifies the change;
- `unwanted`: why the change must not go ahead given what that read shows (the
  status moved on since the decision, the backup is already pinned, the
  container is gone), or None;
- `applied`: whether a read-back after an ambiguous answer shows the change
  happened (True), or cannot tell (False: the row says `unknown`).

`GATED` names the changes to a running container that need a backup first (SPEC 7),
and `BACKUP_CHANGES` those after which the container's backup list is stale. A
start is gated too: the guide does not say what starting a running container
does (it may restart it), so one sent to a running container is backed up first;
a stopped one needs no backup.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from daemon.audit import AuditAction
from daemon.stacks import MAX_BACKUPS, Backup, NotFoundError, Priority, StacksClient
from policies import Action

ACTION = Priority.ACTION
GONE = "gone"  # what a container read shows once STACKS answers 404

GATED = frozenset(
    (
        AuditAction.CONTAINER_RESTART,
        AuditAction.CONTAINER_STOP,
        AuditAction.CONTAINER_START,
        AuditAction.CONTAINER_DELETE,
        AuditAction.BACKUP_RESTORE,
    )
)
BACKUP_CHANGES = frozenset(
    (
        AuditAction.BACKUP_CREATE,
        AuditAction.BACKUP_PIN,
        AuditAction.BACKUP_UNPIN,
        AuditAction.BACKUP_RESTORE,
    )
)


@dataclass(frozen=True)
class Seen:
    """What one read of STACKS showed: a container's status, or its backups."""

    status: str | None = None
    updated_at: datetime | None = None
    backups: tuple[Backup, ...] | None = None

    def describe(self) -> dict[str, object]:
        """For the audit row's details."""
        if self.backups is not None:
            return {"backups_listed": len(self.backups)}
        seen: dict[str, object] = {"status": self.status}
        if self.updated_at is not None:
            seen["updated_at"] = self.updated_at.isoformat()
        return seen

    def backup(self, backup_id: str | None) -> Backup | None:
        return next((b for b in self.backups or () if str(b.id) == backup_id), None)


def read_container(client: StacksClient, action: Action) -> Seen:
    try:
        container = client.container_status(action.container_id, priority=ACTION)
    except NotFoundError:
        return Seen(status=GONE)
    return Seen(status=container.status, updated_at=container.updated_at)


def list_backups(client: StacksClient, container_id: str) -> tuple[Backup, ...]:
    """The container's backups as a change sees them: all that STACKS lists, at ACTION."""
    return client.backups(container_id, limit=MAX_BACKUPS, priority=ACTION)


def read_backups(client: StacksClient, action: Action) -> Seen:
    return Seen(backups=list_backups(client, action.container_id))


def _backup_id(action: Action) -> int:
    if action.target is None or not action.target.isdigit():
        raise ValueError(
            f"{action.action} for {action.container_name} needs a numeric backup id as its "
            f"target, got {action.target!r}"
        )
    return int(action.target)


def _moved_on(seen: Seen, expected: str | None) -> str | None:
    if seen.status == GONE:
        return "the container no longer exists"
    if expected is not None and seen.status != expected:
        return f"its status is now {seen.status} (the decision saw {expected})"
    return None


def _advanced(before: Seen, after: Seen) -> bool:
    """STACKS changed the container after the read that authorised the request."""
    return (
        before.updated_at is not None
        and after.updated_at is not None
        and after.updated_at > before.updated_at
    )


def _restarted(before: Seen, after: Seen) -> bool:
    if after.status in (GONE, "stopped", "error", None):
        return False
    return _advanced(before, after) or (after.status == "running" and before.status != "running")


def _now_in(status: str) -> Callable[[Seen, Seen], bool]:
    """The read-back shows the container moved to `status`: it is in it now, and was not
    before, or STACKS changed it since (a start sent to a running container that STACKS
    restarted)."""

    def applied(before: Seen, after: Seen) -> bool:
        return after.status == status and (before.status != status or _advanced(before, after))

    return applied


def _pin_unwanted(pinned: bool) -> Callable[[Seen, str | None, Action], str | None]:
    def unwanted(seen: Seen, expected: str | None, action: Action) -> str | None:
        backup = seen.backup(action.target)
        if backup is None:
            return f"backup {action.target} is no longer listed"
        if backup.pinned == pinned:
            return f"backup {action.target} is already {'pinned' if pinned else 'unpinned'}"
        if pinned and action.unless_pinned_within is not None:
            start, end = action.unless_pinned_within
            for other in seen.backups or ():
                created = other.created_at
                if other.pinned and created is not None and start <= created < end:
                    return (
                        f"backup {other.id}, created {created.isoformat()}, is pinned "
                        f"already, and the pin was to be the only one created from "
                        f"{start.isoformat()} to {end.isoformat()}"
                    )
        return None

    return unwanted


def _pinned_now(pinned: bool) -> Callable[[Seen, Seen, Action], bool]:
    def applied(before: Seen, after: Seen, action: Action) -> bool:
        backup = after.backup(action.target)
        return backup is not None and backup.pinned == pinned

    return applied


def _new_backup(before: Seen, after: Seen, action: Action) -> bool:
    known = {b.id for b in before.backups or ()}
    return any(b.id not in known and not b.scheduled for b in after.backups or ())


@dataclass(frozen=True)
class Change:
    send: Callable[[StacksClient, Action], object]
    read: Callable[[StacksClient, Action], Seen]
    unwanted: Callable[[Seen, str | None, Action], str | None]
    applied: Callable[[Seen, Seen, Action], bool]


def _container_change(
    send: Callable[[StacksClient, Action], object], applied: Callable[[Seen, Seen], bool]
) -> Change:
    return Change(
        send,
        read_container,
        lambda seen, expected, action: _moved_on(seen, expected),
        lambda before, after, action: applied(before, after),
    )


CHANGES: dict[AuditAction, Change] = {
    AuditAction.CONTAINER_RESTART: _container_change(
        lambda client, a: client.restart(a.container_id, priority=ACTION), _restarted
    ),
    AuditAction.CONTAINER_STOP: _container_change(
        lambda client, a: client.stop(a.container_id, priority=ACTION), _now_in("stopped")
    ),
    AuditAction.CONTAINER_START: _container_change(
        lambda client, a: client.start(a.container_id, priority=ACTION), _now_in("running")
    ),
    AuditAction.CONTAINER_DELETE: _container_change(
        lambda client, a: client.delete_container(a.container_id, priority=ACTION),
        lambda before, after: after.status == GONE,
    ),
    AuditAction.BACKUP_RESTORE: _container_change(
        lambda client, a: client.restore_backup(_backup_id(a), priority=ACTION),
        lambda before, after: after.status != GONE and _advanced(before, after),
    ),
    # Only with `wait=False`; a waited-for backup goes through the BackupGate.
    AuditAction.BACKUP_CREATE: Change(
        lambda client, a: client.trigger_backup(a.container_id, priority=ACTION),
        read_backups,
        lambda seen, expected, action: None,
        _new_backup,
    ),
    AuditAction.BACKUP_PIN: Change(
        lambda client, a: client.pin_backup(_backup_id(a), priority=ACTION),
        read_backups,
        _pin_unwanted(True),
        _pinned_now(True),
    ),
    AuditAction.BACKUP_UNPIN: Change(
        lambda client, a: client.unpin_backup(_backup_id(a), priority=ACTION),
        read_backups,
        _pin_unwanted(False),
        _pinned_now(False),
    ),
}
