"""A separate process that appends audit rows, for the two-process chain test."""

from daemon.audit import AuditStore, new_action_id
from daemon.clock import ManualClock


def append_rows(database_url: str, instance: str, count: int, barrier) -> None:
    store = AuditStore.open(database_url, instance, ManualClock())
    barrier.wait(timeout=30)
    for index in range(count):
        store.append(
            "cli", "backup.create", "started", action_id=new_action_id(), target=str(index)
        )
    store.close()
