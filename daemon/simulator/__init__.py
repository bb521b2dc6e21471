"""A faithful local STACKS API for tests, the demo and trying policies safely.

    from daemon.simulator import Simulator, Faults, ALL_SCOPES
    sim = Simulator(clock=ManualClock(), seed=1)
    key = sim.create_key()
    cid = sim.seed_container(key, "web")
    client = httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")

It never imports the client (daemon.stacks): it is what catches the client's misreadings.

A request's way through it, one module per idea:

- simulator.py: the public `Simulator`, its test controls in-process, the entry.
- adapters.py: the in-process httpx transport, the HTTP server, `/_sim/` controls.
- api.py: the handler core for /api/v1: the endpoint table, the order of
  checks, the mutation log (the ground truth for audits).
- exchange.py: what passes through the core: `Request`, `Call`, `Reply`,
  `Refusal`, `Response`; JSON and time as the API writes them.
- limits.py: keys, Bearer auth, scopes, dashboard-only endpoints, the rate
  limit, spending caps, traffic counts.
- faults.py: injected faults, answers after applying a mutation, lying rate headers.
- assumptions.py: every decision where the guide is silent, each a switch of
  `Assumptions` (`Simulator(assumptions=...)`, `sim.amend_assumptions(...)`,
  `/_sim/assumptions`).
- containers.py, container_details.py, network_access.py, backups.py: the
  endpoints, by what they act on.
- world.py: the state they read and change, and the timeline of due events;
  templates.py: the template catalogue with its plans and prices.
"""

from daemon.simulator.api import Mutation
from daemon.simulator.assumptions import Assumptions
from daemon.simulator.exchange import Request
from daemon.simulator.faults import Faults, MutationAnswer, RateHeaderMode
from daemon.simulator.limits import ALL_SCOPES, Traffic
from daemon.simulator.simulator import Simulator
from daemon.simulator.templates import TEMPLATES

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
