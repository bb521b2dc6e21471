"""The alertmanager sink on the normal delivery path: built from a `[[notify]]` table, fed by
the delivery worker, handed the backup lists by the leader's refresh, its open alerts recalled
after a restart. A recording HTTP receiver on loopback stands in for Alertmanager here (it
records each POST's alerts); tests/alertmanager runs the real one."""

import dataclasses
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from daemon.alertmanager import BACKUP_STALE, GAVE_UP, TEST_ALERT
from daemon.audit import AuditAction, Outcome, new_action_id
from daemon.clock import ManualClock
from daemon.config import ConfigError, DaemonConfig, load_config
from daemon.exporter import NotificationMetrics
from daemon.notify import (
    AlertmanagerSink,
    DeliveryWorker,
    NotifyConfig,
    SinkEnvironment,
    build_sinks,
    sample_notification,
)
from policies import Override
from tests.support.simulated_run import MONDAY, SimulatedRun, config_with

STATUS_URL = "http://opsd.example:9847/status"


@pytest.fixture
def clock():
    return ManualClock(MONDAY)


def settings_for(receiver, **options) -> NotifyConfig:
    return NotifyConfig(name="am", kind="alertmanager", url=receiver.url, **options)


def worker_for(receiver, store, clock, **options) -> DeliveryWorker:
    settings = settings_for(receiver, **options)
    environment = SinkEnvironment(instance="host-a:41", status_url=STATUS_URL, clock=clock)
    (sink,) = build_sinks([settings], environment)
    metrics = NotificationMetrics(CollectorRegistry())
    return DeliveryWorker(sink, settings, store, clock, metrics, lambda: True)


def append(store, name, action, outcome, **extra):
    return store.append(
        "policy:auto_restart" if action == AuditAction.CONTAINER_RESTART else "cli",
        action,
        outcome,
        action_id=new_action_id(),
        container_id=f"usr-0000abcd-{name}",
        container_name=name,
        reason="crash loop" if outcome == Outcome.GAVE_UP else "by hand",
        **extra,
    )


def by_container(alerts: list[dict]) -> dict[tuple[str, str], dict]:
    """The alerts of one POST, by (alertname, container)."""
    return {(a["labels"]["alertname"], a["labels"]["container"]): a for a in alerts}


def last_push(receiver) -> dict[tuple[str, str], dict]:
    """The alerts of the newest POST, by (alertname, container)."""
    return by_container(receiver.bodies()[-1])


def test_a_kind_alertmanager_table_builds_the_sink_and_checks_generator_url(tmp_path):
    def load(text: str):
        path = tmp_path / "config.toml"
        path.write_text(text)
        return load_config(str(path), env={})

    config = load('[[notify]]\nname = "am"\nkind = "alertmanager"\nurl = "http://127.0.0.1:9093"\n')
    (sink,) = build_sinks(config.notify)
    assert isinstance(sink, AlertmanagerSink)
    assert sink.feed.url == "http://127.0.0.1:9093/api/v2/alerts"
    assert sink.feed.generator_url == "http://127.0.0.1:9847/status"
    sink.close()

    with pytest.raises(ConfigError) as caught:
        load(
            '[[notify]]\nname = "am"\nkind = "alertmanager"\nurl = "http://127.0.0.1:9093"\n'
            'generator_url = "opsd/status"\n'
            '[[notify]]\nname = "hook"\nkind = "webhook"\nurl = "http://127.0.0.1:1/h"\n'
            'generator_url = "http://opsd/status"\n'
        )
    assert caught.value.errors == [
        'config.toml: notify[0].generator_url: expected an http:// or https:// URL, or "" '
        'for this daemon\'s /status, got "opsd/status"',
        "config.toml: notify[1].generator_url: expected no generator_url (only an "
        'alertmanager sink links its alerts), got "http://opsd/status"',
    ]


def test_the_default_generator_url_is_this_daemons_status_page():
    assert DaemonConfig(listen="127.0.0.1:9999").status_url == "http://127.0.0.1:9999/status"
    assert DaemonConfig(listen="[::1]:9847").status_url == "http://[::1]:9847/status"
    tls = DaemonConfig(listen="10.0.0.5:9847", tls_cert_file="c.pem", tls_key_file="k.pem")
    assert tls.status_url == "https://10.0.0.5:9847/status"
    wildcard = DaemonConfig(listen="0.0.0.0:9847").status_url
    assert not wildcard.startswith("http://0.0.0.0") and wildcard.endswith(":9847/status")


def test_rows_through_the_worker_fire_and_resolve_with_links_and_instance(receiver, store, clock):
    worker = worker_for(receiver, store, clock)
    worker.step()  # the cursor starts at the newest row
    gave_up = append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)

    worker.step()

    alert = last_push(receiver)[(GAVE_UP, "web")]
    assert alert["labels"] == {"alertname": GAVE_UP, "container": "web", "severity": "critical"}
    assert alert["generatorURL"] == STATUS_URL
    assert alert["annotations"]["instance"] == "host-a:41"
    assert alert["annotations"]["audit_id"] == str(gave_up.id)
    assert alert["endsAt"] > alert["startsAt"]  # firing

    clock.advance(60)
    started = append(store, "web", AuditAction.CONTAINER_START, Outcome.SUCCEEDED)
    worker.step()

    resolved = last_push(receiver)[(GAVE_UP, "web")]
    assert resolved["endsAt"] == started.at.isoformat().replace("+00:00", "Z")


def test_open_alerts_are_recalled_after_a_restart_and_sent_again(receiver, store, clock):
    ancient = append(store, "ancient", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    append(store, "old-fixed", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    clock.advance(timedelta(days=1).total_seconds())
    append(store, "old-fixed", AuditAction.CONTAINER_START, Outcome.SUCCEEDED)
    clock.advance(timedelta(days=400).total_seconds())  # given up for over a year, still
    first = worker_for(receiver, store, clock)
    first.step()
    gave_up = append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    append(store, "db", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    append(store, "db", AuditAction.CONTAINER_START, Outcome.SUCCEEDED)  # fixed before the stop
    append(store, "api", AuditAction.CONTAINER_STOP, Outcome.ABORTED)
    first.step()
    first.stop()
    receiver.requests.clear()

    clock.advance(20 * 60)  # the daemon was down 20 minutes: past RESOLVED_KEPT for db
    second = worker_for(receiver, store, clock)  # a new process on the same database
    assert second.step() == 0  # nothing new to send...

    pushed = last_push(receiver)  # ...yet what is still open is sent again
    assert set(pushed) == {
        (GAVE_UP, "web"),
        (GAVE_UP, "ancient"),
        ("StacksOpsdChangeAborted", "api"),
    }
    assert pushed[(GAVE_UP, "ancient")]["annotations"]["audit_id"] == str(ancient.id)
    web = pushed[(GAVE_UP, "web")]
    assert web["startsAt"] == gave_up.at.isoformat().replace("+00:00", "Z")
    assert web["endsAt"] > clock.now().isoformat()  # firing, not left to time out
    second.stop()


def test_an_alertmanager_that_cannot_be_read_back_is_logged_once_and_recall_goes_on(
    receiver, store, clock, caplog
):
    """The stand-in takes POSTs only: reading its stale-backup alerts back fails (HTTP 501),
    which is logged once per start of delivery; the audit rows' alerts are recalled."""
    append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    worker = worker_for(receiver, store, clock)
    with caplog.at_level("WARNING", logger="daemon"):
        worker.step()
        clock.advance(61)
        worker.step()

    (warning,) = [r.getMessage() for r in caplog.records if "read back" in r.getMessage()]
    assert warning.startswith(
        "notification sink am: the stale-backup alerts Alertmanager holds could not be read "
        f"back (http://127.0.0.1:{receiver.port}/... answered HTTP 501: "
    )
    assert set(last_push(receiver)) == {(GAVE_UP, "web")}
    assert worker.failures == 0
    worker.stop()


def test_stale_backups_reach_the_sink_after_a_refresh_without_the_refresh_sending(
    tmp_path, receiver
):
    config = config_with(
        status_interval=timedelta(seconds=30),
        backups_interval=timedelta(minutes=10),
        backup_freshness={"max_age": timedelta(minutes=30)},
    )
    # shop-db's own max_age (an override) is a day: its backup is fresh, web's is stale.
    lenient = Override(
        match=("shop-db",), options={"backup_freshness": {"max_age": timedelta(days=1)}}
    )
    config = dataclasses.replace(config, notify=(settings_for(receiver),), overrides=(lenient,))
    run = SimulatedRun(tmp_path, config, rate_limit=100_000)
    try:
        run.seed("web")
        run.seed("shop-db")
        run.advance(timedelta(hours=3, minutes=30))  # the 02:00 backup is an hour and a half old
        assert receiver.requests == []  # the refresh handed the lists over; it sent nothing

        run.daemon.notifications.deliver_pending()  # the sink's own thread, one pass

        pushed = last_push(receiver)
        assert (BACKUP_STALE, "shop-db") not in pushed
        alert = pushed[(BACKUP_STALE, "web")]
        assert alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["instance"] == "simulated"
        assert alert["generatorURL"] == "http://127.0.0.1:9847/status"
    finally:
        run.close()


def test_notify_test_pushes_a_test_alert(receiver, clock):
    environment = SinkEnvironment(instance="host-a:41", status_url=STATUS_URL, clock=clock)
    (sink,) = build_sinks([settings_for(receiver)], environment)
    try:
        receipt = sink.send(sample_notification(clock.now(), "host-a:41"))
    finally:
        sink.close()
    assert receipt.status == 200
    [alert] = receiver.bodies()[-1]
    assert alert["labels"]["alertname"] == TEST_ALERT
    assert alert["generatorURL"] == STATUS_URL


def test_a_failed_re_send_while_idle_backs_off_and_is_counted(receiver, store, clock):
    registry = CollectorRegistry()
    settings = settings_for(receiver)
    (sink,) = build_sinks([settings], SinkEnvironment(clock=clock))
    worker = DeliveryWorker(
        sink, settings, store, clock, NotificationMetrics(registry), lambda: True
    )
    worker.step()
    append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    worker.step()
    receiver.mode = "error"
    clock.advance(61)  # a re-send is due, and Alertmanager answers 500

    assert worker.step() == 0  # no exception out of the pass

    labels = {"sink": "am", "result": "rejected"}
    assert registry.get_sample_value("stacks_opsd_notifications_total", labels) == 1
    assert worker.failures == 1
    receiver.mode = "ok"
    clock.advance(2)
    worker.step()
    assert last_push(receiver)[(GAVE_UP, "web")]["endsAt"] > clock.now().isoformat()
    sink.close()


def test_rows_summarized_while_alertmanager_was_down_still_change_what_is_pushed(
    receiver, store, clock
):
    worker = worker_for(receiver, store, clock, summarize_after=timedelta(hours=1))
    worker.step()
    append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    worker.step()
    assert last_push(receiver)[(GAVE_UP, "web")]["endsAt"] > clock.now().isoformat()

    receiver.stop()  # Alertmanager is down for longer than summarize_after
    append(store, "api", AuditAction.CONTAINER_STOP, Outcome.ABORTED)
    worker.step()  # its push fails: the row waits, and the rows after it
    clock.advance(10 * 60)
    append(store, "db", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    append(store, "web", AuditAction.CONTAINER_START, Outcome.SUCCEEDED)  # fixed by hand
    clock.advance(2 * 3600)
    receiver.start()
    worker.step()  # every row is over an hour old: summarized, not sent one by one
    worker.step()  # the summary row is sent, and pushes what the rows left open

    pushed = last_push(receiver)
    now = clock.now().isoformat()
    assert pushed[("StacksOpsdChangeAborted", "api")]["endsAt"] > now
    assert pushed[(GAVE_UP, "db")]["endsAt"] > now  # given up during the outage: firing
    assert (GAVE_UP, "web") not in pushed or pushed[(GAVE_UP, "web")]["endsAt"] <= now
    assert len(store.query(action=AuditAction.NOTIFY_SUMMARY)) == 1


def test_after_a_restart_only_the_containers_the_sink_matches_are_recalled(receiver, store, clock):
    first = worker_for(receiver, store, clock, match=("team-a-*",))
    first.step()
    append(store, "team-a-web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    append(store, "team-b-db", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    first.step()
    first.stop()
    receiver.requests.clear()

    clock.advance(61)
    second = worker_for(receiver, store, clock, match=("team-a-*",))  # a new process
    second.step()

    assert [set(push) for push in map(by_container, receiver.bodies())] == [
        {(GAVE_UP, "team-a-web")}
    ]
    second.stop()


def test_stale_backups_of_containers_the_sink_does_not_match_are_not_pushed(tmp_path, receiver):
    config = config_with(
        status_interval=timedelta(seconds=30),
        backups_interval=timedelta(minutes=10),
        backup_freshness={"max_age": timedelta(minutes=30)},
    )
    settings = settings_for(receiver, match=("web",))
    config = dataclasses.replace(config, notify=(settings,))
    run = SimulatedRun(tmp_path, config, rate_limit=100_000)
    try:
        run.seed("web")
        run.seed("shop-db")
        run.advance(timedelta(hours=3, minutes=30))  # both newest backups are stale

        run.daemon.notifications.deliver_pending()

        assert set(last_push(receiver)) == {(BACKUP_STALE, "web")}
    finally:
        run.close()


def test_firing_alerts_are_re_sent_every_minute_while_rows_keep_coming(receiver, store, clock):
    worker = worker_for(receiver, store, clock)
    worker.step()
    append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    worker.step()

    for index in range(6 * 12):  # six minutes, a row about another container every 5 s
        append(store, f"other-{index % 5}", AuditAction.CONTAINER_RESTART, Outcome.SUCCEEDED)
        clock.advance(5)
        assert worker.step() == 1

    assert len(receiver.requests) >= 6
    assert last_push(receiver)[(GAVE_UP, "web")]["endsAt"] > clock.now().isoformat()


def test_a_re_send_that_gets_through_clears_the_failures(receiver, store, clock, caplog):
    worker = worker_for(receiver, store, clock)
    worker.step()
    append(store, "web", AuditAction.CONTAINER_RESTART, Outcome.GAVE_UP)
    worker.step()
    receiver.stop()
    for _ in range(8):  # re-sends fail for a while: the backoff grows to minutes
        clock.advance(301)
        worker.step()
    receiver.start()
    clock.advance(301)
    worker.step()  # a re-send gets through
    assert worker.last_error is None

    receiver.stop()  # a later blip is retried after the first backoff again, not minutes
    clock.advance(61)
    with caplog.at_level("WARNING", logger="daemon"):
        worker.step()
    assert "(attempt 1;" in caplog.text
    receiver.start()
    pushes = len(receiver.requests)
    clock.advance(1.01)
    worker.step()
    assert len(receiver.requests) == pushes + 1
