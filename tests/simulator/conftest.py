"""Fixtures: a simulator on a ManualClock, an httpx client on its in-process transport, and
`backend`: the same test run in-process and against a real simulator process over HTTP."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.simulator import Simulator
from tests.simulator.backends import InProcess, OverHttp
from tests.support.processes import SimulatorProcess

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


@pytest.fixture(scope="module")
def simulator_process(tmp_path_factory) -> Iterator[SimulatorProcess]:
    """One real `stacks-opsd simulator` on loopback for a module's over-HTTP tests."""
    process = SimulatorProcess(tmp_path_factory.mktemp("simulator") / "simulator.log")
    yield process
    process.stop()


@pytest.fixture(params=["in-process", "http"])
def backend(request, sim, clock) -> Iterator[InProcess | OverHttp]:
    """The simulator reached in-process, then (second run) over real HTTP."""
    if request.param == "in-process":
        reached: InProcess | OverHttp = InProcess(sim, clock)
    else:
        reached = OverHttp(request.getfixturevalue("simulator_process"))
        reached.reset()
    yield reached
    if isinstance(reached, OverHttp):
        reached.reset()
    reached.close()
