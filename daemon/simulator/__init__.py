"""A faithful local STACKS API for tests, the demo and trying policies safely.

    from daemon.simulator import Simulator, Faults, ALL_SCOPES
    sim = Simulator(clock=ManualClock(), seed=1)
    key = sim.create_key()
    cid = sim.seed_container(key, "web")
    client = httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")

It never imports the client (daemon.stacks): it is what catches the client's misreadings.

Where the guide is silent the simulator decides, in one place: assumptions.py
lists every such decision, and each behaviour is a switch of `Assumptions`
(`Simulator(assumptions=...)`, `sim.amend_assumptions(...)`, `/_sim/assumptions`).
Faults (faults.py) include answers after applying a mutation (after_apply.py),
429s on mutations and lying rate-limit headers (rate_headers.py); test controls
over HTTP are listed in controls.py.
"""

from daemon.simulator.after_apply import MutationAnswer
from daemon.simulator.assumptions import Assumptions
from daemon.simulator.catalog import TEMPLATES
from daemon.simulator.exchange import Request
from daemon.simulator.faults import Faults
from daemon.simulator.keys import ALL_SCOPES
from daemon.simulator.mutations import Mutation
from daemon.simulator.rate_headers import RateHeaderMode
from daemon.simulator.simulator import Simulator
from daemon.simulator.traffic import Traffic

__all__ = [
    "ALL_SCOPES",
    "TEMPLATES",
    "Assumptions",
    "Faults",
    "Mutation",
    "MutationAnswer",
    "RateHeaderMode",
    "Request",
    "Simulator",
    "Traffic",
]
