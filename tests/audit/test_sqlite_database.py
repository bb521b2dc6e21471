"""SQLite specifics: WAL journal, and a database created by an older version is migrated."""

import sqlite3

from daemon.audit import GENESIS_HASH, AuditStore, new_action_id, row_hash
from daemon.clock import ManualClock

OLD_SCHEMA = """
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY, at DATETIME NOT NULL, instance VARCHAR NOT NULL,
    actor VARCHAR NOT NULL, action VARCHAR NOT NULL, container_id VARCHAR,
    container_name VARCHAR, target VARCHAR, outcome VARCHAR NOT NULL, reason VARCHAR,
    action_id VARCHAR NOT NULL, http_status INTEGER, error VARCHAR, details VARCHAR,
    prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL UNIQUE
)
"""


def test_sqlite_database_uses_wal(tmp_path) -> None:
    path = tmp_path / "audit.db"
    AuditStore.open(f"sqlite:///{path}", "host:1", ManualClock()).close()

    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_older_database_is_migrated_and_still_verifies(tmp_path) -> None:
    path = tmp_path / "audit.db"
    clock = ManualClock()
    old_row = {
        "at": clock.now(),
        "instance": "old:1",
        "actor": "cli",
        "action": "backup.create",
        "outcome": "succeeded",
        "action_id": new_action_id(),
        "prev_hash": GENESIS_HASH,
    }
    old_row["hash"] = row_hash(old_row)
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO audit_log (at, instance, actor, action, outcome, action_id, prev_hash, "
            "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (clock.now().strftime("%Y-%m-%d %H:%M:%S.%f"), *list(old_row.values())[1:]),
        )
    conn.close()

    store = AuditStore.open(f"sqlite:///{path}", "new:1", clock)
    added = store.append(
        "cli",
        "backup.pin",
        "started",
        action_id=new_action_id(),
        correlation_id="c-1",
        duration_ms=5,
    )

    assert added.prev_hash == old_row["hash"]
    assert store.verify().ok
    assert store.verify().checked == 2
    assert store.query(outcome="started")[0].correlation_id == "c-1"
    store.close()


def test_an_in_memory_database_works_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = AuditStore.open("sqlite://", "host:1", ManualClock())

    def append(index: int) -> None:
        store.append(
            "cli", "backup.create", "started", action_id=new_action_id(), target=str(index)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(40)))

    assert store.verify().checked == 40
    assert store.verify().ok
    assert store.healthy()
