"""Adapters around the handler core: the in-process httpx transport, the HTTP server, /_sim/.

In-process httpx transport: requests go through the same handler core as HTTP,
with no socket. Faults become what httpx would raise over a socket: a timeout
fault `httpx.ReadTimeout`; a dropped connection `httpx.RemoteProtocolError("Server
disconnected without sending a response.")`; a `slow` answer lets its hold time
pass on the simulator's clock (advanced, never slept on a wall clock it can
advance) and then raises `httpx.ReadTimeout`, as a client whose read timeout is
shorter than the hold would see.

The HTTP server: a ThreadingHTTPServer in a daemon thread, same handler core. A
timeout fault holds the connection unanswered for HANG_SECONDS (or until the
server closes) and then drops it, so clients see a read timeout. A `drop` fault
closes the connection at once without writing a byte. A `slow` answer is
written after its hold time (real seconds; closing the server ends the wait and
drops the connection). A 204 is written without a body or Content-Length.

Test controls over HTTP under /_sim/ (no auth), the same operations as the
`Simulator`'s methods in-process:

POST  /_sim/keys {"scopes","spending_cap","rate_limit","account"} -> {"key","account"}
POST  /_sim/containers {"key" or "account","name","template","plan","status"} -> {"id"}
POST  /_sim/containers/{id}/crash                     status `error` -> {"id","status"}
POST  /_sim/containers/{id}/status {"status": "starting"}  any status, listed in the guide
                                                      or not -> {"id","status"}
POST  /_sim/backups/fail {"container_id": id|null, "enabled": bool}
POST  /_sim/faults {Faults fields}     replaces every fault (unnamed fields: defaults)
PATCH /_sim/faults {Faults fields}     changes the named fields; other counts carry on
GET   /_sim/faults                     both answer {"faults": {...}, "remaining":
                                       {"burst_429","reject_mutations_429","after_apply"}}
POST  /_sim/assumptions {switches}     replaces every switch (unnamed: defaults)
PATCH /_sim/assumptions {switches}     changes the named switches
GET   /_sim/assumptions                all three answer {"assumptions": {...}}
POST  /_sim/clock/advance {"seconds": n}  GET /_sim/clock
GET   /_sim/mutations                  each with "answer": ok|garbage|empty204|drop|slow
GET   /_sim/traffic                    requests, 429s (forced by a fault / over the limit)

Faults fields (faults.py): error_rate, unavailable_rate, timeout_rate,
malformed_rate, latency, burst_429, retry_after, seed; after_apply
("garbage"|"empty204"|"drop"|"slow"|null), after_apply_count (default 1),
after_apply_match (regex searched in "METHOD /api/v1/path", null = all),
garbage_kind ("html"|"truncated"), slow_seconds (default 15);
reject_mutations_429 (next N mutating requests, uses retry_after); rate_headers
(faults.py). Switches: assumptions.py. A bad value answers 400.
"""

import re
import threading
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from daemon.simulator.api import Mutation
from daemon.simulator.assumptions import Assumptions
from daemon.simulator.exchange import (
    Refusal,
    Request,
    Response,
    SimulatedDisconnect,
    SimulatedTimeout,
    iso,
    json_response,
    not_found,
    parse_json_body,
)
from daemon.simulator.faults import Faults

if TYPE_CHECKING:  # the Simulator builds its adapters from this module
    from daemon.simulator.simulator import Simulator

DISCONNECTED = "Server disconnected without sending a response."
HANG_SECONDS = 30.0
CONTROL_PREFIX = "/_sim"


# -- the in-process httpx transport ----------------------------------------------------


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
        simulated = Request.incoming(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params.items()),
            headers=request.headers.items(),
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


# -- the HTTP server -------------------------------------------------------------------


class SimulatorServer:
    """A running server: `.url` (http://host:port), `.close()`."""

    def __init__(self, handle: Callable[[Request], Response], host: str, port: int) -> None:
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(handle, self._stopping))
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="stacks-simulator", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SimulatorServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler_class(handle: Callable[[Request], Response], stopping: threading.Event) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = "stacks-simulator"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request.incoming(
                method=self.command,
                path=unquote(parts.path),
                query=dict(reversed(parse_qsl(parts.query, keep_blank_values=True))),
                headers=self.headers.items(),
                body=self.rfile.read(length) if length else b"",
                client_ip=self.client_address[0],
            )
            try:
                answer = handle(request)
            except SimulatedTimeout:
                stopping.wait(HANG_SECONDS)
                self.close_connection = True
                return
            except SimulatedDisconnect:
                self.close_connection = True
                return
            if answer.hold_seconds > 0 and stopping.wait(answer.hold_seconds):
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.status != 204:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.status != 204:
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Silent: request lines are not worth a terminal line each."""

    return Handler


# -- test controls under /_sim/ --------------------------------------------------------


def handle_control(sim: "Simulator", request: Request) -> Response:
    route = request.path[len(CONTROL_PREFIX) :].rstrip("/")
    try:
        writes = request.method in ("POST", "PATCH")
        body = parse_json_body(request.body, required=False) if writes else {}
        return json_response(200, _dispatch(sim, request.method, route, body))
    except Refusal as refusal:
        return refusal.response()
    except (ValueError, TypeError) as error:
        return json_response(400, {"error": str(error)})


def _dispatch(sim: "Simulator", method: str, route: str, body: dict[str, Any]) -> Any:
    crash = re.fullmatch(r"/containers/([^/]+)/crash", route)
    status = re.fullmatch(r"/containers/([^/]+)/status", route)
    if (method, route) == ("POST", "/keys"):
        key = sim.create_key(**_named(body, "scopes", "spending_cap", "rate_limit", "account"))
        return {"key": key, "account": sim.account_of(key)}
    if (method, route) == ("POST", "/containers"):
        owner = body.get("key") or body.get("account")
        if not isinstance(owner, str):
            raise ValueError('give the owner as "key" (an API key) or "account" (8 hex digits)')
        cid = sim.seed_container(
            owner, body.get("name"), **_named(body, "template", "plan", "status")
        )
        return {"id": cid}
    if method == "POST" and crash:
        sim.crash(crash.group(1))
        return {"id": crash.group(1), "status": "error"}
    if method == "POST" and status:
        sim.set_status(status.group(1), body.get("status"))
        return {"id": status.group(1), "status": body.get("status")}
    if (method, route) == ("POST", "/backups/fail"):
        sim.fail_backups(body.get("container_id"), enabled=bool(body.get("enabled", True)))
        return {
            "container_id": body.get("container_id"),
            "enabled": bool(body.get("enabled", True)),
        }
    if (method, route) == ("POST", "/faults"):
        sim.set_faults(Faults.from_json(body))
        return _faults(sim)
    if (method, route) == ("PATCH", "/faults"):
        sim.amend_faults(**body)
        return _faults(sim)
    if (method, route) == ("GET", "/faults"):
        return _faults(sim)
    if (method, route) == ("POST", "/assumptions"):
        sim.set_assumptions(Assumptions.from_json(body))
        return {"assumptions": sim.assumptions.to_json()}
    if (method, route) == ("PATCH", "/assumptions"):
        sim.amend_assumptions(**body)
        return {"assumptions": sim.assumptions.to_json()}
    if (method, route) == ("GET", "/assumptions"):
        return {"assumptions": sim.assumptions.to_json()}
    if (method, route) == ("POST", "/clock/advance"):
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f'"seconds" must be a number >= 0, got {seconds!r}')
        sim.advance(seconds)
        return _clock(sim)
    if (method, route) == ("GET", "/clock"):
        return _clock(sim)
    if (method, route) == ("GET", "/mutations"):
        return {"mutations": [_mutation(m) for m in sim.mutations()]}
    if (method, route) == ("GET", "/traffic"):
        return {"traffic": asdict(sim.traffic())}
    raise not_found(f"No simulator control {method} {CONTROL_PREFIX}{route}")


def _named(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The fields of `body` among `names`; the others keep the Simulator method's defaults."""
    return {name: body[name] for name in names if name in body}


def _faults(sim: "Simulator") -> dict[str, Any]:
    return {"faults": asdict(sim.faults), "remaining": sim.faults_remaining()}


def _clock(sim: "Simulator") -> dict[str, Any]:
    now = sim.now()
    return {"now": iso(now), "unix": now.timestamp()}


def _mutation(m: Mutation) -> dict[str, Any]:
    return {**asdict(m), "at": iso(m.at)}
