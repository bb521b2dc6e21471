"""`make bench`: run every benchmark, side by side on all cores, and print the table.

The history sizes run last, one at a time: their figures are compared with each other,
so none may share the machine with another job.

    .venv/bin/python -m tests.benchmarks [--hours 24] [--big-fleet-hours 24] [--workers N]

Each figure is measured in the same run as its baseline. The fleet runs drive
the real Daemon on a ManualClock against the in-process simulator
(tests/support/simulated_run.py); see each module for what is measured.
"""

import argparse
import os
import platform
import sys
import time

from tests.benchmarks import figures
from tests.benchmarks.audit_appends import AuditResult
from tests.benchmarks.fleet_cycle import CycleResult
from tests.benchmarks.fleet_day import FleetResult
from tests.benchmarks.history_scaling import START_PROBES, HistoryResult
from tests.benchmarks.job_runner import Job, run_jobs
from tests.benchmarks.metrics_render import RenderResult
from tests.benchmarks.naive_poller import NaiveResult
from tests.benchmarks.table import Row, markdown

FLEETS = (1000, 100, 10)
BIG_FLEET = 1000
# A simulated day of 1000 containers takes about 7 minutes of one core here; the other
# jobs run beside it on the second core, so the whole run stays under 10 minutes.
BIG_FLEET_HOURS = 24.0
HISTORY_DAYS = 7  # the fleets have run a week before the daemon starts: backups are retained
SETTLED_HOUR = 4  # start-up catch-up done: last week's pins, their backup lists read again
# Crash -> restart with the default ("auto") status interval and with a fixed 15 s one,
# in runs of CRASH_HOURS: (containers, runs of each kind, distinct crashes per run). At
# 1000 containers ~2 crashes a minute, with 3 action requests each (the check, the gate's
# newest-backup list, the restart), fit the 10 requests a window keeps for actions.
CRASH_FLEETS = ((10, 5, 10), (100, 2, 60), (1000, 2, 250))
CRASH_HOURS = 2.0
FIXED_STATUS_SECONDS = 15.0
NAIVE_MINUTES = 5.0
RENDER_ROUNDS = 10
BIG_FLEETS = ((3000, 5), (10000, 3))  # (containers, rounds): render and status cycle
AUDIT_APPENDS, AUDIT_ROUNDS = 250, 4
LIMIT = 60  # the key's limit the fleet runs use (the daemon's default)
HISTORY_SIZES = ((1_000_000, 365), (100_000, 180), (10_000, 60), (0, 0))  # audit rows, days
# The largest history's fleet and daily activity over the shortest span that holds the same
# state (keep_weeks 8 of pins and 3 weeks of pin attempts): only the history is shorter.
SAME_FLEET_DAYS = 77
SAME_FLEET = (round(HISTORY_SIZES[0][0] * SAME_FLEET_DAYS / HISTORY_SIZES[0][1]), SAME_FLEET_DAYS)
POSTGRES_ENV = "STACKS_OPSD_TEST_POSTGRES_URL"


def build_jobs(hours: float, big_hours: float, postgres_url: str) -> dict[str, Job]:
    """Longest first, so the cores stay busy to the end."""
    jobs: dict[str, Job] = {}
    for n in FLEETS:
        fleet_hours = big_hours if n == BIG_FLEET else hours
        spec = {"job": "fleet", "containers": n, "hours": fleet_hours, "history_days": HISTORY_DAYS}
        label = f"fleet of {n} containers, {fleet_hours:g} simulated hours"
        if n == BIG_FLEET:
            spec["rss_at_hours"] = [0, 1, SETTLED_HOUR, fleet_hours]
            label += ", memory"
        jobs[f"fleet-{n}"] = Job(label, spec)
    for n, runs, crashes in CRASH_FLEETS:
        for status, seconds in (("auto", None), ("fixed", FIXED_STATUS_SECONDS)):
            for seed in range(1, runs + 1):
                jobs[f"crashes-{n}-{status}-{seed}"] = Job(
                    f"{crashes} crashes in a fleet of {n}, {CRASH_HOURS:g} simulated hours, "
                    f"{status} status interval, seed {seed}",
                    {
                        "job": "fleet",
                        "containers": n,
                        "hours": CRASH_HOURS,
                        "crashes": crashes,
                        "seed": seed,
                        "status_seconds": seconds,
                    },
                )
    for rows, days in (*HISTORY_SIZES, SAME_FLEET):
        jobs[f"history-{rows}"] = Job(
            f"history of {rows:,} audit rows over {days} days, {BIG_FLEET} containers",
            {"job": "history", "containers": BIG_FLEET, "rows": rows, "span_days": days},
        )
    for n in FLEETS:
        jobs[f"naive-{n}"] = Job(
            f"naive poller, {n} containers, {NAIVE_MINUTES:g} simulated minutes",
            {"job": "naive", "containers": n, "minutes": NAIVE_MINUTES},
        )
    jobs["render"] = Job(
        "/metrics render at 1000 containers",
        {"job": "render", "containers": BIG_FLEET, "rounds": RENDER_ROUNDS},
    )
    for n, rounds in BIG_FLEETS:
        jobs[f"render-{n}"] = Job(
            f"/metrics render at {n} containers",
            {"job": "render", "containers": n, "rounds": rounds},
        )
        jobs[f"cycle-{n}"] = Job(
            f"status cycle at {n} containers",
            {"job": "cycle", "containers": n, "rounds": rounds},
        )
    jobs["audit-sqlite"] = Job(
        "audit appends, SQLite",
        {"job": "audit", "database": "sqlite", "appends": AUDIT_APPENDS, "rounds": AUDIT_ROUNDS},
    )
    if postgres_url:
        jobs["audit-postgresql"] = Job(
            "audit appends, PostgreSQL",
            {
                "job": "audit",
                "database": "postgresql",
                "appends": AUDIT_APPENDS,
                "rounds": AUDIT_ROUNDS,
                "url": postgres_url,
            },
        )
    return jobs


def rows(jobs: dict[str, Job], postgres_url: str) -> list[Row]:
    def result(name: str, kind):
        job = jobs.get(name)
        return kind(**job.result) if job and job.result else None

    def failed(number: str, name: str) -> Row:
        return Row(number, jobs[name].label, f"failed: {jobs[name].error}", met=False)

    table: list[Row] = []
    for n in FLEETS:
        fleet = result(f"fleet-{n}", FleetResult)
        if fleet is None:
            table.append(failed("1", f"fleet-{n}"))
            continue
        naive = result(f"naive-{n}", NaiveResult)
        table += figures.fleet_rows(fleet, naive, LIMIT)
    for n, runs, _ in CRASH_FLEETS:
        names = {
            status: [f"crashes-{n}-{status}-{seed}" for seed in range(1, runs + 1)]
            for status in ("auto", "fixed")
        }
        results = {
            status: [result(name, FleetResult) for name in names[status]] for status in names
        }
        if all(all(found) for found in results.values()):
            table += figures.latency_rows(results["auto"], results["fixed"], FIXED_STATUS_SECONDS)
        else:
            table += [
                failed("2", name)
                for status in names
                for name, run in zip(names[status], results[status], strict=True)
                if run is None
            ]
    for name in ("render", *(f"render-{n}" for n, _ in BIG_FLEETS)):
        render = result(name, RenderResult)
        table.append(figures.render_row(render) if render else failed("3", name))
    for n, _ in BIG_FLEETS:
        cycle = result(f"cycle-{n}", CycleResult)
        table.append(figures.cycle_row(cycle) if cycle else failed("7", f"cycle-{n}"))
    big = result(f"fleet-{BIG_FLEET}", FleetResult)
    table += figures.memory_rows(big) if big else [failed("4", f"fleet-{BIG_FLEET}")]
    for database in ("sqlite", "postgresql"):
        name = f"audit-{database}"
        if database == "postgresql" and not postgres_url:
            table.append(figures.audit_row(database, None, "skipped (no PostgreSQL)"))
        elif jobs[name].result is None:
            table.append(failed("5", name))
        else:
            table.append(figures.audit_row(database, result(name, AuditResult)))
    history = [result(f"history-{rows}", HistoryResult) for rows, _ in HISTORY_SIZES]
    same_fleet = result(f"history-{SAME_FLEET[0]}", HistoryResult)
    if all(history) and same_fleet:
        baseline, *sizes = reversed(history)
        table += figures.history_rows(baseline, sizes)
        table += figures.history_length_rows(same_fleet, sizes[-1])
        table.append(figures.first_read_row(sizes[-1]))
        table.append(figures.reconcile_row(baseline, sizes[-1]))
    else:
        table += [
            failed("6", f"history-{rows}")
            for rows, _ in (*HISTORY_SIZES, SAME_FLEET)
            if not jobs[f"history-{rows}"].result
        ]
    return table


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks")
    parser.add_argument(
        "--hours", type=float, default=24.0, help="simulated hours of the 10 and 100 fleets"
    )
    parser.add_argument(
        "--big-fleet-hours",
        type=float,
        default=BIG_FLEET_HOURS,
        help="simulated hours of the 1000 fleet (default a full day, ~7 min of a core)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    postgres_url = os.environ.get(POSTGRES_ENV, "")
    started = time.perf_counter()
    jobs = build_jobs(args.hours, args.big_fleet_hours, postgres_url)
    # The history sizes are compared with one another across processes (flat from 10k to
    # 1M rows): they run last, one at a time, so no other job shares the machine with them.
    history = [job for job in jobs.values() if job.spec["job"] == "history"]
    others = [job for job in jobs.values() if job.spec["job"] != "history"]
    progress = lambda line: print(line, file=sys.stderr)  # noqa: E731
    run_jobs(others, args.workers, progress)
    run_jobs(history, 1, progress)
    table = rows(jobs, postgres_url)
    print(f"\nstacks-opsd benchmarks on {machine()}\n")
    print(markdown(table))
    print(
        NOTES.format(
            naive=NAIVE_MINUTES,
            settled=SETTLED_HOUR,
            same_fleet_days=SAME_FLEET_DAYS,
            probes=START_PROBES,
            starts=START_PROBES + 1,
        )
    )
    missed = [row for row in table if row.met is False]
    print(f"\n{len(missed)} target(s) not met; took {time.perf_counter() - started:.0f} s.")
    return 0


NOTES = """
Notes:
- Fleet runs: the real Daemon (default config: limit 60/min, reserve 10, status 15 s,
  metrics 5 min, backups 30 min) on a ManualClock against the in-process simulator,
  started on a Monday on fleets the simulator has run for a week (7 retained backups
  each; the daemon catches up last week's pins at start); requests and 429s are
  counted on the wire. Each fleet runs the simulated hours shown (a day unless
  --hours/--big-fleet-hours say otherwise). The naive baseline (GET
  /containers/status/{{id}} per container every 15 s, real client, no budget, no
  retries) is steady from its first minute, so it runs {naive:g} simulated minutes.
- Freshness: worst age any container's data reached after the warm-up (exact, from
  fetch times), against the best the budget allows: the configured interval, or
  N / the kind's share of (limit - reserve - status - stats) requests per minute.
  In brackets, the highest stacks_opsd_refresh_lag_seconds{{kind}} the daemon itself
  exported (its own collector, read once a simulated minute).
- Restart latency: simulated seconds from each crash to the restart the simulator
  accepted; each run crashes distinct containers at seeded random moments, about
  2 a minute. A crash counts as "budget not exhausted" unless something on its way
  to the restart waited on the clock for the request budget (a used-up window);
  those are shown apart.
- Memory: VmRSS (after a full garbage collection) of the fleet run's own fresh
  process, which also holds the simulator. Hour 1 is still start-up: the pins of
  last week are made and their backup lists read again until about hour 3, and the
  simulator's Monday 02:00 backups land; the growth from hour {settled}, once every
  container's data was read and the pins caught up, is the one with a target.
- Audit: no target was set; the ratio is the hash chain's cost over plain inserts.
- History: audit databases of a year's mix for 1000 containers (weekly pins and unpins,
  restarts, crash loops with their backoff notes, gave_up episodes, some still given up,
  operator changes, interrupted actions), chained with the project's hashing and `audit
  verify`ed, built in a child process. In a fresh process per size (one size at a time,
  after every other job) the real Daemon starts on it on a Saturday (no pin due) against
  the in-process simulator: the first evaluation after the first poll is timed (and so
  it is in {probes} more starts before it, each a fresh process on a copy of the database
  that found the same marks and folded the same rows: the median of the {starts} is shown,
  with their spread, as one start takes tens of milliseconds on a shared machine; the
  file's pages are in the OS cache for each, just written), VmRSS read after it, then
  every evaluation until each backup list was read (weekly_pin's
  state is read in these, container by container: the largest is shown), then the quiet
  ones (metrics refreshed daily there, so the lists take 30 simulated minutes). "Read at
  start" counts the rows the first evaluation folds (auto_restart's); the 1M year is 16
  times denser than the 10k one, holds containers given up for months, and pins all
  1,000 containers (the 10k one 250), so its windows and episodes hold more rows. The
  {same_fleet_days}-day history is the year's fleet and daily activity over the shortest
  span that holds the same state (8 weeks of pins, 3 of pin attempts): against it, only
  the history is longer. Each database is started on as the daemon that wrote it left
  it: its last start reconciled it and read the policies' history, which leaves where
  each policy's open episodes begin (the episode marks), and it moved them once a day
  after, the last time a day before it stopped; that first read, with no mark
  yet, is shown apart. Reconciliation starts from the watermark the database's last run
  left; the first time it reads every `started` row once."""


if __name__ == "__main__":
    sys.exit(main())
