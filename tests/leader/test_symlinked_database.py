"""Two `stacks-opsd run` processes on one SQLite file, one naming it through a symlink.

The reproduced defect: the lock file was named from the path as written, so
`alias.db -> data/audit.db` locked `alias.db.lock` and a second leader started.
Now the second daemon stands by: `stacks_opsd_leader 0`, no API request of its own.
"""

import httpx

from tests.reliability.crash_setup import Account, daemon_config
from tests.support.processes import DaemonProcess, metric_lines, wait_until


def leader_gauge(port: int) -> float | None:
    lines = metric_lines(port, "stacks_opsd_leader")
    return float(lines[0].rsplit(" ", 1)[1]) if lines else None


def ready(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200


def test_a_daemon_reaching_the_database_through_a_symlink_stands_by(simulator, tmp_path):
    account = Account.create(simulator)
    account.seed("web")
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "alias.db").symlink_to("../data/audit.db")
    urls = {
        "first": f"sqlite:///{data / 'audit.db'}",
        "second": f"sqlite:///{tmp_path / 'elsewhere' / 'alias.db'}",
    }
    daemons: dict[str, DaemonProcess] = {}
    ports: dict[str, int] = {}
    try:
        for name, url in urls.items():
            config, ports[name], _ = daemon_config(tmp_path / name, simulator, database_url=url)
            daemons[name] = DaemonProcess(config, account.key, tmp_path / name / "daemon.log")
            wait_until(lambda p=ports[name]: ready(p), 20, f"the {name} daemon to be ready")

        wait_until(lambda: leader_gauge(ports["first"]) == 1, 10, "the first daemon to lead")
        assert "standing by" in daemons["second"].output(), daemons["second"].output()
        assert "now the leader" not in daemons["second"].output()
        assert leader_gauge(ports["second"]) == 0
        assert not (tmp_path / "elsewhere" / "alias.db.lock").exists()
        assert (data / "audit.db.lock").exists()

        assert daemons["first"].terminate() == 0
        wait_until(lambda: leader_gauge(ports["second"]) == 1, 10,
                   "the second daemon to take over once the first stopped")  # fmt: skip
        assert daemons["second"].terminate() == 0
    finally:
        for daemon in daemons.values():
            daemon.stop()
