"""A faithful local STACKS API for tests, the demo and trying policies safely.

    from daemon.simulator import Simulator, Faults, ALL_SCOPES
    sim = Simulator(clock=ManualClock(), seed=1)
    key = sim.create_key()
    cid = sim.seed_container(key, "web")
    client = httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")

It never imports the client (daemon.stacks): it is what catches the client's misreadings.
"""

from daemon.simulator.faults import Faults
from daemon.simulator.keys import ALL_SCOPES
from daemon.simulator.mutations import Mutation
from daemon.simulator.simulator import Simulator

__all__ = ["ALL_SCOPES", "Faults", "Mutation", "Simulator"]
