"""In-process httpx transport: requests go through the same handler core as HTTP, with no socket."""

from collections.abc import Callable

import httpx

from daemon.simulator.exchange import Request, Response, SimulatedTimeout


class SimulatorTransport(httpx.BaseTransport):
    """`httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")`."""

    def __init__(self, handle: Callable[[Request], Response], client_ip: str) -> None:
        self._handle = handle
        self._client_ip = client_ip

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        simulated = Request(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params.items()),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=request.read(),
            client_ip=self._client_ip,
        )
        try:
            answer = self._handle(simulated)
        except SimulatedTimeout as fault:
            raise httpx.ReadTimeout(f"simulated timeout: {fault}", request=request) from None
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
