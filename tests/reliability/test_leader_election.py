"""Two `stacks-opsd run` processes on one audit database: one leads, the other stands by.

PostgreSQL (advisory lock on a dedicated connection) and SQLite (flock beside the
file) alike: the standby exports `stacks_opsd_leader 0` and sends no API request;
each crash is restarted exactly once; after `kill -9` of the leader in the middle
of a restart, the standby takes over within one status interval, marks the cut
restart `interrupted`, and does not restart that container a second time.
"""

import socket
import time

import httpx
import pytest

from tests.reliability.crash_audit import (
    assert_every_mutation_audited,
    assert_verify_ok,
    audit_rows,
    mutations,
    outcomes_by_action,
    restarts_per_container,
    unfinished,
)
from tests.reliability.crash_setup import Account, daemon_config
from tests.support.processes import DaemonProcess, metric_lines, wait_until

STATUS_INTERVAL = 2.0  # seconds; the leadership job runs every third of it
# SPEC 6: a standby takes over within one status interval; 0.5 s more for observing it
# (scrapes every 50 ms) on a busy runner. Measured: 0.35-0.5 s, as the standby retries
# the lock every 0.67 s and the lock dies with the leader's process.
TAKEOVER_BOUND = STATUS_INTERVAL + 0.5
SLOW_ANSWER = 5.0  # seconds STACKS holds its answer to the restart the leader is killed in
CONFIG = '[policies.auto_restart]\nbackoff_initial = "3s"\n'


@pytest.fixture
def daemons():
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.stop()


def gauge(port: int, name: str) -> float | None:
    lines = metric_lines(port, name)
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines) if lines else None


def ready(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200


def instance(daemon: DaemonProcess) -> str:
    return f"{socket.gethostname()}:{daemon.process.pid}"


def test_one_leader_acts_and_the_standby_takes_over_after_kill_9(
    simulator, tmp_path, shared_database, daemons
):
    account = Account.create(simulator)
    for name in ("web", "store", "cache"):
        account.seed(name)
    cid = account.containers
    ports = {}
    for name in ("first", "second"):
        config, port, _ = daemon_config(
            tmp_path / name,
            simulator,
            database_url=shared_database,
            status_interval=f"{STATUS_INTERVAL:.0f}s",
            extra=CONFIG,
        )
        daemons.append(DaemonProcess(config, account.key, tmp_path / name / "daemon.log"))
        ports[daemons[-1]] = port

    def roles() -> tuple[DaemonProcess, DaemonProcess] | None:
        leading = {d: gauge(port, "stacks_opsd_leader") for d, port in ports.items()}
        if sorted(leading.values()) != [0, 1] or not all(map(ready, ports.values())):
            return None
        if not any("standing by" in d.output() for d in ports):
            return None
        return tuple(sorted(ports, key=lambda d: -leading[d]))

    leader, standby = wait_until(roles, 20, "one daemon to lead and the other to stand by")

    # Only the leader polls and acts: one restart for one crash.
    account.crash("web")
    wait_until(lambda: restarts_per_container(mutations(simulator))[cid["web"]], 10,
               "the leader to restart web")  # fmt: skip
    time.sleep(STATUS_INTERVAL)  # one more interval: a second actor would show now
    assert gauge(ports[leader], "stacks_opsd_leader") == 1
    assert gauge(ports[standby], "stacks_opsd_leader") == 0
    assert gauge(ports[leader], "stacks_api_requests_total") > 0
    assert not gauge(ports[standby], "stacks_api_requests_total")

    # kill -9 of the leader while it waits for STACKS's answer to its restart of store:
    # STACKS applied the restart, its answer is held back (the simulator's `slow` fault).
    simulator.control(
        "PATCH",
        "faults",
        after_apply="slow",
        after_apply_match=r"^PUT /api/v1/containers/[^/]+/status$",
        slow_seconds=SLOW_ANSWER,
    )
    account.crash("store")

    def restart_started(rows) -> list[dict]:
        return [
            r for r in rows if r["container_id"] == cid["store"] and r["outcome"] == "started"
            and r["action"] == "container.restart"
        ]  # fmt: skip

    def restart_applied() -> bool:
        return restarts_per_container(mutations(simulator)).get(cid["store"], 0) == 1

    wait_until(restart_applied, 15, "STACKS to apply the leader's restart of store", step=0.02)
    cut = restart_started(audit_rows(shared_database))
    leader.kill()
    killed_at = time.monotonic()
    account.crash("cache")  # for the new leader
    wait_until(lambda: gauge(ports[standby], "stacks_opsd_leader") == 1, 2 * TAKEOVER_BOUND,
               "the standby to take over", step=0.05)  # fmt: skip
    takeover = time.monotonic() - killed_at
    assert takeover <= TAKEOVER_BOUND, f"takeover took {takeover:.2f}s"

    # The new leader reconciles the cut restart, does not repeat it, and acts.
    wait_until(
        lambda: (
            set(account.statuses().values()) == {"running"}
            and not unfinished(audit_rows(shared_database))
        ),
        15,
        "every container to run again with every action finished",
    )
    assert standby.terminate() == 0, standby.output()

    applied = mutations(simulator)
    assert restarts_per_container(applied) == {cid["web"]: 1, cid["store"]: 1, cid["cache"]: 1}
    rows = audit_rows(shared_database)
    assert_every_mutation_audited(applied, rows)
    assert outcomes_by_action(rows)[cut[0]["action_id"]] == ["started", "interrupted"]
    by = {(r["container_id"], r["outcome"]): r["instance"] for r in rows
          if r["action"] == "container.restart"}  # fmt: skip
    assert by[(cid["web"], "succeeded")] == instance(leader)
    assert by[(cid["store"], "started")] == instance(leader)
    assert by[(cid["store"], "interrupted")] == instance(standby)
    assert by[(cid["cache"], "succeeded")] == instance(standby)
    assert_verify_ok(tmp_path / "second" / "config.toml")
    print(f"takeover after kill -9 of the leader: {takeover:.2f}s (bound {TAKEOVER_BOUND}s)")
