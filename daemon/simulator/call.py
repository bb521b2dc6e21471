"""What a route handler receives: the world, the caller's key, the request, path parameters.

Also how a handler reads a bounded whole-number query parameter (`lines`, `limit`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.simulator.exchange import Request, bad_request, parse_json_body
from daemon.simulator.spending import SpendingLedger
from daemon.simulator.state import ContainerRecord, KeyRecord, World


@dataclass
class Call:
    world: World
    key: KeyRecord
    request: Request
    params: dict[str, str]
    now: datetime
    ledger: SpendingLedger

    @property
    def account(self) -> str:
        return self.key.account

    def body(self, *, required: bool = True) -> dict[str, Any]:
        return parse_json_body(self.request.body, required=required)

    def container(self, param: str = "container_id") -> ContainerRecord:
        return self.world.container(self.account, self.params[param])


def bounded_count(call: Call, name: str, default: int, maximum: int) -> int:
    """A whole-number query parameter of at least 1; above `maximum` as `query_over_max` says."""
    raw = call.request.query.get(name, str(default))
    clamps = call.world.assumptions.query_over_max == "clamp"
    if not raw.isdigit() or int(raw) < 1 or (int(raw) > maximum and not clamps):
        raise bad_request(f"{name} must be an integer from 1 to {maximum}", name)
    return min(int(raw), maximum)
