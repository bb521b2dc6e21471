"""The handler core for /api/v1: faults, auth, rate limit, routing, scopes, mutation log.

Every request is counted (`traffic.py`), 429s with their cause.
Order of checks for one request: injected fault (if any), Bearer key (401),
the key's rate-limit window (429), dashboard-only endpoints (403), route (404),
scope (403), then the route itself (400/402/404/2xx). An accepted mutating
request is logged with how it is answered (`after_apply` may garble, empty,
drop or delay that answer). Every answer carries the X-RateLimit-* headers of
the key (or the default limit when there is no valid key), as the
`rate_headers` fault rewrites them.
"""

from daemon.simulator.after_apply import MutationAnswer, shape_answer, truncated
from daemon.simulator.call import Call
from daemon.simulator.dashboard_only import refuse_dashboard_only
from daemon.simulator.exchange import (
    ApiError,
    Reply,
    Request,
    Response,
    SimulatedTimeout,
    json_response,
)
from daemon.simulator.faults import HTML_ERROR_PAGE, FaultInjector
from daemon.simulator.keys import authenticate, bearer_key, require_scope
from daemon.simulator.mutations import MUTATING_METHODS, MutationLog
from daemon.simulator.ratelimit import RateLimiter
from daemon.simulator.routes import match
from daemon.simulator.spending import SpendingLedger
from daemon.simulator.state import World
from daemon.simulator.traffic import TrafficCounter

API_PREFIX = "/api/v1"
DEFAULT_RATE_LIMIT = 60


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
                error = self.faults.error_for(fault)
                if fault == "429":
                    retry_after = self.faults.faults.retry_after
                    self.traffic.rate_limited(secret, now, retry_after, forced=True)
                    reset = int(now.timestamp()) + retry_after
                    headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
                return self._sent(
                    json_response(error.status, error.body, {**headers, **error.headers})
                )
            try:
                reply = self._process(request, now, headers)
            except ApiError as error:
                if error.status == 429:
                    retry_after = int(error.headers["Retry-After"])
                    self.traffic.rate_limited(secret, now, retry_after, forced=False)
                return self._sent(
                    json_response(error.status, error.body, {**headers, **error.headers})
                )
            response = json_response(reply.status, reply.payload, headers)
            if mutating and 200 <= reply.status < 300:
                chosen = self.faults.after_apply(request.method, request.path)
                cut_short = MutationAnswer.GARBAGE if fault == "truncated" else MutationAnswer.OK
                self.mutations.record(
                    now,
                    request.method,
                    request.path,
                    reply.status,
                    reply.container_id,
                    reply.backup_id,
                    request.body,
                    chosen or cut_short,
                )
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

    def _process(self, request: Request, now, headers: dict[str, str]) -> Reply:
        key = authenticate(self.world, request.headers)
        headers.update(self.limiter.spend(key.secret, key.rate_limit, now))
        route = request.path[len(API_PREFIX) :].rstrip("/") or "/"
        refuse_dashboard_only(route)
        found = match(request.method, route)
        if found is None:
            raise ApiError(
                404, {"error": f"Not found: {request.method} {request.path} is not an API endpoint"}
            )
        endpoint, params = found
        require_scope(key, endpoint.scope)
        return endpoint.handler(Call(self.world, key, request, params, now, self.ledger))
