"""A daemon whose leader lock is gone sends nothing, even before its next leadership tick.

The lock can go between two ticks (5 s apart at most): PostgreSQL ends the lock's
connection (a restart, a dropped session) or the SQLite lock file is removed, and
another instance takes the lock. Right before a change, the daemon confirms the lock
is still held, not only the flag the last tick left."""

import dataclasses
from datetime import timedelta

import psycopg

from daemon.audit import Outcome
from daemon.clock import ManualClock
from daemon.runtime import Daemon
from daemon.simulator import Simulator
from daemon.stacks import ApiKey
from tests.reliability.crash_setup import psycopg_url
from tests.support.simulated_run import MONDAY, config_with


def take_the_lock_away(daemon: Daemon, shared_database: str) -> None:
    """What a PostgreSQL restart or a removed lock file does to the lock."""
    if shared_database.startswith("sqlite"):
        daemon.leader.path.unlink()
        return
    unsigned = daemon.leader.lock_key & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(psycopg_url(shared_database), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted AND classid::bigint = %s AND objid::bigint = %s",
            (unsigned >> 32, unsigned & 0xFFFF_FFFF),
        )


def test_a_daemon_that_lost_its_lock_does_not_restart_what_the_new_leader_restarts(
    shared_database,
) -> None:
    clock = ManualClock(MONDAY)
    simulator = Simulator(clock=clock, seed=1)
    key = simulator.create_key(rate_limit=1000)
    base = config_with(status_interval=timedelta(seconds=15))
    config = dataclasses.replace(
        base,
        api=dataclasses.replace(base.api, base_url="http://stacks.test/api/v1"),
        daemon=dataclasses.replace(base.daemon, database_url=shared_database),
    )

    def daemon(name: str) -> Daemon:
        return Daemon(
            config, ApiKey(key), clock, instance=name,
            transport=simulator.transport(), synchronous_actions=True,
        )  # fmt: skip

    first, second = daemon("first"), daemon("second")
    try:
        assert first.leadership()
        assert not second.leadership()
        web = simulator.seed_container(key, "web", "nodejs", status="running")
        simulator.crash(web)
        take_the_lock_away(first, shared_database)
        assert second.leadership()

        cycle = first.status_cycle()  # before first's next leadership tick

        assert [report.outcome for _, report in cycle.performed] in ([], [Outcome.SKIPPED])
        assert [m for m in simulator.mutations() if m.method == "PUT"] == []
        assert not first.acting
        restarted = second.status_cycle()
        assert [report.outcome for _, report in restarted.performed] == [Outcome.SUCCEEDED]
        assert len([m for m in simulator.mutations() if m.method == "PUT"]) == 1
    finally:
        first.close(grace=1)
        second.close(grace=1)
