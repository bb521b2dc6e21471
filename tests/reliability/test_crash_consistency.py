"""`kill -9` at seeded points of pre-change backups and daemon restarts, then recovery.

Whatever moment a process dies at, after the next start: every action left at
`started` has an `interrupted` row, every request that reached STACKS (the
simulator's mutation log) was audited before it was sent, no running container
was changed without a completed backup, and the hash chain verifies.
"""

import random
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.reliability.crash_audit import (
    assert_every_mutation_audited,
    assert_reconciled,
    assert_verify_ok,
    audit_rows,
    audited_action,
    mutations,
    outcomes_by_action,
    restarts_per_container,
    unfinished,
)
from tests.reliability.crash_kills import KillPoint, fire
from tests.reliability.crash_setup import Account, daemon_config, run_command
from tests.support.processes import DaemonProcess, SimulatorProcess, command, wait_until

SEED = 20260105
LATENCY = 0.8  # seconds on every API answer: a sent request lands this long after it left
# The `started` row is written right before the change is sent: a kill this long after the
# row appears lands while the change is on its way (it takes LATENCY to be answered).
IN_FLIGHT = (0.0, 0.4)
FAST_BACKOFF = '[policies.auto_restart]\nbackoff_initial = "2s"\n'


class Spawned:
    """Processes a test starts; whatever is still running at the end is ended by its pid."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []
        self.daemons: list[DaemonProcess] = []
        self.logs: list[IO] = []

    def popen(self, args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        log = log_path.open("w")
        self.logs.append(log)
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.processes.append(process)
        return process

    def daemon(self, config: Path, key: str, log_path: Path) -> DaemonProcess:
        self.daemons.append(DaemonProcess(config, key, log_path))
        return self.daemons[-1]

    def end(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for daemon in self.daemons:
            daemon.stop()
        for log in self.logs:
            log.close()


@pytest.fixture
def spawned():
    processes = Spawned()
    yield processes
    processes.end()


def started_row(database_url: str, container_id: str, action: str):
    def seen(rows) -> bool:
        return any(
            r["container_id"] == container_id
            and r["action"] == action
            and r["outcome"] == "started"
            for r in rows
        )

    return seen


def backups_finish_early(simulator: SimulatorProcess, url: str):
    """An `observe` for fire(): the audit rows, and after each new backup trigger the
    simulator's clock jumps 8 s, so every backup (3-8 s) is done when the gate first
    looks (5 s after the trigger) and no change waits 15 s for the gate's second look."""
    triggered = 0

    def observe() -> list[dict]:
        nonlocal triggered
        now = sum(1 for m in mutations(simulator) if audited_action(m)[0] == "backup.create")
        if now > triggered:
            simulator.control("POST", "clock/advance", seconds=8)
            triggered = now
        return audit_rows(url)

    return observe


def at(mutation_or_backup_time: str) -> datetime:
    return datetime.fromisoformat(mutation_or_backup_time)


def test_kill_9_during_pre_change_backups_never_changes_without_a_backup(
    simulator, tmp_path, spawned
):
    rng = random.Random(SEED)
    account = Account.create(simulator)
    config, _, url = daemon_config(tmp_path, simulator)
    simulator.control("POST", "faults", latency=LATENCY)

    # 14 `change NAME restart` processes, one per running container, each killed once:
    # during start-up and the gate's reads, while it waits for its backup, or while the
    # restart request is on its way (its `started` row written, STACKS not answered yet).
    plan = [
        ("start-up", 4, lambda cid: lambda rows: True, (0.5, 3.5)),
        ("backup wait", 5, lambda cid: started_row(url, cid, "backup.create"), (0.0, 4.5)),
        ("restart in flight", 5, lambda cid: started_row(url, cid, "container.restart"), IN_FLIGHT),
    ]
    points = []
    for phase, count, trigger, (low, high) in plan:
        for _ in range(count):
            name = f"app{len(points)}"
            cid = account.seed(name)
            process = spawned.popen(
                command("--config", str(config), "change", name, "restart"),
                account.env(),
                tmp_path / f"change-{name}.log",
            )
            points.append(KillPoint(phase, process, trigger(cid), rng.uniform(low, high)))
    fire(points, observe=backups_finish_early(simulator, url), timeout=45)
    assert all(p.killed_alive for p in points), points

    time.sleep(LATENCY + 0.5)  # requests already sent by the dead processes land now
    before = unfinished(audit_rows(url))
    simulator.control("POST", "faults", latency=0.0)
    once = run_command(config, account, "once")  # takes leadership: reconciles
    assert once.returncode == 0, once.stdout + once.stderr

    rows = audit_rows(url)
    applied = mutations(simulator)
    assert_reconciled(before, rows)
    assert_every_mutation_audited(applied, rows)
    assert_verify_ok(config)

    # No restart reached STACKS without a backup of that container that had completed
    # before it; the restart's audit row names that backup.
    outcomes = outcomes_by_action(rows)
    for put in applied:
        action, cid = audited_action(put)
        if action != "container.restart":
            continue
        change = next(
            r for r in rows if r["container_id"] == cid and r["action"] == action
            and r["outcome"] == "started"
        )  # fmt: skip
        backup_id = change["details"]["backup_id"]
        assert change["details"]["pre_change_backup"] == "created"
        triggered = [
            m["backup_id"] for m in applied
            if m["seq"] < put["seq"] and audited_action(m) == ("backup.create", cid)
        ]  # fmt: skip
        backup = account.backups(cid)[backup_id]
        # A backup created after the trigger is the gate's too: around 02:00 UTC the scheduled
        # one (the simulator's clock is wall time) can complete before the triggered one.
        assert backup_id in triggered or backup["backup_type"] == "scheduled", (put, change)
        assert backup["status"] == "completed"
        assert at(backup["completed_at"]) <= at(put["at"])

    # The kills really cut actions short: backups waited for and restarts in flight.
    interrupted = {r["action"] for r in rows if r["outcome"] == "interrupted"}
    assert {"backup.create", "container.restart"} <= interrupted
    landed_unknown = [
        p for p in applied if audited_action(p)[0] == "container.restart"
        and any(r["container_id"] == p["container_id"] and r["outcome"] == "interrupted"
                and r["action"] == "container.restart" for r in rows)
    ]  # fmt: skip
    assert landed_unknown, "no restart reached STACKS after its process was killed"
    assert all(o.count("started") <= 1 for o in outcomes.values())


def daemon_ready(port: int):
    def seen(_rows) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return seen


def any_restart_started(url: str):
    def seen(_rows) -> bool:
        return any(
            r["action"] == "container.restart" and r["outcome"] == "started"
            for r in audit_rows(url)
        )

    return seen


def test_kill_9_around_daemon_restarts_restarts_each_crash_once(simulator, tmp_path, spawned):
    rng = random.Random(SEED + 1)
    simulator.control("POST", "faults", latency=LATENCY)

    # 6 separate worlds (account, audit database, daemon), each with two crashed
    # containers; each daemon is killed once: after its first poll, while it decides
    # and runs the gate's reads, or while a restart request is on its way.
    cells = []
    for n in range(6):
        account = Account.create(simulator)
        for name in ("api", "worker"):
            account.seed(name)
            account.crash(name)
        config, port, url = daemon_config(tmp_path / f"cell{n}", simulator, extra=FAST_BACKOFF)
        cells.append((account, config, port, url))

    points = []
    for n, (account, config, port, url) in enumerate(cells):
        process = spawned.popen(
            command("--config", str(config), "run"),
            account.env(),
            tmp_path / f"cell{n}" / "daemon-killed.log",
        )
        if n < 2:
            points.append(KillPoint("deciding", process, daemon_ready(port), rng.uniform(0, 1.5)))
        else:
            trigger = any_restart_started(url)
            points.append(KillPoint("restart in flight", process, trigger, rng.uniform(*IN_FLIGHT)))
    fire(points, observe=lambda: None, timeout=45)
    assert all(p.killed_alive for p in points), points

    time.sleep(LATENCY + 0.5)  # requests already sent by the dead daemons land now
    before = [unfinished(audit_rows(url)) for _, _, _, url in cells]
    daemons = []
    for n, (account, config, _, _) in enumerate(cells):
        log = tmp_path / f"cell{n}" / "daemon-recovery.log"
        daemons.append(spawned.daemon(config, account.key, log))

    def recovered() -> bool:
        return all(
            set(account.statuses().values()) == {"running"} and not unfinished(audit_rows(url))
            for account, _, _, url in cells
        )

    wait_until(recovered, 40, "every daemon to restart its crashed containers")
    for daemon in daemons:
        daemon.process.send_signal(signal.SIGTERM)
    for daemon in daemons:
        assert daemon.process.wait(timeout=10) == 0, daemon.output()

    applied = mutations(simulator)
    restarts = restarts_per_container(applied)
    for (account, _, _, url), unfinished_before in zip(cells, before, strict=True):
        rows = audit_rows(url)
        assert_reconciled(unfinished_before, rows)
        mine = [m for m in applied if m["container_id"] in account.containers.values()]
        assert_every_mutation_audited(mine, rows)
        for cid in account.containers.values():
            assert restarts[cid] == 1, f"{cid} was restarted {restarts[cid]} times for one crash"
        # Crashed containers cannot be backed up: every restart says so.
        for row in rows:
            if row["action"] == "container.restart" and row["outcome"] == "started":
                assert row["details"]["pre_change_backup"] == "not running", row
    assert_verify_ok(*(config for _, config, _, _ in cells))
    assert sum(len(b) for b in before) >= 3, "too few kills left an action without outcome"
