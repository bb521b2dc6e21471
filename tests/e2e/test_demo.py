"""`make demo` as a newcomer meets it: `stacks-opsd demo` says what it runs and how, then
prints the audit rows of restarts, weekly pins and an operator's restart through the
pre-change backup gate, while /metrics answers; Ctrl-C ends it cleanly."""

import signal
import subprocess

import pytest

from daemon.cli.main import main
from tests.support.processes import command, free_port, metric_lines, wait_until


def printed(lines: list[str], actor: str, action: str, container: str | None = None) -> bool:
    """A row line: time, actor, action, container, ... -> outcome."""
    return any(
        line.split()[1:3] == [actor, action]
        and (container is None or line.split()[3] == container)
        and "-> succeeded" in line
        for line in lines
        if len(line.split()) > 3
    )


def test_the_demo_shows_restarts_pins_and_a_gated_operator_restart(tmp_path):
    port = free_port()
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        demo = subprocess.Popen(
            command("demo", "--listen", f"127.0.0.1:{port}"),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:

        def lines() -> list[str]:
            return log.read_text().splitlines()

        wait_until(lambda: metric_lines(port, "stacks_container_status"), 30,
                   "the demo's /metrics to show the fleet")  # fmt: skip
        wait_until(
            lambda: printed(lines(), "cli", "container.restart", "shop-web"),
            120,
            "the operator's restart of shop-web",
        )
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(timeout=30) == 0, log.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
    text = log.read_text()
    assert "metrics: http://127.0.0.1:" in text and "audit database:" in text
    assert "Livelier than the defaults: status every 5s, backoff from 5s, at most 4" in text
    assert printed(lines(), "policy:auto_restart", "container.restart")
    assert printed(lines(), "policy:weekly_pin", "backup.pin")
    assert printed(lines(), "cli", "backup.create", "shop-web")  # the gate's backup first
    operator = [line for line in lines() if "demo operator" in line]
    assert operator and "pre-change backup" in operator[0]
    assert "Traceback" not in text


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999"])
def test_a_bad_listen_address_is_a_one_line_usage_error(listen, capsys):
    assert main(["demo", "--listen", listen, "--duration", "1s"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"stacks-opsd: --listen: expected HOST:PORT like 127.0.0.1:9847, got {listen!r}"
    ]
