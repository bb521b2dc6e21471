"""Delivery from the audit outbox to a real webhook receiver on loopback, on a ManualClock:
order, no gaps, retries, filters, summaries after `summarize_after`, metrics per fault."""

import contextlib
import hashlib
import hmac
import json
import os
import random
import resource
import sqlite3
import sys
import time
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from daemon.audit import AuditAction, Outcome, new_action_id, row_hash, verify_export
from daemon.exporter import NotificationMetrics
from daemon.notify import (
    SIGNATURE_HEADER,
    DeliveryResult,
    DeliveryWorker,
    JsonLinesSink,
    NotifyConfig,
    Sink,
    SinkUnreachable,
    WebhookSink,
    notification_of,
    retry_delay,
)
from tests.notify.scripted_receiver import ScriptedReceiver, http_answer

SECRET = "s3cret-for-hmac"


@pytest.fixture
def registry():
    return CollectorRegistry()


class Leading:
    def __init__(self) -> None:
        self.value = True

    def __call__(self) -> bool:
        return self.value


def webhook_settings(tmp_path, receiver, **options) -> NotifyConfig:
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    auth = tmp_path / "auth"
    auth.write_text("Bearer receiver-token\n")
    return NotifyConfig(
        name="ops",
        kind="webhook",
        url=receiver.url,
        secret_file=str(secret),
        headers_files={"Authorization": str(auth)},
        timeout=timedelta(seconds=0.5),
        **options,
    )


def worker_for(settings, store, clock, registry, leading=None, sink=None) -> DeliveryWorker:
    sink = sink or WebhookSink(settings)
    metrics = NotificationMetrics(registry)
    return DeliveryWorker(sink, settings, store, clock, metrics, leading or Leading())


def restart(store, container="web", outcome=Outcome.SUCCEEDED, actor="policy:auto_restart"):
    return store.append(
        actor,
        AuditAction.CONTAINER_RESTART,
        outcome,
        action_id=new_action_id(),
        container_id=f"usr-0000abcd-{container}",
        container_name=container,
        reason="status error",
    )


def metric(registry, name, **labels):
    return registry.get_sample_value(name, labels) or 0.0


def test_each_row_arrives_signed_with_its_chain_and_a_summary(
    tmp_path, receiver, store, clock, registry
):
    worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
    worker.step()  # the sink's cursor starts at the newest row: only what happens from now
    first, second = restart(store), restart(store, "db", Outcome.GAVE_UP)

    assert worker.step() == 2

    [(headers, body), _] = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert headers["Authorization"] == "Bearer receiver-token"
    document = json.loads(body)
    assert document["summary"] == "restart of web succeeded (policy:auto_restart): status error"
    row = document["row"]
    assert (row["id"], row["action_id"], row["hash"]) == (first.id, first.action_id, first.hash)
    assert row_hash({**row, "at": first.at}) == row["hash"]  # the chain can be re-checked
    assert receiver.ids() == [first.id, second.id]
    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result="delivered") == 2
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 0
    assert (
        metric(registry, "stacks_opsd_notification_last_success_timestamp_seconds", sink="ops")
        == clock.now().timestamp()
    )


def test_a_receiver_that_was_down_gets_every_row_in_order_without_gaps(
    tmp_path, receiver, store, clock, registry
):
    worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
    worker.step()
    receiver.stop()
    written = [restart(store, f"c{index}").id for index in range(5)]

    assert worker.step() == 0  # refused: the first row waits, nothing is skipped
    assert (
        metric(registry, "stacks_opsd_notifications_total", sink="ops", result="unreachable") == 1
    )
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 5
    clock.advance(0.4)
    assert worker.step() == 0  # still backing off: no attempt before the delay
    assert (
        metric(registry, "stacks_opsd_notifications_total", sink="ops", result="unreachable") == 1
    )

    written += [restart(store, "late").id]
    receiver.start()
    clock.advance(1.0)  # the first retry comes after 0.5 to 1 s
    assert worker.step() == 6
    assert receiver.ids() == written
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 0


def test_retries_back_off_exponentially_with_jitter_up_to_five_minutes():
    rng = random.Random(7)
    delays = [retry_delay(failures, rng) for failures in range(1, 12)]
    assert 0.5 <= delays[0] <= 1
    assert 4 <= delays[3] <= 8
    assert all(150 <= delay <= 300 for delay in delays[9:])
    assert len({round(delay, 6) for delay in delays}) == len(delays)  # jittered


@pytest.mark.parametrize(
    ("mode", "result"),
    [
        ("error", "rejected"),
        ("slow", "timeout"),
        ("garbage", "bad_answer"),
        ("down", "unreachable"),
    ],
)
def test_each_sink_fault_is_counted_by_its_result(
    tmp_path, receiver, store, clock, registry, mode, result, caplog
):
    worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
    worker.step()
    restart(store)
    receiver.slow_seconds = 3
    if mode == "down":
        receiver.stop()
    else:
        receiver.mode = mode

    with caplog.at_level("WARNING", logger="daemon"):
        assert worker.step() == 0

    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result=result) == 1
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 1
    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("daemon")]
    assert line.startswith(f"notification sink ops: {worker.last_error} (attempt 1; next in ")
    assert line.count("notification sink") == 1  # named once, by the worker


def test_filters_choose_rows_and_passed_over_rows_do_not_block_the_cursor(
    tmp_path, receiver, store, clock, registry
):
    settings = webhook_settings(
        tmp_path, receiver, outcomes=("gave_up", "aborted"), match=("web*",)
    )
    worker = worker_for(settings, store, clock, registry)
    worker.step()
    restart(store, "web")  # succeeded: not wanted
    wanted = restart(store, "web-2", Outcome.GAVE_UP)
    restart(store, "db", Outcome.GAVE_UP)  # not matched

    assert worker.step() == 1
    assert receiver.ids() == [wanted.id]
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 0


def test_rows_older_than_summarize_after_become_one_audited_summary(
    tmp_path, receiver, store, clock, registry
):
    settings = webhook_settings(tmp_path, receiver, summarize_after=timedelta(hours=1))
    worker = worker_for(settings, store, clock, registry)
    worker.step()
    receiver.stop()
    old = [restart(store, "web").id, restart(store, "db", Outcome.GAVE_UP).id]
    worker.step()
    clock.advance(2 * 3600)
    fresh = restart(store, "fresh").id

    worker.step()  # the head row is 2 h old: summarized, not sent

    [summary] = store.query(action=AuditAction.NOTIFY_SUMMARY)
    assert (summary.actor, summary.outcome, summary.target) == ("notify", "skipped", "ops")
    details = json.loads(summary.details)
    assert details["skipped"] == 2
    assert details["counts"] == {"container.restart gave_up": 1, "container.restart succeeded": 1}
    assert (details["first_id"], details["last_id"]) == tuple(old)
    assert "2 audit rows older than" in summary.reason
    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result="summarized") == 2
    assert store.verify().ok

    receiver.start()
    clock.advance(600)
    worker.step()
    assert receiver.ids() == [fresh, summary.id]  # nothing lost silently: the summary arrives


def test_a_sink_down_for_days_gets_a_summary_an_hour_not_one_per_retry(
    tmp_path, receiver, store, clock, registry
):
    """A row every 10 minutes while the receiver is down for 30 h, retried every 4 minutes:
    from hour 25 on, one summary per hour of rows (each also goes to every other sink)."""
    worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
    worker.step()
    receiver.stop()
    for minute in range(0, 30 * 60, 2):
        if minute % 10 == 0:
            restart(store, "web")
        if minute % 4 == 0:
            worker.step()
        clock.advance(2 * 60)
    summaries = store.query(action=AuditAction.NOTIFY_SUMMARY)
    assert 3 <= len(summaries) <= 6  # about one an hour, from hour 25 on
    counted = [json.loads(summary.details)["skipped"] for summary in summaries]
    assert min(counted) >= 6  # an hour of rows each
    assert store.verify().ok


def test_a_standby_delivers_nothing_and_the_leader_resumes_from_the_cursor(
    tmp_path, receiver, store, clock, registry
):
    settings = webhook_settings(tmp_path, receiver)
    leading = Leading()
    first = worker_for(settings, store, clock, registry, leading)
    first.step()
    delivered = restart(store).id
    first.step()
    leading.value = False
    pending = [restart(store, "a").id, restart(store, "b").id]
    assert first.step() == 0
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 0  # no series

    successor = worker_for(settings, store, clock, CollectorRegistry())  # another process
    assert successor.step() == 2
    assert receiver.ids() == [delivered, *pending]


def test_the_json_lines_sink_appends_each_row_with_its_chain(tmp_path, store, clock, registry):
    path = tmp_path / "audit.jsonl"
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(path))
    worker = worker_for(settings, store, clock, registry, sink=JsonLinesSink(settings))
    worker.step()
    rows = [restart(store, name) for name in ("a", "b", "c")]

    worker.step()

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [row.id for row in rows]
    assert [line["prev_hash"] for line in lines[1:]] == [line["hash"] for line in lines[:-1]]
    assert lines[0]["details"] is None and lines[0]["container_name"] == "a"


def test_a_sink_whose_file_cannot_be_written_lags_and_catches_up(tmp_path, store, clock, registry):
    path = tmp_path / "missing-dir" / "audit.jsonl"
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(path))
    worker = worker_for(settings, store, clock, registry, sink=JsonLinesSink(settings))
    worker.step()
    row = restart(store)
    worker.step()
    assert (
        metric(registry, "stacks_opsd_notifications_total", sink="lines", result="unreachable") == 1
    )

    path.parent.mkdir()
    clock.advance(2)
    worker.step()
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [row.id]


def test_no_secret_of_a_failing_sink_reaches_logs_or_audit_rows(
    tmp_path, receiver, store, clock, registry, caplog
):
    path_token = "T0KEN-in-the-url-path"
    receiver.url = receiver.url + "/" + path_token
    settings = webhook_settings(tmp_path, receiver, summarize_after=timedelta(hours=1))
    worker = worker_for(settings, store, clock, registry)
    worker.step()
    restart(store)
    receiver.mode = "error"
    caplog.set_level("WARNING", logger="httpx")  # as daemon/log_setup.py sets it in production
    with caplog.at_level("DEBUG", logger="daemon"):
        worker.step()
        clock.advance(2 * 3600)
        worker.step()  # summarized: the last error goes into the audited summary row

    [summary] = store.query(action=AuditAction.NOTIFY_SUMMARY)
    shown = [caplog.text, worker.last_error or "", summary.reason, summary.error, summary.details]
    assert "HTTP 500" in summary.error
    assert "notification sink ops" in caplog.text  # the failures were logged
    for secret in (SECRET, "receiver-token", path_token):
        assert not any(secret in text for text in shown), secret


def test_a_row_the_receiver_refuses_for_good_is_a_dead_letter_and_the_stream_goes_on(
    tmp_path, store, clock, registry, caplog
):
    refused: list[int] = []

    def answer(body: dict) -> list[bytes]:
        if body["row"]["id"] in refused:  # echoes the request, bearer token and all
            return http_answer(422, b"unknown field: Authorization: Bearer receiver-token")
        return http_answer(200, b"ok")

    receiver = ScriptedReceiver(answer)
    try:
        worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
        worker.step()
        refused.append(restart(store, "web").id)
        later = [restart(store, "db").id, restart(store, "api").id]
        with caplog.at_level("WARNING", logger="daemon"):
            assert worker.step() == 2
            clock.advance(600)
            worker.step()
    finally:
        receiver.stop()

    assert [body["row"]["id"] for body in receiver.bodies] == [*refused, *later]  # sent once
    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result="rejected") == 1
    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result="delivered") == 2
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 0
    assert worker.failures == 0
    [logged] = [record.getMessage() for record in caplog.records if "dead letter" in record.message]
    assert f"audit row {refused[0]}" in logged and "HTTP 422: unknown field" in logged
    assert "receiver-token" not in caplog.text


@pytest.mark.parametrize("status", [500, 503, 401, 403, 404, 405, 408, 410, 429])
def test_a_refusal_that_may_pass_is_retried_and_holds_the_stream(
    tmp_path, store, clock, registry, status
):
    receiver = ScriptedReceiver(lambda body: http_answer(status, b"try later"))
    try:
        worker = worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)
        worker.step()
        restart(store, "web")
        restart(store, "db")
        worker.step()
        clock.advance(2)
        worker.step()
    finally:
        receiver.stop()

    assert [body["row"]["container_name"] for body in receiver.bodies] == ["web", "web"]
    assert metric(registry, "stacks_opsd_notifications_total", sink="ops", result="rejected") == 2
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="ops") == 2
    assert worker.failures == 2


def test_a_line_cut_short_by_a_full_disk_is_undone_and_the_file_still_verifies(
    tmp_path, store, clock, registry
):
    path = tmp_path / "audit.jsonl"
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(path))
    sink = JsonLinesSink(settings)
    worker = worker_for(settings, store, clock, registry, sink=sink)
    worker.step()
    rows = [restart(store, "web")]
    worker.step()
    rows.append(restart(store, "db"))

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 100, hard))  # "disk full"
    try:  # the sink alone, so that nothing else this process writes meets the limit
        with pytest.raises(SinkUnreachable, match="File too large"):
            sink.send(notification_of(rows[1]))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    rows.append(restart(store, "api"))
    worker.step()  # space again: the row is sent again, and the one after it

    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [
        row.id for row in rows
    ]
    check = verify_export(path.read_text().splitlines(keepends=True))
    assert check.ok, check.problem


def test_standard_output_with_no_reader_is_an_unreachable_sink_that_lags(
    store, clock, registry, monkeypatch
):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the log shipper reading the daemon's output is gone
    with open(write_end, "w", encoding="utf-8") as broken:
        monkeypatch.setattr(sys, "stdout", broken)
        settings = NotifyConfig(name="out", kind="jsonl", path="-")
        worker = worker_for(settings, store, clock, registry, sink=JsonLinesSink(settings))
        worker.step()
        restart(store, "web")
        restart(store, "db")

        assert worker.step() == 0
        monkeypatch.undo()
        with contextlib.suppress(BrokenPipeError):  # its buffer still holds the line
            broken.close()

    assert (
        metric(registry, "stacks_opsd_notifications_total", sink="out", result="unreachable") == 1
    )
    assert metric(registry, "stacks_opsd_notification_lag_rows", sink="out") == 2
    assert "cannot write to standard output: Broken pipe" in worker.last_error


class FaultySink(Sink):
    """A sink with a bug: every send raises something that is no SinkError."""

    kind = "faulty"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.sends = 0

    def send(self, notification):
        self.sends += 1
        raise KeyError("a bug")


def test_a_sink_that_raises_something_unexpected_backs_off_instead_of_flooding_the_log(
    tmp_path, receiver, store, clock, registry, caplog
):
    settings = webhook_settings(tmp_path, receiver)
    sink = FaultySink(settings)
    worker = worker_for(settings, store, clock, registry, sink=sink)
    worker.step()
    restart(store)

    with caplog.at_level("WARNING", logger="daemon"):
        worker.start()  # its thread waits on the real clock; the backoff on the manual one
        time.sleep(2.0)  # four of the worker's 0.5 s polls
        worker.stop()

    assert sink.sends == 1
    [logged] = [record for record in caplog.records if "delivery pass failed" in record.message]
    assert "KeyError('a bug')" in logged.getMessage() and "(attempt 1;" in logged.getMessage()
    assert logged.exc_info is not None  # the traceback, once


def test_each_sinks_results_are_exported_at_zero_before_anything_is_counted(
    tmp_path, receiver, store, clock, registry
):
    worker_for(webhook_settings(tmp_path, receiver), store, clock, registry)

    exported = {
        result: registry.get_sample_value(
            "stacks_opsd_notifications_total", {"sink": "ops", "result": result}
        )
        for result in DeliveryResult
    }
    assert exported == dict.fromkeys(DeliveryResult, 0.0)  # so a first summary is an increase


def test_an_audit_database_fault_is_logged_once_naming_the_sink_once(
    tmp_path, store, clock, registry, caplog
):
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(tmp_path / "out.jsonl"))
    worker = worker_for(settings, store, clock, registry, sink=JsonLinesSink(settings))
    with sqlite3.connect(tmp_path / "audit.db") as broken:  # the cursor's table is gone
        broken.execute("DROP TABLE notify_cursor")
    with caplog.at_level("WARNING", logger="daemon"):
        assert worker.step() == 0
    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("daemon")]
    assert line.startswith("notification sink lines: audit database ")
    assert "cannot read the sink's cursor" in line and "(attempt 1; next in " in line
    assert line.count("sink lines") == 1  # named once, by the worker
