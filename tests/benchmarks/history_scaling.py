"""Benchmark 6: what a long audit history costs the daemon, at start and at every evaluation.

`run_history` measures one size in this (fresh) process:

1. the audit database is built in a child process (`history_database.py`), and
   there a store does once what the daemon that wrote it did at its starts
   (reconciliation; a week before, the first read of the policies' history, which
   leaves the episode marks: both timed, as the first time on this database; a day
   before it stopped, its last daily move of the marks), then `audit verify`;
   the building's memory is not counted here;
2. the simulator runs 5 days for N containers (Monday to Saturday 00:00: five
   daily backups each, no weekly pin due yet), and the real Daemon
   (`SimulatedRun`) starts on the database: taking leadership (reconciliation
   at start) is timed, then its first status cycle, in which the evaluation
   after the first poll is timed (reading each policy's window and folding it);
   resident memory (VmRSS after a full collection) is read right after. A start's
   first evaluation is a few tens of milliseconds on a shared machine, so
   `START_PROBES` more starts are timed the same way, each in a fresh process on a
   copy of the database as it was before this one (a start moves the marks), and
   the median of them all is reported;
3. the daemon runs until every backup list was read once: each evaluation is
   timed (the largest is reported: weekly_pin's state is read in these, a slice of
   containers at each and each container once its list is read), and so are the
   rows they fold; then `QUIET_ROUNDS` status cycles with nothing to do: each
   evaluation is timed (the median is reported) and the rows appended meanwhile
   are counted (0: quiet).

The result is plain data (JSON-able); `make bench` runs each size, the 0-row
baseline included, in a process of its own.
"""

import contextlib
import dataclasses
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from daemon.audit import AuditStore
from daemon.clock import ManualClock
from daemon.config import Config
from daemon.evaluation import MARK_EVERY, PolicyHistory
from daemon.simulator import Simulator
from policies import build_policies
from tests.benchmarks.freshness import best_intervals
from tests.benchmarks.history_database import ACCOUNT, build_history
from tests.benchmarks.job_runner import ROOT
from tests.benchmarks.resident_memory import resident_bytes
from tests.support.simulated_run import MONDAY, SimulatedRun

SATURDAY = MONDAY + timedelta(days=5)  # the daemon starts here: the week's pin is not due yet
PREVIOUS_START = SATURDAY - timedelta(days=7)  # the start before, of the daemon that wrote it
# That daemon ran until SATURDAY and moved its episode marks once a day (MARK_EVERY) after
# its start: the last time a day before it stopped.
LAST_MARK_MOVE = SATURDAY - MARK_EVERY
QUIET_ROUNDS = 20
START_PROBES = 4  # starts in fresh processes besides this one's: the first evaluation's median
# Metrics are refreshed once a day here, so the whole budget reads backup lists and the
# quiet rounds start after 30 simulated minutes instead of 2.5 hours.
METRICS_INTERVAL = timedelta(days=1)


@dataclass
class HistoryResult:
    containers: int
    rows: int  # in the database when the daemon started
    span_days: float
    build_seconds: float
    verified: bool  # `audit verify` passed on the built database
    reconcile_seconds: float  # taking leadership: the `interrupted` rows of dead sessions
    first_reconcile_seconds: float  # the same on the database new to reconciliation (once)
    first_read_seconds: float  # reading the policies' history on it with no episode marked (once)
    first_evaluation_seconds: float  # after the first poll: read the windows, fold, decide
    rss_bytes: int  # right after the first status cycle
    # The first evaluation of each other start (fresh processes, each on a copy of the database).
    probe_first_evaluation_seconds: list[float] = field(default_factory=list)
    # After the first, until every backup list was read: weekly_pin's state is read then.
    warm_up_evaluation_seconds: list[float] = field(default_factory=list)
    warm_up_rows_folded: int = 0  # rows folded in them (the new ones included)
    quiet_evaluation_seconds: list[float] = field(default_factory=list)
    quiet_rows: int = 0  # appended during the quiet rounds
    rows_folded: int = 0  # read and folded by the first evaluation (the windows, the episodes)
    states: dict[str, int] = field(default_factory=dict)  # policy -> containers with a state

    @property
    def first_evaluations(self) -> list[float]:
        """The first evaluation of every start timed."""
        return [self.first_evaluation_seconds, *self.probe_first_evaluation_seconds]

    @property
    def first_evaluation(self) -> float:
        """Their median."""
        return statistics.median(self.first_evaluations)

    @property
    def quiet_evaluation(self) -> float:
        return statistics.median(self.quiet_evaluation_seconds)

    @property
    def warm_up_evaluation(self) -> float:
        return max(self.warm_up_evaluation_seconds, default=0.0)


def names(containers: int) -> list[str]:
    return [f"app-{i:04d}" for i in range(containers)]


def run_history(
    directory: Path,
    containers: int,
    rows: int,
    span: timedelta,
    seed: int = 1,
    probes: int = START_PROBES,
) -> HistoryResult:
    database = f"sqlite:///{directory / 'audit.db'}"
    built = {
        "rows": 0,
        "seconds": 0.0,
        "verified": True,
        "first_reconcile_seconds": 0.0,
        "first_read_seconds": 0.0,
    }
    if rows:
        built = _build_elsewhere(database, containers, rows, span, seed)
    probed = [_start_elsewhere(directory, containers, seed) for _ in range(probes)]
    start = _start(directory, containers, seed)
    run, daemon, evaluations, folded = start.run, start.run.daemon, start.evaluations, start.folded
    try:
        rss = resident_bytes()
        first, rows_folded = evaluations.pop(), sum(folded)
        folded.clear()
        if any(
            probe["marks"] != start.marks or probe["rows_folded"] != rows_folded for probe in probed
        ):
            raise RuntimeError("a start on a copy of the audit database found it otherwise")
        warmup = timedelta(seconds=best_intervals(containers, start.config)["backups"])
        run.advance(warmup + timedelta(minutes=5))
        warm_up, warm_up_rows = list(evaluations), sum(folded)
        appended = daemon.store.last_id()
        evaluations.clear()
        run.advance(daemon.poller.status_interval * QUIET_ROUNDS)
        states = {name: len(states) for name, states in daemon.last_evaluation.states.items()}
        return HistoryResult(
            containers=containers,
            rows=built["rows"],
            span_days=span.total_seconds() / 86400,
            build_seconds=built["seconds"],
            verified=built["verified"],
            reconcile_seconds=start.reconcile_seconds,
            first_reconcile_seconds=built["first_reconcile_seconds"],
            first_read_seconds=built["first_read_seconds"],
            first_evaluation_seconds=first,
            probe_first_evaluation_seconds=[probe["seconds"] for probe in probed],
            rss_bytes=rss,
            warm_up_evaluation_seconds=warm_up,
            warm_up_rows_folded=warm_up_rows,
            quiet_evaluation_seconds=list(evaluations),
            quiet_rows=daemon.store.last_id() - appended,
            rows_folded=rows_folded,
            states=states,
        )
    finally:
        run.close()


def first_evaluation_of_start(directory: Path, containers: int, seed: int = 1) -> dict:
    """The first evaluation of a start on the audit database in `directory` (none: an empty
    one), as `run_history` times its own: its wall `seconds`, the `rows_folded`, and the
    episode `marks` it started from."""
    start = _start(directory, containers, seed)
    try:
        return {
            "seconds": start.evaluations[0],
            "rows_folded": sum(start.folded),
            "marks": start.marks,
        }
    finally:
        start.run.close()


@dataclass
class _Started:
    run: SimulatedRun
    config: Config
    evaluations: list[float]  # of each evaluation so far: the first, after the first poll
    folded: list[int]  # rows given to each policy fold so far
    reconcile_seconds: float  # taking leadership
    marks: list[list]  # the episode marks (every column but the time saved) before it started


def _start(directory: Path, containers: int, seed: int) -> _Started:
    """The simulator run 5 days for `containers`, then the real Daemon started on the audit
    database in `directory`: leadership taken (timed) and its first status cycle done."""
    clock = ManualClock(MONDAY)
    simulator = Simulator(clock=clock, seed=seed)
    key = simulator.create_key(rate_limit=60, account=ACCOUNT)
    for name in names(containers):
        simulator.seed_container(key, name)
    simulator.advance((SATURDAY - MONDAY).total_seconds())
    base = Config()
    config = dataclasses.replace(
        base, poll=dataclasses.replace(base.poll, metrics_interval=METRICS_INTERVAL)
    )
    marks = _marks(directory / "audit.db")
    run = SimulatedRun(directory, config, simulator=simulator, clock=clock, key=key)
    try:
        daemon = run.daemon
        evaluations = _time_evaluations(daemon)
        folded = _count_folded_rows(daemon)
        started = time.perf_counter()
        daemon.leadership()
        reconcile = time.perf_counter() - started
        daemon.status_cycle()
        if len(evaluations) != 1:
            raise RuntimeError(f"the first status cycle evaluated {len(evaluations)} times")
    except BaseException:
        run.close()
        raise
    return _Started(run, config, evaluations, folded, reconcile, marks)


def _marks(database: Path) -> list[list]:
    """The episode marks saved in the SQLite file (none: no file yet), but their times saved."""
    if not database.exists():
        return []
    with contextlib.closing(sqlite3.connect(database)) as connection:
        found = connection.execute(
            "SELECT episode, closed_before, read_from, still_open FROM audit_episode_mark "
            "ORDER BY episode"
        )
        return [list(row) for row in found]


def build_and_verify(url: str, containers: int, rows: int, span: timedelta, seed: int) -> dict:
    """The audit database of `rows` rows over `span` before SATURDAY, reconciled once as the
    daemon that wrote it would have done (a database new to reconciliation: every
    `started` row is looked at), then `audit verify` on it."""
    started = time.perf_counter()
    built = build_history(url, names(containers), rows, span, SATURDAY, seed)
    seconds = time.perf_counter() - started
    store = AuditStore.open(url, "bench:previous-daemon", ManualClock(SATURDAY))
    try:
        started = time.perf_counter()
        interrupted = len(store.reconcile_interrupted(including_own=True))
        first_reconcile = time.perf_counter() - started
        # The previous daemon's start, a week before: it reads the open episodes over the
        # policies' whole horizons (nothing marked yet) and leaves their marks; then its
        # last daily move of them.
        policies = build_policies(Config().policies)
        started = time.perf_counter()
        PolicyHistory(store).states(policies, PREVIOUS_START)
        first_read = time.perf_counter() - started
        for query in (policy.history_query(LAST_MARK_MOVE) for policy in policies):
            if query.episode is not None:
                store.advance_mark(
                    query.episode, query.since, query.actors, query.actions, query.dry_run
                )
        verified = store.verify().ok
    finally:
        store.close()
    return {
        **dataclasses.asdict(built),
        "rows": built.rows + interrupted,
        "seconds": seconds,
        "first_reconcile_seconds": first_reconcile,
        "first_read_seconds": first_read,
        "verified": verified,
    }


def _time_evaluations(daemon) -> list[float]:
    """Wall seconds of each `daemon.evaluate` from now on (status cycles call it)."""
    seconds: list[float] = []
    evaluate = daemon.evaluate

    def timed(snapshot):
        started = time.perf_counter()
        try:
            return evaluate(snapshot)
        finally:
            seconds.append(time.perf_counter() - started)

    daemon.evaluate = timed
    return seconds


def _count_folded_rows(daemon) -> list[int]:
    """The number of rows each policy fold is given from now on."""
    counts: list[int] = []
    for policy in daemon.policies:
        fold = policy.fold

        def counted(state, rows, subject=None, fold=fold):
            counts.append(len(rows))
            return fold(state, rows, subject)

        policy.fold = counted
    return counts


def _build_elsewhere(database: str, containers: int, rows: int, span: timedelta, seed: int) -> dict:
    """Build (and verify) the database in a child process; its result."""
    spec = {
        "job": "history-build",
        "url": database,
        "containers": containers,
        "rows": rows,
        "span_days": span.total_seconds() / 86400,
        "seed": seed,
    }
    return _child(spec, "building the audit database")


def _start_elsewhere(directory: Path, containers: int, seed: int) -> dict:
    """The first evaluation of a start in a child process (`first_evaluation_of_start`), on
    a copy of the audit database in `directory` (its files, WAL included), which stays as
    it was."""
    probe = directory / "start-probe"
    probe.mkdir()
    try:
        for path in directory.glob("audit.db*"):
            shutil.copyfile(path, probe / path.name)
        spec = {"job": "history-start", "directory": str(probe), "containers": containers}
        return _child({**spec, "seed": seed}, "a start on the audit database")
    finally:
        shutil.rmtree(probe)


def _child(spec: dict, what: str) -> dict:
    """Run the benchmark job `spec` in a child process; its JSON result."""
    command = [sys.executable, "-m", "tests.benchmarks.jobs", json.dumps(spec)]
    answer = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        lines = answer.stderr.strip().splitlines()
        raise RuntimeError(f"{what} failed: {lines[-1] if lines else ''}")
    return json.loads(answer.stdout.strip().splitlines()[-1])
