"""The executor's tests run on the one simulated-time harness, as the leader, at START."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from tests.support.simulated_run import AMPLE_RATE_LIMIT, SimulatedRun, config_with

START = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path) -> Iterator[Callable[..., SimulatedRun]]:
    """`world(dry_run=False, **policy_options)`: a run whose daemon leads, so its executor
    acts at once (`world().daemon.executor.perform(...)`); the clock stands still until
    the test moves it."""
    runs: list[SimulatedRun] = []

    def start(dry_run: bool = False, **policies: dict) -> SimulatedRun:
        config = config_with(dry_run=dry_run, **policies)
        run = SimulatedRun(tmp_path, config, start=START, rate_limit=AMPLE_RATE_LIMIT)
        run.daemon.leadership()
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()
