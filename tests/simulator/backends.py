"""Two ways to reach a simulator in a test: its in-process transport, or a real process over HTTP.

Both offer the same small surface (keys, seeded containers, faults, assumptions,
the mutation log), so one test body checks what a plain `httpx.Client` sees
either way. The HTTP one drives a real `stacks-opsd simulator` on loopback
through `/_sim/`; it is shared by the tests of a module, so each test works on
its own key (its own account) and reads the mutation log of its own containers.
"""

from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx

from daemon.clock import ManualClock
from daemon.simulator import Faults, Simulator
from tests.support.processes import SimulatorProcess

TEST_RATE_LIMIT = 10_000


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class InProcess:
    """A Simulator on a ManualClock, reached through `sim.transport()`."""

    name = "in-process"

    def __init__(self, sim: Simulator, clock: ManualClock) -> None:
        self.sim = sim
        self.clock = clock

    def api(self, key: str | None, timeout: float = 5.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(
            transport=self.sim.transport(),
            base_url="http://sim/api/v1",
            headers=headers,
            timeout=timeout,
        )

    def new_key(self, rate_limit: int = TEST_RATE_LIMIT) -> str:
        return self.sim.create_key(rate_limit=rate_limit)

    def seed(self, key: str, name: str, template: str = "nodejs", status: str = "running") -> str:
        return self.sim.seed_container(key, name, template=template, status=status)

    def set_faults(self, **fields: Any) -> None:
        self.sim.set_faults(Faults(**fields))

    def amend_faults(self, **fields: Any) -> None:
        self.sim.amend_faults(**fields)

    def remaining(self) -> dict[str, int]:
        return self.sim.faults_remaining()

    def assume(self, **switches: Any) -> None:
        self.sim.amend_assumptions(**switches)

    def set_status(self, container_id: str, status: str) -> None:
        self.sim.set_status(container_id, status)

    def mutations(self, *container_ids: str) -> list[dict[str, Any]]:
        entries = [{**asdict(m), "answer": str(m.answer)} for m in self.sim.mutations()]
        return [m for m in entries if m["container_id"] in container_ids]

    def traffic(self) -> dict[str, int]:
        return asdict(self.sim.traffic())

    def now(self) -> datetime:
        return self.sim.now()

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)

    def close(self) -> None:
        """Nothing to stop."""


class OverHttp:
    """A real `stacks-opsd simulator` process, reached over loopback HTTP."""

    name = "http"

    def __init__(self, process: SimulatorProcess) -> None:
        self.process = process
        self._control = httpx.Client(base_url=f"{process.root}/_sim", timeout=10)

    def control(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        response = self._control.request(method, path, json=body if body else None)
        response.raise_for_status()
        return response.json()

    def api(self, key: str | None, timeout: float = 5.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.process.base_url, headers=headers, timeout=timeout)

    def new_key(self, rate_limit: int = TEST_RATE_LIMIT) -> str:
        return self.control("POST", "/keys", rate_limit=rate_limit)["key"]

    def seed(self, key: str, name: str, template: str = "nodejs", status: str = "running") -> str:
        body = {"key": key, "name": name, "template": template, "status": status}
        return self.control("POST", "/containers", **body)["id"]

    def set_faults(self, **fields: Any) -> None:
        self.control("POST", "/faults", **fields)

    def amend_faults(self, **fields: Any) -> None:
        self.control("PATCH", "/faults", **fields)

    def remaining(self) -> dict[str, int]:
        return self.control("GET", "/faults")["remaining"]

    def assume(self, **switches: Any) -> None:
        self.control("PATCH", "/assumptions", **switches)

    def set_status(self, container_id: str, status: str) -> None:
        self.control("POST", f"/containers/{container_id}/status", status=status)

    def mutations(self, *container_ids: str) -> list[dict[str, Any]]:
        entries = self.control("GET", "/mutations")["mutations"]
        return [m for m in entries if m["container_id"] in container_ids]

    def traffic(self) -> dict[str, int]:
        return self.control("GET", "/traffic")["traffic"]

    def now(self) -> datetime:
        return parse_iso(self.control("GET", "/clock")["now"])

    def advance(self, seconds: float) -> None:
        self.control("POST", "/clock/advance", seconds=seconds)

    def reset(self) -> None:
        """No faults and the default assumptions, as a fresh simulator has."""
        self.control("POST", "/faults")
        self.control("POST", "/assumptions")

    def close(self) -> None:
        self._control.close()
