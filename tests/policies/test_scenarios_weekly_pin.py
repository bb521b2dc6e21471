"""weekly_pin end to end over simulated weeks of daily 02:00 backups."""

from datetime import UTC, datetime, timedelta

from tests.policies.audit_truth import assert_audit_matches
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # ISO week 2026-W02
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def scenario(tmp_path, status_interval: timedelta, **poll: timedelta) -> SimulatedRun:
    """Weeks of pins: the metrics, which they do not need, are read once a day."""
    config = config_with(status_interval=status_interval, metrics_interval=DAY, **poll)
    return SimulatedRun(tmp_path, config, start=MONDAY, rate_limit=AMPLE_RATE_LIMIT)


def test_a_daemon_down_from_saturday_to_monday_still_pins_the_week(tmp_path):
    run = scenario(tmp_path, status_interval=timedelta(minutes=10))
    cid = run.seed("mydb")
    run.advance(timedelta(days=5))  # Monday to Saturday 00:00
    assert run.rows(action="backup.pin") == []

    run.clock.set(MONDAY + timedelta(days=7, hours=9))  # down until Monday 09:00
    run.restart_daemon()
    run.advance(timedelta(minutes=30))

    listed = run.daemon.client.backups(cid)
    week = [b for b in listed if MONDAY <= b.created_at < MONDAY + timedelta(days=7)]
    sunday = max(week, key=lambda b: b.created_at)
    assert sunday.created_at.date() == (MONDAY + timedelta(days=6)).date()
    assert [b.id for b in listed if b.pinned] == [sunday.id]
    [pinned] = run.rows(action="backup.pin", outcome="succeeded")
    assert pinned.target == str(sunday.id)
    assert "catch-up" in pinned.reason
    assert_audit_matches(run.rows(), run.simulator.mutations())


def test_twelve_weeks_keep_eight_daemon_pins_and_the_manual_pin(tmp_path):
    six_hours = timedelta(hours=6)  # the backup lists too: the 02:00 ones are read at 02:05
    run = scenario(tmp_path, status_interval=six_hours, backups_interval=six_hours)
    cid = run.seed("mydb")
    run.advance(timedelta(days=2, hours=12))  # Wednesday noon: two daily backups exist
    manual = run.daemon.client.backups(cid)[0]
    run.daemon.client.pin_backup(manual.id)  # an operator pins a backup through the API
    run.advance(timedelta(weeks=12))

    listed = {b.id: b for b in run.daemon.client.backups(cid, limit=100)}
    assert listed[manual.id].pinned
    made = run.rows(action="backup.pin", outcome="succeeded")
    unpinned = run.rows(action="backup.unpin", outcome="succeeded")
    assert len(made) == 11  # the week of the manual pin needed no weekly pin
    assert [int(r.target) for r in unpinned] == [int(r.target) for r in made[:3]]
    still_pinned = [int(r.target) for r in made[3:]]
    assert sorted(b.id for b in listed.values() if b.pinned) == sorted([manual.id, *still_pinned])
    operator_pin = run.simulator.mutations()[0]
    assert_audit_matches(run.rows(), run.simulator.mutations()[1:])
    assert operator_pin.path.endswith(f"/backups/{manual.id}/pin")


def test_a_week_a_human_pins_after_the_list_was_read_keeps_that_one_pin(tmp_path):
    run = scenario(tmp_path, status_interval=timedelta(minutes=10))
    cid = run.seed("mydb")
    run.advance(timedelta(days=5, hours=12))  # Saturday noon: five daily backups
    perform, humans = run.daemon.executor.perform, []

    def a_human_pins_first(action):
        """Someone pins another backup of the week from the dashboard, after the list
        the decision was made on was read, just before the daemon's pin is sent."""
        if action.action == "backup.pin" and not humans:
            other = next(b for b in run.simulator.backups_of(cid) if str(b.id) != action.target)
            run.daemon.client.pin_backup(other.id)
            humans.append(other.id)
        return perform(action)

    run.daemon.executor.perform = a_human_pins_first
    run.advance(timedelta(days=1, hours=12))  # past Sunday 03:00, the pin's due time

    week = [b for b in run.daemon.client.backups(cid) if b.created_at < MONDAY + 7 * DAY]
    assert humans and [b.id for b in week if b.pinned] == humans  # one pin for the week
    [skipped] = run.rows(action="backup.pin")  # the only row: nothing was sent
    assert skipped.outcome == "skipped" and f"backup {humans[0]}, created" in skipped.reason
    assert run.rows(action="backup.pin", outcome="succeeded") == []
    assert_audit_matches(run.rows(), run.simulator.mutations()[1:])
