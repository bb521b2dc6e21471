"""A receiver's answer is bounded as the sink's `timeout` says, in time and in size: a post
ends within the timeout however slowly the answer comes, only the start of a huge answer
is read, and a long answer is shortened before it is redacted."""

import time

import pytest

from daemon.notify import HttpPoster, SinkDeadLetter, SinkTimeout
from tests.notify.scripted_receiver import ScriptedReceiver, http_answer

TIMEOUT = 1.0


def post_to(receiver: ScriptedReceiver):
    """Post once; returns what came of it (a Receipt or the SinkError) and how long it took."""
    poster = HttpPoster(receiver.url, TIMEOUT)
    started = time.monotonic()
    try:
        outcome = poster.post(b"{}")
    except (SinkTimeout, SinkDeadLetter) as error:
        outcome = error
    finally:
        poster.close()
        receiver.stop()
    return outcome, time.monotonic() - started


def drip(data: bytes) -> list[bytes]:
    return [data[index : index + 1] for index in range(len(data))]


@pytest.mark.parametrize("dripped", ["status line", "body"])
def test_an_answer_dripped_a_byte_at_a_time_ends_in_a_timeout_within_the_timeout(dripped):
    head, body = http_answer(200, b"x" * 40)
    pieces = [*drip(head), body] if dripped == "status line" else [head, *drip(body)]
    receiver = ScriptedReceiver(lambda _: pieces, pause=0.1)

    outcome, took = post_to(receiver)

    assert isinstance(outcome, SinkTimeout), outcome
    assert took < TIMEOUT + 0.5


def test_only_the_start_of_an_endless_answer_is_read():
    gibibyte = 1 << 30
    receiver = ScriptedReceiver(lambda _: http_answer(200, b"a" * (1 << 20), announced=gibibyte))

    receipt, took = post_to(receiver)

    assert receipt.status == 200, receipt
    assert receipt.answer == "a" * 497 + "..."
    assert took < TIMEOUT


def test_a_long_refusal_is_shortened_before_it_is_redacted():
    answer = b"a-" * 10_000  # redact_text takes ~20 s over all of it
    receiver = ScriptedReceiver(lambda _: http_answer(422, answer))

    refusal, took = post_to(receiver)

    assert isinstance(refusal, SinkDeadLetter), refusal
    assert refusal.answer == "a-" * 248 + "a..."
    assert took < TIMEOUT
