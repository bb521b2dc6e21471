"""The audit database stops taking writes under a running daemon, then comes back.

SQLite: another process holds the write lock (`BEGIN EXCLUSIVE`; chmod would not
stop root). PostgreSQL: a failover to a read-only server (the database turns
`default_transaction_read_only` and every session of the daemon is cut), then a
failback. Meanwhile a container crashes. The daemon must change nothing it cannot
audit: no request reaches STACKS, /readyz answers 503, the write-error metric
rises (it is what the StacksOpsdAuditWriteErrors alert watches). When writes work
again it recovers by itself: ready again, the crash restarted, with audit rows.
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.engine import make_url

from tests.reliability.crash_audit import (
    assert_every_mutation_audited,
    assert_verify_ok,
    audit_rows,
    mutations,
    outcomes_by_action,
    restarts_per_container,
)
from tests.reliability.crash_setup import (
    Account,
    daemon_config,
    fresh_postgres_database,
    psycopg_url,
)
from tests.support.integration import postgres_url
from tests.support.processes import DaemonProcess, metric_lines, wait_until

REFUSED = "audit database not writable: deciding nothing until it recovers"


def readyz(port: int) -> tuple[int, str]:
    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    return response.status_code, response.text


def write_errors(port: int) -> float:
    (line,) = metric_lines(port, "stacks_opsd_audit_write_errors_total")
    return float(line.rsplit(" ", 1)[1])


def shows_status(port: int, container_id: str, status: str) -> bool:
    wanted = f'container_id="{container_id}"'
    return any(
        wanted in line and f'status="{status}"' in line and line.endswith(" 1.0")
        for line in metric_lines(port, "stacks_container_status")
    )


@contextmanager
def sqlite_write_lock(database_url: str) -> Iterator[None]:
    """Another client holds the SQLite write lock: every write waits, then fails."""
    conn = sqlite3.connect(
        database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=10
    )
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def postgres_read_only(database_url: str) -> Iterator[None]:
    """A failover to a read-only server and back: sessions cut, new ones cannot write."""
    import psycopg

    name = make_url(database_url).database
    admin = psycopg_url(postgres_url())

    def switch(read_only: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            setting = "SET default_transaction_read_only = on" if read_only else "RESET ALL"
            conn.execute(f'ALTER DATABASE "{name}" {setting}')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )

    switch(read_only=True)
    try:
        yield
    finally:
        switch(read_only=False)


def check_blocked_then_recovered(
    tmp_path, simulator, database_url: str | None, outage: Callable[[str], object]
) -> None:
    account = Account.create(simulator)
    web = account.seed("web")
    config, port, url = daemon_config(tmp_path, simulator, database_url=database_url)
    daemon = DaemonProcess(config, account.key, tmp_path / "daemon.log")
    try:
        wait_until(lambda: readyz(port)[0] == 200, 20, "the daemon to become ready")
        assert write_errors(port) == 0

        with outage(url):
            # Every poll that sees the crash comes after the outage began.
            account.crash("web")
            wait_until(lambda: shows_status(port, web, "error"), 15, "the crash to be polled")
            refusals = daemon.output().count(REFUSED)
            wait_until(lambda: daemon.output().count(REFUSED) > refusals, 15,
                       "an evaluation of the crash to be refused")  # fmt: skip
            assert mutations(simulator) == [], "a change was made that could not be audited"
            status, reason = readyz(port)
            assert status == 503
            assert "audit database is not writable" in reason
            # Alive all along: restarting the daemon would not bring the database back.
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
            assert write_errors(port) > 0, (
                "the daemon refused to act for lack of an audit database, yet "
                "stacks_opsd_audit_write_errors_total stayed 0: the alert cannot fire"
            )

        wait_until(lambda: readyz(port)[0] == 200, 15, "/readyz to recover")
        wait_until(lambda: restarts_per_container(mutations(simulator))[web], 15,
                   "the crashed container to be restarted")  # fmt: skip
        wait_until(lambda: account.statuses()["web"] == "running", 5, "web to run")
        assert daemon.terminate() == 0, daemon.output()
        assert "Traceback" not in daemon.output()
    finally:
        daemon.stop()

    applied = mutations(simulator)
    assert restarts_per_container(applied) == {web: 1}
    rows = audit_rows(url)
    assert_every_mutation_audited(applied, rows)
    (started,) = [
        r for r in rows if r["action"] == "container.restart" and r["outcome"] == "started"
    ]
    assert started["container_id"] == web
    assert outcomes_by_action(rows)[started["action_id"]] == ["started", "succeeded"]
    assert_verify_ok(config)


def test_sqlite_write_lock_held_by_another_process(simulator, tmp_path):
    check_blocked_then_recovered(tmp_path, simulator, None, sqlite_write_lock)


def test_postgres_failover_to_a_read_only_server(simulator, tmp_path):
    with fresh_postgres_database() as url:
        check_blocked_then_recovered(tmp_path, simulator, url, postgres_read_only)
