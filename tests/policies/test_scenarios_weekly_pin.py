"""weekly_pin end to end over simulated weeks of daily 02:00 backups."""

from datetime import UTC, datetime, timedelta

from daemon.config import PoliciesConfig
from tests.policies.audit_truth import assert_audit_matches
from tests.policies.harness import Harness

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # ISO week 2026-W02
HOUR = timedelta(hours=1)


def test_a_daemon_down_from_saturday_to_monday_still_pins_the_week(tmp_path):
    harness = Harness(tmp_path, MONDAY, PoliciesConfig(), status_interval=timedelta(minutes=10))
    cid = harness.seed("mydb")
    harness.run(timedelta(days=5))  # Monday to Saturday 00:00
    assert harness.rows(action="backup.pin") == []

    harness.clock.set(MONDAY + timedelta(days=7, hours=9))  # down until Monday 09:00
    harness.restart_daemon()
    harness.run(timedelta(minutes=30))

    listed = harness.client.backups(cid)
    week = [b for b in listed if MONDAY <= b.created_at < MONDAY + timedelta(days=7)]
    sunday = max(week, key=lambda b: b.created_at)
    assert sunday.created_at.date() == (MONDAY + timedelta(days=6)).date()
    assert [b.id for b in listed if b.pinned] == [sunday.id]
    [pinned] = harness.rows(action="backup.pin", outcome="succeeded")
    assert pinned.target == str(sunday.id)
    assert "catch-up" in pinned.reason
    assert_audit_matches(harness.rows(), harness.sim.mutations())


def test_twelve_weeks_keep_eight_daemon_pins_and_the_manual_pin(tmp_path):
    harness = Harness(tmp_path, MONDAY, PoliciesConfig(), status_interval=timedelta(hours=6))
    cid = harness.seed("mydb")
    harness.run(timedelta(days=2, hours=12))  # Wednesday noon: two daily backups exist
    manual = harness.client.backups(cid)[0]
    harness.client.pin_backup(manual.id)  # an operator pins a backup through the API
    harness.run(timedelta(weeks=12))

    listed = {b.id: b for b in harness.client.backups(cid, limit=100)}
    assert listed[manual.id].pinned
    made = harness.rows(action="backup.pin", outcome="succeeded")
    unpinned = harness.rows(action="backup.unpin", outcome="succeeded")
    assert len(made) == 11  # the week of the manual pin needed no weekly pin
    assert [int(r.target) for r in unpinned] == [int(r.target) for r in made[:3]]
    still_pinned = [int(r.target) for r in made[3:]]
    assert sorted(b.id for b in listed.values() if b.pinned) == sorted([manual.id, *still_pinned])
    operator_pin = harness.sim.mutations()[0]
    assert_audit_matches(harness.rows(), harness.sim.mutations()[1:])
    assert operator_pin.path.endswith(f"/backups/{manual.id}/pin")
