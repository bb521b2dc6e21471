"""Real processes for end-to-end tests: the simulator and the daemon on loopback sockets.

Every wait here is bounded; every process started is ended by its own pid.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

KEY_PATTERN = re.compile(r"sk_stacks_[0-9a-f]{64}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float, what: str, step: float = 0.1):
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (httpx.HTTPError, OSError) as error:
            last_error, result = error, None
        if result:
            return result
        time.sleep(step)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "daemon", *args]


def run_cli(
    config: Path | str, *args: str, key: str = "", user: str | None = None
) -> subprocess.CompletedProcess:
    """`stacks-opsd --config CONFIG ARGS...` as an operator runs it (as `user`, if given),
    with a bare environment: its exit code and output."""
    environment = {"STACKS_API_KEY": key, "PATH": "/usr/bin:/bin"}
    if user is not None:
        environment["USER"] = user
    return subprocess.run(
        command("--config", str(config), *args),
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


class SimulatorProcess:
    """`stacks-opsd simulator` on a free loopback port; `.key` is the key it printed."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root}/api/v1"
        self._log = log_path.open("w+")
        self.process = subprocess.Popen(
            command("simulator", "--listen", f"127.0.0.1:{self.port}"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.key = wait_until(self._printed_key, 20, "the simulator to print its API key")

    def _printed_key(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"simulator exited early:\n{self.output()}")
        found = KEY_PATTERN.search(self.output())
        if found and httpx.get(f"{self.root}/_sim/clock", timeout=2).status_code == 200:
            return found.group(0)
        return None

    def output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def control(self, method: str, path: str, **json) -> httpx.Response:
        response = httpx.request(method, f"{self.root}/_sim/{path}", json=json or None, timeout=10)
        response.raise_for_status()
        return response

    def seed(self, name: str, template: str = "nodejs", status: str = "running") -> str:
        body = self.control(
            "POST", "containers", key=self.key, name=name, template=template, status=status
        ).json()
        return body.get("id") or body["data"]["id"]

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class DaemonProcess:
    """`stacks-opsd --config FILE run` with the key in $STACKS_API_KEY."""

    def __init__(self, config_path: Path, key: str, log_path: Path, extra_env=None) -> None:
        env = {**os.environ, "STACKS_API_KEY": key, **(extra_env or {})}
        self.log_path = log_path
        self._log = log_path.open("w+")
        self.process = subprocess.Popen(
            command("--config", str(config_path), "run"),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def terminate(self, timeout: float = 10) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def write_config(
    directory: Path,
    base_url: str,
    port: int,
    extra: str = "",
    *,
    database_url: str | None = None,
    status_interval: str = "1s",
) -> Path:
    """A config for a test daemon: fast polls, loopback listener, SQLite in `directory`
    unless `database_url` says otherwise."""
    path = directory / "config.toml"
    database_url = database_url or f"sqlite:///{directory / 'audit.db'}"
    path.write_text(
        f"""
[api]
base_url = "{base_url}"

[daemon]
listen = "127.0.0.1:{port}"
database_url = "{database_url}"

[poll]
status_interval = "{status_interval}"
metrics_interval = "5s"
backups_interval = "5s"
{extra}
"""
    )
    return path


def metric_lines(port: int, name: str) -> list[str]:
    """The sample lines of metric `name` from the daemon's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [
        line
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    ]
