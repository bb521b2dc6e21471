"""The hash chain: intact logs verify; an edited, deleted or inserted row is pinpointed."""

from datetime import timedelta, timezone

import pytest
from sqlalchemy.exc import DataError

from daemon.audit import GENESIS_HASH, AuditStore, new_action_id, row_hash


def _fill(store: AuditStore, clock, count: int = 5) -> list:
    rows = []
    for index in range(count):
        action_id = new_action_id()
        rows.append(
            store.append(
                "policy:auto_restart",
                "container.restart",
                "started",
                action_id=action_id,
                container_id="usr-0000abcd-web",
                container_name="web",
                reason=f"status error #{index}",
                details={"attempt": index},
            )
        )
        clock.advance(10)
    return rows


def test_rows_link_into_a_chain_that_verifies(store: AuditStore, clock) -> None:
    rows = _fill(store, clock)

    assert rows[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    assert store.verify().ok
    assert store.verify().checked == 5


def test_an_empty_log_verifies(store: AuditStore) -> None:
    result = store.verify()
    assert (result.ok, result.checked) == (True, 0)


def test_rows_read_back_hash_to_their_stored_hash(store: AuditStore, clock) -> None:
    _fill(store, clock, 3)
    for row in store.query():
        assert row.at.utcoffset().total_seconds() == 0
        assert row_hash(row.model_dump()) == row.hash


def test_editing_a_field_with_sql_is_caught_at_that_row(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    raw_sql("UPDATE audit_log SET reason = 'nothing happened' WHERE id = :id", id=rows[2].id)

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == rows[2].id
    assert "altered" in result.problem


def test_editing_a_row_and_its_hash_is_caught_at_the_next_row(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    forged = rows[1].model_dump() | {"outcome": "succeeded"}
    raw_sql(
        "UPDATE audit_log SET outcome = 'succeeded', hash = :hash WHERE id = :id",
        hash=row_hash(forged),
        id=rows[1].id,
    )

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == rows[2].id


def test_deleting_a_middle_row_is_caught(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    raw_sql("DELETE FROM audit_log WHERE id = :id", id=rows[2].id)

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == rows[3].id
    assert "deleted" in result.problem


def test_deleting_the_newest_row_is_caught(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    raw_sql("DELETE FROM audit_log WHERE id = :id", id=rows[-1].id)

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == rows[-1].id
    assert "missing from the end" in result.problem


def test_a_deletion_at_the_end_stays_visible_after_later_appends(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    raw_sql("DELETE FROM audit_log WHERE id = :id", id=rows[-1].id)

    newer = _fill(store, clock, 1)[0]

    assert store.verify().first_broken_id == newer.id


def test_a_row_inserted_at_the_end_with_a_valid_hash_is_caught(
    store, clock, raw_sql, sql_time
) -> None:
    rows = _fill(store, clock)
    forged = {
        "at": rows[-1].at,
        "instance": "intruder",
        "actor": "cli",
        "action": "container.stop",
        "outcome": "succeeded",
        "action_id": new_action_id(),
        "prev_hash": rows[-1].hash,
    }
    forged["hash"] = row_hash(forged)
    raw_sql(
        "INSERT INTO audit_log (at, instance, actor, action, outcome, action_id, prev_hash, hash)"
        " VALUES (:at, :instance, :actor, :action, :outcome, :action_id, :prev_hash, :hash)",
        **(forged | {"at": sql_time(rows[-1].at)}),
    )
    inserted_id = raw_sql("SELECT max(id) FROM audit_log")[0][0]

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == inserted_id
    assert "added outside the audit store" in result.problem


def test_a_row_inserted_in_the_middle_is_caught(store, clock, raw_sql) -> None:
    rows = _fill(store, clock)
    raw_sql("DELETE FROM audit_log WHERE id = :id", id=rows[2].id)
    raw_sql(
        "INSERT INTO audit_log (id, at, instance, actor, action, outcome, action_id, "
        "prev_hash, hash) VALUES (:id, :at, 'x', 'cli', 'container.stop', 'succeeded', "
        "'forged', :prev, :hash)",
        id=rows[2].id,
        at=rows[2].at.replace(tzinfo=None),
        prev=rows[1].hash,
        hash="f" * 64,
    )

    result = store.verify()

    assert not result.ok
    assert result.first_broken_id == rows[2].id


@pytest.mark.parametrize("count", [0, 3])
def test_deleting_the_head_record_is_reported(store, clock, raw_sql, count) -> None:
    _fill(store, clock, count)
    raw_sql("DELETE FROM audit_head")

    result = store.verify()

    assert result.ok is (count == 0)


@pytest.mark.parametrize(
    "spelling",
    [
        # The same moment 9:30 behind UTC: the text sorts hours earlier, so the row would
        # drop out of `at >= since` windows (`audit list --since`, the policies').
        lambda row: row.at.astimezone(timezone(-timedelta(hours=9, minutes=30))).isoformat(" "),
        lambda row: row.at.strftime("%Y-%m-%dT%H:%M:%S.%f"),  # a T: sorts after every space
        lambda row: "no time at all",  # named, not a traceback
    ],
    ids=["offset", "t-separator", "not-a-time"],
)
def test_a_time_respelled_is_caught_on_sqlite_and_one_value_on_postgresql(
    store, clock, raw_sql, database_url, spelling
) -> None:
    rows = _fill(store, clock)
    respelled = spelling(rows[2])
    if not database_url.startswith("sqlite"):  # a timestamptz: one moment, one value
        if respelled == "no time at all":
            with pytest.raises(DataError):
                raw_sql("UPDATE audit_log SET at = :at WHERE id = :id", at=respelled, id=rows[2].id)
            return
        raw_sql(
            "UPDATE audit_log SET at = CAST(:at AS timestamptz) WHERE id = :id",
            at=respelled,
            id=rows[2].id,
        )
        assert store.verify().ok
        assert rows[2].id in {row.id for row in store.query(since=rows[2].at)}
        return
    raw_sql("UPDATE audit_log SET at = :at WHERE id = :id", at=respelled, id=rows[2].id)

    result = store.verify()

    assert not result.ok and result.first_broken_id == rows[2].id
    assert "its time is stored as" in result.problem
