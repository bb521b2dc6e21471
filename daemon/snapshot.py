"""The immutable, timestamped picture of the fleet that the poller publishes.

The poller replaces the whole Snapshot atomically in a `LatestSnapshot`, built
before either side; the collectors, `/status` and the policies read whichever one
is current. Fail-closed: a failed status poll
keeps the last known containers and marks the snapshot stale (`status_ok` is
False), it never turns into "no containers".
"""

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from daemon.stacks import Backup, BackupStats, Container, ContainerMetrics, newest_completed


@dataclass(frozen=True)
class ContainerView:
    """One container and the data fetched about it, each part with its fetch time."""

    container: Container
    seen_at: datetime
    metrics: ContainerMetrics | None = None
    metrics_at: datetime | None = None
    backups: tuple[Backup, ...] | None = None
    backups_at: datetime | None = None
    backups_changed: bool = False  # the daemon changed them since `backups_at`: re-read first
    # The list's last read in the refresh rotation (None: `backups_at`); reads besides it
    # (confirming the scheduled backups, after a change) leave its next turn where it was.
    backups_rotation_at: datetime | None = None

    @property
    def newest_completed_backup(self) -> Backup | None:
        """The newest completed backup the list showed (None when unknown or none)."""
        return newest_completed(self.backups or ())


@dataclass(frozen=True)
class Snapshot:
    """What the daemon knows, as of `taken_at` (the last successful status poll)."""

    taken_at: datetime | None = None
    status_ok: bool = False
    containers: Mapping[str, ContainerView] = field(default_factory=dict)
    backup_stats: BackupStats | None = None
    backup_stats_at: datetime | None = None
    last_error: str | None = None

    def with_status_failure(self, error: str) -> "Snapshot":
        """The same containers, marked stale after a failed status poll."""
        return replace(self, status_ok=False, last_error=error)


class LatestSnapshot:
    """The current Snapshot, shared by the poller that publishes it and its readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = Snapshot()

    def read(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def publish(self, change: Callable[[Snapshot], Snapshot]) -> Snapshot:
        """Replace the snapshot with `change(current)`, atomically; returns the new one."""
        with self._lock:
            self._snapshot = change(self._snapshot)
            return self._snapshot
