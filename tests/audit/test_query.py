"""history() for policies and query() for `audit list`: filters, order, UTC datetimes."""

from datetime import UTC, datetime, timedelta

import pytest

from daemon.audit import AuditStore, new_action_id


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


def test_history_since_and_filters(filled: AuditStore, clock) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)

    assert len(filled.history(start)) == 5
    assert [r.outcome for r in filled.history(start + timedelta(hours=2))] == [
        "succeeded",
        "failed",
        "gave_up",
    ]
    restarts = filled.history(
        start, actors=["policy:auto_restart"], container_id="usr-0000abcd-web"
    )
    assert [r.outcome for r in restarts] == ["started", "succeeded", "gave_up"]
    assert [r.action for r in filled.history(start, actions=["backup.pin", "container.stop"])] == [
        "backup.pin",
        "container.stop",
    ]
    ids = [r.id for r in filled.history(start)]
    assert ids == sorted(ids)


def test_history_returns_aware_utc_times(filled: AuditStore) -> None:
    rows = filled.history(datetime(2026, 1, 5, tzinfo=UTC))
    assert rows[0].at == datetime(2026, 1, 5, tzinfo=UTC)
    assert rows[1].at == datetime(2026, 1, 5, 1, tzinfo=UTC)
    assert all(row.at.tzinfo is not None for row in rows)


def test_query_filters_for_audit_list(filled: AuditStore) -> None:
    assert [r.container_name for r in filled.query(container="db")] == ["db", "db"]
    assert len(filled.query(container="usr-0000abcd-web")) == 3
    assert [r.outcome for r in filled.query(action="container.restart", outcome="gave_up")] == [
        "gave_up",
    ]
    since = datetime(2026, 1, 5, 3, tzinfo=UTC)
    assert [r.outcome for r in filled.query(since=since)] == ["failed", "gave_up"]
    newest_two = filled.query(limit=2)
    assert [r.outcome for r in newest_two] == ["failed", "gave_up"]
    assert filled.query(container="nope") == []


def test_naive_since_is_refused(filled: AuditStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        filled.history(datetime(2026, 1, 5))
