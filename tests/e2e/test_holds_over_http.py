"""Holds and windows in `stacks-opsd run` over real HTTP: the simulator's mutation log is the truth.

A hold placed with `stacks-opsd hold` keeps the running daemon from restarting a
crashed container (one `skipped` note says why, however many cycles pass);
`release`, or the hold's expiry, lets the restart happen, once. A maintenance
window active now pauses restarts; a window that is not active lets them run; a
window that ends lets the paused restart happen then (wall clock, whole minutes).
"""

import json
from datetime import UTC, datetime, timedelta

import httpx

from tests.e2e.test_policies_over_http import audit_rows, cli, mutations
from tests.support.processes import metric_lines, wait_until


def restarts_of(simulator, container_id: str) -> list:
    return [
        m
        for m in mutations(simulator)
        if m.path.endswith(f"/{container_id}/status") and m.body == {"status": "restart"}
    ]


def ready(port: int) -> None:
    wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200,
        20,
        "the daemon to become ready",
    )


def paused_notes(database, name: str) -> list:
    return [
        row
        for row in audit_rows(database)
        if row.container_name == name and row.outcome == "skipped" and row.reason
        and "held" in row.reason
    ]  # fmt: skip


def test_a_hold_stops_the_auto_restart_and_its_release_lets_it_happen_once(
    simulator, start_daemon, tmp_path
):
    web = simulator.seed("web")
    daemon, port = start_daemon()
    ready(port)
    config = tmp_path / "config.toml"
    placed = cli(config, simulator.key, "hold", "web", "--for", "1h", "--reason", "migration")
    assert placed.returncode == 0, placed.stderr
    assert "held web until" in placed.stdout

    simulator.control("POST", f"containers/{web}/crash")
    # The daemon notes the paused restart once: wait for it, then let cycles pass.
    wait_until(lambda: paused_notes(tmp_path / "audit.db", "web"), 15, "the paused-restart note")
    status = wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{port}/status").json()["holds"], 10, "/status holds"
    )
    assert status[0]["reason"] == "migration" and "@" in status[0]["set_by"]
    assert status[0]["containers"] == ["web"]
    expiry = wait_until(
        lambda: metric_lines(port, "stacks_opsd_hold_expiry_timestamp_seconds"), 10, "the metric"
    )
    assert 'name="web"' in expiry[0]
    cycles_before = len(audit_rows(tmp_path / "audit.db"))
    wait_until(lambda: len(restarts_of(simulator, web)) == 0 and _cycles_passed(port, 3), 10,
               "a few status cycles")  # fmt: skip
    assert restarts_of(simulator, web) == []
    assert len(paused_notes(tmp_path / "audit.db", "web")) == 1  # not repeated every cycle
    assert len(audit_rows(tmp_path / "audit.db")) == cycles_before

    released = cli(config, simulator.key, "release", "web")
    assert released.returncode == 0, released.stderr
    wait_until(lambda: restarts_of(simulator, web), 15, "the restart after the release")
    wait_until(lambda: _cycles_passed(port, 3), 10, "a few status cycles")
    assert len(restarts_of(simulator, web)) == 1
    actions = [row.action for row in audit_rows(tmp_path / "audit.db")]
    assert actions.count("hold.set") == 1 and actions.count("hold.release") == 1
    assert metric_lines(port, "stacks_opsd_hold_expiry_timestamp_seconds") == []
    assert daemon.terminate() == 0


def test_an_expired_hold_lets_the_restart_happen_and_its_expiry_is_audited_once(
    simulator, start_daemon, tmp_path
):
    web = simulator.seed("web")
    daemon, port = start_daemon()
    ready(port)
    config = tmp_path / "config.toml"
    placed = cli(config, simulator.key, "hold", "web", "--for", "4s", "--reason", "short")
    assert placed.returncode == 0, placed.stderr
    simulator.control("POST", f"containers/{web}/crash")
    wait_until(lambda: paused_notes(tmp_path / "audit.db", "web"), 15, "the paused-restart note")
    assert restarts_of(simulator, web) == []
    wait_until(lambda: restarts_of(simulator, web), 20, "the restart after the expiry")
    wait_until(lambda: _cycles_passed(port, 3), 10, "a few status cycles")
    assert len(restarts_of(simulator, web)) == 1
    expiries = [row for row in audit_rows(tmp_path / "audit.db") if row.action == "hold.expire"]
    assert len(expiries) == 1 and expiries[0].actor == "daemon"
    listed = cli(config, simulator.key, "holds", "--all", "--format", "json")
    assert json.loads(listed.stdout)[0]["end"] == "expired"
    assert daemon.terminate() == 0


def test_an_active_window_pauses_restarts_and_an_inactive_one_does_not(
    simulator, start_daemon, tmp_path
):
    # The simulator's clock is wall time (no offset yet): windows computed from it are
    # active (this year) or not (a past year) for the daemon's wall clock too.
    now = httpx.get(f"{simulator.root}/_sim/clock").json()["now"]
    year = int(now[:4])
    web = simulator.seed("web")
    shop = simulator.seed("shop-db", "postgresql")
    windows = f"""
[[windows]]
name = "this-year"
years = ["{year}:{year + 1}"]
match = ["web"]
pause = ["container.restart"]

[[windows]]
name = "long-ago"
years = ["2001"]
"""
    daemon, port = start_daemon(windows)
    ready(port)
    simulator.control("POST", f"containers/{web}/crash")
    simulator.control("POST", f"containers/{shop}/crash")
    wait_until(lambda: restarts_of(simulator, shop), 15, "shop-db's restart (no window on it)")
    wait_until(lambda: _cycles_passed(port, 3), 10, "a few status cycles")
    assert restarts_of(simulator, web) == []
    notes = [
        row for row in audit_rows(tmp_path / "audit.db")
        if row.container_name == "web" and row.outcome == "skipped"
        and "maintenance window 'this-year'" in (row.reason or "")
    ]  # fmt: skip
    assert len(notes) == 1
    active = metric_lines(port, "stacks_opsd_window_active")
    assert 'stacks_opsd_window_active{window="this-year"} 1.0' in active
    assert 'stacks_opsd_window_active{window="long-ago"} 0.0' in active
    assert daemon.terminate() == 0


def test_a_restart_paused_by_a_window_happens_once_the_window_ends(
    simulator, start_daemon, tmp_path
):
    # Windows are whole minutes of the wall clock: this one ends at the next minute
    # boundary at least 15 s away, so the test waits 15 to 75 s.
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1 if now.second < 45 else 2)
    minutes = [
        start + timedelta(minutes=i) for i in range(int((end - start).total_seconds() // 60))
    ]
    times = ", ".join(
        f'{{ start_time = "{m:%H:%M}", end_time = "{nxt}" }}'
        for m, nxt in (
            (m, "24:00" if (m + timedelta(minutes=1)).hour == 0 and m.hour == 23
             else f"{m + timedelta(minutes=1):%H:%M}")
            for m in minutes
        )
    )  # fmt: skip
    web = simulator.seed("web")
    daemon, port = start_daemon(
        f'\n[[windows]]\nname = "deploy"\ntimes = [{times}]\npause = ["container.restart"]\n'
    )
    ready(port)
    simulator.control("POST", f"containers/{web}/crash")
    wait_until(lambda: _window_notes(tmp_path / "audit.db"), 15, "the paused-restart note")
    assert restarts_of(simulator, web) == []
    remaining = (end - datetime.now(UTC)).total_seconds()
    restart = wait_until(lambda: restarts_of(simulator, web), remaining + 15, "the restart")
    assert datetime.fromisoformat(str(restart[0].at)) >= end  # not before the window ended
    wait_until(lambda: _cycles_passed(port, 3), 10, "a few status cycles")
    assert len(restarts_of(simulator, web)) == 1
    assert len(_window_notes(tmp_path / "audit.db")) == 1
    assert 'stacks_opsd_window_active{window="deploy"} 0.0' in metric_lines(
        port, "stacks_opsd_window_active"
    )
    assert daemon.terminate() == 0


def _window_notes(database) -> list:
    return [
        row for row in audit_rows(database)
        if row.outcome == "skipped" and "maintenance window 'deploy'" in (row.reason or "")
    ]  # fmt: skip


def _cycles_passed(port: int, cycles: int, _seen: dict = {}) -> bool:  # noqa: B006
    """True once `cycles` status polls have happened since the first call for this port."""
    lines = metric_lines(port, "stacks_last_poll_timestamp_seconds")
    if not lines:
        return False
    value = float(lines[0].split()[-1])
    first = _seen.setdefault(port, value)
    if value - first >= cycles:  # status_interval = "1s"
        del _seen[port]
        return True
    return False
