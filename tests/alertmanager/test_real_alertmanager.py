"""A real Alertmanager receives what a real daemon's audit says: a given-up container fires
with stable labels, a silence made through Alertmanager's API silences it, and it resolves
once the container runs again.

The daemon runs in-process on a ManualClock (tests/support/simulated_run.py) started ten
minutes before the wall clock, so every audit time is in Alertmanager's past; the feed
pushes on the wall clock, as it would in `stacks-opsd run`.
"""

from datetime import UTC, datetime, timedelta

from daemon.alertmanager import GAVE_UP, AlertmanagerFeed
from daemon.audit import row_document
from daemon.clock import SystemClock
from tests.support.alertmanager import AlertmanagerProcess
from tests.support.processes import wait_until
from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

STATUS_INTERVAL = timedelta(seconds=15)
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
