"""`stacks-opsd run` speaks the systemd notify protocol to a real $NOTIFY_SOCKET.

The test plays systemd's part: it owns a Unix datagram socket and reads what the
daemon sends. READY=1 must wait for the first successful status poll (the STACKS API
answers 503 at first), WATCHDOG=1 must keep coming at half of $WATCHDOG_USEC even
while the API is down, and SIGTERM must bring STOPPING=1 and a clean exit.
"""

import itertools
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.support.integration import require
from tests.support.processes import (
    DaemonProcess,
    free_port,
    metric_lines,
    write_config,
)

# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107
WATCHDOG_USEC = 2_000_000  # systemd's WatchdogSec=2s: the daemon must ping every <= 1 s


@pytest.fixture
def notify_socket(tmp_path):
    """A bound datagram socket standing in for systemd's notify socket."""
    require(hasattr(socket, "AF_UNIX"), "Unix domain sockets (the systemd notify protocol)")
    directory = tmp_path
    if len(str(tmp_path / "notify")) > MAX_SOCKET_PATH:
        directory = Path(tempfile.mkdtemp(prefix="sd"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(str(directory / "notify"))
        yield sock
    finally:
        sock.close()
        if directory != tmp_path:
            shutil.rmtree(directory)


def receive(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """Every datagram arriving within `seconds`, with its monotonic arrival time."""
    received = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except TimeoutError:
            break
        received.append((time.monotonic(), data.decode()))
    return received


def receive_until(sock: socket.socket, line: str, seconds: float) -> list[str]:
    """Datagrams up to and including the first one with `line`; fails after `seconds`."""
    received = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            message = sock.recv(4096).decode()
        except TimeoutError:
            break
        received.append(message)
        if line in message.splitlines():
            return received
    raise AssertionError(f"no {line} within {seconds}s; received {received}")


def readyz(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code


def test_ready_after_first_poll_watchdog_pings_and_stopping(tmp_path, simulator, notify_socket):
    simulator.seed("web")
    simulator.control("POST", "faults", unavailable_rate=1.0)
    port = free_port()
    config = write_config(tmp_path, simulator.base_url, port)
    daemon = DaemonProcess(
        config,
        simulator.key,
        tmp_path / "daemon.log",
        {"NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": str(WATCHDOG_USEC)},
    )
    try:
        # While every status poll fails: watchdog pings keep the unit alive, but no READY=1.
        outage = receive_until(notify_socket, "WATCHDOG=1", 20)
        outage += [message for _, message in receive(notify_socket, 3)]
        assert "READY=1" not in "\n".join(outage).splitlines(), outage
        assert outage.count("WATCHDOG=1") >= 3, outage
        assert readyz(port) == 503

        simulator.control("POST", "faults", unavailable_rate=0.0)
        ready = receive_until(notify_socket, "READY=1", 15)[-1]
        assert ready.splitlines() == ["READY=1", "STATUS=polling STACKS"]
        # READY=1 means what /readyz and the metrics say: a status poll has succeeded.
        assert readyz(port) == 200
        assert metric_lines(port, "stacks_up") == ["stacks_up 1.0"]

        pings = [at for at, message in receive(notify_socket, 4.5) if message == "WATCHDOG=1"]
        assert len(pings) >= 3, pings
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        assert max(gaps) < WATCHDOG_USEC / 1_000_000, gaps

        daemon.process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        receive_until(notify_socket, "STOPPING=1", 5)
        assert daemon.process.wait(timeout=5) == 0, daemon.output()
        assert time.monotonic() - stopped_at < 5
        assert "Traceback" not in daemon.output()
    finally:
        daemon.stop()
