"""A faithful local STACKS API for tests, the demo and trying policies safely.

    from daemon.simulator import Simulator, Faults, ALL_SCOPES
    sim = Simulator(clock=ManualClock(), seed=1)
    key = sim.create_key()
    cid = sim.seed_container(key, "web")
    client = httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")

It never imports the client (daemon.stacks): it is what catches the client's misreadings.

Where the guide is silent, the simulator decides (and the client must cope):
- success answers are 200, except create and manual backup (202); error bodies
  are `{"error": ...}` (404, 401, 403, 402, 429) or `{"success": false, "error",
  "field"?}` (400).
- `PUT status` answers `{"success","message","data":{"id","status"}}` and is
  refused (400) while a container is `pending`; restart/start are immediate.
- certificates (`data.privateKey`) and VPN configs (`data.config`, WireGuard
  text) are JSON; a certificate of a managed service is 400.
- logs: `data.logs` is a list of lines; `lines` outside 1..500 is 400; backups
  `limit` outside 1..100 is 400.
- backup stats of an account without backups: counts "0", size "0",
  `last_backup_at` null (newest `created_at` otherwise).
- scheduled backups only for running containers; retention at each daily slot;
  pin needs a completed backup; restore needs a completed backup and a running
  container (200, the container restarts); deleting a container deletes its backups.
- adding allowed IPs needs external access enabled (400 otherwise).
- VPN scopes: reads containers:read, changes containers:manage.
"""

from daemon.simulator.faults import Faults
from daemon.simulator.keys import ALL_SCOPES
from daemon.simulator.mutations import Mutation
from daemon.simulator.simulator import Simulator
from daemon.simulator.traffic import Traffic

__all__ = ["ALL_SCOPES", "Faults", "Mutation", "Simulator", "Traffic"]
