"""Test controls over HTTP under /_sim/ (no auth), the same operations as in-process.

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
(rate_headers.py). Switches: assumptions.py. A bad value answers 400.
"""

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from daemon.simulator.assumptions import Assumptions
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
        writes = request.method in ("POST", "PATCH")
        body = parse_json_body(request.body, required=False) if writes else {}
        return json_response(200, _dispatch(sim, request.method, route, body))
    except ApiError as error:
        return json_response(error.status, error.body)
    except (ValueError, TypeError) as error:
        return json_response(400, {"error": str(error)})


def _dispatch(sim: "Simulator", method: str, route: str, body: dict[str, Any]) -> Any:
    crash = re.fullmatch(r"/containers/([^/]+)/crash", route)
    status = re.fullmatch(r"/containers/([^/]+)/status", route)
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
    raise ApiError(404, {"error": f"No simulator control {method} {CONTROL_PREFIX}{route}"})


def _faults(sim: "Simulator") -> dict[str, Any]:
    return {"faults": asdict(sim.faults), "remaining": sim.faults_remaining()}


def _clock(sim: "Simulator") -> dict[str, Any]:
    now = sim.now()
    return {"now": iso(now), "unix": now.timestamp()}


def _mutation(m: Any) -> dict[str, Any]:
    return {**asdict(m), "at": iso(m.at)}
