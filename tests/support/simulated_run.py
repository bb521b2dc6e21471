"""The one simulated-time harness: the real Daemon, an in-process simulator, a ManualClock.

`SimulatedRun.advance(duration)` moves the clock from one due job to the next
(status cycle every status interval, refresh every refresh tick, heartbeat), the
way APScheduler would in `stacks-opsd run`, so days of operation take seconds.
Actions run inside the status cycle (synchronous_actions), so the order of
events is deterministic for a given simulator seed. No threads.

As the scheduler does (`coalesce=True`), jobs missed while the clock was moved
by hand run once, not once per missed tick. A refresh tick at which nothing is
due only accrues pacing, so `advance` skips the ticks before the next data falls
due (or the next status cycle): weeks of simulated time stay cheap.

Scenario tests use the same run: `before_status(now)` may change the simulator
right before each status cycle (a crash loop), `restart_daemon()` starts a new
Daemon on the same audit database, and `daemon.executor` performs decisions
directly once `daemon.leadership()` made the run the leader.
"""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.audit import AuditLog
from daemon.clock import ManualClock
from daemon.config import Config
from daemon.leader import LocalLeaderLock
from daemon.refresh_plan import schedule_mark
from daemon.runtime import Daemon
from daemon.service import REFRESH_TICK
from daemon.simulator import Simulator
from daemon.stacks import ApiKey

MONDAY = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
AMPLE_RATE_LIMIT = 100_000  # for tests of policies and actions, not of the rate budget


def config_with(
    *,
    status_interval: timedelta | None = None,
    metrics_interval: timedelta | None = None,
    backups_interval: timedelta | None = None,
    dry_run: bool = False,
    **policies: dict,
) -> Config:
    """Config() with a fixed status interval (None: "auto"), other poll intervals (None:
    the default), dry run, and some policies' options replaced:
    config_with(auto_restart={"max_restarts": 8})."""
    config = Config()
    chosen = config.policies
    for name, options in policies.items():
        chosen = dataclasses.replace(
            chosen, **{name: dataclasses.replace(getattr(chosen, name), **options)}
        )
    poll = dataclasses.replace(
        config.poll,
        status_interval=status_interval or "auto",
        metrics_interval=metrics_interval or config.poll.metrics_interval,
        backups_interval=backups_interval or config.poll.backups_interval,
    )
    daemon = dataclasses.replace(config.daemon, dry_run=dry_run)
    return dataclasses.replace(config, poll=poll, daemon=daemon, policies=chosen)


class SimulatedRun:
    def __init__(
        self,
        directory: Path,
        config: Config | None = None,
        *,
        start: datetime = MONDAY,
        seed: int = 1,
        rate_limit: int = 60,
        simulator: Simulator | None = None,
        clock: ManualClock | None = None,
        key: str | None = None,
    ) -> None:
        self.clock = clock or ManualClock(start)
        self.simulator = simulator or Simulator(clock=self.clock, seed=seed)
        self.key = key or self.simulator.create_key(rate_limit=rate_limit)
        base = config or Config()
        self.config = dataclasses.replace(
            base,
            api=dataclasses.replace(base.api, base_url="http://stacks.test/api/v1"),
            daemon=dataclasses.replace(
                base.daemon, database_url=f"sqlite:///{directory / 'audit.db'}"
            ),
        )
        self.daemon = self.start_daemon()
        self._next_status = self.clock.now()
        self._next_refresh = self.clock.now() + REFRESH_TICK

    def start_daemon(self) -> Daemon:
        """A fresh Daemon over the same simulator, clock and audit database."""
        return Daemon(
            self.config,
            ApiKey(self.key),
            self.clock,
            instance="simulated",
            transport=self.simulator.transport(),
            leader_lock=LocalLeaderLock(),
            synchronous_actions=True,
        )

    def restart_daemon(self) -> None:
        """Stop this daemon and start another on the same audit database (a redeploy)."""
        self.daemon.close()
        self.daemon = self.start_daemon()

    def seed(self, name: str, status: str = "running", template: str = "nodejs") -> str:
        """A container of the run's account, placed directly; its id."""
        return self.simulator.seed_container(self.key, name, template, status=status)

    def rows(self, **filters: object) -> list[AuditLog]:
        """The audit rows, oldest first (`AuditStore.query` filters)."""
        return self.daemon.store.query(**filters)

    def advance(
        self, duration: timedelta, before_status: Callable[[datetime], None] | None = None
    ) -> None:
        """Run the daemon's jobs as they fall due until `duration` has passed.

        A job due exactly at the end runs. `before_status(now)` is called right
        before each status cycle."""
        now = self.clock.now()
        self._next_status = max(self._next_status, now)  # missed runs coalesce into one
        self._next_refresh = max(self._next_refresh, now)
        end = now + duration
        while True:
            due = min(self._next_status, self._next_refresh)
            if due > end:
                break
            if due > self.clock.now():
                self.clock.set(due)
            if self._next_status <= self._next_refresh:
                self._next_status += self.daemon.poller.status_interval
                if before_status is not None:
                    before_status(self.clock.now())
                self.daemon.leadership()
                self.daemon.heartbeat()
                self.daemon.status_cycle()
            else:
                self._next_refresh += REFRESH_TICK
                if self.daemon.refresh() == 0:
                    self._skip_idle_refresh_ticks()
            # A job that took simulated time (a gate waiting for a backup) pushes the next ones.
            now = self.clock.now()
            self._next_status = max(self._next_status, now)
            self._next_refresh = max(self._next_refresh, now)
        if end > self.clock.now():
            self.clock.set(end)

    def _skip_idle_refresh_ticks(self) -> None:
        """After a refresh that fetched nothing, move the next one to the first tick at
        which it may fetch something: when data falls due, or after the next status cycle
        (which may find new containers)."""
        until = min(self._next_data_due(), self._next_status)
        if self._next_refresh < until:
            ticks = -((self._next_refresh - until) // REFRESH_TICK)
            self._next_refresh += ticks * REFRESH_TICK

    def _next_data_due(self) -> datetime:
        """When the next metrics, backup list or stats fall due (now: already due)."""
        if not self.daemon.acting:
            return self._next_status
        now = self.clock.now()
        pending = self.daemon.poller.due(everything=True)
        next_schedule = schedule_mark(now) + DAY  # every backup list falls due after it
        return min([*(refresh.due for refresh in pending), next_schedule])

    def close(self) -> None:
        self.daemon.close()
