"""Reloading the config of a running `stacks-opsd run` over real HTTP: SIGHUP with a
changed policy, SIGHUP with a broken file, and a rewritten (ConfigMap-style) file; and
`explain` naming the override line that sets an option."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import httpx

from tests.support.processes import command, free_port, metric_lines, wait_until, write_config

RELOAD_OK = "stacks_opsd_config_last_reload_successful"
RELOAD_AT = "stacks_opsd_config_last_reload_success_timestamp_seconds"


def value(port: int, name: str) -> float | None:
    lines = metric_lines(port, name)
    return float(lines[0].rsplit(" ", 1)[1]) if lines else None


def restarts_of(simulator, container_id: str) -> int:
    listed = simulator.control("GET", "mutations").json()["mutations"]
    return sum(
        1
        for entry in listed
        if entry["path"].endswith(f"/{container_id}/status")
        and entry.get("body") == {"status": "restart"}
    )


def status_of(simulator, container_id: str) -> str:
    listed = httpx.get(
        f"{simulator.base_url}/containers",
        headers={"Authorization": f"Bearer {simulator.key}"},
        timeout=10,
    ).json()
    for entry in listed["data"]:
        if entry["id"] == container_id:
            return entry["status"]
    raise AssertionError(f"{container_id} not in the simulator")


def ready(port: int) -> None:
    wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200,
        20,
        "the daemon to become ready",
    )


def policy(max_restarts: int) -> str:
    return f"""
[policies.auto_restart]
backoff_initial = "1s"
backoff_max = "1s"
max_restarts = {max_restarts}
"""


def rewrite(config, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


def test_sighup_with_a_lower_max_restarts_makes_the_running_daemon_give_up_sooner(
    simulator, start_daemon, tmp_path
):
    web = simulator.seed("web")
    daemon, port = start_daemon(policy(max_restarts=3))
    ready(port)
    loaded_at = value(port, RELOAD_AT)
    config = tmp_path / "config.toml"
    rewrite(config, "max_restarts = 3", "max_restarts = 1")
    daemon.process.send_signal(signal.SIGHUP)
    wait_until(lambda: value(port, RELOAD_AT) != loaded_at, 10, "the reload to be applied")
    assert "config reloaded (SIGHUP)" in daemon.output()

    simulator.control("POST", f"containers/{web}/crash")
    wait_until(lambda: restarts_of(simulator, web) == 1, 15, "the first restart")
    wait_until(lambda: status_of(simulator, web) == "running", 15, "web to run again")
    simulator.control("POST", f"containers/{web}/crash")

    def gave_up():
        lines = metric_lines(port, "stacks_opsd_restart_gave_up")
        return any(f'container_id="{web}"' in line and line.endswith(" 1.0") for line in lines)

    wait_until(gave_up, 15, "the daemon to give up on web after one restart")
    assert restarts_of(simulator, web) == 1  # with max_restarts = 3 it would have restarted
    assert daemon.process.poll() is None  # the same process, never restarted
    assert value(port, RELOAD_OK) == 1.0


def test_sighup_with_a_broken_file_keeps_the_running_config_and_reports_every_error(
    simulator, start_daemon, tmp_path
):
    web = simulator.seed("web")
    daemon, port = start_daemon(policy(max_restarts=3))
    ready(port)
    assert value(port, RELOAD_OK) == 1.0
    loaded_at = value(port, RELOAD_AT)
    config = tmp_path / "config.toml"
    good = config.read_text()
    rewrite(config, "max_restarts = 3", 'max_restarts = "many"\nwindow = "soon"')
    rewrite(config, 'metrics_interval = "5s"', 'metrics_interval = "often"')
    daemon.process.send_signal(signal.SIGHUP)

    wait_until(lambda: value(port, RELOAD_OK) == 0.0, 10, "the reload to be refused")
    output = daemon.output()
    assert "config reload (SIGHUP) refused: 3 error(s)" in output
    assert 'policies.auto_restart.max_restarts: expected an integer, got "many"' in output
    assert 'policies.auto_restart.window: expected a duration like "5m", got "soon"' in output
    assert 'poll.metrics_interval: expected a duration like "5m", got "often"' in output
    assert value(port, RELOAD_AT) == loaded_at

    simulator.control("POST", f"containers/{web}/crash")  # the old config still acts
    wait_until(lambda: restarts_of(simulator, web) == 1, 15, "the restart under the old config")

    config.write_text(good.replace("max_restarts = 3", "max_restarts = 2"))
    wait_until(lambda: value(port, RELOAD_OK) == 1.0, 10, "the fixed file to be reloaded")
    assert value(port, RELOAD_AT) > loaded_at


def test_a_swapped_configmap_file_is_picked_up_within_one_status_interval(
    simulator, start_daemon, tmp_path
):
    # The layout Kubernetes mounts: config.toml -> ..data/config.toml, ..data -> ..v1,
    # and an update swaps the ..data link atomically.
    simulator.seed("web")
    daemon, port = start_daemon(policy(max_restarts=3))
    ready(port)
    written = tmp_path / "config.toml"
    text = written.read_text().replace('status_interval = "1s"', 'status_interval = "3s"')
    mount = tmp_path / "mount"
    for version, body in (("..v1", text), ("..v2", text.replace("= 3", "= 2"))):
        (mount / version).mkdir(parents=True)
        (mount / version / "config.toml").write_text(body)
    os.symlink("..v1", mount / "..data")
    written.unlink()
    os.symlink(mount / "..data" / "config.toml", written)
    wait_until(lambda: "config reloaded (file changed)" in daemon.output(), 10, "the new link")
    loaded_at = value(port, RELOAD_AT)

    new_port_text = (mount / "..v2" / "config.toml").read_text()
    new_port_text = re.sub(r'listen = "127.0.0.1:\d+"', 'listen = "127.0.0.1:1"', new_port_text)
    (mount / "..v2" / "config.toml").write_text(new_port_text)
    os.symlink("..v2", mount / "..data_tmp")
    started = time.monotonic()
    os.replace(mount / "..data_tmp", mount / "..data")
    wait_until(lambda: value(port, RELOAD_AT) != loaded_at, 3, "the swapped file", step=0.05)
    assert time.monotonic() - started <= 3.0  # one status interval
    output = daemon.output()
    assert "changed policies" in output
    assert "daemon.listen changed in the file but cannot change while running" in output
    assert value(port, RELOAD_OK) == 1.0  # still served on the running listener


def test_explain_over_http_names_the_override_line_and_the_hold_in_both_formats(
    simulator, tmp_path
):
    simulator.seed("shop-db", "postgresql")
    config = write_config(
        tmp_path,
        simulator.base_url,
        free_port(),
        "\n[[overrides]]\nmatch = ['shop-*']\nauto_restart.max_restarts = 2\n",
    )
    line = config.read_text().splitlines().index("auto_restart.max_restarts = 2") + 1
    env = {"STACKS_API_KEY": simulator.key, "PATH": "/usr/bin:/bin"}
    run = [*command("--config", str(config), "explain", "shop-db")]
    as_json = subprocess.run([*run, "--format", "json"], capture_output=True, text=True,
                             timeout=60, env=env)  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    explained = json.loads(as_json.stdout)
    assert explained["policies"]["auto_restart"]["options"]["max_restarts"] == {
        "value": 2,
        "origin": f"{config}:{line}",
    }
    assert explained["policies"]["auto_restart"]["state"]["next_restart"] == (
        "at once, if it crashes"
    )
    assert explained["pauses"] == []
    with sqlite3.connect(tmp_path / "audit.db") as audit:  # explain changes nothing
        assert audit.execute("SELECT count(*) FROM audit_episode_mark").fetchone() == (0,)
        assert audit.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
    audit.close()
    hold = [*command("--config", str(config), "hold", "shop-*", "--for", "2h", "--reason", "move")]
    held = subprocess.run(hold, capture_output=True, text=True, timeout=60, env=env)
    assert held.returncode == 0, held.stderr
    as_text = subprocess.run(run, capture_output=True, text=True, timeout=60, env=env)
    assert as_text.returncode == 0, as_text.stderr
    assert f"max_restarts    = 2                     # {config}:{line}" in as_text.stdout
    assert "newest completed backup:" in as_text.stdout
    assert "  hold 1 on shop-* until " in as_text.stdout and ", reason move, by " in as_text.stdout
