"""The STACKS API call behind each audited action name, and which of them the gate guards."""

from collections.abc import Callable

from daemon.stacks.client import StacksClient
from daemon.stacks.ratebudget import Priority
from policies.base import Action

ACTION = Priority.ACTION

# Changes to a running container that need a backup first (SPEC 7, pre_change_backup).
GATED_ACTIONS = frozenset(
    ("container.restart", "container.stop", "container.delete", "backup.restore")
)


def _backup_id(action: Action) -> int:
    if action.target is None or not action.target.isdigit():
        raise ValueError(
            f"{action.action} for {action.container_name} needs a numeric backup id as its "
            f"target, got {action.target!r}"
        )
    return int(action.target)


API_CALLS: dict[str, Callable[[StacksClient, Action], object]] = {
    "container.restart": lambda client, a: client.restart(a.container_id, priority=ACTION),
    "container.stop": lambda client, a: client.stop(a.container_id, priority=ACTION),
    "container.start": lambda client, a: client.start(a.container_id, priority=ACTION),
    "container.delete": lambda client, a: client.delete_container(a.container_id, priority=ACTION),
    # Only with details {"wait": False}; a waited-for backup goes through the BackupGate.
    "backup.create": lambda client, a: client.trigger_backup(a.container_id, priority=ACTION),
    "backup.restore": lambda client, a: client.restore_backup(_backup_id(a), priority=ACTION),
    "backup.pin": lambda client, a: client.pin_backup(_backup_id(a), priority=ACTION),
    "backup.unpin": lambda client, a: client.unpin_backup(_backup_id(a), priority=ACTION),
}
