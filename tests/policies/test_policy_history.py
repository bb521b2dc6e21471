"""PolicyHistory: each policy folds only its own window, a quiet evaluation folds nothing,
weekly_pin's rows are read per container once its backup list is, the state (and the
gauges made from it) survives a daemon restart, and so does `gave_up`."""

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from daemon.audit import AuditStore, new_action_id
from daemon.clock import ManualClock
from daemon.config import Config
from daemon.evaluation import PolicyHistory
from daemon.simulator import Simulator
from policies import (
    AutoRestartOptions,
    AutoRestartPolicy,
    BackupFreshnessOptions,
    HistoryRow,
    WeeklyPinOptions,
    WeeklyPinPolicy,
)
from tests.policies.factories import container, snapshot
from tests.support.simulated_run import AMPLE_RATE_LIMIT, MONDAY, SimulatedRun, config_with

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RESTARTER, PINNER = "policy:auto_restart", "policy:weekly_pin"


class Recording:
    """A policy whose folds are recorded: which container got which rows."""

    def __init__(self, policy) -> None:
        self.policy = policy
        self.name = policy.name
        self.folds: list[tuple[str, list[HistoryRow]]] = []

    def __getattr__(self, name: str):
        return getattr(self.policy, name)

    def fold(self, state, rows: Sequence[HistoryRow], subject=None):
        self.folds.append((rows[0].container_id, list(rows)))
        return self.policy.fold(state, rows, subject)

    def folded_rows(self) -> list[tuple[str, str, str | None]]:
        return [
            (row.container_id[13:], row.action, row.target)
            for _, rows in self.folds
            for row in rows
        ]


def append(
    store: AuditStore,
    clock: ManualClock,
    at: datetime,
    actor: str,
    action: str,
    outcome: str,
    container: str,
    **fields,
) -> None:
    clock.set(at)
    store.append(
        actor,
        action,
        outcome,
        action_id=new_action_id(),
        container_id=f"usr-abc12345-{container}",
        container_name=container,
        **fields,
    )


def listed(*names: str, unlisted: tuple[str, ...] = ()):
    """The snapshot's views of these containers, their backup lists read (none of `unlisted`)."""
    everyone = [container(name) for name in (*names, *unlisted)]
    return snapshot(NOW, *everyone, backups={name: () for name in names}).containers


def policies() -> tuple[Recording, Recording]:
    restarts = Recording(AutoRestartPolicy(AutoRestartOptions()))
    pins = Recording(WeeklyPinPolicy(WeeklyPinOptions(), BackupFreshnessOptions()))
    return restarts, pins


def test_each_policy_folds_its_own_window_and_nothing_else(tmp_path):
    clock = ManualClock(NOW - timedelta(weeks=12))
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    pin = {"details": {"iso_week": "2026-W01"}}
    append(
        store,
        clock,
        NOW - timedelta(weeks=10),
        PINNER,
        "backup.pin",
        "succeeded",
        "held",
        target="1",
        **pin,
    )
    append(
        store,
        clock,
        NOW - timedelta(weeks=10),
        PINNER,
        "backup.pin",
        "succeeded",
        "gone",
        target="2",
        **pin,
    )
    append(
        store,
        clock,
        NOW - timedelta(weeks=9),
        PINNER,
        "backup.unpin",
        "succeeded",
        "gone",
        target="2",
        **pin,
    )
    append(
        store,
        clock,
        NOW - timedelta(weeks=2),
        PINNER,
        "backup.pin",
        "succeeded",
        "db",
        target="3",
        **pin,
    )
    append(store, clock, NOW - timedelta(hours=3), RESTARTER, "container.restart", "started", "web")
    append(
        store, clock, NOW - timedelta(minutes=10), RESTARTER, "container.restart", "started", "api"
    )
    append(store, clock, NOW - timedelta(minutes=5), "cli", "container.stop", "succeeded", "api")
    restarts, pins = policies()

    states = PolicyHistory(store).states([restarts, pins], NOW, listed("held", "gone", "db"))

    # auto_restart: about two hours of its own and the operator's starts; weekly_pin: three
    # weeks of its rows, and the pins it still holds however old, never the other's rows.
    assert restarts.folded_rows() == [("api", "container.restart", None)]
    assert sorted(pins.folded_rows()) == [("db", "backup.pin", "3"), ("held", "backup.pin", "1")]
    assert sorted(states["weekly_pin"]) == ["usr-abc12345-db", "usr-abc12345-held"]
    assert [pin.backup_id for pin in states["weekly_pin"]["usr-abc12345-held"].pins.values()] == [
        "1"
    ]
    store.close()


def test_a_quiet_evaluation_folds_nothing_and_new_rows_fold_only_their_container(tmp_path):
    clock = ManualClock(NOW - timedelta(minutes=1))
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    for name in ("web", "api", "db"):
        append(store, clock, clock.now(), RESTARTER, "container.restart", "started", name)
    restarts, pins = policies()
    history = PolicyHistory(store)
    first = history.states([restarts, pins], NOW)
    assert len(restarts.folds) == 3
    restarts.folds.clear()

    quiet = history.states([restarts, pins], NOW + timedelta(seconds=15))
    assert restarts.folds == [] and pins.folds == []
    assert quiet["auto_restart"] is first["auto_restart"]  # the very same states, not rebuilt

    append(
        store, clock, NOW + timedelta(seconds=20), RESTARTER, "container.restart", "started", "api"
    )
    changed = history.states([restarts, pins], NOW + timedelta(seconds=30))
    assert [container for container, _ in restarts.folds] == ["usr-abc12345-api"]
    assert [len(rows) for _, rows in restarts.folds] == [1]  # only the new row, onto the old state
    assert changed["auto_restart"]["usr-abc12345-api"].restarts == 2
    for name in ("web", "db"):
        key = f"usr-abc12345-{name}"
        assert changed["auto_restart"][key] is first["auto_restart"][key]
    assert pins.folds == []
    store.close()


def gauge(run: SimulatedRun, metric: str, container: str, name: str) -> float | None:
    labels = {"container_id": container, "name": name}
    return run.daemon.metrics.registry.get_sample_value(metric, labels)


def test_gauges_and_status_come_out_the_same_after_a_daemon_restart(tmp_path):
    clock = ManualClock(MONDAY)
    simulator = Simulator(clock=clock, seed=1)
    key = simulator.create_key()
    web = simulator.seed_container(key, "web")
    db = simulator.seed_container(key, "shop-db")
    simulator.advance(timedelta(days=6, hours=3).total_seconds())  # a week of daily backups
    config = replace(Config(), poll=replace(Config().poll, status_interval=timedelta(minutes=1)))
    run = SimulatedRun(tmp_path, config, simulator=simulator, clock=clock, key=key)
    run.advance(timedelta(hours=1))  # Sunday after 03:00: both get their weekly pin
    for _ in range(20):  # web crash-loops until the daemon gives up
        if simulator.container_status(web) == "running":
            simulator.crash(web)
        run.advance(timedelta(minutes=1))
    metrics = (
        ("stacks_opsd_restart_gave_up", web, "web"),
        ("stacks_opsd_restart_backoff_seconds", web, "web"),
        ("stacks_opsd_weekly_pin_last_timestamp_seconds", web, "web"),
        ("stacks_opsd_weekly_pin_last_timestamp_seconds", db, "shop-db"),
    )
    before = [gauge(run, *metric) for metric in metrics]
    status_before = {
        c["name"]: (c["auto_restart"], c["weekly_pin"]) for c in run.daemon.status()["containers"]
    }
    assert before[0] == 1 and before[1] == 0
    assert before[2] is not None and before[3] is not None

    run.restart_daemon()  # a redeploy: nothing in memory, the same audit database
    run.advance(timedelta(minutes=1))
    # The first evaluation reads auto_restart's state; weekly_pin's comes at the next one
    # (or when a container's backup list is read first).
    assert [gauge(run, *metric) for metric in metrics] == [*before[:2], None, None]
    run.advance(timedelta(minutes=1))

    assert [gauge(run, *metric) for metric in metrics] == before
    status_after = {
        c["name"]: (c["auto_restart"], c["weekly_pin"]) for c in run.daemon.status()["containers"]
    }
    assert status_after == status_before
    assert status_after["web"][0] == {"gave_up": True, "restarts": 5}
    assert status_after["shop-db"][1]["pins"] == 1
    run.close()


def crash_when_running(run: SimulatedRun, cid: str):
    def before_status(now: datetime) -> None:
        if run.simulator.container_status(cid) == "running":
            run.simulator.crash(cid)

    return before_status


def test_gave_up_lasts_months_of_other_history_and_a_restart_until_a_reset(tmp_path):
    # Metrics, which no policy reads, once a week: the days below stay cheap.
    config = config_with(status_interval=timedelta(minutes=1), metrics_interval=timedelta(weeks=1))
    run = SimulatedRun(tmp_path, config, start=NOW, rate_limit=AMPLE_RATE_LIMIT)
    web = run.seed("web")
    others = [run.seed(f"app-{n}") for n in range(3)]
    run.advance(timedelta(minutes=30), crash_when_running(run, web))
    assert len(run.rows(outcome="gave_up")) == 1
    restarts = len(run.rows(action="container.restart", outcome="started"))
    for day in range(90):  # months of restarts of other containers; web stays in error
        run.clock.set(NOW + timedelta(days=day + 1))
        for cid in others:
            run.simulator.crash(cid)
        run.advance(timedelta(minutes=2))
    # The running daemon moved auto_restart's mark every day: the next start reads from
    # a day or two ago, and web's give-up by the mark's list.
    [gave_up] = run.rows(outcome="gave_up")
    with sqlite3.connect(tmp_path / "audit.db") as audit:
        [(closed_before, still_open)] = audit.execute(
            "SELECT closed_before, still_open FROM audit_episode_mark "
            "WHERE episode LIKE 'policy:auto_restart %'"
        ).fetchall()
    assert datetime.fromisoformat(closed_before + "+00:00") > run.clock.now() - timedelta(days=3)
    assert [row_id for row_id, _ in json.loads(still_open)] == [gave_up.id]

    run.restart_daemon()  # the gave_up row is far older than any window
    run.advance(timedelta(minutes=30))
    web_restarts = run.rows(container="web", action="container.restart", outcome="started")
    assert len(web_restarts) == restarts

    run.daemon.store.append(
        "cli", "container.start", "succeeded", action_id=new_action_id(), container_id=web,
        container_name="web",
    )  # fmt: skip
    run.advance(timedelta(minutes=2))
    assert len(run.rows(container="web", action="container.restart", outcome="started")) > restarts


def test_a_pin_whose_answer_was_lost_is_still_held_after_a_restart_months_later(tmp_path):
    """An `unknown` or `interrupted` pin may be pinned: a start reads it as the daemon's,
    however old (within the horizon), so it is unpinned in turn."""
    clock = ManualClock(NOW - timedelta(weeks=12))
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    for target, outcome in (("4", "unknown"), ("5", "interrupted")):
        append(store, clock, NOW - timedelta(weeks=10), PINNER, "backup.pin", outcome, "db",
               target=target, details={"iso_week": "2026-W01"})  # fmt: skip
    _, pins = policies()

    states = PolicyHistory(store).states([pins], NOW, listed("db"))  # a start: 3 weeks' window

    held = states["weekly_pin"]["usr-abc12345-db"].pins
    assert {(pin.backup_id, pin.maybe) for pin in held.values()} == {("4", True), ("5", True)}
    store.close()
