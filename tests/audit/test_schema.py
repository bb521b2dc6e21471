"""The schema and its migration: a database written by an earlier version opens, keeps
its chain and its unfinished actions, and gets what it lacks (columns, indexes, the head)."""

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, create_engine, insert, inspect

from daemon.audit import LEASE, new_action_id

# Written by the code before the one-idea-one-place restructuring (issue 11): the
# statements that created its tables on each backend, and every row of every table.
PRE_RESTRUCTURE = json.loads((Path(__file__).parent / "pre_restructure_database.json").read_text())
TIME_COLUMNS = ("at", "opened_at", "renewed_at", "claimed_at")
UNFINISHED_ACTION = "00000000000000000000000000000006"  # its daemon died before the outcome


def create_pre_restructure_database(database_url: str, *, with_rows: bool = True) -> None:
    """The fixture's tables, made by its own statements, and (`with_rows`) its rows."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for statement in PRE_RESTRUCTURE["ddl"][conn.dialect.name]:
                conn.exec_driver_sql(statement)
            if not with_rows:
                return
            tables = MetaData()
            tables.reflect(conn)
            for name, rows in PRE_RESTRUCTURE["tables"].items():
                conn.execute(insert(tables.tables[name]), [_typed(row) for row in rows])
            if conn.dialect.name == "postgresql":  # ids were given: move the sequence past them
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), max(id)) "
                    "FROM audit_log"
                )
    finally:
        engine.dispose()


def _typed(row: dict) -> dict:
    return {
        name: datetime.fromisoformat(value) if name in TIME_COLUMNS else value
        for name, value in row.items()
    }


def schema_of(database_url: str) -> dict:
    """Tables with their columns, primary key, indexes and unique constraints."""
    engine = create_engine(database_url)
    try:
        found = inspect(engine)
        return {
            table: (
                [
                    (column["name"], column["type"].compile(engine.dialect), column["nullable"])
                    for column in found.get_columns(table)
                ],
                found.get_pk_constraint(table)["constrained_columns"],
                sorted(
                    (index["name"], tuple(index["column_names"]), bool(index["unique"]))
                    for index in found.get_indexes(table)
                ),
                sorted(
                    tuple(unique["column_names"]) for unique in found.get_unique_constraints(table)
                ),
            )
            for table in sorted(found.get_table_names())
        }
    finally:
        engine.dispose()


def test_a_database_written_before_the_restructuring_opens_and_keeps_working(
    database_url, open_store, clock
) -> None:
    create_pre_restructure_database(database_url)
    before = schema_of(database_url)
    clock.advance(2 * 86400)

    store = open_store(instance="host:300")

    assert schema_of(database_url) == before  # nothing was missing
    result = store.verify()
    assert (result.ok, result.checked) == (True, 8)
    history = store.history(datetime.fromisoformat("2026-01-05T00:00:00+00:00"))
    assert [(row.outcome, row.event, row.iso_week, row.dry_run) for row in history[2:6]] == [
        ("skipped", "running", None, False),
        ("started", None, "2026-W02", False),
        ("succeeded", None, "2026-W02", False),
        ("gave_up", None, None, True),
    ]
    assert store.query(outcome="failed")[0].error == "401 for key sk_stacks_[redacted]"

    holder = store.claim("usr-0000abcd-db", "container.restart", new_action_id())
    assert holder is not None and holder.instance == "host:100"  # alive until its lease runs out
    assert store.reconcile_interrupted() == []
    clock.advance((LEASE + timedelta(seconds=1)).total_seconds())
    [interrupted] = store.reconcile_interrupted()
    assert (interrupted.action_id, interrupted.outcome) == (UNFINISHED_ACTION, "interrupted")
    assert json.loads(interrupted.details)["started_row"] == 8
    assert store.claim("usr-0000abcd-db", "container.restart", new_action_id()) is None

    appended = store.append("cli", "backup.create", "started", action_id=new_action_id())
    assert appended.prev_hash == interrupted.hash
    result = store.verify()
    assert (result.ok, result.checked) == (True, 10)


def test_a_new_database_has_the_schema_of_one_made_before_the_restructuring(
    database_url, another_database_url, open_store
) -> None:
    create_pre_restructure_database(another_database_url, with_rows=False)
    open_store()
    assert schema_of(database_url) == schema_of(another_database_url)
