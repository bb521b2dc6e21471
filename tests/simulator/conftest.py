"""Fixtures: a simulator on a ManualClock and an httpx client on its in-process transport."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.simulator import Simulator

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, mid-morning UTC


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock, seed=7)


@pytest.fixture
def key(sim: Simulator) -> str:
    return sim.create_key(rate_limit=10_000)


def client_for(sim: Simulator, key: str | None, client_ip: str = "203.0.113.45") -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(
        transport=sim.transport(client_ip=client_ip), base_url="http://sim/api/v1", headers=headers
    )


@pytest.fixture
def api(sim: Simulator, key: str) -> Iterator[httpx.Client]:
    with client_for(sim, key) as client:
        yield client
