"""What a route handler receives: the world, the caller's key, the request, path parameters."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.simulator.exchange import Request, parse_json_body
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
