"""In-process httpx transport: requests go through the same handler core as HTTP, with no socket.

Faults become what httpx would raise over a socket: a timeout fault
`httpx.ReadTimeout`; a dropped connection `httpx.RemoteProtocolError("Server
disconnected without sending a response.")`; a `slow` answer lets its hold time
pass on the simulator's clock (advanced, never slept on a wall clock it can
advance) and then raises `httpx.ReadTimeout`, as a client whose read timeout is
shorter than the hold would see.
"""

from collections.abc import Callable

import httpx

from daemon.simulator.exchange import Request, Response, SimulatedDisconnect, SimulatedTimeout

DISCONNECTED = "Server disconnected without sending a response."


class SimulatorTransport(httpx.BaseTransport):
    """`httpx.Client(transport=sim.transport(), base_url="http://sim/api/v1")`."""

    def __init__(
        self,
        handle: Callable[[Request], Response],
        client_ip: str,
        let_time_pass: Callable[[float], None],
    ) -> None:
        self._handle = handle
        self._client_ip = client_ip
        self._let_time_pass = let_time_pass

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
        except SimulatedDisconnect:
            raise httpx.RemoteProtocolError(DISCONNECTED, request=request) from None
        if answer.hold_seconds > 0:
            self._let_time_pass(answer.hold_seconds)
            raise httpx.ReadTimeout(
                f"simulated slow answer: {request.method} {request.url.path} was applied, "
                f"its answer held back {answer.hold_seconds:g} s",
                request=request,
            )
        return httpx.Response(
            answer.status, headers=answer.headers, content=answer.body, request=request
        )
