"""The pre-change backup gate, end to end on the simulator: backup, abort, proceed, reuse."""

import json
from datetime import timedelta

from policies import Action
from tests.executor.conftest import START
from tests.policies.audit_truth import assert_audit_matches
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with


def change(cid: str, action: str = "container.restart", target: str | None = None) -> Action:
    return Action(
        policy="cli",
        action=action,
        container_id=cid,
        container_name=cid.rsplit("-", 1)[-1],
        reason="operator change",
        target=target,
    )


def mutations(h: SimulatedRun) -> list[tuple[str, str]]:
    return [(m.method, m.path.removeprefix("/api/v1")) for m in h.simulator.mutations()]


def test_a_change_to_a_running_container_waits_for_a_completed_backup(world):
    h = world()
    cid = h.seed("web")
    outcome = h.daemon.executor.perform(change(cid))

    assert outcome.outcome == "succeeded"
    assert mutations(h) == [
        ("POST", f"/containers/{cid}/backup"),
        ("PUT", f"/containers/{cid}/status"),
    ]
    backup = h.daemon.client.backups(cid)[0]
    assert backup.completed and backup.id == outcome.backup_id
    rows = h.rows()
    assert [(r.action, r.outcome) for r in rows] == [
        ("backup.create", "started"),
        ("backup.create", "succeeded"),
        ("container.restart", "started"),
        ("container.restart", "succeeded"),
    ]
    assert rows[1].target == str(backup.id)
    assert all(r.actor == "cli" for r in rows)
    assert len({r.correlation_id for r in rows}) == 1 and rows[0].correlation_id
    assert json.loads(rows[3].details)["backup_id"] == backup.id
    assert rows[3].target == str(backup.id)
    assert rows[3].duration_ms is not None
    assert h.simulator.mutations()[1].at >= backup.completed_at
    assert_audit_matches(rows, h.simulator.mutations())


def test_a_failed_backup_aborts_the_change(world):
    h = world()
    cid = h.seed("web")
    h.simulator.fail_backups(cid)
    outcome = h.daemon.executor.perform(change(cid, "container.stop"))

    assert outcome.outcome == "aborted"
    assert mutations(h) == [("POST", f"/containers/{cid}/backup")]  # no PUT: untouched
    assert h.daemon.client.container_status(cid).status == "running"
    rows = h.rows()
    assert [(r.action, r.outcome) for r in rows] == [
        ("backup.create", "started"),
        ("backup.create", "failed"),
        ("container.stop", "aborted"),
    ]
    failed = h.daemon.client.backups(cid)[0]
    assert rows[1].target == str(failed.id) and "failed" in rows[1].error
    assert "change aborted (on_failure = abort)" in rows[2].reason
    assert len({r.correlation_id for r in rows}) == 1
    assert_audit_matches(rows, h.simulator.mutations())


def test_on_failure_proceed_makes_the_change_and_says_so(world):
    h = world(pre_change_backup={"on_failure": "proceed"})
    cid = h.seed("web")
    h.simulator.fail_backups(cid)
    assert h.daemon.executor.perform(change(cid)).outcome == "succeeded"
    done = h.rows(action="container.restart", outcome="succeeded")[0]
    assert "proceeding (on_failure = proceed)" in done.reason
    assert json.loads(done.details)["pre_change_backup"] == "failed"
    assert_audit_matches(h.rows(), h.simulator.mutations())


def test_a_container_not_running_proceeds_with_the_newest_completed_backup(world):
    h = world()
    cid = h.seed("web")
    h.clock.set(START + timedelta(days=1))  # the 02:00 scheduled backup completes
    newest = h.daemon.client.backups(cid)[0]
    h.simulator.crash(cid)
    assert h.daemon.executor.perform(change(cid)).outcome == "succeeded"
    assert mutations(h) == [("PUT", f"/containers/{cid}/status")]  # no backup attempted
    done = h.rows(outcome="succeeded")[0]
    assert "the container is error" in done.reason
    assert f"newest completed backup {newest.id}" in done.reason
    assert json.loads(done.details)["backup_id"] == newest.id


def test_a_recent_backup_is_reused_within_reuse_within(world):
    h = world(pre_change_backup={"reuse_within": timedelta(hours=1)})
    cid = h.seed("web")
    h.clock.set(START.replace(hour=0) + timedelta(days=1, hours=2, minutes=30))
    recent = h.daemon.client.backups(cid)[0]
    assert h.daemon.executor.perform(change(cid)).outcome == "succeeded"
    assert mutations(h) == [("PUT", f"/containers/{cid}/status")]
    done = h.rows(outcome="succeeded")[0]
    assert done.target == str(recent.id) and "reused" in done.reason


def test_pins_are_not_gated_and_restore_names_its_backup(world):
    h = world()
    cid = h.seed("web")
    h.clock.set(START + timedelta(days=1))
    old = h.daemon.client.backups(cid)[0]
    pin = Action("weekly_pin", "backup.pin", cid, "web", "weekly", target=str(old.id), gated=False)
    assert h.daemon.executor.perform(pin).outcome == "succeeded"
    assert mutations(h) == [("POST", f"/backups/{old.id}/pin")]
    restore = h.daemon.executor.perform(change(cid, "backup.restore", target=str(old.id)))
    assert restore.outcome == "succeeded"
    assert mutations(h)[1:] == [
        ("POST", f"/containers/{cid}/backup"),
        ("POST", f"/backups/{old.id}/restore"),
    ]
    done = h.rows(action="backup.restore", outcome="succeeded")[0]
    assert done.target == str(old.id)  # the restored backup; the pre-change one is in details
    assert json.loads(done.details)["backup_id"] == restore.backup_id != old.id
    assert_audit_matches(h.rows(), h.simulator.mutations())


def test_disabled_gate_changes_without_a_backup(world):
    h = world(pre_change_backup={"enabled": False})
    cid = h.seed("web")
    assert h.daemon.executor.perform(change(cid)).outcome == "succeeded"
    assert mutations(h) == [("PUT", f"/containers/{cid}/status")]


def test_a_scheduled_backup_completing_meanwhile_is_not_the_change_s_backup(tmp_path):
    """At 02:00 STACKS takes its daily backup of the container while the triggered one
    still runs: the change waits for its own, and the audit names that one."""
    before_schedule = START.replace(hour=1, minute=59, second=40)
    h = SimulatedRun(tmp_path, config_with(), start=before_schedule, rate_limit=AMPLE_RATE_LIMIT)
    try:
        h.daemon.leadership()
        cid = h.seed("web")
        h.simulator.amend_assumptions(manual_backup_seconds=(80, 80))
        outcome = h.daemon.executor.perform(change(cid))

        backups = {b.backup_type: b for b in h.simulator.backups_of(cid)}
        scheduled, manual = backups["scheduled"], backups["manual"]
        assert outcome.outcome == "succeeded" and outcome.backup_id == manual.id
        assert scheduled.completed_at < manual.completed_at  # the daily one was done first
        rows = h.rows()
        assert [(r.action, r.outcome, r.target) for r in rows[:2]] == [
            ("backup.create", "started", None),
            ("backup.create", "succeeded", str(manual.id)),
        ]
        assert h.simulator.mutations()[1].at >= manual.completed_at
    finally:
        h.close()
