"""The rows a notification sink recalls when it resumes delivery: every row of each container
with a `gave_up`, `aborted` or `unknown` row since a moment, from that row through the cursor
(SQLite and PostgreSQL)."""

from datetime import timedelta

from daemon.audit import AuditAction, Outcome, new_action_id

CONDITIONS = (Outcome.GAVE_UP, Outcome.ABORTED, Outcome.UNKNOWN)


def append(store, name, action, outcome):
    return store.append(
        "policy:auto_restart",
        action,
        outcome,
        action_id=new_action_id(),
        container_id=f"usr-0000abcd-{name}",
        container_name=name,
    )


def test_recall_reads_each_open_containers_rows_from_its_first_condition_through_the_cursor(
    store, clock
):
    restart, start = AuditAction.CONTAINER_RESTART, AuditAction.CONTAINER_START
    append(store, "old", restart, Outcome.GAVE_UP)  # before the window
    clock.advance(timedelta(days=31).total_seconds())
    since = clock.now() - timedelta(days=30)
    append(store, "web", restart, Outcome.SUCCEEDED)  # before web's condition: not needed
    web_gave_up = append(store, "web", restart, Outcome.GAVE_UP)
    append(store, "quiet", restart, Outcome.SUCCEEDED)  # no condition: not read
    db_aborted = append(store, "db", AuditAction.CONTAINER_STOP, Outcome.ABORTED)
    db_fixed = append(store, "db", AuditAction.CONTAINER_STOP, Outcome.SUCCEEDED)
    web_started = append(store, "web", start, Outcome.SUCCEEDED)
    cursor = web_started.id
    append(store, "web", restart, Outcome.GAVE_UP)  # after the cursor: delivery sends it
    append(store, "new", restart, Outcome.UNKNOWN)

    rows = store.rows_of_containers_with(CONDITIONS, since, through_id=cursor)

    assert [row.id for row in rows] == [web_gave_up.id, db_aborted.id, db_fixed.id, cursor]
    assert rows[0].container_name == "web" and rows[0].reason is None  # every column
