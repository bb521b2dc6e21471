"""What goes in and out of the simulator's handler core: requests, responses, API errors.

The core sees a request as (method, path, query, headers, body bytes, client ip)
and answers (status, headers, body bytes); the HTTP server and the in-process
httpx transport are thin adapters around it.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    client_ip: str


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


class ApiError(Exception):
    """An error answer (status and JSON body) raised anywhere below the handler core."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body.get('error')}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class SimulatedTimeout(Exception):
    """A fault: the request is dropped unanswered (the transport raises httpx.ReadTimeout)."""


class SimulatedDisconnect(Exception):
    """A fault: the connection closes with no answer at all (httpx.RemoteProtocolError)."""


def bad_request(message: str, field: str | None = None) -> ApiError:
    body: dict[str, Any] = {"success": False, "error": message}
    if field:
        body["field"] = field
    return ApiError(400, body)


def not_found(message: str) -> ApiError:
    return ApiError(404, {"error": message})


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, all_headers, encode(payload))


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
