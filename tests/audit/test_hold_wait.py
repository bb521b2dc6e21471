"""`hold` waits for the actions already in flight on the containers it holds: a live
session's claim without an outcome row keeps it waiting (with progress), the outcome row
ends the wait, a dead session's claim or another container's is not waited for, and the
timeout returns what is still in flight. Real audit stores (SQLite and PostgreSQL),
a manual clock."""

import io
from datetime import timedelta

from daemon.audit import AuditStore, new_action_id
from daemon.cli.hold_wait import wait_for_hands_off
from daemon.cli.progress import Progress
from daemon.clock import ManualClock
from tests.audit.test_liveness import dead_process_identity, set_session

TIMEOUT = timedelta(minutes=2)


class SteppedClock(ManualClock):
    """A manual clock that runs `on_sleep` (another process's next step) when slept on."""

    def __init__(self) -> None:
        super().__init__()
        self.on_sleep = lambda slept: None
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.slept += seconds
        self.on_sleep(self.slept)


def start_restart(store: AuditStore, container_id: str, name: str) -> str:
    """What the daemon's executor does: claim the container, then write the `started` row."""
    action_id = new_action_id()
    assert store.claim(container_id, "container.restart", action_id) is None
    store.append(
        "policy:auto_restart", "container.restart", "started",
        action_id=action_id, container_id=container_id, container_name=name,
    )  # fmt: skip
    return action_id


def finish(store: AuditStore, container_id: str, name: str, action_id: str) -> None:
    store.append(
        "policy:auto_restart", "container.restart", "succeeded",
        action_id=action_id, container_id=container_id, container_name=name,
    )  # fmt: skip


def place(store: AuditStore, pattern: str, clock: ManualClock):
    return store.place_hold(pattern, "migration", "ops@host", clock.now() + TIMEOUT, "cli")


def plain_progress() -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    return Progress(out, live=False, ticker=False), out


def test_the_wait_ends_when_the_action_in_flight_writes_its_outcome(open_store, database_url):
    clock = SteppedClock()
    daemon = AuditStore.open(database_url, "opsd-1", clock)
    operator = AuditStore.open(database_url, "ops-laptop", clock, role="cli")
    try:
        action_id = start_restart(daemon, "c-1", "shop-db")
        hold = place(operator, "shop-*", clock)
        clock.on_sleep = lambda slept: slept >= 3 and finish(daemon, "c-1", "shop-db", action_id)
        progress, out = plain_progress()
        remaining = wait_for_hands_off(operator, hold, progress, clock, TIMEOUT)
    finally:
        daemon.close()
        operator.close()
    assert remaining == []
    assert clock.slept == 3  # it looked once a second until the outcome row was there
    lines = out.getvalue().splitlines()
    assert lines[0] == "waiting for hold shop-*"
    assert lines[1].startswith(
        "hold shop-*: container.restart of shop-db by the daemon (opsd-1) (started 0s ago), "
        "0s of the 2m timeout"
    ), lines


def test_a_dead_sessions_claim_is_not_waited_for(open_store, clock):
    daemon, operator = open_store(instance="opsd-1"), open_store(instance="ops-laptop")
    start_restart(daemon, "c-1", "shop-db")
    set_session(daemon, process=dead_process_identity())  # kill -9 mid-restart
    hold = place(operator, "shop-db", clock)
    progress, out = plain_progress()
    assert wait_for_hands_off(operator, hold, progress, clock, TIMEOUT) == []
    assert out.getvalue() == ""  # nothing to wait for: nothing shown
    assert daemon.actions_in_flight() == []


def test_only_the_held_containers_actions_are_waited_for(open_store, clock):
    daemon, operator = open_store(instance="opsd-1"), open_store(instance="ops-laptop")
    start_restart(daemon, "c-2", "web")
    hold = place(operator, "c-1", clock)  # by id; web (c-2) is not held
    progress, out = plain_progress()
    assert wait_for_hands_off(operator, hold, progress, clock, TIMEOUT) == []
    assert out.getvalue() == ""
    assert [action.name for action in operator.actions_in_flight()] == ["web"]


def test_the_timeout_returns_what_is_still_in_flight_and_whose_it_is(database_url, clock):
    change = AuditStore.open(database_url, "ops@bastion", clock, role="cli")  # `change` runs
    operator = AuditStore.open(database_url, "ops-laptop", clock, role="cli")
    try:
        remaining = _change_outlasting_the_wait(change, operator, clock)
    finally:
        change.close()
        operator.close()
    assert [(a.action, a.name) for a in remaining] == [("container.stop", "shop-db")]
    assert remaining[0].whose() == "a `stacks-opsd` command (ops@bastion)"
    assert clock.monotonic() == 5  # waited the whole timeout, no longer


def _change_outlasting_the_wait(change: AuditStore, operator: AuditStore, clock: ManualClock):
    # A change waiting for its pre-change backup: claimed, no `started` row of its own yet;
    # its backup's `started` row names the container.
    change_id = new_action_id()
    assert change.claim("c-1", "container.stop", change_id) is None
    change.append(
        "cli", "backup.create", "started", action_id=new_action_id(),
        container_id="c-1", container_name="shop-db",
    )  # fmt: skip
    hold = place(operator, "shop-db", clock)
    progress = Progress(io.StringIO(), quiet=True)
    remaining = wait_for_hands_off(operator, hold, progress, clock, timedelta(seconds=5))
    assert [a.action_id for a in remaining] == [change_id]
    return remaining
