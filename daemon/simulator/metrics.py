"""`GET /containers/{id}/metrics`: the last hour, one sample a minute, deterministic per container.

Shape (ours; the guide only names the arrays):
`{"success":true,"data":{"cpu":[{"timestamp":ISO,"value":percent}],"memory":[MB],"disk":[MB],
"network_in":[bytes/s],"network_out":[bytes/s]}}`. Samples start at the container's
creation; a container that is not running uses no CPU, memory or network.
"""

import zlib
from datetime import datetime, timedelta

from daemon.simulator.call import Call
from daemon.simulator.container_views import allocation
from daemon.simulator.exchange import Reply
from daemon.simulator.isotime import iso
from daemon.simulator.state import ContainerRecord

SAMPLES = 60
STEP = timedelta(minutes=1)
SERIES = ("cpu", "memory", "disk", "network_in", "network_out")


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`."""
    return zlib.crc32(":".join(map(str, parts)).encode()) / 2**32


def sample(container: ContainerRecord, series: str, minute: datetime) -> float:
    _, ram, storage = allocation(container)
    level, wobble = _unit(container.id, series), _unit(container.id, series, minute.isoformat())
    if series == "disk":
        return round(storage * (0.05 + 0.4 * level), 1)
    if container.status != "running":
        return 0.0
    if series == "cpu":
        return round(min(100.0, 3 + 50 * level + 20 * wobble), 2)
    if series == "memory":
        return round(ram * (0.2 + 0.5 * level + 0.1 * wobble), 1)
    return round(2_000 + 400_000 * level * (0.5 + wobble), 1)


def metrics(call: Call) -> Reply:
    c = call.container()
    newest = call.now.replace(second=0, microsecond=0)
    minutes = [newest - back * STEP for back in range(SAMPLES - 1, -1, -1)]
    minutes = [m for m in minutes if m >= c.created_at.replace(second=0, microsecond=0)]
    if c.status == "pending":
        minutes = []
    data = {
        series: [{"timestamp": iso(m), "value": sample(c, series, m)} for m in minutes]
        for series in SERIES
    }
    return Reply({"success": True, "data": data})
