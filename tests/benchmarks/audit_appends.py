"""Benchmark 5: audit appends per second with the hash chain, against plain inserts.

`AuditStore.append` (redaction, canonical JSON, SHA-256 chained to the previous
row, the `audit_head` row locked and updated, one transaction per row) is timed
against a baseline of SQLAlchemy core inserts into a table of the same shape
(same columns and indexes, hash columns filled with fixed unique values), one
transaction per row too, on the same kind of database, alternating in rounds in
this process. SQLite files get WAL like the store's; PostgreSQL runs each side in
a schema of its own, dropped afterwards.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, create_engine, insert, text

from daemon.audit import AuditLog, AuditStore, enable_wal, new_action_id
from daemon.clock import SystemClock


@dataclass
class AuditResult:
    database: str
    appends: int
    chain_per_second: float
    plain_per_second: float

    @property
    def ratio(self) -> float:
        """Chained appends per second ÷ plain inserts per second."""
        return self.chain_per_second / self.plain_per_second


def sample_row(i: int) -> dict:
    """A typical auto-restart row (the daemon's most frequent)."""
    return {
        "actor": "policy:auto_restart",
        "action": "container.restart",
        "outcome": "started" if i % 2 == 0 else "succeeded",
        "action_id": new_action_id(),
        "container_id": f"usr-abc12345-app-{i % 1000:04d}",
        "container_name": f"app-{i % 1000:04d}",
        "reason": "status error for 12 s; restart 1 of 5 within 1h",
        "http_status": None if i % 2 == 0 else 200,
        "details": {"attempt": 1, "backoff_seconds": 10},
        "duration_ms": None if i % 2 == 0 else 42.0,
    }


def plain_values(row: dict, i: int) -> dict:
    """The same row as stored, without computing the chain."""
    values = {k: v for k, v in row.items() if k != "details"}
    values.update(
        at=datetime.now(UTC),
        instance="bench:1",
        details='{"attempt":1,"backoff_seconds":10}',
        duration_ms=row["duration_ms"] and round(row["duration_ms"]),
        prev_hash=f"{i:064x}",
        hash=f"{i + 1:064x}",
    )
    return values


def run_audit(
    database: str, urls: Callable[[], Iterator[tuple[str, str]]], appends: int, rounds: int
) -> AuditResult:
    """`urls` is a context manager yielding (store url, plain url) on empty databases."""
    with urls() as (store_url, plain_url):
        store = AuditStore.open(store_url, "bench:1", SystemClock())
        engine, table = plain_table(plain_url)
        try:
            chain = plain = 0.0
            for round_ in range(rounds):
                rows = [sample_row(i) for i in range(appends)]
                offset = round_ * appends
                sides = [("chain", store), ("plain", engine)]
                for side, _ in sides if round_ % 2 == 0 else reversed(sides):
                    started = time.perf_counter()
                    if side == "chain":
                        for row in rows:
                            store.append(**row)
                        chain += time.perf_counter() - started
                    else:
                        for i, row in enumerate(rows):
                            with engine.begin() as conn:
                                conn.execute(insert(table).values(**plain_values(row, offset + i)))
                        plain += time.perf_counter() - started
        finally:
            store.close()
            engine.dispose()
    total = appends * rounds
    return AuditResult(database, total, total / chain, total / plain)


def plain_table(url: str) -> tuple[Engine, Table]:
    engine = create_engine(url)
    if url.startswith("sqlite:///"):
        enable_wal(engine)
    table = AuditLog.__table__.to_metadata(MetaData(), name="audit_log_plain")
    table.create(engine)
    return engine, table


def sqlite_urls(directory: Path) -> Callable:
    @contextmanager
    def urls() -> Iterator[tuple[str, str]]:
        yield f"sqlite:///{directory / 'chain.db'}", f"sqlite:///{directory / 'plain.db'}"

    return urls


def postgres_urls(base: str) -> Callable:
    """Two fresh schemas in the database of `base`, dropped afterwards."""

    @contextmanager
    def urls() -> Iterator[tuple[str, str]]:
        schemas = [f"bench_{side}_{uuid.uuid4().hex[:10]}" for side in ("chain", "plain")]
        admin = create_engine(base)
        try:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
            separator = "&" if "?" in base else "?"
            yield tuple(f"{base}{separator}options=-csearch_path%3D{s}" for s in schemas)
        finally:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()

    return urls
