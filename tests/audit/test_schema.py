"""The schema and its migration: a database written by an earlier version opens, keeps
its chain and its unfinished actions, and gets what it lacks (columns, indexes, the head);
the history indexes exist and serve the policies' reads."""

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, create_engine, insert, inspect, text

from daemon.audit import GENESIS_HASH, LEASE, AuditLog, AuditStore, new_action_id, row_hash
from daemon.audit.history import from_latest_statement, history_statement
from daemon.clock import ManualClock
from policies import BackupFreshnessOptions, WeeklyPinOptions, WeeklyPinPolicy
from tests.audit.test_history import DECLARED, GAVE_UP, RESTART, RESTARTER, START, append

# Written by the code before the one-idea-one-place restructuring (issue 11): the
# statements that created its tables on each backend, and every row of every table.
PRE_RESTRUCTURE = json.loads((Path(__file__).parent / "pre_restructure_database.json").read_text())
TIME_COLUMNS = ("at", "opened_at", "renewed_at", "claimed_at")
UNFINISHED_ACTION = "00000000000000000000000000000006"  # its daemon died before the outcome


OLD_SCHEMA = """
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY, at DATETIME NOT NULL, instance VARCHAR NOT NULL,
    actor VARCHAR NOT NULL, action VARCHAR NOT NULL, container_id VARCHAR,
    container_name VARCHAR, target VARCHAR, outcome VARCHAR NOT NULL, reason VARCHAR,
    action_id VARCHAR NOT NULL, http_status INTEGER, error VARCHAR, details VARCHAR,
    prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL UNIQUE
)
"""


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


# Tables and the index added since the restructuring: migration creates them, nothing else
# changes.
NEW_TABLES = {"notify_cursor", "audit_hold", "audit_episode_mark"}  # cursors, holds, marks
# added since: read at start from a mark, the openings of an episode (gave_up)
NEW_INDEX = ("ix_audit_log_actor_action_outcome_at", ("actor", "action", "outcome", "at"), False)
NAME_INDEX = ("ix_audit_log_container_name_at", ("container_name", "at"), False)
# a container's rows with their kind: replaced (container_id, at), which migration drops
CONTAINER_INDEX = "ix_audit_log_container_id_at_kind"
KIND_INDEX = (CONTAINER_INDEX, ("container_id", "at", "actor", "action", "outcome"), False)
NEW_INDEXES = (NEW_INDEX, NAME_INDEX, KIND_INDEX)
REPLACED_INDEX = ("ix_audit_log_container_id_at", ("container_id", "at"), False)


def without_new_tables(schema: dict) -> dict:
    """The schema without what was added since the restructuring (the migration adds it),
    with the index replaced since as it was (the migration drops it)."""
    assert set(schema) >= NEW_TABLES
    columns, key, indexes, uniques = schema["audit_log"]
    assert set(NEW_INDEXES) <= set(indexes) and REPLACED_INDEX not in indexes
    kept = sorted([*(index for index in indexes if index not in NEW_INDEXES), REPLACED_INDEX])
    older = {**schema, "audit_log": (columns, key, kept, uniques)}
    return {table: shape for table, shape in older.items() if table not in NEW_TABLES}


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

    assert without_new_tables(schema_of(database_url)) == before  # nothing was missing
    result = store.verify()
    assert (result.ok, result.checked) == (True, 8)
    history = store.history(START)
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
    assert without_new_tables(schema_of(database_url)) == schema_of(another_database_url)


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


def test_the_history_indexes_exist_and_serve_the_reads(store: AuditStore, database_url) -> None:
    engine = create_engine(database_url)
    try:
        indexes = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("audit_log")
        }
        assert indexes["ix_audit_log_actor_action_at"] == ["actor", "action", "at"]
        assert indexes["ix_audit_log_container_id_at_kind"] == [
            "container_id",
            "at",
            "actor",
            "action",
            "outcome",
        ]
        assert indexes["ix_audit_log_container_name_at"] == ["container_name", "at"]
        assert indexes[NEW_INDEX[0]] == list(NEW_INDEX[1])
        if database_url.startswith("sqlite"):
            with engine.connect() as conn:
                window = _plan(
                    conn,
                    "actor IN ('policy:weekly_pin') AND action IN ('backup.pin') "
                    "AND at >= '2026-01-01'",
                )
                appended = _plan(conn, "id > 1000")
                # auto_restart's give-ups since its mark: the give-ups alone, not every restart
                openings = _plan(
                    conn,
                    "actor = 'policy:auto_restart' AND action = 'container.restart' "
                    "AND outcome = 'gave_up' AND at >= '2026-01-01'",
                )
            assert "ix_audit_log_actor_action_at" in window
            assert "INTEGER PRIMARY KEY" in appended
            # weekly_pin's rows of a few containers (read as their backup lists are): by
            # the container index, not every container's rows of the policy
            with engine.connect() as conn:
                for statement in few_containers_statements():
                    assert f"{CONTAINER_INDEX} (container_id=? AND at>?)" in statement_plan(
                        conn, statement
                    )
            assert (
                "ix_audit_log_actor_action_outcome_at (actor=? AND action=? AND outcome=? AND at>?)"
                in openings
            )
    finally:
        engine.dispose()


def few_containers_statements() -> list:
    """weekly_pin's reads of two containers: its open episodes and its window."""
    query = WeeklyPinPolicy(WeeklyPinOptions(), BackupFreshnessOptions()).history_query(START)
    ids = ["usr-0000abcd-web", "usr-0000abcd-db"]
    return [
        from_latest_statement(query.episode, query.since, query.actors, query.actions, False, ids),
        history_statement(query.since, query.actors, query.actions, ids),
    ]


def statement_plan(conn, statement) -> str:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
    return " ".join(str(row[-1]) for row in rows)


def _plan(conn, where: str) -> str:
    rows = conn.exec_driver_sql(
        f"EXPLAIN QUERY PLAN SELECT id FROM audit_log WHERE {where} ORDER BY id"
    )
    return " ".join(str(row[-1]) for row in rows)


def test_a_database_without_the_history_indexes_gets_them(open_store, database_url) -> None:
    store = open_store()
    append(store, RESTARTER, RESTART, "started", "web")
    store.close()
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # as a database created before the indexes existed
            for index in AuditLog.__table__.indexes:
                if index.name in ("ix_audit_log_actor_action_at", CONTAINER_INDEX):
                    index.drop(conn)
            conn.execute(text("ALTER TABLE audit_head DROP COLUMN open_from"))
        reopened = open_store()
        names = {index["name"] for index in inspect(engine).get_indexes("audit_log")}
        assert {"ix_audit_log_actor_action_at", CONTAINER_INDEX} <= names
        assert [row.outcome for row in reopened.history(START)] == ["started"]
        assert reopened.verify().ok
    finally:
        engine.dispose()


def test_an_index_this_version_replaced_is_dropped_at_start(open_store, database_url) -> None:
    retired = "ix_audit_log_actor_action_outcome_container_id"  # made by the version before
    open_store().close()
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE INDEX {retired} ON audit_log (actor, action, outcome, container_id)"
            )
        open_store()
        names = {index["name"] for index in inspect(engine).get_indexes("audit_log")}
        assert retired not in names and NEW_INDEX[0] in names
    finally:
        engine.dispose()


def test_marks_saved_before_they_listed_open_episodes_get_the_column(
    open_store, database_url
) -> None:
    store = open_store()
    append(store, RESTARTER, RESTART, "gave_up", "web")
    store.close()
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # as a database of the version before
            conn.execute(text("ALTER TABLE audit_episode_mark DROP COLUMN still_open"))
        reopened = open_store()
        columns = {column["name"] for column in inspect(engine).get_columns("audit_episode_mark")}
        assert "still_open" in columns
        rows = reopened.history_from_latest(
            GAVE_UP, START + timedelta(days=30), (RESTARTER,), (RESTART,)
        )
        assert [row.outcome for row in rows] == ["gave_up"]
        assert [check.missed for check in reopened.check_marks(DECLARED[:1])] == [None]
    finally:
        engine.dispose()
