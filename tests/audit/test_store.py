"""The store's appends: from many threads and two processes they keep one chain; a database
that cannot be written fails loudly (AuditWriteError, healthy() False), then recovers."""

import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from daemon.audit import AuditStore, AuditWriteError, new_action_id
from tests.audit.append_worker import append_rows


def test_appends_from_many_threads_keep_one_chain(store: AuditStore) -> None:
    def append_some(worker: int) -> None:
        for index in range(20):
            store.append(
                f"policy:p{worker}",
                "backup.create",
                "started",
                action_id=new_action_id(),
                target=f"{worker}-{index}",
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append_some, range(6)))

    result = store.verify()
    assert (result.ok, result.checked) == (True, 120)
    assert len({row.target for row in store.query()}) == 120


def test_appends_from_two_processes_keep_one_chain(database_url: str, store: AuditStore) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=append_rows, args=(database_url, f"proc:{n}", 40, barrier))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0]
    result = store.verify()
    assert (result.ok, result.checked) == (True, 80)
    assert {row.instance for row in store.query()} == {"proc:0", "proc:1"}


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
    path = tmp_path / "audit.db"
    AuditStore.open(f"sqlite:///{path}", "host:1", clock).close()
    read_only = AuditStore.open(f"sqlite:///file:{path}?mode=ro&uri=true", "host:1", clock)

    assert not read_only.healthy()
    with pytest.raises(AuditWriteError, match="readonly"):
        read_only.append("cli", "backup.create", "started", action_id=new_action_id())
    read_only.close()
