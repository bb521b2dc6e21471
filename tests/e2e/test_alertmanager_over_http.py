"""A real `stacks-opsd run` with an alertmanager sink, a real simulator and a real Alertmanager,
all on loopback: a container that crash-loops until it is given up fires in Alertmanager with
its stable labels and a link to the daemon's /status, and resolves after an operator's
`change NAME start`."""

import sqlite3
import subprocess

import httpx

from tests.support.alertmanager import AlertmanagerProcess
from tests.support.processes import DaemonProcess, command, free_port, wait_until, write_config

GAVE_UP = "StacksOpsdRestartsGivenUp"


def outcomes_of(database, container_id: str, action: str) -> list[str]:
    with sqlite3.connect(database) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT outcome FROM audit_log WHERE container_id = ? AND action = ? ORDER BY id",
                (container_id, action),
            )
        ]


def given_up_alerts(alertmanager: AlertmanagerProcess) -> list[dict]:
    return [a for a in alertmanager.alerts() if a["labels"]["alertname"] == GAVE_UP]


def test_a_given_up_container_fires_in_alertmanager_and_resolves_after_an_operator_start(
    tmp_path, simulator
):
    alertmanager = AlertmanagerProcess(tmp_path / "alertmanager")
    try:
        web = simulator.seed("web")
        simulator.seed("shop")
        port = free_port()
        extra = f"""
[[notify]]
name = "alertmanager"
kind = "alertmanager"
url = "{alertmanager.url}"
timeout = "2s"

[policies.auto_restart]
max_restarts = 1
backoff_initial = "1s"
"""
        config = write_config(tmp_path, simulator.base_url, port, extra)
        daemon = DaemonProcess(config, simulator.key, tmp_path / "daemon.log")
        database = tmp_path / "audit.db"
        try:
            ready = f"http://127.0.0.1:{port}/readyz"
            wait_until(lambda: httpx.get(ready).status_code == 200, 20, "the daemon to be ready")
            simulator.control("POST", f"containers/{web}/crash")
            wait_until(
                lambda: "succeeded" in outcomes_of(database, web, "container.restart"),
                20,
                "the first restart",
            )
            simulator.control("POST", f"containers/{web}/crash")  # again: past max_restarts
            wait_until(
                lambda: "gave_up" in outcomes_of(database, web, "container.restart"),
                20,
                "the daemon to give up on web",
            )

            (alert,) = wait_until(lambda: given_up_alerts(alertmanager), 10, "the alert")
            assert alert["labels"] == {
                "alertname": GAVE_UP,
                "container": "web",
                "severity": "critical",
            }
            assert alert["status"]["state"] == "active"
            assert alert["generatorURL"] == f"http://127.0.0.1:{port}/status"
            assert alert["annotations"]["container_id"] == web

            started = subprocess.run(
                command("--config", str(config), "change", "web", "start"),
                capture_output=True,
                text=True,
                timeout=60,
                env={"STACKS_API_KEY": simulator.key, "PATH": "/usr/bin:/bin"},
            )
            assert started.returncode == 0, started.stdout + started.stderr
            wait_until(lambda: given_up_alerts(alertmanager) == [], 15, "the alert to resolve")
        except AssertionError:
            print(daemon.output())  # shown by pytest with the failure
            raise
        finally:
            daemon.stop()
    finally:
        alertmanager.stop()
