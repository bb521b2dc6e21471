"""Which audit rows and backup lists open and clear which alert, and how the feed re-sends."""

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from daemon.alertmanager import (
    ABORTED,
    BACKUP_STALE,
    GAVE_UP,
    UNKNOWN,
    AlertmanagerFeed,
    Conditions,
    firing_stale_conditions,
)
from daemon.clock import ManualClock
from daemon.snapshot import ContainerView
from daemon.stacks import Backup, Container

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def row(action: str, outcome: str, name: str = "web", at=NOW, row_id=1, **extra) -> dict:
    return {
        "id": row_id,
        "at": at.isoformat(),
        "actor": extra.pop("actor", "policy:auto_restart"),
        "action": action,
        "outcome": outcome,
        "container_id": f"usr-0000abcd-{name}",
        "container_name": name,
        "action_id": "a" * 32,
        "reason": extra.pop("reason", None),
        "details": extra.pop("details", None),
    }


def test_gave_up_fires_until_the_container_runs_again():
    conditions = Conditions()
    assert conditions.observe(row("container.restart", "gave_up", reason="5 restarts in 1h"))
    (alert,) = conditions.firing()
    assert alert.labels == {"alertname": GAVE_UP, "container": "web", "severity": "critical"}
    assert "5 restarts in 1h" in alert.description
    # Seen again (at-least-once delivery): nothing changes.
    assert not conditions.observe(row("container.restart", "gave_up", at=NOW + timedelta(1)))
    # Another container's recovery does not clear it.
    assert not conditions.observe(row("container.start", "succeeded", name="db"))
    later = NOW + timedelta(minutes=30)
    running = row("container.restart", "skipped", at=later, details={"event": "running"})
    assert conditions.observe(running)
    assert conditions.firing() == []
    (resolved,) = conditions.alerts(later)
    assert resolved.ended_at == later
    assert conditions.alerts(later + timedelta(minutes=16)) == []


def test_a_crash_of_a_container_still_given_up_fires_again():
    """It ran a while (the alert cleared) but less than reset_after, then crashed: the
    daemon still gives up (its `skipped` note, event "given_up"), so a human is needed."""
    conditions = Conditions()
    conditions.observe(row("container.restart", "gave_up"))
    running = NOW + timedelta(minutes=2)
    conditions.observe(
        row("container.restart", "skipped", at=running, details={"event": "running"})
    )
    assert conditions.firing() == []
    crashed = NOW + timedelta(minutes=5)
    given_up = {"event": "given_up"}
    assert conditions.observe(row("container.restart", "skipped", at=crashed, details=given_up))
    (alert,) = conditions.firing()
    assert alert.labels == {"alertname": GAVE_UP, "container": "web", "severity": "critical"}


def test_an_operator_start_also_clears_gave_up():
    conditions = Conditions()
    conditions.observe(row("container.restart", "gave_up"))
    assert conditions.observe(row("container.start", "succeeded", actor="cli"))
    assert conditions.firing() == []


def test_aborted_and_unknown_fire_per_action_until_that_action_succeeds():
    conditions = Conditions()
    conditions.observe(row("container.stop", "aborted", reason="status starting"))
    conditions.observe(row("backup.pin", "unknown", name="db"))
    labels = sorted((c.labels["alertname"], c.labels["action"]) for c in conditions.firing())
    assert labels == [(ABORTED, "container.stop"), (UNKNOWN, "backup.pin")]
    assert not conditions.observe(row("container.restart", "succeeded"))  # another action
    assert conditions.observe(row("container.stop", "succeeded"))
    assert [c.alertname for c in conditions.firing()] == [UNKNOWN]
    assert conditions.observe(row("backup.pin", "succeeded", name="db"))
    assert conditions.firing() == []


def test_a_deleted_container_clears_everything_about_it():
    conditions = Conditions()
    conditions.observe(row("container.restart", "gave_up"))
    conditions.observe(row("container.stop", "unknown"))
    assert conditions.observe(row("container.delete", "succeeded", actor="cli"))
    assert conditions.firing() == []


def view(name: str, newest: datetime | None, read_at: datetime | None) -> ContainerView:
    container = Container(id=f"usr-0000abcd-{name}", name=name, status="running")
    backups = None
    if newest is not None:
        backups = (Backup(id=7, container_id=container.id, status="completed", created_at=newest),)
    return ContainerView(container, seen_at=NOW, backups=backups, backups_at=read_at)


def test_stale_backups_are_judged_as_of_the_list_read():
    conditions = Conditions()
    hours_26 = timedelta(hours=26)

    def max_age(view: ContainerView) -> timedelta:
        return hours_26

    old = NOW - timedelta(hours=30)
    # Read when the backup was 20 h old: fresh then, whatever the time is now.
    assert not conditions.observe_backups([view("web", old, old + timedelta(hours=20))],
                                          max_age, NOW)  # fmt: skip
    assert not conditions.observe_backups([view("web", None, None)], max_age, NOW)
    assert conditions.observe_backups([view("web", old, NOW)], max_age, NOW)
    (alert,) = conditions.firing()
    assert alert.labels == {"alertname": BACKUP_STALE, "container": "web", "severity": "warning"}
    assert alert.started_at == old + hours_26
    assert conditions.observe_backups([view("web", NOW, NOW)], max_age, NOW)
    assert conditions.firing() == []
    conditions.observe_backups([view("db", old, NOW)], max_age, NOW)
    assert conditions.observe_backups([], max_age, NOW)  # db is gone
    assert conditions.firing() == []


def test_each_container_is_judged_by_its_own_max_age():
    """An override gives db 48 h: its 30-hour-old backup is no alert, web's is."""
    conditions = Conditions()

    def max_age(view: ContainerView) -> timedelta:
        return timedelta(hours=48 if view.container.name == "db" else 26)

    old = NOW - timedelta(hours=30)
    assert conditions.observe_backups([view("web", old, NOW), view("db", old, NOW)], max_age, NOW)
    assert [alert.labels["container"] for alert in conditions.firing()] == ["web"]
    older = NOW - timedelta(hours=50)
    assert conditions.observe_backups([view("db", older, NOW)], max_age, NOW)
    (alert,) = [alert for alert in conditions.firing() if alert.labels["container"] == "db"]
    assert alert.started_at == older + timedelta(hours=48)
    assert "older than 2d (backup_freshness.max_age)" in alert.summary


def test_the_feed_pushes_changes_at_once_and_re_sends_every_minute():
    clock = ManualClock(NOW)
    pushed: list[tuple[str, list]] = []
    feed = AlertmanagerFeed("http://127.0.0.1:9093/", "http://opsd:9847/status", clock,
                            lambda url, body: pushed.append((url, json.loads(body))),
                            instance="host:1")  # fmt: skip
    assert feed.tick() == 0 and pushed == []  # nothing to say
    assert feed.on_row(row("container.restart", "succeeded")) == 0
    assert feed.on_row(row("container.restart", "gave_up")) == 1
    url, (alert,) = pushed[-1]
    assert url == "http://127.0.0.1:9093/api/v2/alerts"
    assert alert["generatorURL"] == "http://opsd:9847/status"
    assert alert["startsAt"] == "2026-03-02T08:00:00Z"
    assert alert["endsAt"] == "2026-03-02T08:04:00Z"
    assert alert["annotations"]["instance"] == "host:1"
    clock.advance(30)
    assert feed.tick() == 0
    clock.advance(30)
    assert feed.tick() == 1
    assert pushed[-1][1][0]["endsAt"] == "2026-03-02T08:05:00Z"
    feed.on_row(row("container.start", "succeeded", at=NOW + timedelta(minutes=1)))
    assert pushed[-1][1][0]["endsAt"] == "2026-03-02T08:01:00Z"  # resolved when it cleared
    clock.advance(16 * 60)
    assert feed.tick() == 0  # the resolution was repeated long enough


def test_a_failed_push_is_repeated_with_the_next_row_or_tick():
    clock = ManualClock(NOW)
    answers = [ConnectionError("refused"), None]
    pushed = []

    def post(url, body):
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        pushed.append(json.loads(body))

    feed = AlertmanagerFeed("http://127.0.0.1:9093", "http://opsd/status", clock, post)
    with contextlib.suppress(ConnectionError):
        feed.on_row(row("container.restart", "gave_up"))
    assert pushed == []
    assert feed.on_row(row("container.restart", "gave_up")) == 1  # the same row, retried
    assert pushed[0][0]["labels"]["alertname"] == GAVE_UP


def test_stale_alerts_read_back_are_re_sent_until_their_lists_are_read():
    """A new process adopts the stale alerts Alertmanager holds (pushed by the process before
    it), as they were: each stays firing with its start until its list is read."""
    clock = ManualClock(NOW)
    pushed: list[list] = []
    first = AlertmanagerFeed("http://am", "http://opsd/status", clock,
                             lambda url, body: pushed.append(json.loads(body)))  # fmt: skip
    old = NOW - timedelta(hours=30)
    names = ("web", "db", "api", "gone")
    first.on_backups([view(name, old, NOW) for name in names], lambda view: timedelta(hours=26))
    started = {alert["labels"]["container"]: alert["startsAt"] for alert in pushed[-1]}
    foreign = [
        {**pushed[-1][0], "labels": {**pushed[-1][0]["labels"], "team": "x"}},  # not our labels
        {**pushed[-1][0], "startsAt": None},
        "not an alert",
    ]
    held = [{**alert, "fingerprint": "f", "status": {"state": "active"}} for alert in pushed[-1]]
    answer = json.dumps(held + foreign).encode()

    clock.advance(30)
    second = AlertmanagerFeed("http://am", "http://opsd/status", clock,
                              lambda url, body: pushed.append(json.loads(body)))  # fmt: skip
    assert second.adopt(firing_stale_conditions(answer)) == 4
    unread = [view(name, None, None) for name in names]
    for _ in range(6):  # six minutes of refreshes that have not read the lists yet
        clock.advance(60)
        second.on_backups(unread, lambda view: timedelta(hours=26))
        second.tick()
        assert {a["labels"]["container"]: a["startsAt"] for a in pushed[-1]} == started
        assert all(alert["endsAt"] > clock.now().isoformat() for alert in pushed[-1])

    read_at = clock.now()
    second.on_backups(
        [view("web", old, read_at), view("db", None, None), view("api", read_at, read_at)],
        lambda view: timedelta(hours=26),
    )
    alerts = {alert["labels"]["container"]: alert for alert in pushed[-1]}
    assert alerts["web"]["startsAt"] == started["web"]  # still stale: the same alert
    assert alerts["db"]["endsAt"] > read_at.isoformat()  # not read yet: still held
    assert alerts["api"]["endsAt"] == "2026-03-02T08:06:30Z"  # fresh: resolved at the read
    # Not in this fleet: maybe another account's daemon's, sharing the Alertmanager. Dropped
    # unresolved: it ends at its own endsAt, or by the daemon that sends it.
    assert "gone" not in alerts


def test_an_adopted_alert_of_another_account_s_container_of_that_name_is_not_ended():
    """Two daemons (two accounts) share one Alertmanager and both have a `web`: the one
    that restarts must not resolve the other's stale alert, which would flap each minute."""
    clock = ManualClock(NOW)
    pushed: list[list] = []
    theirs = AlertmanagerFeed("http://am", "http://opsd/status", clock,
                              lambda url, body: pushed.append(json.loads(body)))  # fmt: skip
    old = NOW - timedelta(hours=30)
    theirs.on_backups([view("web", old, NOW)], lambda view: timedelta(hours=26))
    answer = json.dumps(pushed[-1]).encode()

    mine = AlertmanagerFeed("http://am", "http://opsd/status", clock,
                            lambda url, body: pushed.append(json.loads(body)))  # fmt: skip
    assert mine.adopt(firing_stale_conditions(answer)) == 1
    own_web = replace(
        view("web", NOW, NOW), container=Container("usr-0000ffff-web", "web", "running")
    )
    pushed.clear()
    mine.on_backups([own_web], lambda view: timedelta(hours=26))
    mine.tick()
    assert pushed == [] and mine.conditions.alerts(clock.now()) == []


def test_an_adopted_alert_does_not_replace_one_this_process_opened():
    conditions = Conditions()
    old = NOW - timedelta(hours=30)
    conditions.observe_backups([view("web", old, NOW)], lambda view: timedelta(hours=26), NOW)
    (mine,) = conditions.firing()
    answer = json.dumps([{"labels": mine.labels, "startsAt": "2026-01-01T00:00:00.123456789Z"}])
    (theirs,) = firing_stale_conditions(answer.encode())
    assert theirs.started_at == datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert not conditions.adopt([theirs])
    assert conditions.firing() == [mine]


@pytest.mark.parametrize("answer", [b"<html>", b'{"error": "x"}', b"\xff"])
def test_an_answer_that_is_not_a_list_of_alerts_is_a_value_error(answer):
    with pytest.raises(ValueError, match="not a JSON list of alerts"):
        firing_stale_conditions(answer)
