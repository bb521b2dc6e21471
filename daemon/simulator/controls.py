"""Test controls over HTTP under /_sim/ (no auth), the same operations as in-process.

POST /_sim/keys {"scopes","spending_cap","rate_limit","account"} -> {"key","account"}
POST /_sim/containers {"key" or "account","name","template","plan","status"} -> {"id"}
POST /_sim/containers/{id}/crash
POST /_sim/backups/fail {"container_id": id|null, "enabled": bool}
POST /_sim/faults {Faults fields}        GET /_sim/faults
POST /_sim/clock/advance {"seconds": n}  GET /_sim/clock
GET  /_sim/mutations
GET  /_sim/traffic                       requests, 429s (forced by a burst / over the limit)
"""

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from daemon.simulator.exchange import ApiError, Request, Response, json_response, parse_json_body
from daemon.simulator.faults import Faults
from daemon.simulator.isotime import iso
from daemon.simulator.keys import ALL_SCOPES

if TYPE_CHECKING:
    from daemon.simulator.simulator import Simulator

CONTROL_PREFIX = "/_sim"


def handle_control(sim: "Simulator", request: Request) -> Response:
    route = request.path[len(CONTROL_PREFIX) :].rstrip("/")
    try:
        body = parse_json_body(request.body, required=False) if request.method == "POST" else {}
        return json_response(200, _dispatch(sim, request.method, route, body))
    except ApiError as error:
        return json_response(error.status, error.body)
    except (ValueError, TypeError) as error:
        return json_response(400, {"error": str(error)})


def _dispatch(sim: "Simulator", method: str, route: str, body: dict[str, Any]) -> Any:
    crash = re.fullmatch(r"/containers/([^/]+)/crash", route)
    if (method, route) == ("POST", "/keys"):
        key = sim.create_key(
            scopes=body.get("scopes", ALL_SCOPES),
            spending_cap=body.get("spending_cap"),
            rate_limit=body.get("rate_limit", 60),
            account=body.get("account"),
        )
        return {"key": key, "account": sim.account_of(key)}
    if (method, route) == ("POST", "/containers"):
        owner = body.get("key") or body.get("account")
        if not isinstance(owner, str):
            raise ValueError('give the owner as "key" (an API key) or "account" (8 hex digits)')
        cid = sim.seed_container(
            owner,
            body.get("name"),
            template=body.get("template", "nodejs"),
            plan=body.get("plan", "basic"),
            status=body.get("status", "running"),
        )
        return {"id": cid}
    if method == "POST" and crash:
        sim.crash(crash.group(1))
        return {"id": crash.group(1), "status": "error"}
    if (method, route) == ("POST", "/backups/fail"):
        sim.fail_backups(body.get("container_id"), enabled=bool(body.get("enabled", True)))
        return {
            "container_id": body.get("container_id"),
            "enabled": bool(body.get("enabled", True)),
        }
    if (method, route) == ("POST", "/faults"):
        sim.set_faults(Faults.from_json(body))
        return {"faults": asdict(sim.faults)}
    if (method, route) == ("GET", "/faults"):
        return {"faults": asdict(sim.faults)}
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
    raise ApiError(404, {"error": f"No simulator control {method} {CONTROL_PREFIX}{route}"})


def _clock(sim: "Simulator") -> dict[str, Any]:
    now = sim.now()
    return {"now": iso(now), "unix": now.timestamp()}


def _mutation(m: Any) -> dict[str, Any]:
    return {**asdict(m), "at": iso(m.at)}
