"""Backup series are recomputed from the backup list: completed backups only count as successes."""

from datetime import timedelta

from daemon.exporter import BackupCollector
from daemon.stacks import BackupStats
from tests.exporter.samples import T0, backup, ids, labels, registry_with, series, snapshot, view

DAY, SECOND = timedelta(days=1), timedelta(seconds=1)


def test_last_success_is_the_newest_completed_backup_not_a_newer_failure():
    backups = (
        backup(1, "db", "completed", T0 - 3 * DAY, pinned=True, size_bytes=500),
        backup(2, "db", "completed", T0 - DAY, size_bytes=746862, completed_at=T0 - DAY + SECOND),
        backup(3, "db", "failed", T0 - timedelta(hours=2)),
        backup(4, "db", "in_progress", T0 - timedelta(minutes=1)),
    )
    registry = registry_with(BackupCollector(lambda: snapshot(view("db", backups=backups))))
    db = labels(**ids("db"))

    assert series(registry, "stacks_backup_last_success_timestamp_seconds") == {
        db: (T0 - DAY + SECOND).timestamp()
    }
    assert series(registry, "stacks_backup_last_size_bytes") == {db: 746862}
    assert series(registry, "stacks_backups") == {
        labels(**ids("db"), status="completed"): 2,
        labels(**ids("db"), status="failed"): 1,
        labels(**ids("db"), status="in_progress"): 1,
    }
    assert series(registry, "stacks_backups_pinned") == {db: 1}
    assert series(registry, "stacks_backup_last_pinned_timestamp_seconds") == {
        db: (T0 - 3 * DAY).timestamp()
    }


def test_success_without_completed_at_falls_back_to_created_at():
    backups = (backup(1, "db", "completed", T0 - DAY),)
    registry = registry_with(BackupCollector(lambda: snapshot(view("db", backups=backups))))

    assert series(registry, "stacks_backup_last_success_timestamp_seconds") == {
        labels(**ids("db")): (T0 - DAY).timestamp()
    }


def test_no_completed_backup_shows_zero_completed_and_no_success_time():
    backups = (backup(1, "db", "failed", T0 - DAY), backup(2, "db", "archived", T0))
    registry = registry_with(BackupCollector(lambda: snapshot(view("db", backups=backups))))

    assert series(registry, "stacks_backups") == {
        labels(**ids("db"), status="completed"): 0,
        labels(**ids("db"), status="failed"): 1,
        labels(**ids("db"), status="in_progress"): 0,
        labels(**ids("db"), status="archived"): 1,
    }
    assert series(registry, "stacks_backup_last_success_timestamp_seconds") == {}
    assert series(registry, "stacks_backups_pinned") == {labels(**ids("db")): 0}


def test_unfetched_backup_list_has_no_series_at_all():
    registry = registry_with(BackupCollector(lambda: snapshot(view("db"))))

    assert series(registry, "stacks_backups") == {}
    assert series(registry, "stacks_backups_pinned") == {}


def test_account_totals_come_from_backup_stats():
    stats = BackupStats(
        total_backups=32,
        completed_backups=31,
        failed_backups=1,
        total_size_bytes=5933384,
        last_backup_at=T0,
    )
    registry = registry_with(BackupCollector(lambda: snapshot(backup_stats=stats)))

    assert series(registry, "stacks_account_backups") == {
        labels(status="completed"): 31,
        labels(status="failed"): 1,
        labels(status="total"): 32,
    }
    assert series(registry, "stacks_account_backup_size_bytes") == {(): 5933384}


def test_without_stats_there_are_no_account_series():
    registry = registry_with(BackupCollector(lambda: snapshot()))

    assert series(registry, "stacks_account_backups") == {}
    assert series(registry, "stacks_account_backup_size_bytes") == {}
