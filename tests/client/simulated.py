"""Fixtures that put the client in front of the STACKS simulator, in-process or over a socket."""

import pytest

from daemon.simulator import Simulator
from daemon.stacks import ApiKey, RateBudget, StacksClient


@pytest.fixture
def sim(clock) -> Simulator:
    return Simulator(clock=clock, seed=7)


@pytest.fixture(params=["in-process", "socket"])
def connect(request, sim, clock):
    """`connect(secret, **client_kwargs) -> StacksClient`, in-process or over 127.0.0.1."""
    server = sim.serve("127.0.0.1", 0) if request.param == "socket" else None
    clients = []

    def make(secret: str, **kwargs) -> StacksClient:
        kwargs.setdefault("budget", RateBudget(clock=clock))
        if server is None:
            kwargs.setdefault("transport", sim.transport())
            base_url = "http://sim/api/v1"
        else:
            base_url = server.url + "/api/v1"
        client = StacksClient(ApiKey(secret), base_url=base_url, clock=clock, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    if server is not None:
        server.close()
