"""What policies read from the store: typed rows, open episodes older than a window, the
history indexes (also on a database that predates them), and where reconciliation starts."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect, select, text

from daemon.audit import (
    HEAD_ID,
    AuditHead,
    AuditLog,
    AuditStore,
    Episode,
    HistoryRow,
    RowKind,
    new_action_id,
)
from tests.audit.test_reconcile import dead_process_identity, set_session

START = datetime(2026, 1, 5, tzinfo=UTC)  # the ManualClock's default start
RESTARTER, OPERATOR, PINNER = "policy:auto_restart", "cli", "policy:weekly_pin"
RESTART, START_ACTION, PIN, UNPIN = (
    "container.restart",
    "container.start",
    "backup.pin",
    "backup.unpin",
)
GAVE_UP = Episode(
    key=("container_id",),
    opens=(RowKind(RESTARTER, RESTART, "gave_up"),),
    closes=(
        RowKind(RESTARTER, RESTART, "started"),
        RowKind(OPERATOR, START_ACTION, "succeeded"),
    ),
)
PINS = Episode(
    key=("container_id", "target"),
    opens=(RowKind(PINNER, PIN, "succeeded"),),
    closes=(RowKind(PINNER, UNPIN, "succeeded"),),
)


def append(store: AuditStore, actor: str, action: str, outcome: str, container: str, **fields):
    return store.append(
        actor,
        action,
        outcome,
        action_id=fields.pop("action_id", None) or new_action_id(),
        container_id=f"usr-0000abcd-{container}",
        container_name=container,
        **fields,
    )


def test_rows_are_typed_with_the_details_policies_use_parsed(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "skipped", "web", details={"event": "running"})
    append(store, PINNER, PIN, "succeeded", "db", target="7", details={"iso_week": "2026-W02"})
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"dry_run": True, "restarts": 5})

    running, pinned, dry = store.history(START)

    assert all(type(row) is HistoryRow for row in (running, pinned, dry))
    assert (running.event, running.iso_week, running.dry_run) == ("running", None, False)
    assert (pinned.target, pinned.iso_week, pinned.container_id) == (
        "7",
        "2026-W02",
        "usr-0000abcd-db",
    )
    assert dry.dry_run and not dry.counts(dry_run=False) and dry.counts(dry_run=True)
    assert running.at == START and running.at.tzinfo is not None


def test_rows_appended_after_an_id_are_read_without_anything_older(store: AuditStore) -> None:
    first = append(store, RESTARTER, RESTART, "started", "web")
    append(store, PINNER, PIN, "started", "db")
    assert store.last_id() == first.id + 1
    assert [row.action for row in store.history(after_id=first.id)] == [PIN]
    assert store.history(after_id=store.last_id()) == []


def test_a_gave_up_no_reset_followed_is_read_however_old(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "started", "web")
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"event": "gave_up"})
    append(store, RESTARTER, RESTART, "skipped", "web", details={"event": "running"})
    append(store, RESTARTER, RESTART, "gave_up", "api")
    append(store, OPERATOR, START_ACTION, "succeeded", "api")  # a reset: api's episode is over
    append(store, RESTARTER, RESTART, "gave_up", "db")
    clock.advance(90 * 86400)
    append(store, RESTARTER, RESTART, "started", "db")  # restarted since: it was reset
    window = clock.now() - timedelta(hours=2)

    rows = store.history_from_latest(
        GAVE_UP, window, (RESTARTER, OPERATOR), (RESTART, START_ACTION)
    )

    assert [(row.container_id, row.outcome, row.event) for row in rows] == [
        ("usr-0000abcd-web", "gave_up", "gave_up"),
        ("usr-0000abcd-web", "skipped", "running"),
    ]


def test_a_dry_runs_gave_up_opens_nothing_for_a_live_reader(store: AuditStore, clock) -> None:
    append(store, RESTARTER, RESTART, "gave_up", "web", details={"dry_run": True})
    clock.advance(86400)
    window = clock.now()

    live = store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,))
    dry = store.history_from_latest(GAVE_UP, window, (RESTARTER,), (RESTART,), dry_run=True)

    assert live == []
    assert [row.outcome for row in dry] == ["gave_up"]


def test_pins_still_held_are_read_with_what_followed_them(store: AuditStore, clock) -> None:
    for target in ("1", "2"):
        append(store, PINNER, PIN, "started", "db", target=target)
        append(store, PINNER, PIN, "succeeded", "db", target=target)
        clock.advance(7 * 86400)
    append(store, PINNER, UNPIN, "succeeded", "db", target="1")  # pin 1 is over
    append(store, PINNER, UNPIN, "skipped", "db", target="2")  # pin 2 kept (stale backups)
    append(store, RESTARTER, RESTART, "started", "db")  # not weekly_pin's
    clock.advance(30 * 86400)
    window = clock.now() - timedelta(weeks=3)

    rows = store.history_from_latest(PINS, window, (PINNER,), (PIN, UNPIN))
    forgotten = Episode(PINS.key, PINS.opens, PINS.closes, not_before=window)

    assert [(row.action, row.outcome, row.target) for row in rows] == [
        (PIN, "succeeded", "2"),
        (UNPIN, "skipped", "2"),
    ]
    assert store.history_from_latest(forgotten, window, (PINNER,), (PIN, UNPIN)) == []


def test_the_history_indexes_exist_and_serve_the_reads(store: AuditStore, database_url) -> None:
    engine = create_engine(database_url)
    try:
        indexes = {
            index["name"]: index["column_names"]
            for index in inspect(engine).get_indexes("audit_log")
        }
        assert indexes["ix_audit_log_actor_action_at"] == ["actor", "action", "at"]
        assert indexes["ix_audit_log_container_id_at"] == ["container_id", "at"]
        if database_url.startswith("sqlite"):
            with engine.connect() as conn:
                window = _plan(
                    conn,
                    "actor IN ('policy:weekly_pin') AND action IN ('backup.pin') "
                    "AND at >= '2026-01-01'",
                )
                appended = _plan(conn, "id > 1000")
            assert "ix_audit_log_actor_action_at" in window
            assert "INTEGER PRIMARY KEY" in appended
    finally:
        engine.dispose()


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
                if index.name in ("ix_audit_log_actor_action_at", "ix_audit_log_container_id_at"):
                    index.drop(conn)
            conn.execute(text("ALTER TABLE audit_head DROP COLUMN open_from"))
        reopened = open_store()
        names = {index["name"] for index in inspect(engine).get_indexes("audit_log")}
        assert {"ix_audit_log_actor_action_at", "ix_audit_log_container_id_at"} <= names
        assert [row.outcome for row in reopened.history(START)] == ["started"]
        assert reopened.verify().ok
    finally:
        engine.dispose()


def test_reconciliation_starts_where_the_last_one_left_off(open_store, database_url) -> None:
    change = open_store(instance="host:100")  # a `change` whose backup wait is long
    waiting = append(change, OPERATOR, RESTART, "started", "web")
    daemon = open_store(instance="host:200")
    assert daemon.reconcile_interrupted() == []  # alive: left alone
    for _ in range(3):
        finished = new_action_id()
        append(daemon, RESTARTER, RESTART, "started", "db", action_id=finished)
        append(daemon, RESTARTER, RESTART, "succeeded", "db", action_id=finished)
    daemon.reconcile_interrupted()
    assert _open_from(database_url) == waiting.id  # the oldest action that may be unfinished
    daemon.close()

    set_session(change, process=dead_process_identity())  # the `change` is killed
    restarted = open_store(instance="host:300")  # a new daemon: nothing in memory
    [interrupted] = restarted.reconcile_interrupted()

    assert interrupted.action_id == waiting.action_id
    assert _open_from(database_url) == interrupted.id  # everything before it is finished
    assert restarted.reconcile_interrupted() == []
    assert restarted.verify().ok


def _open_from(database_url: str) -> int | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            head = AuditHead.__table__
            return conn.execute(select(head.c.open_from).where(head.c.id == HEAD_ID)).scalar()
    finally:
        engine.dispose()
