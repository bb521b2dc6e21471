"""The world the action-safety state machine acts on: the simulator, the real daemon, people.

`World` holds a simulator on a `WaitHookClock`, the real `Daemon` in simulated time
(`StoppableRun`), an operator running `stacks-opsd change` (a cli-role `Executor`
over a second `AuditStore` on the same database, the same key, its own budget)
and a human with another key of the same account. Everything runs in this thread:
no real sleeping, no network beyond the in-process transport.

`Recorder` sits in front of the simulator's handler core. For each change STACKS
applies it notes who sent it (`daemon`, `cli` or `human`: whoever the test was
letting act), the container's status right before it (the ground truth for the
backup gate and for "never restart what a human stopped") and the id of the newest
audit row at that moment (which open action it belongs to). It also notes every
Retry-After the daemon was given, and any daemon request sent before one had passed.
"""

import dataclasses
import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from daemon.audit import AuditStore
from daemon.clock import ManualClock, StopRequested
from daemon.config import Config
from daemon.executor import Executor, Report
from daemon.leader import LocalLeaderLock
from daemon.runtime import Daemon
from daemon.service import REFRESH_TICK
from daemon.simulator import Request, Simulator
from daemon.stacks import ApiKey, RateBudget, StacksClient, StacksError
from policies import OPERATOR, Action, AutoRestartOptions, PreChangeBackupOptions
from tests.support.simulated_run import SimulatedRun

FRIDAY = datetime(2026, 1, 9, 1, 50, tzinfo=UTC)  # the simulator runs alone from here
# The daemon starts on Sunday, either just before weekly_pin's default 03:00 (with three
# days of scheduled backups listed, its first minutes pin this ISO week's newest ones),
# or just before the 02:00 scheduled backups (which then start during pre-change waits).
DAEMON_STARTS = {
    "before the weekly pin": datetime(2026, 1, 11, 2, 58, 30, tzinfo=UTC),
    "before the scheduled backups": datetime(2026, 1, 11, 1, 59, 20, tzinfo=UTC),
}
BASE_URL = "http://stacks.test/api/v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONTAINER_PATH = re.compile(r"^/api/v1/containers/([^/]+)(?:/(?:status|backup))?$")
BACKUP_PATH = re.compile(r"^/api/v1/backups/(\d+)/(?:restore|pin|unpin)$")
CLI_VERBS = {
    "restart": "container.restart",
    "stop": "container.stop",
    "start": "container.start",
    "restore": "backup.restore",
}


def machine_config(*, dry_run: bool, reuse_within: timedelta) -> Config:
    """Short intervals so each step is cheap; every policy on, the backup gate aborting."""
    base = Config()
    return dataclasses.replace(
        base,
        daemon=dataclasses.replace(base.daemon, dry_run=dry_run),
        poll=dataclasses.replace(
            base.poll,
            status_interval=timedelta(seconds=15),
            metrics_interval=timedelta(minutes=5),
            backups_interval=timedelta(minutes=2),
        ),
        policies=dataclasses.replace(
            base.policies,
            auto_restart=AutoRestartOptions(
                backoff_initial=timedelta(seconds=10),
                backoff_max=timedelta(seconds=40),
                reset_after=timedelta(minutes=2),
                max_restarts=3,
                window=timedelta(minutes=10),
            ),
            pre_change_backup=PreChangeBackupOptions(
                timeout=timedelta(seconds=90), on_failure="abort", reuse_within=reuse_within
            ),
        ),
    )


class SimBackup(Protocol):
    """A backup as `Simulator.backups_of` returns it: what the checks read of one."""

    id: int
    container_id: str
    backup_type: str
    status: str
    created_at: datetime
    completed_at: datetime | None


class CoreAnswer(Protocol):
    """What the simulator's handler core (`Simulator.handle_request`) answers."""

    status: int
    headers: dict[str, str]


class WaitHookClock(ManualClock):
    """A ManualClock that runs the test's pending events at the next wait: a human acting
    while the daemon waits for a backup, a Retry-After or the budget (`sleep`), or for a
    slow answer (the simulator's `advance`). The run's jump to its next job (`set`) is no
    wait: nothing is in flight then."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.at_next_wait: list[Callable[[], None]] = []

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        self.fire()

    def set(self, moment: datetime) -> None:
        super().advance((moment - self.now()).total_seconds())

    def fire(self) -> None:
        pending, self.at_next_wait = self.at_next_wait, []
        for event in pending:
            event()


@dataclass(frozen=True)
class Applied:
    """What was true when STACKS applied one logged change (`Mutation.seq`)."""

    seq: int
    actor: str  # daemon, cli or human: who the test was letting act
    status_before: str | None  # the container's status right before; None: no container
    audit_head: int  # id of the newest audit row then (0: none yet)


class Recorder:
    """In front of the simulator's handler core; see the module docstring."""

    def __init__(self, sim: Simulator, database: Path) -> None:
        self._sim = sim
        self._handle = sim.handle_request
        self._database = database
        self.container_ids: list[str] = []
        self.actor = "daemon"
        self.applied: dict[int, Applied] = {}
        self.daemon_retry_afters: list[tuple[datetime, int]] = []
        self.early: list[str] = []  # daemon requests sent before its Retry-After had passed
        self.backups: dict[int, SimBackup] = {}
        self._quiet_until: datetime | None = None
        sim.handle_request = self.handle  # the transports made from now on go through here

    def new_daemon_process(self) -> None:
        """A redeployed daemon cannot know its predecessor's Retry-After."""
        self._quiet_until = None

    def handle(self, request: Request) -> CoreAnswer:
        is_api = request.path.startswith("/api/v1/")
        mutating = is_api and request.method in MUTATING
        now = self._sim.now()
        if is_api and self.actor == "daemon" and self._quiet_until and now < self._quiet_until:
            self.early.append(
                f"{request.method} {request.path} at {now:%H:%M:%S} before the Retry-After "
                f"ending {self._quiet_until:%H:%M:%S}"
            )
        before = status = head = None
        if mutating:
            before = len(self._sim.mutations())
            status = self._status_of(request.path)
            head = self._audit_head()
            if request.method == "DELETE":  # a deleted container's backups go with it
                self.note_backups()
        try:
            answer = self._handle(request)
        finally:
            if before is not None:
                for mutation in self._sim.mutations()[before:]:
                    self.applied.setdefault(
                        mutation.seq, Applied(mutation.seq, self.actor, status, head or 0)
                    )
        if is_api and self.actor == "daemon" and answer.status == 429:
            seconds = int(answer.headers.get("Retry-After", "0"))
            self.daemon_retry_afters.append((now, seconds))
            until = now + timedelta(seconds=seconds)
            self._quiet_until = max(until, self._quiet_until or until)
        return answer

    def note_backups(self) -> dict[int, SimBackup]:
        """Every backup ever seen, as last seen (deleted containers' too)."""
        for container_id in self.container_ids:
            for backup in self._sim.backups_of(container_id):
                self.backups[backup.id] = backup
        return self.backups

    def _status_of(self, path: str) -> str | None:
        container_id = self._container_of(path)
        if container_id is None:
            return None
        try:
            return self._sim.container_status(container_id)
        except ValueError:
            return "gone"

    def _container_of(self, path: str) -> str | None:
        found = CONTAINER_PATH.match(path)
        if found:
            return found.group(1)
        found = BACKUP_PATH.match(path)
        if found:
            backup_id = int(found.group(1))
            for container_id in self.container_ids:
                if any(b.id == backup_id for b in self._sim.backups_of(container_id)):
                    return container_id
        return None

    def _audit_head(self) -> int | None:
        try:
            with closing(sqlite3.connect(self._database)) as conn:
                return conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
        except sqlite3.OperationalError:  # no table yet
            return None


class StoppableRun(SimulatedRun):
    """SimulatedRun whose daemon can be stopped mid-job (SIGTERM) and renamed (a new leader).

    Once the daemon's clock is stopped no further job runs, as in `stacks-opsd run`,
    where the scheduler shuts down; a job that StopRequested ends simply ends. The
    simulated time each of the executor's `perform` took is kept (`action_spans`):
    synchronous actions hold up the next status poll here, unlike the worker threads of
    `run`; and what each returned (`outcomes`).
    """

    def __init__(self, directory: Path, config: Config, **kwargs) -> None:
        self.instance = "opsd-a"
        self.action_spans: list[tuple[datetime, datetime]] = []  # each `perform`'s
        self.outcomes: list[str] = []  # what each `perform` returned (`busy` included)
        self.dead: list[AuditStore] = []  # stores of killed daemons, closed at the end
        super().__init__(directory, config, **kwargs)

    def start_daemon(self) -> Daemon:
        daemon = Daemon(
            self.config,
            ApiKey(self.key),
            self.clock,
            instance=self.instance,
            transport=self.simulator.transport(),
            leader_lock=LocalLeaderLock(),
            synchronous_actions=True,
        )
        perform = daemon.executor.perform

        def timed(decision):
            started = self.clock.now()
            outcome = None
            try:
                outcome = perform(decision)
                return outcome
            finally:
                self.action_spans.append((started, self.clock.now()))
                self.outcomes.append(outcome.outcome if outcome else "raised")

        daemon.executor.perform = timed
        return daemon

    def kill_daemon(self) -> None:
        """After `Killed` went through the daemon: it is dead, its claims left behind; `run`
        is started again."""
        process_died(self.config.daemon.database_url, self.daemon.store.session)
        self.dead.append(self.daemon.store)
        self.daemon = self.start_daemon()

    def change_leader(self, instance: str) -> None:
        """The leader stops; another instance, on the same database, takes over."""
        self.daemon.close()
        self.instance = instance
        self.daemon = self.start_daemon()

    @property
    def stopping(self) -> bool:
        return self.daemon.clock.stopping

    def advance(self, duration: timedelta) -> None:
        end = self.clock.now() + duration
        status_every = self.config.poll.status_interval
        while not self.stopping:
            due = min(self._next_status, self._next_refresh)
            if due > end:
                break
            if due > self.clock.now():
                self.clock.set(due)
            try:
                if self._next_status <= self._next_refresh:
                    self._next_status += status_every
                    self.daemon.leadership()
                    self.daemon.heartbeat()
                    self.daemon.status_cycle()
                else:
                    self._next_refresh += REFRESH_TICK
                    self.daemon.refresh()
            except StopRequested:
                break  # the job ends as `guarded` ends it; no other job runs
            now = self.clock.now()
            self._next_status = max(self._next_status, now)
            self._next_refresh = max(self._next_refresh, now)
        if end > self.clock.now():
            self.clock.set(end)


class World:
    """One example's simulator, daemon, operator and human; `close()` ends them."""

    def __init__(
        self,
        directory: Path,
        *,
        dry_run: bool,
        start: str,
        statuses: list[str],
        fresh: str | None,
        reuse_within: timedelta,
        seed: int,
    ) -> None:
        self.clock = WaitHookClock(FRIDAY)
        self.sim = Simulator(clock=self.clock, seed=seed)
        self.recorder = Recorder(self.sim, directory / "audit.db")
        self.key = self.sim.create_key(rate_limit=60)
        self.ids = [self.sim.seed_container(self.key, f"app{i}") for i in range(len(statuses))]
        self.sim.advance((DAEMON_STARTS[start] - FRIDAY).total_seconds())  # daily backups
        for container_id, status in zip(self.ids, statuses, strict=True):
            if status == "error":
                self.sim.crash(container_id)
            elif status != "running":
                self.sim.set_status(container_id, status)
        if fresh is not None:  # no backup yet
            self.ids.append(self.sim.seed_container(self.key, "fresh", status=fresh))
        self.recorder.container_ids = self.ids
        self.config = machine_config(dry_run=dry_run, reuse_within=reuse_within)
        self.run = StoppableRun(
            directory, self.config, simulator=self.sim, clock=self.clock, key=self.key
        )
        self.operator = Operator(self)
        # A human with another key of the same account (the dashboard, a script).
        self.human_client = StacksClient(
            ApiKey(self.sim.create_key(account=self.sim.account_of(self.key))),
            BASE_URL,
            transport=self.sim.transport(),
            budget=RateBudget(60, 10, self.clock),
            clock=self.clock,
        )

    def name_of(self, container_id: str) -> str:
        return container_id.rsplit("-", 1)[-1]

    def as_operator(self, action: str, container_id: str, *, target=None, force=False) -> Report:
        verb = action.split(".")[1]
        words = f"{verb} {target}" if target else verb
        decision = Action(
            policy=OPERATOR,
            action=action,
            container_id=container_id,
            container_name=self.name_of(container_id),
            reason=f"operator: stacks-opsd change {self.name_of(container_id)} {words}",
            target=target,
            force=force,
        )
        previous, self.recorder.actor = self.recorder.actor, "cli"
        try:
            return self.operator.executor.perform(decision)
        finally:
            self.recorder.actor = previous

    def operator_killed(self) -> None:
        """The operator's process died (kill -9), its claim left behind; the next `change`
        is a new process."""
        process_died(self.run.config.daemon.database_url, self.operator.store.session)
        self.run.dead.append(self.operator.store)
        self.operator = Operator(self)

    def as_human(self, call: Callable[[StacksClient], object]) -> None:
        """A change through the API with the human's key; whatever STACKS answers."""
        previous, self.recorder.actor = self.recorder.actor, "human"
        try:
            call(self.human_client)
        except StacksError:
            pass  # refused or ambiguous: the mutation log says whether it happened
        finally:
            self.recorder.actor = previous

    def refresh_backups(self) -> dict[int, SimBackup]:
        return self.recorder.note_backups()

    def close(self) -> None:
        self.run.close()
        self.operator.close()
        self.human_client.close()
        for store in self.run.dead:
            store.close()


class Operator:
    """One `stacks-opsd change` process: the same key and database as the daemon, its own
    budget and audit session, actor `cli`."""

    def __init__(self, world: World) -> None:
        self.client = StacksClient(
            ApiKey(world.key),
            BASE_URL,
            transport=world.sim.transport(),
            budget=RateBudget(60, 10, world.clock),
            clock=world.clock,
        )
        self.store = AuditStore.open(
            world.run.config.daemon.database_url, "operator", world.clock, role="cli"
        )
        self.executor = Executor(
            self.client,
            self.store,
            world.clock,
            world.config.policies.pre_change_backup,
            dry_run=world.config.daemon.dry_run,
        )

    def close(self) -> None:
        self.client.close()
        self.store.close()


def process_died(database_url: str, session: str) -> None:
    """What other processes see of a `kill -9`: the session's process is gone (here every
    process is this one, so its `audit_session` row goes); its claims and open actions stay."""
    with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("DELETE FROM audit_session WHERE session = ?", (session,))


class Killed(BaseException):
    """kill -9 of the process whose thread meets it: nothing it would still do happens."""
