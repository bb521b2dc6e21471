"""At start, actions left at `started` get exactly one `interrupted` row."""

from daemon.audit.ids import new_action_id
from daemon.audit.store import INTERRUPTED_REASON, AuditStore


def test_unfinished_actions_get_one_interrupted_row(open_store, clock) -> None:
    before_crash = open_store(instance="host:100")
    unfinished = new_action_id()
    finished = new_action_id()
    correlation = new_action_id()
    before_crash.append(
        "policy:auto_restart",
        "container.restart",
        "started",
        action_id=unfinished,
        container_id="usr-0000abcd-web",
        container_name="web",
        target="bk-1",
        correlation_id=correlation,
    )
    before_crash.append("cli", "backup.pin", "started", action_id=finished, target="bk-2")
    before_crash.append("cli", "backup.pin", "succeeded", action_id=finished, target="bk-2")
    clock.advance(60)

    after_restart = open_store(instance="host:200")
    written = after_restart.reconcile_interrupted()

    assert len(written) == 1
    row = written[0]
    assert (row.action_id, row.outcome, row.reason) == (
        unfinished,
        "interrupted",
        INTERRUPTED_REASON,
    )
    assert (row.actor, row.action, row.target) == (
        "policy:auto_restart",
        "container.restart",
        "bk-1",
    )
    assert (row.container_id, row.container_name) == ("usr-0000abcd-web", "web")
    assert row.correlation_id == correlation
    assert row.instance == "host:200"
    assert after_restart.reconcile_interrupted() == []
    outcomes = [r.outcome for r in after_restart.query() if r.action_id == unfinished]
    assert outcomes == ["started", "interrupted"]
    assert after_restart.verify().ok


def test_reconcile_on_a_log_without_unfinished_actions_writes_nothing(store: AuditStore) -> None:
    assert store.reconcile_interrupted() == []
    assert store.query() == []
