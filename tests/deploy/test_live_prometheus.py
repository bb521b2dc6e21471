"""A real Prometheus scrapes a real `stacks-opsd run`, and promtool finds its /metrics clean.

The simulator, the daemon and Prometheus are separate processes on loopback ports;
Prometheus scrapes every second and its query API must show every seeded container
as running, with the daemon's target up.
"""

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.integration import require_tool
from tests.support.processes import (
    DaemonProcess,
    free_port,
    stop_process,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.integration

# Names at both ends of the API's 3..32 character rule, and one in between.
NAMES = ("web", "billing-db", "a-name-of-exactly-32-characters0")
# No restarts; weekly_pin leaves web alone, and billing-db's backups may be two days old.
POLICIES = """
[policies.auto_restart]
enabled = false

[policies.weekly_pin]
exclude = ["web"]

[[overrides]]
match = ["billing-db"]
backup_freshness.max_age = "2d"
"""

SCRAPE_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: stacks-opsd
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


@pytest.fixture
def seeded(simulator) -> dict[str, str]:
    """container_id -> name of the containers seeded as running."""
    return {simulator.seed(name): name for name in NAMES}


@pytest.fixture
def daemon_port(tmp_path, simulator, seeded):
    port = free_port()
    # Status every 5 s leaves budget for the backup lists (every 1 s would spend it all).
    config = write_config(tmp_path, simulator.base_url, port, POLICIES, status_interval="5s")
    daemon = DaemonProcess(config, simulator.key, tmp_path / "daemon.log")
    try:
        wait_until(lambda: ready(daemon, port), 20, "the daemon's /readyz to answer 200")
        yield port
    finally:
        daemon.stop()


def ready(daemon: DaemonProcess, port: int) -> bool:
    if daemon.process.poll() is not None:
        raise AssertionError(f"the daemon exited early:\n{daemon.output()}")
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200


@pytest.fixture
def prometheus_binary() -> str:
    return require_tool("prometheus")


@pytest.fixture
def promtool_binary() -> str:
    return require_tool("promtool")


@pytest.fixture
def prometheus(prometheus_binary, tmp_path, daemon_port):
    """The base URL of a real Prometheus scraping the daemon every second."""
    config = tmp_path / "prometheus.yml"
    config.write_text(SCRAPE_CONFIG.format(port=daemon_port))
    port = free_port()
    log_path = tmp_path / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                prometheus_binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: prometheus_ready(process, url, log_path), 20, "Prometheus to be ready")
        yield url
    finally:
        stop_process(process)


def prometheus_ready(process: subprocess.Popen, url: str, log_path: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"prometheus exited early:\n{log_path.read_text()}")
    return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200


def query(url: str, promql: str) -> list[dict]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def running_ids(url: str) -> dict[str, str]:
    """container_id -> name of the series Prometheus holds with status running = 1."""
    return {
        series["metric"]["container_id"]: series["metric"]["name"]
        for series in query(url, 'stacks_container_status{status="running"}')
        if series["value"][1] == "1"
    }


def test_prometheus_scrapes_every_seeded_container_as_running(prometheus, seeded):
    wait_until(
        lambda: running_ids(prometheus) == seeded,
        60,
        f"Prometheus to hold {sorted(seeded.values())} as running",
        step=0.5,
    )
    up = query(prometheus, 'up{job="stacks-opsd"}')
    assert [series["value"][1] for series in up] == ["1"]

    # The other known statuses are exported as 0 for every container, not left out.
    statuses = query(prometheus, "stacks_container_status")
    for container_id in seeded:
        values = {
            s["metric"]["status"]: s["value"][1]
            for s in statuses
            if s["metric"]["container_id"] == container_id
        }
        assert values == {"running": "1", "stopped": "0", "pending": "0", "error": "0"}
    assert [s["value"][1] for s in query(prometheus, "stacks_up")] == ["1"]


def test_promtool_finds_no_problem_in_the_live_metrics(promtool_binary, daemon_port):
    text = httpx.get(f"http://127.0.0.1:{daemon_port}/metrics", timeout=5).text
    assert "stacks_container_status{" in text
    result = subprocess.run(
        [promtool_binary, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def by_name(series: list[dict]) -> dict[str, str]:
    return {one["metric"]["name"]: one["value"][1] for one in series}


def test_the_alert_rules_join_each_container_with_its_own_policy_scope(prometheus, seeded):
    """The series the stale and weekly-pin rules join come from three collectors; as
    Prometheus stores them (with `instance` and `job`) they match one to one."""
    wait_until(
        lambda: len(query(prometheus, "stacks_backup_list_timestamp_seconds")) == len(NAMES),
        60,
        "Prometheus to hold every container's backup list time",
        step=0.5,
    )
    max_age = by_name(query(prometheus, "stacks_opsd_backup_max_age_seconds"))
    assert max_age == {name: "172800" if name == "billing-db" else "93600" for name in NAMES}
    pinned = by_name(query(prometheus, "stacks_opsd_weekly_pin_enabled"))
    assert pinned == {name: "0" if name == "web" else "1" for name in NAMES}
    # The stale rule's second arm, the other way round: every container just created is
    # within its max_age, so each one answers (none is lost to a label mismatch).
    young = query(
        prometheus,
        "stacks_backup_list_timestamp_seconds - stacks_container_created_timestamp_seconds"
        " < stacks_opsd_backup_max_age_seconds",
    )
    assert set(by_name(young)) == set(NAMES)
    # The weekly-pin rule's scope: of the containers it pins, web is not one.
    scoped = query(
        prometheus,
        "stacks_container_created_timestamp_seconds"
        " and on (container_id) (stacks_opsd_weekly_pin_enabled == 1)",
    )
    assert set(by_name(scoped)) == set(NAMES) - {"web"}
