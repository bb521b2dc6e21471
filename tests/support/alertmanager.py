"""A real Alertmanager (Debian's `prometheus-alertmanager`) for tests, on a loopback port.

    with AlertmanagerProcess(tmp_path) as alertmanager:
        alertmanager.alerts()                    # GET /api/v2/alerts (active, silenced, ...)
        alertmanager.silence({"alertname": "X"}) # POST /api/v2/silences

It runs with a temporary config (one receiver that goes nowhere, `resolve_timeout`
5m) and storage directory, clustering off, and is ended by its own pid. When the
binary is missing, `require_tool` skips the test locally and fails it in CI.
"""

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.support.integration import require_tool
from tests.support.processes import free_port, stop_process, wait_until

CONFIG = """\
global:
  resolve_timeout: 5m
route:
  receiver: nowhere
  group_by: [alertname, container]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: nowhere
"""


class AlertmanagerProcess:
    """`prometheus-alertmanager` on a free loopback port, its state in `directory`."""

    def __init__(self, directory: Path) -> None:
        binary = require_tool("prometheus-alertmanager")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "alertmanager.yml").write_text(CONFIG)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = (directory / "alertmanager.log").open("w+")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={directory / 'alertmanager.yml'}",
                f"--storage.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, 30, "Alertmanager to become ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"Alertmanager exited early:\n{self.output()}")
        return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200

    def output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def alerts(self, **filters: str) -> list[dict]:
        """GET /api/v2/alerts: every alert Alertmanager holds, with its `status.state`."""
        params = {"active": "true", "silenced": "true", "inhibited": "true", **filters}
        response = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def silence(self, matchers: dict[str, str], hours: float = 1) -> str:
        """POST /api/v2/silences for equal-matchers; returns the silence id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in matchers.items()
            ],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=hours)).isoformat(),
            "createdBy": "stacks-opsd tests",
            "comment": "silenced by a test",
        }
        response = httpx.post(f"{self.url}/api/v2/silences", json=body, timeout=5)
        response.raise_for_status()
        return response.json()["silenceID"]

    def post(self, url: str, body: bytes) -> None:
        """What the sink's poster does: POST the alerts, raise on anything but 2xx."""
        response = httpx.post(
            url, content=body, headers={"Content-Type": "application/json"}, timeout=5
        )
        response.raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()

    def __enter__(self) -> "AlertmanagerProcess":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
