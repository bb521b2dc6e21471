"""Fixtures for end-to-end tests: a real simulator process and real daemon processes."""

import pytest

from tests.support.processes import DaemonProcess, free_port, write_config


@pytest.fixture
def start_daemon(tmp_path, simulator):
    """Start `stacks-opsd run` against the simulator; returns (process, metrics port)."""
    started = []

    def start(extra_config: str = "", key: str | None = None, env=None):
        port = free_port()
        config = write_config(tmp_path, simulator.base_url, port, extra_config)
        log = tmp_path / f"daemon-{len(started)}.log"
        process = DaemonProcess(config, key or simulator.key, log, env)
        started.append(process)
        return process, port

    yield start
    for process in started:
        process.stop()
