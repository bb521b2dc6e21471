"""The handler core for /api/v1: the endpoint table, the order of checks, the mutation log.

Every request is counted (limits.py), 429s with their cause. Order of checks
for one request: injected fault (if any, faults.py), Bearer key (401), the key's
rate-limit window (429), dashboard-only endpoints (403), endpoint (404), scope
(403), then the endpoint's handler (400/402/404/2xx). An accepted mutating
request is logged with how it is answered (an `after_apply` fault may garble,
empty, drop or delay that answer). Every answer carries the X-RateLimit-*
headers of the key (or the default limit when there is no valid key), as the
`rate_headers` fault rewrites them.

The mutation log holds every accepted (2xx) mutating request: the ground truth
for audits. Each entry says how the change was answered (`answer`: "ok", or
the fault that garbled, emptied, dropped or delayed the answer), so a test can
line the log up with what the client saw. Request bodies are stored with
secret-looking fields replaced by "****".
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The route modules themselves (submodules, not names of the package face):
from daemon.simulator import backups, container_details, containers, network_access
from daemon.simulator.exchange import (
    Call,
    Refusal,
    Reply,
    Request,
    Response,
    SimulatedTimeout,
    json_response,
    not_found,
)
from daemon.simulator.faults import (
    HTML_ERROR_PAGE,
    FaultInjector,
    MutationAnswer,
    shape_answer,
    truncated,
)
from daemon.simulator.limits import (
    CREATE,
    DEFAULT_RATE_LIMIT,
    DELETE,
    KEY_PREFIX,
    MANAGE,
    READ,
    REMAINING,
    RESET,
    RETRY_AFTER,
    RateLimiter,
    SpendingLedger,
    TrafficCounter,
    authenticate,
    bearer_key,
    refuse_dashboard_only,
    require_scope,
)
from daemon.simulator.templates import catalogue_view
from daemon.simulator.world import World

API_PREFIX = "/api/v1"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECRET_FIELD = re.compile(r"pass|secret|token|private|credential|authorization|api_?key", re.I)
REDACTED = "****"


# -- the endpoint table ----------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One API endpoint below /api/v1: method, path pattern, required scope, handler."""

    method: str
    pattern: re.Pattern[str]
    scope: str
    handler: Callable[[Call], Reply]


def _endpoint(method: str, template: str, scope: str, handler: Callable[[Call], Reply]) -> Endpoint:
    """`/containers/{container_id}` -> a pattern capturing `container_id`."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Endpoint(method, re.compile(pattern), scope, handler)


def list_templates(call: Call) -> Reply:
    return Reply(catalogue_view())


C = "/containers/{container_id}"
ENDPOINTS = (
    _endpoint("GET", "/containers", READ, containers.list_containers),
    _endpoint("POST", "/containers", CREATE, containers.create_container),
    _endpoint("GET", "/containers/templates", READ, list_templates),
    _endpoint("GET", "/containers/status/{container_id}", READ, containers.container_status),
    _endpoint(
        "DELETE",
        "/containers/connections/{connection_id}",
        MANAGE,
        network_access.delete_connection,
    ),
    _endpoint("PUT", f"{C}/status", MANAGE, containers.set_status),
    _endpoint("DELETE", C, DELETE, containers.delete_container),
    _endpoint("GET", f"{C}/credentials", READ, container_details.credentials),
    _endpoint("GET", f"{C}/logs", READ, container_details.logs),
    _endpoint("GET", f"{C}/metrics", READ, container_details.metrics),
    _endpoint("GET", f"{C}/certificate", READ, container_details.certificate),
    _endpoint(
        "POST", f"{C}/certificate/regenerate", MANAGE, container_details.regenerate_certificate
    ),
    _endpoint("PUT", f"{C}/external-access", MANAGE, network_access.set_external_access),
    _endpoint("GET", f"{C}/allowed-ips", READ, network_access.list_allowed_ips),
    _endpoint("POST", f"{C}/allowed-ips", MANAGE, network_access.add_allowed_ip),
    _endpoint("DELETE", f"{C}/allowed-ips/{{ip_id}}", MANAGE, network_access.remove_allowed_ip),
    _endpoint("GET", f"{C}/available-targets", READ, network_access.available_targets),
    _endpoint(
        "POST", "/containers/{source_id}/connect/{target_id}", MANAGE, network_access.connect
    ),
    _endpoint("GET", f"{C}/connections", READ, network_access.list_connections),
    _endpoint("GET", f"{C}/backups", READ, backups.list_backups),
    _endpoint("POST", f"{C}/backup", MANAGE, backups.trigger_backup),
    _endpoint("GET", "/backups/stats", READ, backups.backup_stats),
    _endpoint("POST", "/backups/{backup_id}/restore", MANAGE, backups.restore_backup),
    _endpoint("POST", "/backups/{backup_id}/pin", MANAGE, backups.pin_backup),
    _endpoint("POST", "/backups/{backup_id}/unpin", MANAGE, backups.unpin_backup),
    _endpoint("DELETE", "/backups/{backup_id}", DELETE, backups.delete_backup),
    _endpoint("GET", f"{C}/vpn-clients", READ, network_access.list_clients),
    _endpoint("POST", f"{C}/vpn-clients", MANAGE, network_access.add_client),
    _endpoint("GET", f"{C}/vpn-config", READ, network_access.config),
    _endpoint("DELETE", f"{C}/vpn-clients/{{client_name}}", MANAGE, network_access.remove_client),
)


def find_endpoint(method: str, route: str) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint for `method` and `route` (the path below /api/v1), with its parameters."""
    for candidate in ENDPOINTS:
        found = candidate.pattern.fullmatch(route)
        if found and candidate.method == method:
            return candidate, found.groupdict()
    return None


# -- the mutation log ------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    seq: int
    at: datetime
    method: str
    path: str
    status_code: int  # of the normal answer; `answer` says what the client actually got
    container_id: str | None
    backup_id: int | None
    body: Any
    answer: MutationAnswer = MutationAnswer.OK  # ok, garbage, empty204, drop, slow


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_FIELD.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and value.startswith(KEY_PREFIX):
        return REDACTED
    return value


def logged_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return redact(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return f"<{len(body)} bytes, not JSON>"


class MutationLog:
    def __init__(self) -> None:
        self._entries: list[Mutation] = []

    def record(self, at: datetime, request: Request, reply: Reply, answer: MutationAnswer) -> None:
        entry = Mutation(
            len(self._entries) + 1,
            at,
            request.method,
            request.path,
            reply.status,
            reply.container_id,
            reply.backup_id,
            logged_body(request.body),
            MutationAnswer(answer),
        )
        self._entries.append(entry)

    def entries(self) -> list[Mutation]:
        return list(self._entries)


# -- the handler core ------------------------------------------------------------------


class ApiHandler:
    def __init__(
        self,
        world: World,
        faults: FaultInjector,
        mutations: MutationLog,
        traffic: TrafficCounter,
    ) -> None:
        self.world = world
        self.faults = faults
        self.mutations = mutations
        self.traffic = traffic
        self.limiter = RateLimiter()
        self.ledger = SpendingLedger()

    def handle(self, request: Request) -> Response:
        latency = self.faults.faults.latency
        if latency:
            self.world.clock.sleep(latency)
        with self.world.lock:
            now = self.world.catch_up()
            mutating = request.method in MUTATING_METHODS
            fault = self.faults.draw(mutating)
            key = bearer_key(self.world, request.headers)
            secret = key.secret if key else None
            self.traffic.request(secret, now)
            limit = key.rate_limit if key else DEFAULT_RATE_LIMIT
            headers = self.limiter.headers(secret, limit, now)
            if fault == "timeout":
                raise SimulatedTimeout(f"{request.method} {request.path} dropped (timeout fault)")
            if fault == "html":
                return self._sent(
                    Response(500, {"Content-Type": "text/html", **headers}, HTML_ERROR_PAGE)
                )
            if fault in ("429", "500", "503"):
                refusal = self.faults.error_for(fault)
                if fault == "429":
                    retry_after = self.faults.faults.retry_after
                    self.traffic.rate_limited(secret, now, retry_after, forced=True)
                    reset = int(now.timestamp()) + retry_after
                    headers.update({REMAINING: "0", RESET: str(reset)})
                return self._sent(refusal.response(headers))
            try:
                reply = self._process(request, now, headers)
            except Refusal as refusal:
                if refusal.status == 429:
                    retry_after = int(refusal.headers[RETRY_AFTER])
                    self.traffic.rate_limited(secret, now, retry_after, forced=False)
                return self._sent(refusal.response(headers))
            response = json_response(reply.status, reply.payload, headers)
            if mutating and 200 <= reply.status < 300:
                chosen = self.faults.after_apply(request.method, request.path)
                cut_short = MutationAnswer.GARBAGE if fault == "truncated" else MutationAnswer.OK
                self.mutations.record(now, request, reply, chosen or cut_short)
                if chosen is not None:
                    f = self.faults.faults
                    what = f"{request.method} {request.path}"
                    return self._sent(
                        shape_answer(response, chosen, f.garbage_kind, f.slow_seconds, what)
                    )
            return self._sent(truncated(response) if fault == "truncated" else response)

    def _sent(self, response: Response) -> Response:
        """The answer as it leaves: its rate-limit headers as the `rate_headers` fault says."""
        self.faults.skew_rate_headers(response.headers)
        return response

    def _process(self, request: Request, now: datetime, headers: dict[str, str]) -> Reply:
        key = authenticate(self.world, request.headers)
        headers.update(self.limiter.spend(key.secret, key.rate_limit, now))
        route = request.path[len(API_PREFIX) :].rstrip("/") or "/"
        refuse_dashboard_only(route)
        found = find_endpoint(request.method, route)
        if found is None:
            raise not_found(f"Not found: {request.method} {request.path} is not an API endpoint")
        endpoint, params = found
        require_scope(key, endpoint.scope)
        return endpoint.handler(Call(self.world, key, request, params, now, self.ledger))
