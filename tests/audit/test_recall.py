"""What a sink that keeps conditions (Alertmanager's alerts) re-reads when it starts
delivering: each container's rows from its earliest condition still open at the cursor,
however old, through the cursor (SQLite and PostgreSQL). Folding them gives the same
open conditions, from the same rows, as folding the whole log."""

import random
from datetime import timedelta

import pytest

from daemon.alertmanager import CONDITION_RULES, Conditions
from daemon.audit import AuditAction, Outcome, new_action_id, row_document
from daemon.clock import ManualClock
from policies import GIVEN_UP_EVENT, RUNNING_EVENT

RESTART, START, STOP = (
    AuditAction.CONTAINER_RESTART,
    AuditAction.CONTAINER_START,
    AuditAction.CONTAINER_STOP,
)


class SteppingClock(ManualClock):
    """A manual clock whose time can also step back (NTP correcting a clock that ran fast)."""

    def step_back(self, seconds: float) -> None:
        with self._lock:
            self._now -= timedelta(seconds=seconds)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


def append(store, name, action, outcome, event=None, container_id=None):
    return store.append(
        "policy:auto_restart",
        action,
        outcome,
        action_id=new_action_id(),
        container_id=container_id or f"usr-0000abcd-{name}",
        container_name=name,
        details={"event": event} if event else None,
    )


def recalled(store, through_id):
    return store.rows_of_open_conditions(CONDITION_RULES, through_id=through_id)


def firing(rows) -> set[tuple[str, str, str]]:
    return {key for key, _ in open_conditions(rows)}


def open_conditions(rows) -> set[tuple[tuple[str, str, str], tuple]]:
    """Each firing condition with where it began: its start and the row that opened it."""
    conditions = Conditions()
    for row in rows:
        conditions.observe(row_document(row))
    return {(c.key, (c.started_at, c.audit_id)) for c in conditions.firing()}


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


def test_a_name_carried_by_a_new_container_is_one_subject(store, clock):
    """Alerts are about names: a container recreated under its name (a new id, no delete
    row) that runs again clears the old one's give-up, and a renamed one keeps it."""
    append(store, "web", RESTART, Outcome.GAVE_UP, container_id="usr-0000abcd-old")
    append(store, "web", START, Outcome.SUCCEEDED, container_id="usr-0000abcd-new")
    renamed = append(store, "db", RESTART, Outcome.GAVE_UP)
    later = append(store, "db2", START, Outcome.SUCCEEDED, container_id=renamed.container_id)

    assert firing(recalled(store, later.id)) == {("StacksOpsdRestartsGivenUp", "db", "")}


def test_a_row_without_a_name_is_about_its_container_id(store, clock):
    """An empty name is no name (as the fold reads it): the id is the subject."""
    append(store, "", RESTART, Outcome.GAVE_UP, container_id="usr-0000abcd-x")
    append(store, "", RESTART, Outcome.GAVE_UP, container_id="usr-0000abcd-y")
    fixed = append(store, None, START, Outcome.SUCCEEDED, container_id="usr-0000abcd-x")

    assert firing(recalled(store, fixed.id)) == {
        ("StacksOpsdRestartsGivenUp", "usr-0000abcd-y", "")
    }


def test_a_condition_opened_after_a_clock_stepped_back_days_is_recalled(store, clock):
    """Beyond the day a clock may step back unnoticed: a later opening, earlier in time,
    is still read (each subject is read from its openings' earliest time too)."""
    append(store, "web", RESTART, Outcome.GAVE_UP)
    clock.step_back(2 * 86400)
    aborted = append(store, "web", STOP, Outcome.ABORTED)

    assert firing(recalled(store, aborted.id)) == {
        ("StacksOpsdRestartsGivenUp", "web", ""),
        ("StacksOpsdChangeAborted", "web", STOP),
    }


def test_recalling_gives_the_conditions_folding_the_whole_log_gives(store, clock):
    """Random histories of a few names, ids and actions, with clocks stepping back now and
    then: whatever the cursor, the recalled rows open exactly the conditions the whole log
    up to the cursor opens, each from the same row."""
    rng = random.Random(7)
    kinds = [
        (RESTART, Outcome.GAVE_UP, None),
        (RESTART, Outcome.SKIPPED, GIVEN_UP_EVENT),
        (RESTART, Outcome.SKIPPED, RUNNING_EVENT),
        (RESTART, Outcome.SKIPPED, "backoff"),
        (RESTART, Outcome.SUCCEEDED, None),
        (RESTART, Outcome.ABORTED, None),
        (START, Outcome.SUCCEEDED, None),
        (STOP, Outcome.ABORTED, None),
        (STOP, Outcome.UNKNOWN, None),
        (STOP, Outcome.SUCCEEDED, None),
        (START, Outcome.UNKNOWN, None),
        (AuditAction.BACKUP_CREATE, Outcome.SUCCEEDED, None),
        (AuditAction.CONTAINER_DELETE, Outcome.SUCCEEDED, None),
    ]
    weights = [3, 2, 3, 2, 2, 3, 2, 2, 2, 2, 1, 4, 1]
    ids = {"a": ["usr-0000abcd-a1", "usr-0000abcd-a2"], "b": ["usr-0000abcd-b"]}
    ids["c"] = ids["b"]  # b renamed to c now and then
    written, stepped_back = [], 0
    for _ in range(200):
        action, outcome, event = rng.choices(kinds, weights)[0]
        name = rng.choice(["a", "b", "c"])
        cid = rng.choice(ids[name])
        written.append(append(store, name, action, outcome, event, container_id=cid))
        newest = max(row.at for row in written)
        step = rng.choice([1, 3600, 86400 * 40, -3 * 3600])
        if step > 0:
            clock.advance(step)
        elif clock.now() - timedelta(hours=3) >= newest - timedelta(hours=20):
            clock.step_back(3 * 3600)  # within a day of the newest row, as the recall assumes
            stepped_back += 1
    assert stepped_back > 10

    checked = set()
    for cursor in range(0, len(written), 4):
        through = written[cursor].id
        whole = open_conditions(written[: cursor + 1])
        assert open_conditions(recalled(store, through)) == whole, f"through row {through}"
        checked.add(bool(whole))
    assert checked == {True, False}  # cursors with conditions open and with none
