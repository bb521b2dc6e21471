"""What goes in and out of the simulator's handler core: requests, calls, replies, refusals.

The core (api.py) sees a `Request` (method, path, query, headers, body bytes,
client ip) and answers a `Response` (status, headers, body bytes); the in-process
httpx transport and the HTTP server (adapters.py) are thin adapters around it.
Below the core, a route handler receives a `Call` (the request, the world, the
caller's key) and answers a `Reply`, or raises a `Refusal` (an error answer with
its status and JSON body) from anywhere below the core. Two exceptions stand for
faults with no answer at all: `SimulatedTimeout` and `SimulatedDisconnect`.

Also how the API writes JSON and time (ISO 8601 with milliseconds and `Z`).
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: world.py and limits.py import this module
    from daemon.simulator.limits import SpendingLedger
    from daemon.simulator.world import BackupRecord, ContainerRecord, KeyRecord, World


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    client_ip: str

    @classmethod
    def incoming(
        cls,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Iterable[tuple[str, str]],
        body: bytes,
        client_ip: str,
    ) -> "Request":
        """A request as an adapter received it, its header names put in lower case."""
        lowered = {name.lower(): value for name, value in headers}
        return cls(method, path, query, lowered, body, client_ip)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    hold_seconds: float = 0.0  # a `slow` fault: the answer is ready but held back this long


@dataclass
class Reply:
    """What a route handler answers; the ids feed the mutation log."""

    payload: Any
    status: int = 200
    container_id: str | None = None
    backup_id: int | None = None


class Refusal(Exception):
    """An error answer (status and JSON body) raised anywhere below the handler core."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body.get('error')}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self, headers: Mapping[str, str] | None = None) -> Response:
        """The answer: its JSON body, with `headers` and then its own (Retry-After)."""
        return json_response(self.status, self.body, {**(headers or {}), **self.headers})


class SimulatedTimeout(Exception):
    """A fault: the request is dropped unanswered (the transport raises httpx.ReadTimeout)."""


class SimulatedDisconnect(Exception):
    """A fault: the connection closes with no answer at all (httpx.RemoteProtocolError)."""


def bad_request(message: str, field: str | None = None) -> Refusal:
    body: dict[str, Any] = {"success": False, "error": message}
    if field:
        body["field"] = field
    return Refusal(400, body)


def not_found(message: str) -> Refusal:
    return Refusal(404, {"error": message})


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, all_headers, json.dumps(payload, separators=(",", ":")).encode())


def parse_json_body(body: bytes, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; 400 when it is not one."""
    if not body.strip():
        if required:
            raise bad_request("Request body must be a JSON object")
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Request body must be a JSON object")
    return data


def check_field_names(cls: type, data: Mapping[str, Any], what: str) -> None:
    """ValueError when `data` names a field the dataclass `cls` lacks (`what`: "assumption(s)")."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {sorted(names)}")


@lru_cache(maxsize=8192)  # every list answer writes each container's created_at again
def iso(moment: datetime) -> str:
    """`2026-02-25T10:30:00.000Z`: time as the STACKS API writes it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Call:
    """What a route handler receives: the world, the caller's key, the request, path parameters."""

    world: "World"
    key: "KeyRecord"
    request: Request
    params: dict[str, str]
    now: datetime
    ledger: "SpendingLedger"

    @property
    def account(self) -> str:
        return self.key.account

    def body(self, *, required: bool = True) -> dict[str, Any]:
        return parse_json_body(self.request.body, required=required)

    def container(self, param: str = "container_id") -> "ContainerRecord":
        """The caller's container, or 404 (another account's containers do not exist for it)."""
        container_id = self.params[param]
        found = self.world.containers.get(container_id)
        if found is None or found.account != self.account:
            raise not_found(f"Container {container_id} not found")
        return found

    def backup(self, param: str = "backup_id") -> "BackupRecord":
        """The caller's backup, or 404."""
        backup_id = self.params[param]
        found = self.world.backups.get(int(backup_id)) if backup_id.isdigit() else None
        owner = self.world.containers.get(found.container_id) if found else None
        if found is None or owner is None or owner.account != self.account:
            raise not_found(f"Backup {backup_id} not found")
        return found

    def bounded_count(self, name: str, default: int, maximum: int) -> int:
        """A whole-number query parameter >= 1; above `maximum` as `query_over_max` says."""
        raw = self.request.query.get(name, str(default))
        clamps = self.world.assumptions.query_over_max == "clamp"
        if not raw.isdigit() or int(raw) < 1 or (int(raw) > maximum and not clamps):
            raise bad_request(f"{name} must be an integer from 1 to {maximum}", name)
        return min(int(raw), maximum)
