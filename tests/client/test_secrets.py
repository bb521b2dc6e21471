"""The key and returned secrets never reach logs, exceptions or reprs, whatever happens."""

import logging

import httpx
import pytest

from daemon.stacks import StacksError
from tests.client.conftest import SECRET, RecordingObserver, reply

HEX = SECRET.removeprefix("sk_stacks_")
ANSWERS = [
    reply(200, {"success": True, "data": []}),
    reply(400, {"success": False, "error": "bad", "field": "name"}),
    reply(401, {"error": f"Invalid API key {SECRET}"}),
    reply(402, {"error": "Monthly spending cap reached", "spending_cap": 10, "amount_spent": 10}),
    reply(
        403, {"error": "API key lacks required scope: x", "required_scope": "x", "key_scopes": []}
    ),
    reply(404, {"error": "Container not found"}),
    reply(429, {"error": "Too many requests"}, {"Retry-After": "1"}),
    reply(500, text=f"<html>{SECRET}</html>", headers={"content-type": "text/html"}),
    reply(503, {"error": "No capacity"}),
    httpx.ReadTimeout("timed out"),
    httpx.ConnectError("refused"),
    httpx.Response(200, content=f'{{"key": "{SECRET}'.encode()),
]


def _no_key(text: str) -> None:
    assert SECRET not in text and HEX not in text and HEX[:20] not in text


@pytest.mark.parametrize("answer", ANSWERS)
def test_no_log_record_exception_or_repr_contains_the_key(make_client, caplog, answer):
    caplog.set_level(logging.DEBUG)  # everything: ours, httpx, httpcore
    observer = RecordingObserver()
    client, _ = make_client(answer, retries=1, observer=observer)
    try:
        client.list_containers()
    except StacksError as error:
        for text in (str(error), repr(error), repr(error.args), str(error.__dict__)):
            _no_key(text)
    _no_key(repr(client))
    for record in caplog.records:
        _no_key(record.getMessage())
    _no_key(caplog.text)
    _no_key(repr(observer.requests) + repr(observer.errors))
    assert any(r.name.startswith("daemon.stacks") for r in caplog.records)  # logging happened


def test_a_failing_observer_does_not_break_requests(make_client, caplog):
    class Broken:
        def on_request(self, *args):
            raise RuntimeError("metrics backend down")

        def on_error(self, error):
            raise RuntimeError("metrics backend down")

    client, _ = make_client(reply(200, {"success": True, "data": []}), observer=Broken())
    assert client.list_containers() == ()
    assert "observer failed" in caplog.text
