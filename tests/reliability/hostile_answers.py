"""Hostile STACKS answers for the read endpoints the poller uses, and a transport that serves them.

`valid_bodies()` are real answers of the in-process simulator (the documented
shapes); `answers(endpoint)` is a hypothesis strategy of everything else a broken
proxy or a changed API could send: the valid body with a value replaced by a
mistyped one (strings for numbers, numbers for strings, nulls, wrong nesting) or
removed, random JSON, truncated JSON, random bytes, an HTML page, lone UTF-16
surrogates, absurd numbers, junk headers, any status code, and transport
failures. `HostileTransport` answers every request well until told otherwise per
endpoint.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import strategies as st

from daemon.clock import ManualClock
from daemon.simulator import Request, Simulator

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ENDPOINTS = ("containers", "metrics", "backups", "stats")
HTML = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    failure: type[httpx.TransportError] | None = None  # raised instead of answering
    undecodable: bool = False  # claims `Content-Encoding: gzip` over a plain body

    def response(self, request: httpx.Request) -> httpx.Response:
        if self.failure is not None:
            raise self.failure("hostile transport", request=request)
        if self.undecodable:
            headers = {**self.headers, "Content-Encoding": "gzip"}
            return httpx.Response(self.status, headers=headers, stream=httpx.ByteStream(self.body))
        return httpx.Response(self.status, headers=self.headers, content=self.body)


def endpoint_of(path: str) -> str:
    if path.endswith("/backups/stats"):
        return "stats"
    if path.endswith("/metrics"):
        return "metrics"
    if path.endswith("/backups"):
        return "backups"
    return "containers"


class HostileTransport(httpx.MockTransport):
    def __init__(self, good: dict[str, bytes]) -> None:
        super().__init__(self._answer)
        self.good = good
        self.bad: dict[str, Answer] = {}

    def _answer(self, request: httpx.Request) -> httpx.Response:
        endpoint = endpoint_of(request.url.path)
        answer = self.bad.get(endpoint) or Answer(
            body=self.good[endpoint], headers={"Content-Type": "application/json"}
        )
        return answer.response(request)


def valid_bodies() -> tuple[dict[str, bytes], str]:
    """The simulator's own answers for a small fleet with a day of backups, and one id.

    The metrics answer keeps three samples a series (examples run faster).
    """
    sim = Simulator(clock=ManualClock(START - timedelta(days=1)), seed=3)
    key = sim.create_key(rate_limit=10_000)
    web = sim.seed_container(key, "web")
    sim.seed_container(key, "shop-db", "postgresql")
    sim.advance(timedelta(days=1).total_seconds())
    paths = {
        "containers": ("/api/v1/containers", {}),
        "metrics": (f"/api/v1/containers/{web}/metrics", {}),
        "backups": (f"/api/v1/containers/{web}/backups", {"limit": "100"}),
        "stats": ("/api/v1/backups/stats", {}),
    }
    headers = {"authorization": f"Bearer {key}"}
    bodies = {}
    for endpoint, (path, query) in paths.items():
        answer = sim.handle_request(Request("GET", path, query, headers, b"", "127.0.0.1"))
        assert answer.status == 200, (endpoint, answer.body)
        bodies[endpoint] = answer.body
    metrics = json.loads(bodies["metrics"])
    for series, samples in metrics["data"].items():  # an hour a minute apart: keep a few
        metrics["data"][series] = samples[-3:]
    bodies["metrics"] = json.dumps(metrics).encode()
    return bodies, web


# -- strategies ------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**17, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "1.00", "NaN", "2026-02-30T25:61:00Z", "running", "-1", "1e999"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with one node somewhere replaced by a random value, or a key removed."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        copy = dict(value)
        if draw(st.integers(0, 5)) == 0:
            del copy[key]
        else:
            copy[key] = draw(mutated(value[key]))
        return copy
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        index = draw(st.integers(0, len(value) - 1))
        copy = list(value)
        copy[index] = draw(mutated(value[index]))
        return copy
    return draw(json_values)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity as the bare words a broken API sends


HEADERS = ("Content-Type", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
junk_headers = st.dictionaries(
    st.sampled_from((*HEADERS, "Retry-After")),
    st.one_of(
        st.sampled_from(
            ["application/json", "text/html", "-5", "nan", "1e400", "0", "99999999999"]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    ),
    max_size=5,
)
statuses = st.one_of(
    st.just(200), st.sampled_from([201, 202, 204, 301, 400, 401, 402, 403, 404, 418, 429, 500, 503])
)


def answers(endpoint: str, good: dict[str, bytes]) -> st.SearchStrategy[Answer]:
    valid = json.loads(good[endpoint])
    raw = good[endpoint]
    json_200 = st.builds(
        Answer,
        body=st.one_of(mutated(valid), json_values).map(encode),
        headers=st.just({"Content-Type": "application/json"}),
    )
    anything = st.builds(
        Answer,
        status=statuses,
        body=st.one_of(
            json_values.map(encode),
            st.binary(max_size=300),
            st.integers(0, len(raw) - 1).map(lambda n: raw[:n]),
            st.just(HTML),
            st.just(b'{"data": "\\ud800"}'),
            st.just(raw.replace(b'"', b'"\\udc00', 1)),
            st.just(b"[" * 50_000),
            st.just(b'{"data": [' + b"9" * 5_000 + b"]}"),
        ),
        headers=junk_headers,
        undecodable=st.booleans(),
    )
    failures = st.builds(
        Answer,
        failure=st.sampled_from(
            [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError]
        ),
    )
    return st.one_of(json_200, anything, failures)
