"""The audit database stops taking writes under a running daemon, then comes back.

SQLite: another process holds the write lock (`BEGIN EXCLUSIVE`; chmod would not
stop root). PostgreSQL: a failover to a read-only server (the database turns
`default_transaction_read_only` and every session of the daemon is cut), then a
failback. Meanwhile a container crashes. The daemon must change nothing it cannot
audit: no request reaches STACKS, /readyz answers 503, the write-error metric
rises (it is what the StacksOpsdAuditWriteErrors alert watches). When writes work
again it recovers by itself: ready again, the crash restarted, with audit rows.

PostgreSQL that stops answering (a proxy between daemon and server freezes, both
TCP connections stay open, no RST): no client timeout notices, yet /readyz turns
503 within the database check's bound and /healthz stays 200 throughout.
"""

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.engine import make_url

from daemon.cli.startup import operator_name
from daemon.exporter import DATABASE_CHECK_TIMEOUT
from daemon.service import DATABASE_TICK
from tests.reliability.crash_audit import (
    assert_every_mutation_audited,
    assert_verify_ok,
    audit_rows,
    mutations,
    outcomes_by_action,
    restarts_per_container,
    unfinished,
)
from tests.reliability.crash_setup import (
    Account,
    daemon_config,
    fresh_postgres_database,
    psycopg_url,
)
from tests.reliability.tcp_proxy import FreezableProxy
from tests.support.integration import postgres_url
from tests.support.processes import DaemonProcess, command, metric_lines, wait_until

# A check starts at most one database tick after the freeze, then runs into its bound;
# 5 s more for a busy runner. Measured: 14 s (the freeze fell between two checks).
UNREADY_BOUND = (DATABASE_CHECK_TIMEOUT + DATABASE_TICK).total_seconds() + 5
REFUSED = "audit database not writable: deciding nothing until it recovers"
UNAUDITED = "container.restart for web not performed"


def decisions_on_hold(log: str) -> int:
    return log.count(REFUSED) + log.count(UNAUDITED)


def readyz(port: int) -> tuple[int, str]:
    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    return response.status_code, response.text


def healthz(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code


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
            # Every poll that sees the crash comes after the outage began. A status cycle
            # may first wait out SQLite's 5 s busy timeout on each of its writes, so on a
            # loaded machine the poll that sees it can come a few of those later.
            account.crash("web")
            wait_until(lambda: shows_status(port, web, "error"), 30, "the crash to be polled")
            # The daemon either refuses to decide (it knows the database is unwritable)
            # or decides and cannot write the restart's `started` row; SQLite waits out
            # its 5 s busy timeout for each write first.
            seen = decisions_on_hold(daemon.output())
            wait_until(lambda: decisions_on_hold(daemon.output()) > seen, 30,
                       "the daemon to hold back its decision on the crash")  # fmt: skip
            assert mutations(simulator) == [], "a change was made that could not be audited"
            wait_until(lambda: readyz(port)[0] == 503, 15, "/readyz to turn 503")
            assert "audit database is not writable" in readyz(port)[1]
            # Alive all along: restarting the daemon would not bring the database back.
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
            assert write_errors(port) > 0, (
                "the daemon held back for lack of an audit database, yet "
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


def test_takeover_while_the_database_is_locked_reconciles_once_it_is_back(simulator, tmp_path):
    """The leader dies mid-restart while the audit database is locked: the standby takes
    over but cannot write the `interrupted` row yet; it must write it once it can."""
    account = Account.create(simulator)
    web = account.seed("web")
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    daemons = []
    try:
        for name in ("first", "second"):
            config, port, _ = daemon_config(tmp_path / name, simulator, database_url=url)
            daemons.append(DaemonProcess(config, account.key, tmp_path / name / "daemon.log"))
            wait_until(lambda p=port: readyz(p)[0] == 200, 20, f"the {name} daemon to be ready")
        leader, standby = daemons
        assert "now the leader" in leader.output()
        assert "standing by" in standby.output()

        simulator.control("POST", "faults", latency=1.0)
        account.crash("web")
        cut = wait_until(lambda: unfinished(audit_rows(url)), 15,
                         "the leader to start restarting web", step=0.02)  # fmt: skip
        with sqlite_write_lock(url):
            leader.kill()
            wait_until(lambda: "now the leader" in standby.output(), 10, "the takeover")
            wait_until(lambda: "could not record `interrupted` rows" in standby.output(), 15,
                       "the new leader to fail to reconcile")  # fmt: skip
        simulator.control("POST", "faults", latency=0.0)

        def reconciled() -> bool:
            outcomes = outcomes_by_action(audit_rows(url))
            return all(outcomes[action_id] == ["started", "interrupted"] for action_id in cut)

        wait_until(reconciled, 15, "the new leader to reconcile once the database is back")
        wait_until(lambda: account.statuses()["web"] == "running", 20, "web to run again")
        assert standby.terminate() == 0, standby.output()
    finally:
        for daemon in daemons:
            daemon.stop()

    applied = mutations(simulator)
    assert restarts_per_container(applied) == {web: 1}
    rows = audit_rows(url)
    assert not unfinished(rows)
    assert_every_mutation_audited(applied, rows)
    assert_verify_ok(tmp_path / "second" / "config.toml")


def test_postgres_that_stops_answering_turns_readyz_red_within_the_bound(simulator, tmp_path):
    account = Account.create(simulator)
    web = account.seed("web")
    with fresh_postgres_database() as url:
        server = make_url(url)
        with FreezableProxy((server.host or "127.0.0.1", server.port or 5432)) as proxy:
            proxied = server.set(host="127.0.0.1", port=proxy.port)
            config, port, _ = daemon_config(
                tmp_path, simulator, database_url=proxied.render_as_string(hide_password=False)
            )
            daemon = DaemonProcess(config, account.key, tmp_path / "daemon.log")
            try:
                wait_until(lambda: readyz(port)[0] == 200, 20, "the daemon to become ready")

                proxy.freeze()
                frozen_at = time.monotonic()
                account.crash("web")
                alive: list[int] = []

                def unready() -> bool:
                    alive.append(healthz(port))
                    return readyz(port)[0] == 503

                wait_until(unready, UNREADY_BOUND, "/readyz to turn 503 while the database hangs")
                took = time.monotonic() - frozen_at
                status, reason = readyz(port)
                assert "has not answered a write check" in reason, (status, reason)
                # It stays unready and alive while the database hangs: a watchdog or a
                # liveness probe must not restart a daemon over a database it cannot fix.
                held_until = time.monotonic() + 5
                while time.monotonic() < held_until:
                    alive.append(healthz(port))
                    assert readyz(port)[0] == 503
                    time.sleep(0.25)
                assert set(alive) == {200}, f"/healthz answered {sorted(set(alive))}"
                assert mutations(simulator) == [], "a change was made while the audit hung"
                print(f"/readyz turned 503 {took:.1f}s after the database stopped answering")

                proxy.resume()
                wait_until(lambda: readyz(port)[0] == 200, 20, "/readyz to recover")
                wait_until(lambda: restarts_per_container(mutations(simulator))[web], 20,
                           "the crashed container to be restarted")  # fmt: skip
                wait_until(lambda: account.statuses()["web"] == "running", 5, "web to run")
                assert daemon.terminate() == 0, daemon.output()
                assert "Traceback" not in daemon.output()
            finally:
                proxy.resume()
                daemon.stop()
            assert_verify_ok(config)

        applied = mutations(simulator)
        assert restarts_per_container(applied) == {web: 1}
        rows = audit_rows(url)
        assert_every_mutation_audited(applied, rows)
        assert not unfinished(rows)


def test_a_sqlite_file_removed_under_the_daemon_blocks_actions_until_a_restart(simulator, tmp_path):
    """Rows written into an unlinked file are lost to every reader: the daemon must notice
    that the path no longer names its file, act on nothing, say so, and be unready."""
    account = Account.create(simulator)
    web = account.seed("web")
    config, port, url = daemon_config(tmp_path, simulator)
    database = tmp_path / "audit.db"
    daemon = DaemonProcess(config, account.key, tmp_path / "daemon.log")
    try:
        wait_until(lambda: readyz(port)[0] == 200, 20, "the daemon to become ready")
        for suffix in ("", "-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        account.crash("web")
        wait_until(lambda: shows_status(port, web, "error"), 15, "the crash to be polled")
        wait_until(lambda: readyz(port)[0] == 503, 15, "/readyz to turn 503")
        wait_until(lambda: "was removed while this process had it open" in daemon.output(), 15,
                   "the daemon to say why it holds back")  # fmt: skip
        assert mutations(simulator) == [], "a change was made whose rows nobody can read"
        assert daemon.terminate() == 0, daemon.output()
    finally:
        daemon.stop()

    again = DaemonProcess(config, account.key, tmp_path / "again.log")  # opens a new file
    try:
        wait_until(lambda: restarts_per_container(mutations(simulator))[web], 20,
                   "the crashed container to be restarted")  # fmt: skip
        assert again.terminate() == 0, again.output()
    finally:
        again.stop()
    assert_every_mutation_audited(mutations(simulator), audit_rows(url))
    assert_verify_ok(config)


def test_a_change_whose_outcome_row_meets_a_locked_database_is_recorded_once_it_is_free(
    simulator, tmp_path
):
    """`change web stop` is applied while another process holds the write lock: the
    command offers the outcome row again until the database takes it, and reports the
    change as it happened, not `unaudited`."""
    account = Account.create(simulator)
    account.seed("web")
    config, _, url = daemon_config(tmp_path, simulator)
    # The answer comes 6 s after the stop is applied: time for this test to see it and lock
    # the database first, even on a loaded runner (3 s was not always enough).
    simulator.control("POST", "faults", after_apply="slow", slow_seconds=6.0,
                      after_apply_match=r"^PUT /api/v1/containers/[^/]+/status$")  # fmt: skip
    change = subprocess.Popen(
        command("--config", str(config), "change", "web", "stop", "--quiet"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "STACKS_API_KEY": account.key},
    )  # fmt: skip
    try:
        wait_until(lambda: any(m["path"].endswith("/status") for m in mutations(simulator)),
                   60, "the stop to be applied", step=0.05)  # fmt: skip
        with sqlite_write_lock(url):
            # Past the answer (6 s), a lease renewal's 5 s wait for the lock that may come
            # first, the outcome row's own 5 s busy timeout, and more: released at 15 s,
            # the row's wait could end just as the lock did, and nothing was refused.
            time.sleep(20)
        out, err = change.communicate(timeout=60)
    finally:
        if change.poll() is None:
            change.kill()
    assert change.returncode == 0, err
    assert out.startswith("stop web: succeeded")
    assert "trying again" in err and "NOT RECORDED" not in err
    assert account.statuses()["web"] == "stopped"
    rows = audit_rows(url)
    stops = [r for r in rows if r["action"] == "container.stop"]
    assert [r["outcome"] for r in stops] == ["started", "succeeded"]
    assert {r["details"].get("operator") for r in stops} == {operator_name()}  # late row too
    assert_every_mutation_audited(mutations(simulator), rows)
    assert_verify_ok(config)
