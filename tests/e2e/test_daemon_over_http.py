"""`stacks-opsd run` against `stacks-opsd simulator`, both real processes on loopback sockets."""

import os
import sqlite3
import subprocess
import time
from datetime import timedelta

import httpx

from daemon.audit import AuditStore, new_action_id
from daemon.clock import SystemClock
from daemon.runtime import stop_wait
from tests.support.processes import (
    DaemonProcess,
    command,
    free_port,
    metric_lines,
    wait_until,
    write_config,
)

NO_RESTARTS = "[policies.auto_restart]\nenabled = false\n"


def status_of(port: int, container_id: str) -> str | None:
    for line in metric_lines(port, "stacks_container_status"):
        if f'container_id="{container_id}"' in line and line.endswith(" 1.0"):
            return line.split('status="')[1].split('"')[0]
    return None


def test_metrics_follow_the_fleet_crash_and_delete(simulator, start_daemon):
    ids = {name: simulator.seed(name, template) for name, template in
           (("web", "nodejs"), ("db1", "postgresql"), ("cache", "redis"))}  # fmt: skip
    _, port = start_daemon(NO_RESTARTS)

    # Every container appears with its status within one status interval (1 s) of readiness.
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the daemon to become ready")  # fmt: skip
    for container_id in ids.values():
        assert status_of(port, container_id) == "running"
    assert metric_lines(port, "stacks_up") == ["stacks_up 1.0"]

    simulator.control("POST", f"containers/{ids['db1']}/crash")
    crashed_at = time.monotonic()
    wait_until(lambda: status_of(port, ids["db1"]) == "error", 10, "db to show status error")
    # One status interval (1 s) plus a scrape, with room for a busy 2-core machine.
    assert time.monotonic() - crashed_at < 6

    response = httpx.delete(
        f"{simulator.base_url}/containers/{ids['cache']}",
        headers={"Authorization": f"Bearer {simulator.key}"},
    )
    assert response.status_code == 200
    wait_until(
        lambda: (
            not any(ids["cache"] in line for line in metric_lines(port, "stacks_container_info"))
        ),
        5,
        "the deleted container's series to disappear",
    )
    assert status_of(port, ids["web"]) == "running"


def test_sigterm_exits_zero_within_five_seconds(simulator, start_daemon):
    simulator.seed("web")
    daemon, port = start_daemon()
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the daemon to become ready")  # fmt: skip
    started = time.monotonic()
    assert daemon.terminate(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert "Traceback" not in daemon.output()


def test_sigterm_mid_action_waits_for_the_answer_and_audits_what_happened(
    simulator, start_daemon, tmp_path
):
    """`systemctl stop` while a restart's answer is on its way: the stop waits for it (up
    to `stop_wait`, under TimeoutStopSec) and audits what STACKS did, not `interrupted`."""
    web = simulator.seed("web")
    daemon, port = start_daemon()
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the daemon to become ready")  # fmt: skip
    simulator.control("POST", "faults", latency=4.0)  # every API answer now takes 4 s
    simulator.control("POST", f"containers/{web}/crash")
    database = tmp_path / "audit.db"
    # 4 s per answer (more than the 3 s a stop used to wait): the poll that sees the crash,
    # the check before the restart, the newest backup to record (the container cannot be
    # backed up), then the restart.
    wait_until(lambda: any(r[2] == "container.restart" for r in rows(database)), 60,
               "the restart to start")  # fmt: skip
    started = time.monotonic()
    assert daemon.terminate(timeout=40) == 0
    assert time.monotonic() - started < stop_wait(timedelta(seconds=10)) + 3
    assert "Traceback" not in daemon.output()
    outcomes = [r[3] for r in rows(database) if r[2] == "container.restart"]
    assert outcomes == ["started", "succeeded"]
    restarts = [m for m in simulator.control("GET", "mutations").json()["mutations"]
                if m["method"] == "PUT"]  # fmt: skip
    assert len(restarts) == 1


def run_once(config_path, key: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("--config", str(config_path), "once"),
        capture_output=True,
        text=True,
        timeout=60,
        env={"STACKS_API_KEY": key, "PATH": "/usr/bin:/bin"},
    )


def test_once_with_a_rejected_key_says_so(simulator, tmp_path):
    config = write_config(tmp_path, simulator.base_url, free_port())
    wrong = "sk_stacks_" + "0" * 64
    result = run_once(config, wrong)
    assert result.returncode == 1
    assert "rejected the API key" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert wrong not in result.stderr + result.stdout


def test_once_against_a_dead_url_says_it_cannot_connect(simulator, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/api/v1"
    config = write_config(tmp_path, dead, free_port())
    result = run_once(config, simulator.key)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr.lower()
    assert "Traceback" not in result.stderr + result.stdout


def test_once_prints_what_it_did(simulator, tmp_path):
    web = simulator.seed("web")
    simulator.control("POST", f"containers/{web}/crash")
    config = write_config(tmp_path, simulator.base_url, free_port())
    result = run_once(config, simulator.key)
    assert result.returncode == 0, result.stderr
    assert "polled 1 containers (1 error)" in result.stdout
    assert "container.restart web" in result.stdout
    restarts = [m for m in simulator.control("GET", "mutations").json()["mutations"]
                if m["method"] == "PUT"]  # fmt: skip
    assert len(restarts) == 1


def rows(database) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT id, action_id, action, outcome FROM audit_log ORDER BY id"
        ).fetchall()


def test_kill_9_mid_action_is_reconciled_as_interrupted(simulator, start_daemon, tmp_path):
    web = simulator.seed("web")
    daemon, port = start_daemon()
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the daemon to become ready")  # fmt: skip
    # Every API answer now takes 3 s: the restart's write-ahead row is written, then the
    # daemon waits on the API, and dies there.
    simulator.control("POST", "faults", latency=3.0)
    simulator.control("POST", f"containers/{web}/crash")
    database = tmp_path / "audit.db"

    def dangling_started():
        by_action: dict[str, list[str]] = {}
        for _, action_id, _, outcome in rows(database):
            by_action.setdefault(action_id, []).append(outcome)
        return [a for a, outcomes in by_action.items() if outcomes == ["started"]]

    dangling = wait_until(dangling_started, 30, "a started row without its outcome")
    daemon.kill()
    simulator.control("POST", "faults", latency=0.0)

    again, port = start_daemon()
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 20,
               "the restarted daemon to become ready")  # fmt: skip
    outcomes = {}
    for _, action_id, _, outcome in rows(database):
        outcomes.setdefault(action_id, []).append(outcome)
    for action_id in dangling:
        assert outcomes[action_id][:2] == ["started", "interrupted"]
    assert again.terminate() == 0
    verify = subprocess.run(
        command("--config", str(tmp_path / "config.toml"), "audit", "verify"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr


def test_audit_verify_fails_after_a_row_is_altered_or_removed(simulator, tmp_path):
    web = simulator.seed("web")
    simulator.control("POST", f"containers/{web}/crash")
    config = write_config(tmp_path, simulator.base_url, free_port())
    assert run_once(config, simulator.key).returncode == 0
    database = tmp_path / "audit.db"
    verify = command("--config", str(config), "audit", "verify")

    ok = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "hash chain intact" in ok.stdout

    pristine = database.read_bytes()
    with sqlite3.connect(database) as connection:
        first = connection.execute("SELECT min(id) FROM audit_log").fetchone()[0]
        connection.execute("UPDATE audit_log SET outcome = 'failed' WHERE id = ?", (first,))
    altered = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert altered.returncode == 1
    assert f"first broken row id {first}" in altered.stderr

    database.write_bytes(pristine)
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM audit_log WHERE id = ?", (first,))
    removed = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert removed.returncode == 1
    assert "TAMPERED" in removed.stderr


def test_audit_commands_refuse_a_database_that_does_not_exist(tmp_path):
    """A mistyped database_url must not be answered from a new, empty log ("0 rows, intact"),
    nor take a hold the daemon, reading the real database, would never see."""
    config = write_config(tmp_path, "http://127.0.0.1:9/api/v1", free_port())
    for args in (
        ("audit", "verify"),
        ("audit", "list"),
        ("hold", "web", "--for", "1h", "--reason", "migration", "--no-wait"),
        ("holds",),
    ):
        result = subprocess.run(
            command("--config", str(config), *args), capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1, result.stdout
        assert "audit.db does not exist: check daemon.database_url" in result.stderr
    assert not (tmp_path / "audit.db").exists()


def test_audit_verify_fails_when_an_episode_mark_hides_an_open_give_up(simulator, tmp_path):
    """The marks a start reads from are beside the chain: `audit verify` checks them too."""
    web = simulator.seed("web")
    simulator.control("POST", f"containers/{web}/crash")
    config = write_config(tmp_path, simulator.base_url, free_port())
    assert run_once(config, simulator.key).returncode == 0  # its start saved the marks
    database = tmp_path / "audit.db"
    store = AuditStore.open(f"sqlite:///{database}", "test:1", SystemClock())
    try:  # a give-up of web, chained as the daemon writes it: the next start must read it
        store.append(
            "policy:auto_restart",
            "container.restart",
            "gave_up",
            action_id=new_action_id(),
            container_id=web,
            container_name="web",
        )
    finally:
        store.close()
    verify = command("--config", str(config), "audit", "verify")

    ok = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "hash chain intact; episode marks: 2 hold" in ok.stdout  # auto_restart, weekly_pin

    with sqlite3.connect(database) as connection:  # the mark moved past the give-up
        moved = connection.execute(
            "UPDATE audit_episode_mark SET closed_before = '2999-01-01 00:00:00.000000' "
            "WHERE episode LIKE 'policy:auto_restart container.restart gave_up %'"
        ).rowcount
    assert moved == 1
    edited = subprocess.run(verify, capture_output=True, text=True, timeout=60)

    assert edited.returncode == 1
    assert "does NOT hold" in edited.stderr and f"gave_up of {web}" in edited.stderr
    assert "DELETE FROM audit_episode_mark WHERE episode = 'policy:auto_restart" in edited.stderr

    with sqlite3.connect(database) as connection:  # its list of open give-ups, garbled
        connection.execute(
            "UPDATE audit_episode_mark SET still_open = '[[\"web\"]]' "
            "WHERE episode LIKE 'policy:auto_restart container.restart gave_up %'"
        )
    garbled = subprocess.run(verify, capture_output=True, text=True, timeout=60)

    assert garbled.returncode == 1
    assert "does NOT hold: its list of open episodes holds ['web'], not [id, time]" in (
        garbled.stderr
    )


def test_ready_within_about_a_second_of_a_reachable_api_and_a_crash_restarted_in_seconds(
    simulator, tmp_path
):
    """The default status interval ("auto"): leadership is settled before the first poll,
    and a small fleet's idle budget goes to status polls."""
    web = simulator.seed("web")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(  # the default [poll]: status "auto", metrics 5m, backups 30m
        f'[api]\nbase_url = "{simulator.base_url}"\n\n[daemon]\nlisten = "127.0.0.1:{port}"\n'
        f'database_url = "sqlite:///{tmp_path / "audit.db"}"\n'
    )
    daemon = DaemonProcess(config, simulator.key, tmp_path / "daemon.log")
    try:

        def answers(path: str) -> int:
            try:
                return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code
            except httpx.HTTPError:
                return 0

        wait_until(lambda: answers("/healthz") == 200, 20, "the scheduler to run", step=0.02)
        alive = time.monotonic()
        wait_until(lambda: answers("/readyz") == 200, 10, "readiness", step=0.02)
        assert time.monotonic() - alive < 1.5, daemon.output()

        simulator.control("POST", f"containers/{web}/crash")
        crashed = time.monotonic()
        wait_until(lambda: status_of(port, web) == "running" and restarted(simulator), 15,
                   "the crash to be restarted", step=0.05)  # fmt: skip
        # ~1.4 s between polls here, then the check and the restart: seconds, not 15 s
        assert time.monotonic() - crashed < 6, daemon.output()
    finally:
        daemon.stop()


def restarted(simulator) -> bool:
    mutations = simulator.control("GET", "mutations").json()["mutations"]
    return any(m["method"] == "PUT" and m["body"] == {"status": "restart"} for m in mutations)


def test_check_config_online_reports_the_api_and_what_it_did_not_check(simulator, tmp_path):
    config = write_config(tmp_path, simulator.base_url, free_port())
    reader = simulator.control("POST", "keys", scopes=["containers:read"]).json()["key"]
    simulator.control("POST", "containers", key=reader, name="web", template="nodejs")

    def check(key: str, path=config) -> subprocess.CompletedProcess:
        return subprocess.run(
            command("--config", str(path), "check-config", "--online"),
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "STACKS_API_KEY": key},
        )  # fmt: skip

    ok = check(reader)
    assert ok.returncode == 0, ok.stderr
    assert f"API OK: {simulator.base_url} answered with 1 containers" in ok.stdout
    assert "not checked: containers:manage" in ok.stdout  # a read-only key passes this check
    refused = check("sk_stacks_" + "0" * 64)
    assert refused.returncode == 1
    assert "online check failed" in refused.stderr and "0" * 64 not in refused.stderr
    unreachable = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/api/v1", free_port())
    down = check(reader, unreachable)
    assert down.returncode == 1 and "online check failed" in down.stderr
