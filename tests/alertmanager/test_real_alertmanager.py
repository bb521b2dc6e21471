"""A real Alertmanager receives what a real daemon's audit says: a given-up container fires
with stable labels, a silence made through Alertmanager's API silences it, and it resolves
once the container runs again. A stale-backup alert outlives a restart of the daemon: the
new process reads it back and keeps it firing until it has read the container's list.

The daemon runs in-process on a ManualClock (tests/support/simulated_run.py) started ten
minutes before the wall clock, so every audit time is in Alertmanager's past; the feed
pushes on the wall clock, as it would in `stacks-opsd run`.
"""

import time
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from daemon.alertmanager import BACKUP_STALE, FIRING_FOR, GAVE_UP, AlertmanagerFeed
from daemon.audit import AuditStore, row_document
from daemon.clock import ManualClock, SystemClock
from daemon.exporter import NotificationMetrics
from daemon.notify import DeliveryWorker, NotifyConfig, SinkEnvironment, build_sink
from daemon.snapshot import ContainerView
from daemon.stacks import Backup, Container
from tests.support.alertmanager import AlertmanagerProcess
from tests.support.processes import wait_until
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

STATUS_INTERVAL = timedelta(seconds=15)
STALE = ("web", "gone", "elsewhere")
GENERATOR_URL = "http://127.0.0.1:9847/status"


def alerts_named(alertmanager: AlertmanagerProcess, alertname: str) -> list[dict]:
    return [a for a in alertmanager.alerts() if a["labels"]["alertname"] == alertname]


def test_a_given_up_container_fires_is_silenced_and_resolves(tmp_path):
    alertmanager = AlertmanagerProcess(tmp_path / "alertmanager")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    config = config_with(status_interval=STATUS_INTERVAL, auto_restart={"max_restarts": 1})
    run = SimulatedRun(tmp_path, config, start=start, rate_limit=AMPLE_RATE_LIMIT)
    try:
        web = run.seed("web")
        run.seed("database")

        def crash_when_running(now: datetime) -> None:
            if run.simulator.container_status(web) == "running":
                run.simulator.crash(web)

        run.advance(timedelta(minutes=2), crash_when_running)
        assert len(run.rows(outcome="gave_up")) == 1
        feed = AlertmanagerFeed(
            alertmanager.url, GENERATOR_URL, SystemClock(), alertmanager.post, instance="test:1"
        )
        seen = 0
        for row in run.rows():
            feed.on_row(row_document(row))
            seen = row.id

        (alert,) = wait_until(lambda: alerts_named(alertmanager, GAVE_UP), 20, "the alert")
        assert alert["labels"] == {
            "alertname": GAVE_UP,
            "container": "web",
            "severity": "critical",
        }
        assert alert["status"]["state"] == "active"
        assert alert["generatorURL"] == GENERATOR_URL
        assert alert["annotations"]["container_id"] == web
        gave_up = run.rows(outcome="gave_up")[0]
        assert alert["annotations"]["audit_id"] == str(gave_up.id)
        assert datetime.fromisoformat(alert["startsAt"]) == gave_up.at

        silence = alertmanager.silence({"alertname": GAVE_UP, "container": "web"})
        silenced = wait_until(
            lambda: [
                a
                for a in alerts_named(alertmanager, GAVE_UP)
                if a["status"]["state"] == "suppressed"
            ],
            20,
            "the silence to apply",
        )
        assert silenced[0]["status"]["silencedBy"] == [silence]
        feed.push()  # a re-send keeps the same identity: still silenced, not a new alert
        (again,) = alerts_named(alertmanager, GAVE_UP)
        assert again["fingerprint"] == alert["fingerprint"]
        assert again["status"]["state"] == "suppressed"

        run.simulator.set_status(web, "running")  # it comes back (someone fixed it)
        run.advance(STATUS_INTERVAL)
        new_rows = [row for row in run.rows() if row.id > seen]
        assert any(row.outcome == "skipped" for row in new_rows)
        for row in new_rows:
            feed.on_row(row_document(row))
        wait_until(lambda: alerts_named(alertmanager, GAVE_UP) == [], 20, "the alert to resolve")
    finally:
        run.close()
        alertmanager.stop()


def backup_list(name: str, newest: datetime | None, read_at: datetime | None) -> ContainerView:
    """`name`'s backup list as a refresh hands it to the sinks (`read_at` None: not read yet)."""
    container = Container(id=f"usr-0000abcd-{name}", name=name, status="running")
    backups = None
    if newest is not None:
        backups = (Backup(id=7, container_id=container.id, status="completed", created_at=newest),)
    seen_at = read_at or datetime.now(UTC)
    return ContainerView(container, seen_at=seen_at, backups=backups, backups_at=read_at)


def stale_alerts(alertmanager: AlertmanagerProcess) -> dict[str, dict]:
    return {a["labels"]["container"]: a for a in alerts_named(alertmanager, BACKUP_STALE)}


def test_a_stale_backup_alert_stays_firing_across_a_restart_until_the_list_is_read(tmp_path):
    """Process 1 pushed StacksOpsdBackupStale for web, gone and elsewhere, then stopped.
    Process 2 (its sink matches web and gone) starts before it has read web's list: it
    reads web's alert back from Alertmanager and keeps it firing, with its startsAt, past
    the old endsAt; gone, not in its lists (maybe another account's daemon's), and
    elsewhere, not its sink's, are left to run out. Reading a fresh list of web then
    resolves it."""
    alertmanager = AlertmanagerProcess(tmp_path / "alertmanager")
    max_age = timedelta(hours=26)

    def max_age_of(view: ContainerView) -> timedelta:
        return max_age

    # Process 1 pushed last just under 4 minutes ago: its alerts end 8 s from now.
    first_clock = ManualClock(datetime.now(UTC) - FIRING_FOR + timedelta(seconds=8))
    first = build_sink(
        NotifyConfig(name="am", kind="alertmanager", url=alertmanager.url),
        SinkEnvironment(instance="host-a:1", clock=first_clock),
    )
    settings = NotifyConfig(
        name="am", kind="alertmanager", url=alertmanager.url, match=("web", "gone")
    )
    clock = ManualClock(datetime.now(UTC))
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "host-b:2", clock)
    second = build_sink(settings, SinkEnvironment(instance="host-b:2", clock=clock))
    worker = DeliveryWorker(
        second, settings, store, clock, NotificationMetrics(CollectorRegistry()), lambda: True
    )
    try:
        three_days_ago = first_clock.now() - timedelta(days=3)
        first.observe_backups(
            [backup_list(name, three_days_ago, first_clock.now()) for name in STALE],
            max_age_of,
        )
        first.tick()
        before = stale_alerts(alertmanager)
        assert set(before) == set(STALE)
        old_ends_at = datetime.fromisoformat(before["web"]["endsAt"])

        # Process 2's first refresh has not read web's list yet, and gone is not listed.
        second.observe_backups([backup_list("web", None, None)], max_age_of)
        worker.step()  # resume (the alerts are read back), then a pass that pushes
        assert set(stale_alerts(alertmanager)) == set(STALE)  # gone is not resolved from here

        while datetime.now(UTC) < old_ends_at + timedelta(seconds=1):
            time.sleep(0.2)
        clock.set(datetime.now(UTC))
        after = stale_alerts(alertmanager)
        assert set(after) == {"web"}  # gone and elsewhere ran out at the old endsAt
        web = after["web"]
        assert web["status"]["state"] == "active"
        assert web["startsAt"] == before["web"]["startsAt"]
        assert web["fingerprint"] == before["web"]["fingerprint"]
        assert web["annotations"]["instance"] == "host-b:2"
        assert datetime.fromisoformat(web["endsAt"]) > old_ends_at

        second.observe_backups([backup_list("web", clock.now(), clock.now())], max_age_of)
        worker.step()  # web's list is read: its newest backup is fresh
        wait_until(lambda: stale_alerts(alertmanager) == {}, 10, "web's alert to resolve")
    finally:
        worker.stop()
        first.close()
        store.close()
        alertmanager.stop()
