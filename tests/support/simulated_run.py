"""Run the real Daemon in simulated time: an in-process simulator, a ManualClock, no threads.

`SimulatedRun.advance(duration)` moves the clock from one due job to the next
(status cycle every status interval, refresh every refresh tick, heartbeat), the
way APScheduler would in `stacks-opsd run`, so days of operation take seconds.
Actions run inside the status cycle (synchronous_actions), so the order of
events is deterministic for a given simulator seed.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.clock import ManualClock
from daemon.config import Config
from daemon.leader import LocalLeaderLock
from daemon.runtime import Daemon
from daemon.scheduler import REFRESH_TICK
from daemon.simulator import Simulator
from daemon.stacks import ApiKey

MONDAY = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


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

    def advance(self, duration: timedelta) -> None:
        """Run the daemon's jobs as they fall due until `duration` has passed."""
        end = self.clock.now() + duration
        while True:
            due = min(self._next_status, self._next_refresh)
            if due > end:
                break
            if due > self.clock.now():
                self.clock.set(due)
            if self._next_status <= self._next_refresh:
                self._next_status += self.daemon.poller.status_interval
                self.daemon.leadership()
                self.daemon.heartbeat()
                self.daemon.status_cycle()
            else:
                self._next_refresh += REFRESH_TICK
                self.daemon.refresh()
            # A job that took simulated time (a gate waiting for a backup) pushes the next ones.
            now = self.clock.now()
            self._next_status = max(self._next_status, now)
            self._next_refresh = max(self._next_refresh, now)
        if end > self.clock.now():
            self.clock.set(end)

    def close(self) -> None:
        self.daemon.close()
