"""Sending one request: reads are retried, every change is sent at most once, the key never shows.

A change whose answer is ambiguous ends in `UnconfirmedChange` (the caller reads
the state back); one refused with 429 is not resent by the client either: the
caller waits, checks the state again, and only then sends it again. Whatever
the answer, the key and returned secrets never reach logs, exceptions, reprs or
the observer, and a failing observer does not break a request.
"""

import logging
import random

import httpx
import pytest

from daemon.stacks import (
    Backoff,
    RateBudget,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    StacksError,
    UnconfirmedChange,
    proves_not_applied,
)
from tests.client.conftest import SECRET, RecordingObserver, reply

CONTAINERS = {"success": True, "count": 0, "data": []}
STATUS = {"success": True, "id": "usr-abc12345-myapp", "name": "myapp", "status": "running"}
BACKUP_STARTED = {"success": True, "data": {"container_id": "c", "status": "in_progress"}}
FAIL = reply(500, {"error": "Internal server error"})


def test_a_get_is_retried_on_500_and_then_succeeds(make_client):
    observer = RecordingObserver()
    client, fake = make_client(FAIL, FAIL, reply(200, CONTAINERS), observer=observer)
    assert client.list_containers() == ()
    assert len(fake.requests) == 3
    assert [status for *_, status in observer.requests] == [500, 500, 200]
    assert observer.errors == []


def test_a_get_gives_up_after_the_configured_retries(make_client):
    observer = RecordingObserver()
    client, fake = make_client(FAIL, retries=2, observer=observer)
    with pytest.raises(ServerError):
        client.list_containers()
    assert len(fake.requests) == 3
    assert len(observer.errors) == 1 and observer.errors[0].http_status == 500


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.trigger_backup("usr-abc12345-mydb"),
        lambda c: c.create_container("my-api", "nodejs"),
        lambda c: c.restore_backup(178),
        lambda c: c.connect("usr-abc12345-myapp", "usr-abc12345-mydb"),
        lambda c: c.delete_container("usr-abc12345-myapp"),
    ],
)
def test_changes_that_are_not_idempotent_are_never_retried_on_500(make_client, call):
    client, fake = make_client(FAIL, reply(202, BACKUP_STARTED))
    with pytest.raises(UnconfirmedChange) as caught:
        call(client)
    assert len(fake.requests) == 1
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.answer.startswith("500")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(200, text="<html>proxy</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"success": true, "da'),
        httpx.Response(204),
        reply(502, {"error": "Bad gateway"}),
        reply(200, {"success": False, "error": "Restart failed"}),
        reply(200, {"success": "false", "message": "Container restarted"}),
    ],
    ids=[
        "read-timeout",
        "dropped",
        "html-200",
        "truncated-200",
        "empty-204",
        "502",
        "success-false-200",
        "success-string-200",
    ],
)
def test_a_restart_with_an_ambiguous_answer_is_sent_once(make_client, answer):
    client, fake = make_client(answer, reply(200, STATUS))
    with pytest.raises(UnconfirmedChange) as caught:
        client.restart("usr-abc12345-myapp")
    assert len(fake.requests) == 1
    assert "read its state back" in str(caught.value)


def test_a_backup_trigger_that_timed_out_is_not_sent_again(make_client):
    client, fake = make_client(httpx.ReadTimeout("slow"), reply(202, BACKUP_STARTED))
    with pytest.raises(UnconfirmedChange) as caught:
        client.trigger_backup("usr-abc12345-mydb")
    assert isinstance(caught.value.__cause__, RequestTimeout)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        reply(429, {"error": "Too many requests"}, {"Retry-After": "5"}),
        httpx.ConnectError("refused"),
        reply(400, {"success": False, "error": "Invalid status", "field": "status"}),
        reply(404, {"error": "Container not found"}),
    ],
    ids=["429", "connection-refused", "400", "404"],
)
def test_a_change_refused_before_it_was_applied_is_raised_as_such(make_client, refusal):
    client, fake = make_client(refusal, reply(200, STATUS))
    with pytest.raises(StacksError) as caught:
        client.restart("usr-abc12345-myapp")
    assert not isinstance(caught.value, UnconfirmedChange)
    assert proves_not_applied(caught.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "first",
    [
        reply(503, {"error": "Service unavailable"}),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        reply(429, {"error": "Slow down"}, {"Retry-After": "1"}),
    ],
    ids=["503", "refused", "connect-timeout", "read-timeout", "429"],
)
def test_reads_are_retried_on_failures(make_client, first):
    client, fake = make_client(first, reply(200, STATUS))
    client.container_status("usr-abc12345-myapp")
    assert len(fake.requests) == 2
    assert fake.requests[0].url == fake.requests[1].url


@pytest.mark.parametrize(
    "refusal",
    [reply(429, {"error": "Slow down"}, {"Retry-After": "1"}), httpx.ConnectError("refused")],
    ids=["429", "refused"],
)
def test_a_pin_refused_before_it_was_sent_is_left_to_the_caller(make_client, refusal):
    client, fake = make_client(refusal, reply(200, {"success": True}))
    with pytest.raises(StacksError) as caught:
        client.pin_backup(178)  # the executor checks the backup again, then sends it again
    assert proves_not_applied(caught.value)
    assert len(fake.requests) == 1


def test_a_303_to_a_change_is_ambiguous(make_client):
    see_other = httpx.Response(303, headers={"location": "/api/v1/containers/status/x"})
    client, fake = make_client(see_other)
    with pytest.raises(UnconfirmedChange) as caught:
        client.restart("usr-abc12345-myapp")  # many servers answer a change they made so
    assert caught.value.http_status == 303
    assert len(fake.requests) == 1


def test_a_pin_with_an_ambiguous_answer_is_read_back_not_resent(make_client):
    client, fake = make_client(reply(500, {"error": "oops"}), reply(200, {"success": True}))
    with pytest.raises(UnconfirmedChange):
        client.pin_backup(178)  # the 500 may have pinned it: one read tells, not a resend
    assert len(fake.requests) == 1


def test_a_pin_answered_200_with_success_false_is_read_back_not_taken_as_done(make_client):
    client, fake = make_client(reply(200, {"success": False, "error": "Backup is locked"}))
    with pytest.raises(UnconfirmedChange) as caught:
        client.pin_backup(178)
    assert 'it answered 200 but "success": false (Backup is locked)' in str(caught.value)
    assert len(fake.requests) == 1


def test_a_read_answered_200_with_success_false_is_an_error_not_data(make_client):
    client, _ = make_client(reply(200, {"success": False, "data": []}), retries=0)
    with pytest.raises(StacksError, match='"success": false'):
        client.list_containers()


def test_a_truncated_body_of_a_get_is_fetched_again(make_client):
    client, fake = make_client(
        httpx.Response(200, content=b'{"success": true, "da'), reply(200, STATUS)
    )
    assert client.container_status("usr-abc12345-myapp").status == "running"
    assert len(fake.requests) == 2


def test_a_429_on_a_change_is_not_resent_by_the_client(make_client, clock):
    throttled = reply(429, {"error": "Too many requests"}, {"Retry-After": "5"})
    client, fake = make_client(throttled, reply(202, BACKUP_STARTED))
    with pytest.raises(RateLimitedError):
        client.trigger_backup("usr-abc12345-mydb")
    assert len(fake.requests) == 1
    assert client.budget.throttled_total == 1
    started = clock.monotonic()
    assert client.trigger_backup("usr-abc12345-mydb").status == "in_progress"
    assert clock.monotonic() - started >= 5.0  # the caller's resend waited out Retry-After


def test_a_429_makes_every_caller_wait(make_client, clock):
    budget = RateBudget(clock=clock)
    throttled = reply(429, {"error": "Too many requests"}, {"Retry-After": "30"})
    first, _ = make_client(throttled, budget=budget, retries=0)
    other, _ = make_client(reply(200, CONTAINERS), budget=budget)
    with pytest.raises(RateLimitedError):
        first.list_containers()
    started = clock.monotonic()
    other.list_containers()
    assert clock.monotonic() - started >= 30.0


def test_backoff_is_jittered_exponential_and_capped():
    backoff = Backoff(base=0.5, cap=4.0, rng=random.Random(7))
    delays = [[backoff.delay(attempt) for _ in range(200)] for attempt in range(5)]
    assert all(0 <= d <= 0.5 for d in delays[0])
    assert all(0 <= d <= 4.0 for d in delays[4])
    assert max(delays[3]) > 2.0  # grows with the attempt
    assert len(set(delays[2])) > 150  # jittered, not lockstep


def test_retry_waits_use_the_clock(make_client, clock):
    client, _ = make_client(FAIL, FAIL, FAIL, reply(200, CONTAINERS), rng=random.Random(1))
    started = clock.monotonic()
    client.list_containers()
    assert 0 < clock.monotonic() - started <= 0.5 + 1.0 + 2.0


# -- the key never shows ------------------------------------------------------------

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
