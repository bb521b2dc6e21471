"""Sessions and claims: actions left at `started` by a process that is gone get exactly one
`interrupted` row, actions of live processes are left alone, one actor per container, and
reconciliation starts where the last one left off."""

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from daemon.audit import (
    HEAD_ID,
    INTERRUPTED_REASON,
    LEASE,
    SESSIONS,
    AuditHead,
    AuditStore,
    AuditWriteError,
    new_action_id,
    process_identity,
)
from daemon.clock import ManualClock
from tests.audit.test_history import OPERATOR, RESTART, RESTARTER, append


def dead_process_identity() -> str:
    """The identity a process on this machine had, once it has ended."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        identity = process_identity(child.pid)
    finally:
        child.kill()
        child.wait()
    assert identity is not None
    return identity


def set_session(store: AuditStore, **values) -> None:
    """Rewrite the store's session row, as if its process were elsewhere or dead."""
    with store._engine.begin() as conn:
        conn.execute(update(SESSIONS).where(SESSIONS.c.session == store.session).values(**values))


def hide_from_proc(monkeypatch: pytest.MonkeyPatch, pid: int) -> None:
    """Make `/proc/<pid>` unreadable to this process, as systemd's ProtectProc=invisible does
    with another user's processes (the kernel still answers `kill(pid, 0)`)."""
    read_text = Path.read_text
    hidden = f"/proc/{pid}/"

    def reading(path: Path, *args, **kwargs) -> str:
        if str(path).startswith(hidden):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", reading)


def start_action(store: AuditStore) -> str:
    action_id = new_action_id()
    store.append("cli", "container.stop", "started", action_id=action_id, container_id="c-1")
    return action_id


def test_unfinished_actions_get_one_interrupted_row(open_store, clock) -> None:
    before_crash = open_store(instance="host:100")
    unfinished = new_action_id()
    finished = new_action_id()
    correlation = new_action_id()
    before_crash.append(
        "policy:auto_restart",
        "container.restart",
        "started",
        action_id=unfinished,
        container_id="usr-0000abcd-web",
        container_name="web",
        target="bk-1",
        correlation_id=correlation,
    )
    before_crash.append("cli", "backup.pin", "started", action_id=finished, target="bk-2")
    before_crash.append("cli", "backup.pin", "succeeded", action_id=finished, target="bk-2")
    set_session(before_crash, process=dead_process_identity())  # kill -9
    clock.advance(60)

    after_restart = open_store(instance="host:200")
    written = after_restart.reconcile_interrupted()

    assert len(written) == 1
    row = written[0]
    assert (row.action_id, row.outcome, row.reason) == (
        unfinished,
        "interrupted",
        INTERRUPTED_REASON,
    )
    assert (row.actor, row.action, row.target) == (
        "policy:auto_restart",
        "container.restart",
        "bk-1",
    )
    assert (row.container_id, row.container_name) == ("usr-0000abcd-web", "web")
    assert row.correlation_id == correlation
    assert row.instance == "host:200"
    assert after_restart.reconcile_interrupted() == []
    outcomes = [r.outcome for r in after_restart.query() if r.action_id == unfinished]
    assert outcomes == ["started", "interrupted"]
    assert after_restart.verify().ok


def test_reconcile_on_a_log_without_unfinished_actions_writes_nothing(store: AuditStore) -> None:
    assert store.reconcile_interrupted() == []
    assert store.query() == []


def test_a_live_process_keeps_its_unfinished_action(open_store) -> None:
    cli = open_store(instance="host:cli")
    waiting = start_action(cli)  # e.g. `change` waiting for its pre-change backup
    daemon = open_store(instance="host:daemon")
    assert daemon.reconcile_interrupted() == []
    cli.append("cli", "container.stop", "succeeded", action_id=waiting, container_id="c-1")
    assert daemon.reconcile_interrupted() == []
    outcomes = [r.outcome for r in daemon.query() if r.action_id == waiting]
    assert outcomes == ["started", "succeeded"]  # one outcome, not interrupted as well


def test_a_session_that_ended_or_died_is_reconciled_once(open_store) -> None:
    closed, killed = open_store(instance="host:a"), open_store(instance="host:b")
    ended, cut = start_action(closed), start_action(killed)
    closed.close()
    set_session(killed, process=dead_process_identity())
    leader = open_store(instance="host:leader")
    assert {row.action_id for row in leader.reconcile_interrupted()} == {ended, cut}
    assert leader.reconcile_interrupted() == []
    assert leader.verify().ok


def test_another_machines_session_counts_as_alive_until_its_lease_expires(open_store, clock):
    remote = open_store(instance="elsewhere:1")
    action = start_action(remote)
    set_session(remote, process="another-boot:4026531836:77:12345")
    leader = open_store(instance="host:leader")
    assert leader.reconcile_interrupted() == []
    clock.advance((LEASE + timedelta(seconds=1)).total_seconds())
    assert [row.action_id for row in leader.reconcile_interrupted()] == [action]


def test_a_renewed_lease_keeps_a_remote_session_alive(open_store, clock):
    remote = open_store(instance="elsewhere:1")
    start_action(remote)
    set_session(remote, process=None)
    leader = open_store(instance="host:leader")
    for _ in range(5):
        clock.advance(LEASE.total_seconds() / 2)
        remote.renew_session()
        assert leader.reconcile_interrupted() == []


def test_own_unfinished_actions_are_closed_only_when_asked(open_store) -> None:
    store = open_store()
    action = start_action(store)
    assert store.reconcile_interrupted() == []
    assert [row.action_id for row in store.reconcile_interrupted(including_own=True)] == [action]


def test_one_container_one_actor_across_processes(open_store) -> None:
    cli, daemon = open_store(instance="host:cli"), open_store(instance="host:daemon")
    assert cli.claim("c-1", "container.stop", new_action_id()) is None
    holder = daemon.claim("c-1", "container.restart", new_action_id())
    assert holder is not None and holder.action == "container.stop"
    assert holder.instance == "host:cli" and "host:cli" in holder.describe()
    assert daemon.claim("c-2", "container.restart", new_action_id()) is None  # others are free
    cli.release_claim("c-1")
    assert daemon.claim("c-1", "container.restart", new_action_id()) is None


def test_two_processes_claiming_one_container_at_once_get_one_claim(open_store) -> None:
    """The daemon and an operator's `change` claim the same container at the same moment,
    round after round: exactly one holds it, the other is told who, and nothing is an
    audit write error (on PostgreSQL a claim read, then wrote, with no lock between)."""
    rounds = 40
    stores = {"daemon": open_store(instance="host:daemon"), "cli": open_store(instance="host:cli")}
    for store in stores.values():
        assert store.claim("warm-up", "container.stop", new_action_id()) is None
        store.release_claim("warm-up")
    start = threading.Barrier(len(stores))
    results: dict[str, list[str]] = {role: [] for role in stores}

    def race(role: str) -> None:
        store = stores[role]
        for index in range(rounds):
            start.wait()
            try:
                holder = store.claim(f"c-{index}", "container.restart", new_action_id())
                results[role].append("claimed" if holder is None else "busy")
            except AuditWriteError as error:
                results[role].append(f"error: {error}")

    threads = [threading.Thread(target=race, args=(role,)) for role in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for index in range(rounds):
        outcomes = sorted(results[role][index] for role in stores)
        assert outcomes == ["busy", "claimed"], (index, outcomes)
        holders = [role for role in stores if stores[role].holds_claim(f"c-{index}")]
        assert holders == [r for r in stores if results[r][index] == "claimed"], index


def test_a_dead_holders_claim_is_taken_over(open_store) -> None:
    cli, daemon = open_store(instance="host:cli"), open_store(instance="host:daemon")
    assert cli.claim("c-1", "container.stop", new_action_id()) is None
    set_session(cli, process=dead_process_identity())
    assert daemon.claim("c-1", "container.restart", new_action_id()) is None


def test_a_live_process_this_one_may_not_see_is_not_taken_for_dead(open_store, monkeypatch):
    """systemd's ProtectProc=invisible hides the operator's `change` from the daemon."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        hidden = process_identity(child.pid)
        cli = open_store(instance="host:cli")
        action = start_action(cli)
        set_session(cli, process=hidden)
        hide_from_proc(monkeypatch, child.pid)
        assert process_identity(child.pid) is None  # out of sight, as ProtectProc hides it
        leader = open_store(instance="host:leader")
        assert leader.reconcile_interrupted() == []  # hidden, but the kernel says it exists
    finally:
        child.kill()
        child.wait()
    assert [row.action_id for row in leader.reconcile_interrupted()] == [action]


def test_a_remote_clock_minutes_off_neither_kills_nor_keeps_a_session(open_store, database_url):
    laptop_clock = ManualClock(datetime(2026, 1, 5, tzinfo=UTC) - timedelta(minutes=25))
    laptop = AuditStore.open(database_url, "laptop:1", laptop_clock, role="cli")
    try:
        action = start_action(laptop)
        set_session(laptop, process="another-boot:4026531836:77:12345")
        leader = open_store(instance="host:leader")
        for _ in range(6):  # renewing every 10 s of its own (slow) clock: alive
            assert leader.reconcile_interrupted() == []
            leader._clock.advance(10)
            laptop_clock.advance(10)
            laptop.renew_session()
        assert leader.reconcile_interrupted() == []  # its last renewal, seen now
        leader._clock.advance((LEASE + timedelta(seconds=1)).total_seconds())  # then nothing
        assert [row.action_id for row in leader.reconcile_interrupted()] == [action]
    finally:
        laptop.close()


class WallStepClock(ManualClock):
    """A manual clock whose wall time can step (NTP, a resumed VM) while no time passes."""

    def step(self, seconds: float) -> None:
        moved = self.now() + timedelta(seconds=seconds)
        with self._lock:
            self._now = moved


def test_a_step_of_the_readers_wall_clock_does_not_end_a_live_lease(open_store, database_url):
    remote = open_store(instance="elsewhere:1")
    action = start_action(remote)
    set_session(remote, process="another-boot:4026531836:77:12345")
    leader_clock = WallStepClock()
    leader = AuditStore.open(database_url, "host:leader", leader_clock)
    try:
        assert leader.reconcile_interrupted() == []
        leader_clock.step((LEASE + timedelta(seconds=10)).total_seconds())  # and back
        assert leader.reconcile_interrupted() == []
        leader_clock.step(-2 * (LEASE + timedelta(seconds=10)).total_seconds())
        assert leader.reconcile_interrupted() == []
        leader_clock.advance((LEASE + timedelta(seconds=1)).total_seconds())  # time passes
        assert [row.action_id for row in leader.reconcile_interrupted()] == [action]
    finally:
        leader.close()


def test_an_outcome_and_a_reconciliation_at_the_same_moment_leave_one_outcome(open_store):
    """The process taken for gone writes its outcome while the leader reconciles: whichever
    locks the log first, the action ends with one outcome (PostgreSQL reads committed
    rows, so each checks only once it holds the head)."""
    frozen = open_store(instance="host:frozen")
    action = start_action(frozen)
    set_session(frozen, process=dead_process_identity())
    leader = open_store(instance="host:leader")
    write_rows = frozen._write_rows
    reconciled: list = []
    racing = threading.Thread(target=lambda: reconciled.extend(leader.reconcile_interrupted()))

    def reconcile_meanwhile(conn, entries):
        frozen._write_rows = write_rows
        racing.start()
        racing.join(2)  # it waits for this transaction (or, checking too early, finishes)
        return write_rows(conn, entries)

    frozen._write_rows = reconcile_meanwhile
    frozen.append_outcome(
        actor="cli", action="container.stop", outcome="succeeded", action_id=action,
        container_id="c-1",
    )  # fmt: skip
    racing.join(10)
    outcomes = [row.outcome for row in leader.query() if row.action_id == action]
    assert outcomes == ["started", "succeeded"]
    assert reconciled == []


def test_a_claim_whose_action_has_its_outcome_is_free(open_store) -> None:
    cli, daemon = open_store(instance="host:cli"), open_store(instance="host:daemon")
    action = new_action_id()
    assert cli.claim("c-1", "container.stop", action) is None
    cli.append("cli", "container.stop", "started", action_id=action, container_id="c-1")
    assert daemon.claim("c-1", "container.restart", new_action_id()) is not None
    cli.append("cli", "container.stop", "succeeded", action_id=action, container_id="c-1")
    # the release failed, say: the finished action no longer holds the container
    assert daemon.claim("c-1", "container.restart", new_action_id()) is None


def test_a_closed_store_refuses_writes(open_store) -> None:
    store = open_store()
    store.close()
    with pytest.raises(AuditWriteError, match="closed"):
        start_action(store)


def test_reconciliation_starts_where_the_last_one_left_off(open_store, database_url) -> None:
    change = open_store(instance="host:100")  # a `change` whose backup wait is long
    waiting = append(change, OPERATOR, RESTART, "started", "web")
    daemon = open_store(instance="host:200")
    assert daemon.reconcile_interrupted() == []  # alive: left alone
    for _ in range(3):
        finished = new_action_id()
        append(daemon, RESTARTER, RESTART, "started", "db", action_id=finished)
        append(daemon, RESTARTER, RESTART, "succeeded", "db", action_id=finished)
    daemon.reconcile_interrupted()
    assert _open_from(database_url) == waiting.id  # the oldest action that may be unfinished
    daemon.close()

    set_session(change, process=dead_process_identity())  # the `change` is killed
    restarted = open_store(instance="host:300")  # a new daemon: nothing in memory
    [interrupted] = restarted.reconcile_interrupted()

    assert interrupted.action_id == waiting.action_id
    assert _open_from(database_url) == interrupted.id  # everything before it is finished
    assert restarted.reconcile_interrupted() == []
    assert restarted.verify().ok


def _open_from(database_url: str) -> int | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            head = AuditHead.__table__
            return conn.execute(select(head.c.open_from).where(head.c.id == HEAD_ID)).scalar()
    finally:
        engine.dispose()
