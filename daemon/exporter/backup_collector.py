"""Backup metrics, recomputed from each container's backup list on every scrape (as Velero does).

Only `completed` backups count as successes. A container whose backup list was
never fetched has no backup series at all (unknown is not "no backups"); a
container with a fetched list but no completed backup has
`stacks_backups{status="completed"} 0` and no last-success timestamp, which is
what alerts on never-backed-up containers should use.
`stacks_backup_list_timestamp_seconds` says when the list was read: staleness is
known only as of that moment (list time minus last success), so an alert on it
never fires merely because a list was not read again yet. Account totals come
from `GET /backups/stats`.
"""

from collections import Counter

from prometheus_client.core import GaugeMetricFamily

from daemon.exporter.fleet_collector import (
    CONTAINER_LABELS,
    Families,
    SnapshotCollector,
    container_label_values,
)
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import KNOWN_BACKUP_STATUSES


class BackupCollector(SnapshotCollector):
    """Per-container backup freshness and counts, plus account totals.

    Sample output:

        stacks_backup_last_success_timestamp_seconds{container_id=...,name=...} 1.7789868e+09
        stacks_backup_list_timestamp_seconds{container_id=...,name=...} 1.7789870e+09
        stacks_backups{container_id="usr-abc12345-db",name="db",status="completed"} 7.0
        stacks_backups{container_id="usr-abc12345-db",name="db",status="failed"} 0.0
        stacks_backups{container_id="usr-abc12345-db",name="db",status="in_progress"} 0.0
        stacks_backups_pinned{container_id="usr-abc12345-db",name="db"} 1.0
        stacks_backup_last_size_bytes{container_id="usr-abc12345-db",name="db"} 746862.0
        stacks_account_backups{status="total"} 32.0
        stacks_account_backup_size_bytes 5.933384e+06
    """

    @staticmethod
    def families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "stacks_backup_last_success_timestamp_seconds",
                "Unix time the newest completed backup finished, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_backup_list_timestamp_seconds",
                "Unix time the container's backup list was last read from STACKS.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_backup_last_pinned_timestamp_seconds",
                "Unix time the newest pinned backup was taken, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_backups",
                "Number of backups the API lists for the container by status, as of the last poll.",
                labels=(*CONTAINER_LABELS, "status"),
            ),
            GaugeMetricFamily(
                "stacks_backups_pinned",
                "Number of pinned backups of the container, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_backup_last_size_bytes",
                "Size in bytes of the newest completed backup, as of the last poll.",
                labels=CONTAINER_LABELS,
            ),
            GaugeMetricFamily(
                "stacks_account_backups",
                "Backups of the account by status (completed, failed, total), as of the last poll.",
                labels=("status",),
            ),
            GaugeMetricFamily(
                "stacks_account_backup_size_bytes",
                "Total size in bytes of the account's backups, as of the last poll.",
            ),
        )

    def add_samples(self, families: Families, snapshot: Snapshot) -> None:
        for view in snapshot.containers.values():
            if view.backups is not None:
                add_container_backups(families, view)
        stats = snapshot.backup_stats
        if stats is not None:
            for status, count in (
                ("completed", stats.completed_backups),
                ("failed", stats.failed_backups),
                ("total", stats.total_backups),
            ):
                families["stacks_account_backups"].add_metric([status], float(count))
            families["stacks_account_backup_size_bytes"].add_metric(
                [], float(stats.total_size_bytes)
            )


def add_container_backups(families: Families, view: ContainerView) -> None:
    """The backup series of one container whose backup list was fetched."""
    labels = container_label_values(view)
    backups = view.backups or ()
    if view.backups_at is not None:
        families["stacks_backup_list_timestamp_seconds"].add_metric(
            labels, view.backups_at.timestamp()
        )
    counts = Counter(dict.fromkeys(KNOWN_BACKUP_STATUSES, 0))
    counts.update(backup.status for backup in backups)
    for status, count in counts.items():
        families["stacks_backups"].add_metric([*labels, status], float(count))
    pinned = [backup for backup in backups if backup.pinned]
    families["stacks_backups_pinned"].add_metric(labels, float(len(pinned)))
    pinned_times = [backup.created_at for backup in pinned if backup.created_at is not None]
    if pinned_times:
        families["stacks_backup_last_pinned_timestamp_seconds"].add_metric(
            labels, max(pinned_times).timestamp()
        )
    newest = view.newest_completed_backup
    if newest is not None:
        finished = newest.completed_at or newest.created_at
        families["stacks_backup_last_success_timestamp_seconds"].add_metric(
            labels, finished.timestamp()
        )
        if newest.size_bytes is not None:
            families["stacks_backup_last_size_bytes"].add_metric(labels, float(newest.size_bytes))
