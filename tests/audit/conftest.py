"""Fixtures: every store test runs on SQLite and on PostgreSQL (own schema per test)."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from daemon.audit import AuditStore, new_action_id
from daemon.audit.engine import SQLITE_TIME_FORMAT
from daemon.clock import ManualClock
from tests.support.integration import postgres_url


def _postgres_schema_url() -> Iterator[str]:
    import psycopg

    base = postgres_url()
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    conninfo = base.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def another_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'another.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def open_store(database_url: str, clock: ManualClock) -> Iterator[Callable[..., AuditStore]]:
    """Open stores on `database_url` (same clock); all are closed after the test."""
    opened: list[AuditStore] = []

    def _open(instance: str = "test-host:1", busy_timeout: float = 5.0) -> AuditStore:
        store = AuditStore.open(database_url, instance, clock, busy_timeout=busy_timeout)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., AuditStore]) -> AuditStore:
    return open_store()


@pytest.fixture
def raw_sql(database_url: str) -> Iterator[Callable[..., list]]:
    """Run SQL directly against the database, bypassing the store (to tamper with it)."""
    engine = create_engine(database_url)

    def _run(statement: str, **params) -> list:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []

    yield _run
    engine.dispose()


@pytest.fixture
def sql_time(database_url: str) -> Callable:
    """A timestamp as raw SQL must bind it to pass for the store's: on SQLite the text the
    store writes (`SQLITE_TIME_FORMAT`, UTC), on PostgreSQL the aware moment."""

    def _bind(moment):
        if database_url.startswith("sqlite"):
            return moment.astimezone(UTC).strftime(SQLITE_TIME_FORMAT)
        return moment

    return _bind


@pytest.fixture
def filled(store: AuditStore, clock) -> AuditStore:
    entries = [
        ("policy:auto_restart", "container.restart", "started", "usr-0000abcd-web", "web"),
        ("policy:auto_restart", "container.restart", "succeeded", "usr-0000abcd-web", "web"),
        ("policy:weekly_pin", "backup.pin", "succeeded", "usr-0000abcd-db", "db"),
        ("cli", "container.stop", "failed", "usr-0000abcd-db", "db"),
        ("policy:auto_restart", "container.restart", "gave_up", "usr-0000abcd-web", "web"),
    ]
    for actor, action, outcome, container_id, name in entries:
        store.append(
            actor,
            action,
            outcome,
            action_id=new_action_id(),
            container_id=container_id,
            container_name=name,
        )
        clock.advance(3600)
    return store
