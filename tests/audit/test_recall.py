"""What a sink that keeps conditions (Alertmanager's alerts) re-reads when it starts
delivering: each container's rows from its earliest condition still open at the cursor,
however old, through the cursor (SQLite and PostgreSQL). Folding them gives the same
open conditions as folding the whole log."""

import random
from datetime import timedelta

from daemon.alertmanager import CONDITION_RULES, Conditions
from daemon.audit import AuditAction, Outcome, new_action_id, row_document
from policies import GIVEN_UP_EVENT, RUNNING_EVENT

RESTART, START, STOP = (
    AuditAction.CONTAINER_RESTART,
    AuditAction.CONTAINER_START,
    AuditAction.CONTAINER_STOP,
)


def append(store, name, action, outcome, event=None):
    return store.append(
        "policy:auto_restart",
        action,
        outcome,
        action_id=new_action_id(),
        container_id=f"usr-0000abcd-{name}",
        container_name=name,
        details={"event": event} if event else None,
    )


def recalled(store, through_id):
    return store.rows_of_open_conditions(CONDITION_RULES, through_id=through_id)


def firing(rows) -> set[tuple[str, str, str]]:
    conditions = Conditions()
    for row in rows:
        conditions.observe(row_document(row))
    return {condition.key for condition in conditions.firing()}


def test_a_condition_nothing_cleared_is_recalled_however_old(store, clock):
    ancient = append(store, "ancient", RESTART, Outcome.GAVE_UP)
    append(store, "ancient", AuditAction.BACKUP_CREATE, Outcome.SUCCEEDED)  # clears nothing
    append(store, "fixed", RESTART, Outcome.GAVE_UP)
    append(store, "fixed", START, Outcome.SUCCEEDED)
    clock.advance(timedelta(days=400).total_seconds())
    quiet = append(store, "quiet", RESTART, Outcome.SUCCEEDED)

    rows = recalled(store, quiet.id)

    assert [row.id for row in rows] == [ancient.id, ancient.id + 1]
    assert rows[0].container_name == "ancient" and rows[0].reason is None  # every column
    assert firing(rows) == {("StacksOpsdRestartsGivenUp", "ancient", "")}


def test_each_container_is_read_from_its_earliest_open_condition_through_the_cursor(store, clock):
    append(store, "web", RESTART, Outcome.SUCCEEDED)  # before web's condition: not needed
    web_gave_up = append(store, "web", RESTART, Outcome.GAVE_UP)
    append(store, "quiet", RESTART, Outcome.SUCCEEDED)  # no condition: not read
    db_stop = append(store, "db", STOP, Outcome.ABORTED)
    db_start = append(store, "db", START, Outcome.UNKNOWN)
    db_restarted = append(store, "db", RESTART, Outcome.SUCCEEDED)  # clears neither action
    db_started = append(store, "db", START, Outcome.SUCCEEDED)  # clears the start's
    api_stop = append(store, "api", STOP, Outcome.ABORTED)
    api_stopped = append(store, "api", STOP, Outcome.SUCCEEDED)  # clears it: api is not read
    cursor = api_stopped.id
    append(store, "web", START, Outcome.SUCCEEDED)  # after the cursor: delivery sends it
    append(store, "new", RESTART, Outcome.UNKNOWN)

    rows = recalled(store, cursor)

    assert [row.id for row in rows] == [
        web_gave_up.id,
        db_stop.id,
        db_start.id,
        db_restarted.id,
        db_started.id,
    ]
    assert api_stop.id not in {row.id for row in rows}
    assert firing(rows) == {
        ("StacksOpsdRestartsGivenUp", "web", ""),
        ("StacksOpsdChangeAborted", "db", STOP),
    }


def test_a_crash_of_a_container_still_given_up_reopens_its_condition(store, clock):
    append(store, "web", RESTART, Outcome.GAVE_UP)
    append(store, "web", RESTART, Outcome.SKIPPED, event=RUNNING_EVENT)  # cleared
    clock.advance(timedelta(days=90).total_seconds())
    crashed = append(store, "web", RESTART, Outcome.SKIPPED, event=GIVEN_UP_EVENT)
    later = append(store, "web", AuditAction.BACKUP_CREATE, Outcome.SUCCEEDED)

    rows = recalled(store, later.id)

    assert [row.id for row in rows] == [crashed.id, later.id]
    assert firing(rows) == {("StacksOpsdRestartsGivenUp", "web", "")}


def test_a_deleted_container_has_nothing_to_recall(store, clock):
    append(store, "gone", STOP, Outcome.UNKNOWN)
    append(store, "gone", RESTART, Outcome.GAVE_UP)
    deleted = append(store, "gone", AuditAction.CONTAINER_DELETE, Outcome.SUCCEEDED)

    assert recalled(store, deleted.id) == []


def test_recalling_gives_the_conditions_folding_the_whole_log_gives(store, clock):
    """Random histories of three containers: whatever the cursor, the recalled rows open
    exactly the conditions the whole log up to the cursor opens."""
    rng = random.Random(7)
    kinds = [
        (RESTART, Outcome.GAVE_UP, None),
        (RESTART, Outcome.SKIPPED, GIVEN_UP_EVENT),
        (RESTART, Outcome.SKIPPED, RUNNING_EVENT),
        (RESTART, Outcome.SKIPPED, "backoff"),
        (RESTART, Outcome.SUCCEEDED, None),
        (START, Outcome.SUCCEEDED, None),
        (STOP, Outcome.ABORTED, None),
        (STOP, Outcome.UNKNOWN, None),
        (STOP, Outcome.SUCCEEDED, None),
        (START, Outcome.UNKNOWN, None),
        (AuditAction.BACKUP_CREATE, Outcome.SUCCEEDED, None),
        (AuditAction.CONTAINER_DELETE, Outcome.SUCCEEDED, None),
    ]
    weights = [3, 2, 3, 2, 2, 2, 2, 2, 2, 1, 4, 1]
    written = []
    for _ in range(150):
        action, outcome, event = rng.choices(kinds, weights)[0]
        written.append(append(store, rng.choice(["a", "b", "c"]), action, outcome, event))
        clock.advance(rng.choice([1, 3600, 86400 * 40]))

    checked = set()
    for cursor in range(0, len(written), 5):
        through = written[cursor].id
        whole = firing(written[: cursor + 1])
        assert firing(recalled(store, through)) == whole, f"through row {through}"
        checked.add(bool(whole))
    assert checked == {True, False}  # cursors with conditions open and with none
