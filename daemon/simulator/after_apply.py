"""How an applied mutation is answered: normally, unreadably, empty, not at all, or too late.

The change has happened in every case (the mutation log records it with its
`answer`); only what reaches the client differs. The handler core shapes the
answer here; the adapters (httpx transport, HTTP server) carry out `drop` (a
SimulatedDisconnect) and `slow` (a Response whose `hold_seconds` is set).
"""

from enum import StrEnum

from daemon.simulator.exchange import Response, SimulatedDisconnect

GARBAGE_KINDS = ("html", "truncated")

# What a misrouted proxy or CDN serves with 200: the dashboard's single-page app shell.
HTML_APP_SHELL = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>STACKS</title>'
    b'</head>\n<body><div id="root"></div><script src="/assets/index.js"></script></body>\n'
    b"</html>\n"
)


class MutationAnswer(StrEnum):
    """How a mutation the simulator applied was answered (the mutation log's `answer`)."""

    OK = "ok"  # the normal answer
    GARBAGE = "garbage"  # a 2xx the client cannot read: HTML with 200, or JSON cut short
    EMPTY_204 = "empty204"  # 204 No Content, empty body
    DROP = "drop"  # the connection closed without any answer
    SLOW = "slow"  # the normal answer, held back `slow_seconds`


AFTER_APPLY_ANSWERS = tuple(
    answer.value for answer in MutationAnswer if answer is not MutationAnswer.OK
)


def truncated(response: Response) -> Response:
    """The same answer with its body cut in half."""
    return Response(response.status, response.headers, response.body[: len(response.body) // 2])


def shape_answer(
    response: Response,
    answer: MutationAnswer,
    garbage_kind: str,
    slow_seconds: float,
    what: str,
) -> Response:
    """The answer the client gets for `response` (of an applied mutation `what`)."""
    if answer is MutationAnswer.GARBAGE:
        if garbage_kind == "truncated":
            return truncated(response)
        headers = {**response.headers, "Content-Type": "text/html; charset=utf-8"}
        return Response(200, headers, HTML_APP_SHELL)
    if answer is MutationAnswer.EMPTY_204:
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return Response(204, headers, b"")
    if answer is MutationAnswer.DROP:
        raise SimulatedDisconnect(f"{what} applied, then the connection was dropped (drop fault)")
    if answer is MutationAnswer.SLOW:
        return Response(response.status, response.headers, response.body, slow_seconds)
    return response
