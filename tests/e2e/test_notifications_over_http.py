"""The audit stream to a real webhook receiver from real `stacks-opsd run` processes on loopback:
no gap and in order across a receiver outage, a `kill -9` and a leader change; sink faults
never delay an action; `notify test` end to end."""

import hashlib
import hmac
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import (
    DaemonProcess,
    command,
    free_port,
    metric_lines,
    wait_until,
    write_config,
)
from tests.support.webhook_receiver import WebhookReceiver

SECRET = "e2e-webhook-secret"


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def notify_table(directory: Path, url: str, timeout: str = "2s") -> str:
    (directory / "hook-secret").write_text(SECRET + "\n")
    return f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "{url}"
secret_file = "hook-secret"
timeout = "{timeout}"
"""


def daemon_in(directory: Path, simulator, database: Path, receiver, started, **options):
    directory.mkdir(exist_ok=True)
    port = free_port()
    config = write_config(
        directory,
        simulator.base_url,
        port,
        notify_table(directory, receiver.url, **options),
        database_url=f"sqlite:///{database}",
    )
    process = DaemonProcess(config, simulator.key, directory / "daemon.log")
    started.append(process)
    return process, port


@pytest.fixture
def started():
    processes: list[DaemonProcess] = []
    yield processes
    for process in processes:
        process.stop()


def audit_ids(database: Path) -> list[int]:
    with sqlite3.connect(database) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM audit_log ORDER BY id")]


def restarts_of(database: Path, container_id: str) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute(
            "SELECT count(*) FROM audit_log WHERE container_id = ? AND "
            "action = 'container.restart' AND outcome = 'succeeded'",
            (container_id,),
        ).fetchone()[0]


def leads(port: int) -> bool:
    return metric_lines(port, "stacks_opsd_leader") == ["stacks_opsd_leader 1.0"]


def metric_value(port: int, name: str, **labels: str) -> float:
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in metric_lines(port, name):
        if all(label in line for label in wanted):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def assert_in_order_without_gaps(received: list[int], expected: list[int]) -> None:
    assert received == sorted(received), f"out of order: {received}"
    assert sorted(set(received)) == expected, f"gap: got {sorted(set(received))}"


def test_every_row_arrives_across_an_outage_a_kill_and_a_leader_change(
    tmp_path, simulator, receiver, started
):
    database = tmp_path / "audit.db"
    ids = [simulator.seed(f"app{index}") for index in range(3)]
    first, first_port = daemon_in(tmp_path / "a", simulator, database, receiver, started)
    wait_until(lambda: leads(first_port), 20, "the first daemon to lead")
    _, second_port = daemon_in(tmp_path / "b", simulator, database, receiver, started)
    wait_until(lambda: metric_lines(second_port, "stacks_opsd_leader"), 20, "the standby")

    simulator.control("POST", f"containers/{ids[0]}/crash")
    wait_until(lambda: restarts_of(database, ids[0]) == 1, 20, "the first restart")
    wait_until(lambda: receiver.ids() and receiver.ids()[-1] == audit_ids(database)[-1], 20,
               "the first rows to arrive")  # fmt: skip
    for _, body in receiver.requests:
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature in [headers.get("X-Stacks-Opsd-Signature") for headers, _ in
                             receiver.requests]  # fmt: skip

    receiver.stop()  # the receiver is down: actions go on, the stream only lags
    simulator.control("POST", f"containers/{ids[1]}/crash")
    wait_until(lambda: restarts_of(database, ids[1]) == 1, 20, "a restart while it is down")
    wait_until(lambda: metric_value(first_port, "stacks_opsd_notification_lag_rows") > 0, 10,
               "the lag to show")  # fmt: skip
    assert metric_value(second_port, "stacks_opsd_notification_lag_rows") == 0  # a standby

    first.kill()  # kill -9 of the leader; the standby takes over and resumes from the cursor
    wait_until(lambda: leads(second_port), 20, "the standby to take over")
    simulator.control("POST", f"containers/{ids[2]}/crash")
    wait_until(lambda: restarts_of(database, ids[2]) == 1, 20, "a restart by the new leader")
    receiver.start()

    expected = audit_ids(database)
    wait_until(lambda: set(expected) <= set(receiver.ids()), 30, "every row to arrive")
    assert_in_order_without_gaps(receiver.ids(), audit_ids(database)[: len(set(receiver.ids()))])
    wait_until(lambda: metric_value(second_port, "stacks_opsd_notification_lag_rows") == 0, 10,
               "the new leader to catch up")  # fmt: skip
    assert metric_value(second_port, "stacks_opsd_notifications_total", result="delivered") > 0


def test_sink_faults_never_delay_an_action_and_each_is_counted(
    tmp_path, simulator, receiver, started
):
    database = tmp_path / "audit.db"
    modes = ["ok", "slow", "error", "garbage", "down"]
    ids = {mode: simulator.seed(f"app-{mode}") for mode in modes}
    _, port = daemon_in(tmp_path / "a", simulator, database, receiver, started, timeout="1s")
    wait_until(lambda: leads(port), 20, "the daemon to lead")
    receiver.slow_seconds = 10
    results = {"slow": "timeout", "error": "rejected", "garbage": "bad_answer",
               "down": "unreachable"}  # fmt: skip

    took = {}
    for mode in modes:
        if mode == "down":
            receiver.stop()
        else:
            receiver.mode = mode
        crashed = time.monotonic()
        simulator.control("POST", f"containers/{ids[mode]}/crash")
        wait_until(lambda mode=mode: restarts_of(database, ids[mode]) == 1, 20, f"{mode} restart")
        took[mode] = time.monotonic() - crashed
        if mode in results:
            wait_until(
                lambda mode=mode: (
                    metric_value(port, "stacks_opsd_notifications_total", result=results[mode]) > 0
                ),
                30,
                f"the {mode} fault to be counted",
            )

    # Crash to audited restart: one status interval (1 s) and the restart itself, whatever
    # the sink does; room for a busy 2-core machine, far below a 10 s hanging receiver.
    print(f"crash -> restart with the sink {took}")
    assert max(took.values()) < 6, took
    assert max(took.values()) < took["ok"] + 4, took
    assert metric_value(port, "stacks_opsd_notification_lag_rows") > 0


def test_notify_test_sends_a_sample_and_prints_the_answer(tmp_path, receiver):
    config = write_config(
        tmp_path, "http://127.0.0.1:9/api/v1", free_port(), notify_table(tmp_path, receiver.url)
    )

    def notify_test(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            command("--config", str(config), "notify", "test", *args),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    done = notify_test()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hook (webhook): HTTP 200: ok"
    [(headers, body)] = receiver.requests
    assert headers["X-Stacks-Opsd-Signature"] == (
        "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )
    document = json.loads(body)
    assert document["row"]["details"] == {"test": True}
    assert document["summary"].startswith("test notification from stacks-opsd")
    assert not (tmp_path / "audit.db").exists()  # no database, no cursor touched

    receiver.mode = "error"
    done = notify_test("hook")
    assert done.returncode == 1
    assert "hook (webhook): FAILED (rejected)" in done.stdout
    assert "HTTP 500: internal error: try later" in done.stdout

    done = notify_test("nope")
    assert done.returncode == 2
    assert "no notification sink named 'nope'; configured: hook" in done.stderr
