"""A minimal daemon for scenario tests: simulator, client, audit store, poll-evaluate-act loop.

Everything shares one ManualClock, so hours of crash loops take milliseconds.
`restart_daemon()` builds new policies and a new executor over the same audit
database, as a restarted daemon would. The poll loop stands in for the real
poller/scheduler: status every `status_interval`, backups every `backups_interval`.
"""

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from daemon.audit import AuditLog, AuditStore
from daemon.clock import ManualClock
from daemon.executor import Executor, Outcome
from daemon.policy_history import PolicyHistory
from daemon.simulator import Simulator
from daemon.snapshot import ContainerView, Snapshot
from daemon.stacks import ApiKey, Backup, RateBudget, StacksClient, StacksError
from policies import Action, Policy, build_policies

RATE_LIMIT = 100_000  # the scenarios check policies, not the rate budget


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        start: datetime,
        policies_config: object,
        *,
        dry_run: bool = False,
        status_interval: timedelta = timedelta(seconds=15),
        backups_interval: timedelta = timedelta(minutes=30),
    ) -> None:
        self.clock = ManualClock(start)
        self.sim = Simulator(clock=self.clock, seed=1)
        self.key = self.sim.create_key(rate_limit=RATE_LIMIT)
        self.client = StacksClient(
            ApiKey(self.key),
            base_url="http://sim/api/v1",
            transport=self.sim.transport(),
            clock=self.clock,
            budget=RateBudget(RATE_LIMIT, 10, self.clock),
            retries=0,
        )
        self.database_url = f"sqlite:///{tmp_path / 'audit.db'}"
        self.config = policies_config
        self.dry_run = dry_run
        self.status_interval = status_interval
        self.backups_interval = backups_interval
        self.outcomes: list[tuple[datetime, Action, Outcome]] = []
        self._backups: dict[str, tuple[tuple[Backup, ...], datetime]] = {}
        self.store: AuditStore | None = None
        self.restart_daemon()

    def restart_daemon(self) -> None:
        """New policies and executor over the same audit database; cached state is lost."""
        if self.store is not None:
            self.store.close()
        self.store = AuditStore.open(self.database_url, "test:1", self.clock)
        self.store.reconcile_interrupted()
        self.policies: list[Policy] = build_policies(self.config, dry_run=self.dry_run)
        self.history = PolicyHistory(self.store)
        self.executor = Executor(
            self.client,
            self.store,
            self.clock,
            self.config.pre_change_backup,
            dry_run=self.dry_run,
        )
        self._backups.clear()

    def seed(self, name: str, status: str = "running") -> str:
        return self.sim.seed_container(self.key, name, status=status)

    def poll(self) -> Snapshot:
        now = self.clock.now()
        try:
            containers = self.client.list_containers()
        except StacksError as exc:
            return Snapshot(taken_at=None, status_ok=False, last_error=str(exc))
        views = {}
        for container in containers:
            cached = self._backups.get(container.id)
            if cached is None or now - cached[1] >= self.backups_interval:
                cached = (self.client.backups(container.id), now)
                self._backups[container.id] = cached
            views[container.id] = ContainerView(
                container=container, seen_at=now, backups=cached[0], backups_at=cached[1]
            )
        return Snapshot(taken_at=now, status_ok=True, containers=views)

    def refresh_backups(self) -> None:
        self._backups.clear()

    def evaluate(self) -> None:
        snapshot = self.poll()
        now = self.clock.now()
        states = self.history.states(self.policies, now)
        for policy in self.policies:
            for decision in policy.decide(snapshot, states[policy.name], now):
                outcome = self.executor.perform(decision)
                if isinstance(decision, Action):
                    self.outcomes.append((now, decision, outcome))

    def run(self, duration: timedelta, before_each=None) -> None:
        """Evaluate every status interval for `duration`; `before_each(now)` may change the sim."""
        end = self.clock.now() + duration
        while self.clock.now() < end:
            if before_each is not None:
                before_each(self.clock.now())
            self.evaluate()
            self.clock.set(max(self.clock.now(), self._next_tick(end)))

    def _next_tick(self, end: datetime) -> datetime:
        return min(self.clock.now() + self.status_interval, end)

    def rows(self, **filters) -> list[AuditLog]:
        return self.store.query(**filters)


def with_options(config: object, **changes: object) -> object:
    """`config` with some policies' options replaced: with_options(c, auto_restart={...})."""
    for name, values in changes.items():
        config = replace(config, **{name: replace(getattr(config, name), **values)})
    return config
