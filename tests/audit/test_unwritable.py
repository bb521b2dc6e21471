"""A database that cannot be written: AuditWriteError, healthy() False, then recovery."""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from daemon.audit import AuditWriteError, new_action_id


@contextmanager
def write_lock_held(database_url: str) -> Iterator[None]:
    """Another client holds the write lock (works as root, unlike chmod)."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(database_url)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT * FROM audit_head FOR UPDATE"))
        yield
    engine.dispose()


def test_locked_database_fails_loudly_then_recovers(
    open_store: Callable, database_url: str
) -> None:
    store = open_store(busy_timeout=0.2)
    store.append("cli", "backup.create", "started", action_id=new_action_id())

    with write_lock_held(database_url):
        with pytest.raises(AuditWriteError) as caught:
            store.append(
                "cli", "container.stop", "started", action_id=new_action_id(), container_name="web"
            )
        assert not store.healthy()

    message = str(caught.value)
    assert "audit database" in message
    assert "`container.stop` `started` for web" in message
    assert "writable" in message
    assert store.healthy()
    store.append("cli", "container.stop", "started", action_id=new_action_id())
    assert store.verify().ok
    assert store.verify().checked == 2


def test_read_only_sqlite_database_is_not_healthy(tmp_path, clock) -> None:
    from daemon.audit import AuditStore

    path = tmp_path / "audit.db"
    AuditStore.open(f"sqlite:///{path}", "host:1", clock).close()
    read_only = AuditStore.open(f"sqlite:///file:{path}?mode=ro&uri=true", "host:1", clock)

    assert not read_only.healthy()
    with pytest.raises(AuditWriteError, match="readonly"):
        read_only.append("cli", "backup.create", "started", action_id=new_action_id())
    read_only.close()
