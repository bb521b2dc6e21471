"""The soak's chaos from one seed: crashes, crash loops, operator starts, failed backups, 429s.

Called after every status poll (`step`), it

- crashes a few random containers each hour, only ones that have run for at
  least `SETTLED` since they last started (so the daemon's backoff has reset);
- starts crash-loop episodes on a few "looper" containers: while an episode
  lasts, a looper is crashed again as soon as it is seen running (right after
  the poll that restarted it), until the daemon gives up or the episode ends;
  episodes avoid
  the weekly pin window and the daemon's redeploy, where the daemon is busy for
  minutes and a looper would run long enough to blur "crash loop" and "settled"
  (`SETTLED` and `LOOP_RUN_MAX` keep both far from auto_restart's reset_after);
- has an operator `change NAME start` a looper that is still in error some
  time after its episode (the daemon may have given up on it); only a start
  that succeeded counts as one;
- makes the backups of a rotating tenth of the fleet fail for a day at a time;
- replaces the API faults every few hours: 5% 500s, 1% timeouts, and a burst of
  forced 429s with a random Retry-After.

It also samples the simulator's backups every few hours (retention keeps them 7
days, so nothing completed is missed): the ISO weeks in which each container
had a completed backup are the weeks it must get exactly one weekly pin for.
"""

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from daemon.simulator import Faults, Simulator
from policies import IsoWeek
from tests.reliability.soak_fleet import Member

ERROR_RATE = 0.05
TIMEOUT_RATE = 0.01
HOUR = timedelta(hours=1)
SETTLED = timedelta(hours=1)  # one-off crashes hit containers up at least this long
LOOP_RUN_MAX = timedelta(minutes=6)  # a looper in an episode runs at most this long
LOOPERS = 10
SAMPLE_EVERY = timedelta(hours=6)
BURST_EVERY = (timedelta(hours=3), timedelta(hours=8))
PIN_WINDOW = (time(1, 0), time(6, 0))  # Sundays: the weekly pins keep the daemon busy


@dataclass(frozen=True)
class Crash:
    container_id: str
    at: datetime
    ran_for: timedelta | None  # since its last (re)start; None: since before the soak
    loop: bool


class Chaos:
    def __init__(
        self,
        sim: Simulator,
        fleet: list[Member],
        seed: int,
        operator_start: Callable[[Member], bool],
        quiet: list[tuple[datetime, datetime]],
    ) -> None:
        self.sim = sim
        self.fleet = fleet
        self.rng = random.Random(seed)
        self.operator_start = operator_start
        self.quiet = quiet  # no loop episode may overlap these periods
        self.loopers = {m.id for m in self.rng.sample(fleet, LOOPERS)}
        self.crashes: list[Crash] = []
        self.operator_starts: list[tuple[str, datetime]] = []
        self.completed_weeks: dict[str, set[str]] = defaultdict(set)
        self.bursts = 0
        self._by_id = {m.id: m for m in fleet}
        self._up_since: dict[str, datetime] = {}  # last restart/start mutation per container
        self._mutations_seen = 0
        self._episodes: dict[str, datetime] = {}  # looper -> episode end
        self._operator_due: dict[str, datetime] = {}
        self._failing: set[str] = set()
        self._faults_seed = seed * 1000
        self._next_hour: datetime | None = None
        self._next_burst: datetime | None = None
        self._next_sample: datetime | None = None

    # -- the schedule ----------------------------------------------------------

    def step(self, now: datetime) -> None:
        """Everything due at `now` (called after every status poll)."""
        if self._next_hour is None:
            self._next_hour = self._next_burst = self._next_sample = now
        self._loop_crashes(now)
        self._operator(now)
        if now >= self._next_hour:
            self._read_mutations()
            self._one_off_crashes(now)
            self._maybe_start_episode(now)
            if now.hour == 12:
                self._rotate_failing_backups()
            self._next_hour = now.replace(minute=0, second=0, microsecond=0) + HOUR
        if now >= self._next_burst:
            self._burst(now)
        if now >= self._next_sample:
            self.sample_backups()
            self._next_sample = now + SAMPLE_EVERY

    def sample_backups(self) -> None:
        for member in self.fleet:
            for backup in self.sim.backups_of(member.id):
                if backup.status == "completed":
                    self.completed_weeks[member.id].add(IsoWeek.of(backup.created_at).label)

    # -- crashes -----------------------------------------------------------------

    def _crash(self, container_id: str, now: datetime, loop: bool) -> None:
        up_since = self._up_since.get(container_id)
        ran_for = None if up_since is None else now - up_since
        self.sim.crash(container_id)
        self.crashes.append(Crash(container_id, now, ran_for, loop))

    def _read_mutations(self) -> None:
        mutations = self.sim.mutations()
        for m in mutations[self._mutations_seen :]:
            if m.method == "PUT" and m.path.endswith("/status") and m.container_id:
                self._up_since[m.container_id] = m.at
        self._mutations_seen = len(mutations)

    def _one_off_crashes(self, now: datetime) -> None:
        candidates = [
            m.id
            for m in self.fleet
            if m.id not in self._episodes
            and m.id not in self._operator_due
            and now - self._up_since.get(m.id, now - SETTLED) >= SETTLED
            and self.sim.container_status(m.id) == "running"
        ]
        count = min(len(candidates), self.rng.choice((0, 1, 1, 2, 3)))
        for container_id in self.rng.sample(candidates, count):
            self._crash(container_id, now, loop=False)

    def _maybe_start_episode(self, now: datetime) -> None:
        if self.rng.random() > 0.25:
            return
        idle = sorted(self.loopers - set(self._episodes) - set(self._operator_due))
        ready = [
            cid
            for cid in idle
            if now - self._up_since.get(cid, now - SETTLED) >= SETTLED
            and self.sim.container_status(cid) == "running"
        ]
        end = now + timedelta(minutes=self.rng.randint(20, 120))
        if not ready or not self._calm(now, end + timedelta(minutes=30)):
            return
        looper = self.rng.choice(ready)
        self._episodes[looper] = end
        self._crash(looper, now, loop=False)  # after a settled run: the loop starts afresh

    def _calm(self, start: datetime, end: datetime) -> bool:
        for first, last in self.quiet:
            if start < last and first < end:
                return False
        day = start
        while day.date() <= end.date():
            if day.isoweekday() == 7:
                window = (
                    datetime.combine(day.date(), PIN_WINDOW[0], day.tzinfo),
                    datetime.combine(day.date(), PIN_WINDOW[1], day.tzinfo),
                )
                if start < window[1] and window[0] < end:
                    return False
            day += timedelta(days=1)
        return True

    def _loop_crashes(self, now: datetime) -> None:
        if not self._episodes:
            return
        self._read_mutations()
        for looper, end in list(self._episodes.items()):
            if now >= end:
                del self._episodes[looper]
                self._operator_due[looper] = now + timedelta(minutes=self.rng.randint(30, 150))
            elif self.sim.container_status(looper) == "running":
                self._crash(looper, now, loop=True)

    def _operator(self, now: datetime) -> None:
        for container_id, due in list(self._operator_due.items()):
            if now < due:
                continue
            del self._operator_due[container_id]
            started = self.sim.container_status(container_id) == "error" and (
                self.operator_start(self._by_id[container_id])
            )
            if started:  # a start that STACKS refused (faults) resets nothing
                self.operator_starts.append((container_id, now))
                self._read_mutations()

    # -- backups and API faults ------------------------------------------------

    def _rotate_failing_backups(self) -> None:
        for container_id in self._failing:
            self.sim.fail_backups(container_id, enabled=False)
        self._failing = {m.id for m in self.rng.sample(self.fleet, len(self.fleet) // 10)}
        for container_id in self._failing:
            self.sim.fail_backups(container_id)

    def _burst(self, now: datetime) -> None:
        self._faults_seed += 1
        self.sim.set_faults(
            Faults(
                error_rate=ERROR_RATE,
                timeout_rate=TIMEOUT_RATE,
                burst_429=self.rng.randint(2, 12),
                retry_after=self.rng.choice((1, 5, 20, 60)),
                seed=self._faults_seed,
            )
        )
        self.bursts += 1
        low, high = (every.total_seconds() for every in BURST_EVERY)
        self._next_burst = now + timedelta(seconds=self.rng.uniform(low, high))
