"""Tiny runs of every benchmark, so they keep working: structure and simulated-time facts only.

Nothing here times anything on the wall clock; the figures come from `make bench`.
"""

import dataclasses
import json
from datetime import timedelta

import pytest
from prometheus_client import generate_latest

from daemon.config import Config
from tests.benchmarks import figures
from tests.benchmarks.audit_appends import postgres_urls, run_audit, sqlite_urls
from tests.benchmarks.fleet_cycle import run_cycle
from tests.benchmarks.fleet_day import run_fleet
from tests.benchmarks.job_runner import Job, run_jobs
from tests.benchmarks.jobs import main as run_job
from tests.benchmarks.metrics_render import bare_registry, daemon_registry, run_render
from tests.benchmarks.naive_poller import NaiveResult, run_naive
from tests.benchmarks.table import markdown
from tests.support.integration import postgres_url

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SAMPLE_EVERY = 60.0  # the lag metric is read once a simulated minute


def test_a_small_fleet_hour_stays_in_budget_fresh_and_restarts_every_crash(tmp_path):
    fleet = run_fleet(tmp_path, 10, HOUR, crashes=5, rss_at_hours=(0, 1), history=7 * DAY)

    # "auto": the idle budget goes to status polls, about one every 1.4 s at 10 containers
    assert 3600 / 1.6 <= fleet.status_polls <= 3600 / 1.0 + 1
    assert fleet.throttled == 0
    assert fleet.requests_per_minute <= 60
    assert len(fleet.restart_latencies) == 5 and fleet.crashes_not_restarted == 0
    assert all(0 <= latency <= 2 for latency in fleet.restart_latencies)
    for kind in ("metrics", "backups"):
        assert fleet.freshness(kind) >= 0.9
        # The daemon's own lag metric never exceeds the true worst age, and sees it.
        assert fleet.worst[kind] - SAMPLE_EVERY <= fleet.lag_metric_max[kind] <= fleet.worst[kind]
    assert set(fleet.rss_bytes) == {"0", "1"}


def test_a_fleet_larger_than_the_budget_is_stretched_and_still_as_fresh_as_allowed(tmp_path):
    config = Config()
    config = dataclasses.replace(
        config, api=dataclasses.replace(config.api, rate_limit_per_minute=12, reserve_for_actions=2)
    )
    fleet = run_fleet(tmp_path, 40, 2 * HOUR, config=config)

    assert fleet.best["metrics"] > config.poll.metrics_interval.total_seconds()  # stretched
    assert fleet.throttled == 0
    assert fleet.requests_per_minute <= 12
    assert fleet.freshness("metrics") >= 0.9


def test_the_naive_poller_is_throttled_once_it_outgrows_the_limit():
    small = run_naive(10, timedelta(minutes=1))
    large = run_naive(100, timedelta(minutes=1))

    assert (small.requests, small.throttled) == (40, 0)
    assert (large.requests, large.throttled) == (400, 400 - 60)
    assert large.statuses_read == 60


def test_the_bare_registry_holds_the_same_series_as_the_daemons():
    daemon = daemon_registry(5)

    def series(registry) -> set[str]:
        lines = generate_latest(registry).decode().splitlines()
        return {
            line.rsplit(" ", 1)[0]
            for line in lines
            if not line.startswith("#") and "_created" not in line and "process_" not in line
        }

    assert series(bare_registry(daemon)) == series(daemon)
    result = run_render(containers=5, rounds=1)
    assert result.series > 5 * 20 and result.daemon_seconds > 0 and result.bare_seconds > 0


def test_audit_appends_count_both_sides_on_sqlite(tmp_path):
    result = run_audit("sqlite", sqlite_urls(tmp_path), appends=5, rounds=2)

    assert result.appends == 10
    assert result.chain_per_second > 0 and result.plain_per_second > 0


def test_audit_appends_count_both_sides_on_postgresql():
    result = run_audit("postgresql", postgres_urls(postgres_url()), appends=3, rounds=2)

    assert result.appends == 6


def test_a_job_reports_json_and_the_table_shows_it(tmp_path, capsys):
    run_job(["jobs", json.dumps({"job": "naive", "containers": 10, "minutes": 1})])
    naive = NaiveResult(**json.loads(capsys.readouterr().out))
    fleet = run_fleet(tmp_path, 10, timedelta(minutes=20))

    rows = figures.fleet_rows(fleet, naive, limit=60)
    table = markdown(rows)

    assert [row.met for row in rows[:2]] == [True, True]
    assert "naive 40/min" in table and "| 429 answers, 10 containers" in table


@pytest.mark.parametrize("spec", [{"job": "naive", "containers": 10, "minutes": 1}])
def test_jobs_run_in_their_own_process(spec):
    job = Job("tiny naive run", spec)
    progress: list[str] = []

    run_jobs([job], workers=1, progress=progress.append)

    assert job.error is None and job.result["requests"] == 40
    assert progress[-1].endswith("tiny naive run")


def test_a_status_cycle_is_timed_with_every_backup_list_read(tmp_path):
    cycle = run_cycle(tmp_path, 50, rounds=2)
    assert cycle.containers == 50 and cycle.rounds == 2
    assert 0 < cycle.cycle_seconds < cycle.interval_seconds
    assert "status cycle (poll + evaluation), 50 containers" in markdown([figures.cycle_row(cycle)])
