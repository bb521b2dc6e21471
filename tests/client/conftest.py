"""Shared fixtures for the client tests: a valid key and a scripted fake STACKS."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.stacks import ApiKey, RateBudget, StacksClient

SECRET = "sk_stacks_" + "0123456789abcdef" * 4

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def reply(status: int = 200, body=None, headers=None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json={"success": True} if body is None else body, headers=headers)


@dataclass
class FakeStacks:
    """A MockTransport handler: answers from a script (the last repeats), records requests."""

    answers: list[Answer] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def body(self, index: int = -1):
        content = self.requests[index].content
        return json.loads(content) if content else None


@dataclass
class RecordingObserver:
    requests: list[tuple] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def on_request(self, method, route, status_code, duration_s):
        self.requests.append((method, route, status_code))

    def on_error(self, error):
        self.errors.append(error)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 5, 17, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def key() -> ApiKey:
    return ApiKey(SECRET)


@pytest.fixture
def make_client(clock, key):
    """`make_client(*answers, **client_kwargs) -> (client, fake)` over a MockTransport."""
    clients = []

    def make(*answers: Answer, **kwargs) -> tuple[StacksClient, FakeStacks]:
        fake = FakeStacks(list(answers) or [reply()])
        kwargs.setdefault("budget", RateBudget(clock=clock))
        client = StacksClient(key, transport=httpx.MockTransport(fake), clock=clock, **kwargs)
        clients.append(client)
        return client, fake

    yield make
    for client in clients:
        client.close()
