"""weekly_pin's history is read container by container (daemon/evaluation.py): once a
container's backup list is read, or a slice at each evaluation after the first, into the
ledgers a read of every container at once folds; a failure loses nothing read before it;
what no decision needs yet, and the episode mark, wait for no write."""

from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import create_engine

from daemon import evaluation
from daemon.audit import AuditStore
from daemon.audit.engine import AuditReadError
from daemon.audit.episode_marks import read_marks
from daemon.clock import ManualClock
from daemon.evaluation import PolicyHistory, fold_rows
from policies import IsoWeek
from tests.policies.test_policy_history import NOW, PINNER, Recording, append, listed, policies


class Pinned(NamedTuple):
    """A store holding ten weeks of weekly pins, what a read of every container folds of
    them, and a fresh weekly_pin (its folds recorded) and PolicyHistory to read them."""

    store: AuditStore
    url: str
    clock: ManualClock
    expected: dict
    pins: Recording
    history: PolicyHistory


def pinned(tmp_path, names: tuple[str, ...], database: str = "audit.db") -> Pinned:
    clock = ManualClock(NOW - timedelta(weeks=12))
    url = f"sqlite:///{tmp_path / database}"
    store = AuditStore.open(url, "test:1", clock)
    pin_history(store, clock, names)
    clock.set(NOW)
    _, everyone = policies()
    _, pins = policies()
    return Pinned(store, url, clock, fold_all(everyone, store), pins, PolicyHistory(store))


def pin_history(store: AuditStore, clock: ManualClock, names: Sequence[str]) -> None:
    """Ten weeks of weekly pins and unpins of `names`, as the daemon writes them."""
    for week in range(10):
        at = NOW - timedelta(weeks=10 - week)
        for n, name in enumerate(names):
            label = {"details": {"iso_week": f"2026-W{week + 1:02d}"}}
            append(store, clock, at, PINNER, "backup.pin", "succeeded", name,
                   target=f"{n}-{week}", **label)  # fmt: skip
            if week >= 8:  # keep_weeks 8: the pin of 8 weeks before is unpinned
                label = {"details": {"iso_week": f"2026-W{week - 7:02d}"}}
                append(store, clock, at, PINNER, "backup.unpin", "succeeded", name,
                       target=f"{n}-{week - 8}", **label)  # fmt: skip


def test_weekly_pin_reads_a_container_once_its_backup_list_is_read_and_folds_the_same(
    tmp_path, monkeypatch
):
    """A start reads none of weekly_pin's rows (it decides nothing before a list is read);
    each container's are read at the first evaluation that shows its list, and its ledger
    is the one a read of every container at once folds; rows appended meanwhile are folded
    once, into the ledgers already read."""
    monkeypatch.setattr(evaluation, "WARM_UP_CONTAINERS", 0)  # only what the lists need
    names = ("web", "api", "db")
    store, _, clock, expected, pins, history = pinned(tmp_path, names)

    first = history.states([pins], NOW, listed(unlisted=names))
    assert pins.folds == [] and dict(first["weekly_pin"]) == {}

    later = NOW + timedelta(seconds=15)
    web_listed = history.states([pins], later, listed("web", unlisted=("api", "db")))
    assert [cid for cid, _ in pins.folds] == ["usr-abc12345-web"]
    assert dict(web_listed["weekly_pin"]) == {"usr-abc12345-web": expected["usr-abc12345-web"]}

    pins.folds.clear()
    clock.set(NOW + timedelta(seconds=20))
    for name in ("web", "api"):  # appended before api's list is read: folded once each
        append(store, clock, clock.now(), PINNER, "backup.pin", "failed", name, target="x",
               details={"iso_week": "2026-W11"})  # fmt: skip
    all_listed = history.states([pins], NOW + timedelta(seconds=30), listed(*names))
    folded = [(cid[13:], [row.target for row in rows]) for cid, rows in pins.folds]
    assert ("web", ["x"]) in folded  # the new row onto web's ledger, alone
    assert sum(targets.count("x") for cid, targets in folded if cid == "api") == 1
    ledgers = all_listed["weekly_pin"]
    assert ledgers["usr-abc12345-db"] == expected["usr-abc12345-db"]
    for name in ("web", "api"):  # what was folded before, and the failed attempt of W11
        ledger = ledgers[f"usr-abc12345-{name}"]
        assert ledger.pins == expected[f"usr-abc12345-{name}"].pins
        assert len(ledger.pins) == 8
        assert ledger.weeks[IsoWeek(2026, 11)].outcome == "failed"
    store.close()


def test_weekly_pins_unlisted_containers_are_read_a_slice_at_each_evaluation_after_the_first(
    tmp_path, monkeypatch
):
    """No list read yet: every ledger (and its gauge) is still back within a few
    evaluations, a bounded number of containers at each, none at the first."""
    monkeypatch.setattr(evaluation, "WARM_UP_CONTAINERS", 2)
    names = ("web", "api", "db")
    store, _, _, expected, pins, history = pinned(tmp_path, names)
    unlisted = listed(unlisted=names)

    read = [
        len(history.states([pins], NOW + timedelta(seconds=15 * n), unlisted)["weekly_pin"])
        for n in range(4)
    ]

    assert read == [0, 2, 3, 3]
    assert history.states([pins], NOW, unlisted)["weekly_pin"] == expected
    store.close()


def fold_all(policy: Recording, store: AuditStore):
    """Every container's weekly_pin ledger, from one read of every container's rows."""
    query = policy.history_query(NOW)
    rows = store.history_from_latest(
        query.episode, query.since, query.actors, query.actions, save_mark=False
    )
    rows += store.history(query.since, query.actors, query.actions)
    return fold_rows(policy, {}, rows)


def test_a_start_moves_weekly_pins_mark_as_a_read_of_every_container_would(tmp_path):
    """The next start reads from where the earliest pin still held began, though this one
    read no pin rows at all."""
    store, url, _, _, pins, history = pinned(tmp_path, ("web", "db"))
    history.states([pins], NOW)  # no list read: nothing is read
    history.states([pins], NOW)  # the mark moves at the next evaluation, with the warm-up
    moved = read_marks_of(url)
    store.close()

    other = pinned(tmp_path, ("web", "db"), "other.db")
    query = pins.history_query(NOW)
    other.store.history_from_latest(query.episode, query.since, query.actors, query.actions)
    assert moved == read_marks_of(other.url)  # as the read of every container's rows leaves it
    earliest_held = NOW - timedelta(weeks=8)  # pins of the 8 newest weeks are held
    assert [mark.closed_before for mark in moved.values()] == [earliest_held - timedelta(days=1)]
    other.store.close()


def read_marks_of(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return read_marks(conn)
    finally:
        engine.dispose()


def test_a_failed_read_of_one_slice_of_containers_keeps_the_slices_read_before_it(
    tmp_path, monkeypatch
):
    """A read that fails part way loses nothing: the containers read before it keep their
    ledgers, the others are read at the next evaluation."""
    monkeypatch.setattr(evaluation, "LOAD_CONTAINERS", 1)  # one container per read
    names = ("web", "api")
    store, _, _, expected, pins, history = pinned(tmp_path, names)
    reads = store.history_from_latest

    def second_read_fails(*args, **kwargs):
        if kwargs.get("container_ids") == ["usr-abc12345-api"]:
            store.history_from_latest = reads  # once
            raise AuditReadError("the audit database is locked")
        return reads(*args, **kwargs)

    store.history_from_latest = second_read_fails
    with pytest.raises(AuditReadError):
        history.states([pins], NOW, listed(*names))
    states = history.states([pins], NOW + timedelta(seconds=15), listed(*names))

    assert states["weekly_pin"] == expected  # web's, read before the failure, is kept
    store.close()


def test_a_mark_that_cannot_be_moved_fails_no_evaluation_and_is_left_as_it_was(tmp_path, caplog):
    """The mark serves the next start only: a database that refuses it is logged, and the
    older mark (still true) stays; the evaluation goes on."""
    store, url, _, _, pins, history = pinned(tmp_path, ("web",))
    history.states([pins], NOW, listed(unlisted=("web",)))  # nothing read, no mark moved

    def refused(*args, **kwargs):
        raise AuditReadError("the audit database is locked")

    store.advance_mark = refused
    states = history.states([pins], NOW + timedelta(seconds=15), listed("web"))

    assert states["weekly_pin"]["usr-abc12345-web"].pins  # the evaluation went on
    assert "episode mark of weekly_pin was not moved" in caplog.text
    assert read_marks_of(url) == {}
    store.close()


def test_the_warm_up_and_the_mark_wait_for_no_write_the_store_is_busy_with(tmp_path):
    """Reading containers no decision needs yet, and moving the mark, are put off while the
    store is busy with a write (it may be waiting out another process's lock): they never
    hold back an evaluation. What a read backup list needs is read all the same."""
    store, url, _, expected, pins, history = pinned(tmp_path, ("web", "db"))
    history.states([pins], NOW, listed(unlisted=("web", "db")))
    store._lock = Contended(store._lock)  # a write holds it whenever one does not wait

    busy = history.states([pins], NOW + timedelta(seconds=15), listed("web", unlisted=("db",)))

    assert dict(busy["weekly_pin"]) == {"usr-abc12345-web": expected["usr-abc12345-web"]}
    assert read_marks_of(url) == {}  # db not read: the mark waits too
    store._lock = store._lock.lock
    states = history.states([pins], NOW + timedelta(seconds=30), listed(unlisted=("web", "db")))
    assert states["weekly_pin"] == expected
    assert len(read_marks_of(url)) == 1
    store.close()


class Contended:
    """A lock a write always holds when asked without waiting, and is free when waited for."""

    def __init__(self, lock) -> None:
        self.lock = lock

    def acquire(self, blocking: bool = True) -> bool:
        return blocking and self.lock.acquire()

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def test_a_failed_read_of_containers_no_decision_needs_yet_fails_no_evaluation(tmp_path, caplog):
    store, _, _, expected, pins, history = pinned(tmp_path, ("web", "db"))
    history.states([pins], NOW, listed("web", unlisted=("db",)))
    reads = store.history_from_latest

    def warm_up_fails(*args, **kwargs):
        if kwargs.get("wait") is False:
            raise AuditReadError("statement timeout")
        return reads(*args, **kwargs)

    store.history_from_latest = warm_up_fails
    states = history.states([pins], NOW + timedelta(seconds=15), listed("web", unlisted=("db",)))

    assert dict(states["weekly_pin"]) == {"usr-abc12345-web": expected["usr-abc12345-web"]}
    assert "weekly_pin: containers not read yet: statement timeout" in caplog.text
    store.history_from_latest = reads
    later = history.states([pins], NOW + timedelta(seconds=30), listed("web", unlisted=("db",)))
    assert later["weekly_pin"] == expected
    store.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_the_mark_moves_again_once_a_day_and_never_for_explain(tmp_path, read_only):
    """A running daemon moves weekly_pin's mark once every container is read, then once a
    day (MARK_EVERY), so its next start reads from a recent one; `explain` moves none."""
    store, _, clock, _, pins, _ = pinned(tmp_path, ("web", "api"))
    history = PolicyHistory(store, read_only=read_only)
    moves: list = []
    advance = store.advance_mark
    store.advance_mark = lambda *args, **kwargs: (
        moves.append(clock.now()) or advance(*args, **kwargs)
    )

    for hours in (0, 12, 23, 24, 30, 48):
        clock.set(NOW + timedelta(hours=hours))
        history.states([pins], clock.now(), listed("web", "api"))

    moved = [] if read_only else [NOW, NOW + timedelta(hours=24), NOW + timedelta(hours=48)]
    assert moves == moved
    store.close()
