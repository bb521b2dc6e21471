"""The benchmark jobs, each run in a fresh interpreter: `python -m tests.benchmarks.jobs SPEC`.

SPEC is a JSON object `{"job": NAME, ...arguments}`; the job prints its result
as one JSON object on stdout. A fresh process per job gives the memory figure a
clean baseline and lets jobs run side by side on every core.
"""

import dataclasses
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from daemon.config import Config
from tests.benchmarks.audit_appends import postgres_urls, run_audit, sqlite_urls
from tests.benchmarks.fleet_cycle import run_cycle
from tests.benchmarks.fleet_day import run_fleet
from tests.benchmarks.history_scaling import (
    build_and_verify,
    first_evaluation_of_start,
    run_history,
)
from tests.benchmarks.metrics_render import run_render
from tests.benchmarks.naive_poller import run_naive


def fleet(
    containers: int,
    hours: float,
    crashes: int = 0,
    seed: int = 1,
    rss_at_hours: tuple = (),
    history_days: int = 0,
    status_seconds: float | None = None,
) -> dict:
    """`status_seconds` None: the default ("auto") status interval, else that fixed one."""
    config = Config()
    if status_seconds is not None:
        poll = dataclasses.replace(config.poll, status_interval=timedelta(seconds=status_seconds))
        config = dataclasses.replace(config, poll=poll)
    with tempfile.TemporaryDirectory(prefix="stacks-opsd-bench-") as directory:
        result = run_fleet(
            Path(directory),
            containers,
            timedelta(hours=hours),
            crashes=crashes,
            seed=seed,
            rss_at_hours=tuple(rss_at_hours),
            history=timedelta(days=history_days),
            config=config,
        )
    return dataclasses.asdict(result)


def cycle(containers: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="stacks-opsd-bench-") as directory:
        return dataclasses.asdict(run_cycle(Path(directory), containers, rounds))


def naive(containers: int, minutes: float) -> dict:
    return dataclasses.asdict(run_naive(containers, timedelta(minutes=minutes)))


def render(containers: int, rounds: int) -> dict:
    return dataclasses.asdict(run_render(containers, rounds))


def audit(database: str, appends: int, rounds: int, url: str = "") -> dict:
    with tempfile.TemporaryDirectory(prefix="stacks-opsd-bench-") as directory:
        urls = postgres_urls(url) if database == "postgresql" else sqlite_urls(Path(directory))
        return dataclasses.asdict(run_audit(database, urls, appends, rounds))


def history(containers: int, rows: int, span_days: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="stacks-opsd-bench-") as directory:
        result = run_history(Path(directory), containers, rows, timedelta(days=span_days))
    return dataclasses.asdict(result)


def history_build(url: str, containers: int, rows: int, span_days: float, seed: int) -> dict:
    return build_and_verify(url, containers, rows, timedelta(days=span_days), seed)


def history_start(directory: str, containers: int, seed: int) -> dict:
    return first_evaluation_of_start(Path(directory), containers, seed)


JOBS = {
    "fleet": fleet,
    "naive": naive,
    "render": render,
    "audit": audit,
    "history": history,
    "history-build": history_build,
    "history-start": history_start,
    "cycle": cycle,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    job = JOBS[spec.pop("job")]
    print(json.dumps(job(**spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
