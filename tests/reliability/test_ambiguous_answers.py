"""Every answer STACKS can give after applying a change, for every kind of change, over HTTP.

A real simulator process applies each change and then answers it badly: an HTML
page or truncated JSON with a 2xx, a bare 204, a dropped connection, an answer
too late for the client's timeout; or it refuses the first change with 429. For
each (change, answer) the executor, over real HTTP, must send the change exactly
once (twice only after the 429, which proves it was not applied), read the state
back, and audit it as what happened: the simulator's log of applied changes and
the audit's accepted changes match one for one, and every action has exactly one
outcome.
"""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from daemon.audit import AuditStore
from daemon.clock import OffsetClock
from daemon.executor import Executor
from daemon.stacks import ApiKey, RateBudget, ServerError, StacksClient
from policies import Action, PreChangeBackupOptions
from tests.policies.audit_truth import assert_audit_matches
from tests.support.processes import SimulatorProcess

CLIENT_TIMEOUT = 0.5  # seconds; a `slow` answer arrives after SLOW_SECONDS
SLOW_SECONDS = 1.5


class LinkedClock(OffsetClock):
    """The test's clock, in step with the simulator's: a wait moves both forward."""

    def __init__(self, simulator: SimulatorProcess) -> None:
        super().__init__()
        unix = simulator.control("GET", "clock").json()["unix"]
        self.advance(unix - time.time())
        self._simulator = simulator

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
            self._simulator.control("POST", "clock/advance", seconds=seconds)


# (action, the container's status, the request the fault hits, needs a completed backup)
CHANGES = {
    "restart": ("container.restart", "running", r"^PUT /api/v1/containers/[^/]+/status$"),
    "stop": ("container.stop", "running", r"^PUT /api/v1/containers/[^/]+/status$"),
    "start": ("container.start", "stopped", r"^PUT /api/v1/containers/[^/]+/status$"),
    "delete": ("container.delete", "running", r"^DELETE /api/v1/containers/[^/]+$"),
    "restore": ("backup.restore", "running", r"^POST /api/v1/backups/\d+/restore$"),
    "backup": ("backup.create", "running", r"^POST /api/v1/containers/[^/]+/backup$"),
    "backup-no-wait": ("backup.create", "running", r"^POST /api/v1/containers/[^/]+/backup$"),
    "pin": ("backup.pin", "running", r"^POST /api/v1/backups/\d+/pin$"),
    "unpin": ("backup.unpin", "running", r"^POST /api/v1/backups/\d+/unpin$"),
}
ANSWERS = {
    "html-200": {"after_apply": "garbage", "garbage_kind": "html"},
    "truncated-json": {"after_apply": "garbage", "garbage_kind": "truncated"},
    "empty-204": {"after_apply": "empty204"},
    "dropped": {"after_apply": "drop"},
    "too-slow": {"after_apply": "slow", "slow_seconds": SLOW_SECONDS},
    "429-first": {"reject_mutations_429": 1, "retry_after": 2},
}


@pytest.fixture(scope="module")
def shared_simulator(tmp_path_factory):
    process = SimulatorProcess(tmp_path_factory.mktemp("simulator") / "simulator.log")
    yield process
    process.stop()


class World:
    """One account on the shared simulator, an audit database and an executor over HTTP."""

    def __init__(self, simulator: SimulatorProcess, directory) -> None:
        self.simulator = simulator
        self.clock = LinkedClock(simulator)
        self.key = simulator.control("POST", "keys").json()["key"]
        self.client = StacksClient(
            ApiKey(self.key),
            f"{simulator.base_url}",
            timeout=CLIENT_TIMEOUT,
            budget=RateBudget(60, 10, self.clock),
            clock=self.clock,
        )
        self.store = AuditStore.open(
            f"sqlite:///{directory / 'audit.db'}", "test:1", self.clock, role="cli"
        )
        self.executor = Executor(
            self.client,
            self.store,
            self.clock,
            PreChangeBackupOptions(timeout=timedelta(minutes=2)),
        )
        self.seen_mutations = len(self.all_mutations())

    def all_mutations(self) -> list[dict]:
        return self.simulator.control("GET", "mutations").json()["mutations"]

    def mutations(self) -> list[dict]:
        """Changes applied since this world began (the shared simulator serves other tests)."""
        return self.all_mutations()[self.seen_mutations :]

    def seed(self, status: str) -> str:
        return self.simulator.control(
            "POST", "containers", key=self.key, name="app", status=status
        ).json()["id"]

    def completed_backup(self, container_id: str, pinned: bool = False) -> str:
        """A completed backup of the container, made before the test's change."""
        self.client.trigger_backup(container_id)
        self.clock.sleep(10)  # manual backups take 3-8 s
        [backup] = self.client.backups(container_id)
        if pinned:
            self.client.pin_backup(backup.id)
        self.seen_mutations = len(self.all_mutations())
        return str(backup.id)

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def world(shared_simulator, tmp_path):
    made = World(shared_simulator, tmp_path)
    yield made
    shared_simulator.control("POST", "faults")  # every fault off for the next test
    made.close()


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("change", list(CHANGES))
def test_an_applied_change_is_sent_once_verified_and_audited_as_done(world, change, answer):
    action_name, status, route = CHANGES[change]
    container_id = world.seed(status)
    target = None
    if change in ("restore", "pin", "unpin"):
        target = world.completed_backup(container_id, pinned=change == "unpin")
    world.simulator.control(
        "PATCH", "faults", after_apply_match=route, **ANSWERS[answer]
    )  # fmt: skip
    action = Action(
        "cli", action_name, container_id, "app", f"test: {change} answered {answer}",
        target=target, wait=change != "backup-no-wait",
    )  # fmt: skip

    outcome = world.executor.perform(action)

    applied = world.mutations()
    faulted = [m for m in applied if re.search(route, f"{m['method']} {m['path']}")]
    assert len(faulted) == 1, f"{change} reached STACKS {len(faulted)} times: {applied}"
    if answer != "429-first":
        assert faulted[0]["answer"] != "ok"  # the fault really hit the change
    assert outcome.outcome == "succeeded", (outcome, world.store.query())
    rows = world.store.query()
    final = [r for r in rows if r.action_id == outcome.action_id and r.outcome != "started"]
    assert len(final) == 1
    if answer != "429-first" and change != "backup":
        assert final[0].details and '"answer"' in final[0].details  # what STACKS answered
    outcomes: dict[str, list[str]] = {}
    for row in rows:
        outcomes.setdefault(row.action_id, []).append(row.outcome)
    assert all(len([o for o in seq if o != "started"]) == 1 for seq in outcomes.values())
    assert_audit_matches(rows, [SimpleNamespace(**m) for m in applied])
    assert world.store.verify().ok


def test_a_change_whose_read_back_fails_is_audited_unknown_not_failed(world):
    """STACKS drops the answer to a stop, and the read-back after it fails too."""
    container_id = world.seed("running")
    world.simulator.control(
        "PATCH", "faults", after_apply="drop", after_apply_match=CHANGES["stop"][2]
    )  # fmt: skip
    stop = Action("cli", "container.stop", container_id, "app", "test: stop", gated=False)
    send = world.client._sender.send

    def reads_fail_once_the_stop_was_applied(route, path, parse, **kwargs):
        if route.method == "GET" and world.mutations():
            raise ServerError(f"GET {path} failed", method="GET", route=route.template, path=path)
        return send(route, path, parse, **kwargs)

    world.client._sender.send = reads_fail_once_the_stop_was_applied
    outcome = world.executor.perform(stop)

    assert outcome.outcome == "unknown"
    assert [m["method"] for m in world.mutations()] == ["PUT"]
    row = next(r for r in world.store.query() if r.outcome == "unknown")
    assert '"read_back"' in row.details and "failed" in row.details
    assert "may have applied" in row.error


def test_a_429_on_a_restart_waits_checks_again_and_then_sends_it_once(world):
    container_id = world.seed("running")
    world.simulator.control("PATCH", "faults", reject_mutations_429=2, retry_after=3)
    started = world.clock.monotonic()
    restart = Action("cli", "container.restart", container_id, "app", "test", gated=False)
    assert world.executor.perform(restart).outcome == "succeeded"
    assert [m["method"] for m in world.mutations()] == ["PUT"]
    assert world.clock.monotonic() - started >= 6  # both Retry-Afters were waited out
    traffic = world.simulator.control("GET", "traffic").json()["traffic"]
    assert traffic["before_retry_after"] == 0


def test_a_human_stop_during_the_retry_after_is_not_overridden(world):
    """The restart's check comes after the Retry-After wait, right before the request."""
    container_id = world.seed("running")
    world.simulator.control("POST", f"containers/{container_id}/crash")
    world.simulator.control("PATCH", "faults", reject_mutations_429=1, retry_after=30)
    restart = Action(
        "auto_restart", "container.restart", container_id, "app", "status error",
        expect_status="error",
    )  # fmt: skip
    wait = world.clock.sleep

    def a_human_stops_it_meanwhile(seconds: float) -> None:
        wait(seconds)
        world.simulator.control("POST", f"containers/{container_id}/status", status="stopped")

    world.clock.sleep = a_human_stops_it_meanwhile
    outcome = world.executor.perform(restart)

    assert outcome.outcome == "skipped"
    assert world.mutations() == []  # the restart never reached STACKS
    row = next(r for r in world.store.query() if r.outcome == "skipped")
    assert "its status is now stopped" in row.reason
