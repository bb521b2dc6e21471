"""`EndpointCalls`: the one `_call` every endpoint method goes through, and its response readers.

The endpoint mixins (`container_calls`, `network_calls`, `backup_calls`,
`vpn_calls`) describe each endpoint as a route, arguments and a reader;
`StacksClient` combines them over one `RequestSender`.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from daemon.stacks.decoding import is_json, json_object
from daemon.stacks.ratebudget import Priority
from daemon.stacks.results import ActionResult
from daemon.stacks.routes import Route
from daemon.stacks.sender import RequestSender

T = TypeVar("T")
Where = Mapping[str, str]
Reader = Callable[[httpx.Response, Where], T]


def read_body(parse: Callable[[Mapping[str, Any]], T]) -> Reader[T]:
    """A reader that decodes the JSON object and hands it to `parse`."""
    return lambda response, where: parse(json_object(response, where))


def read_body_or_text(
    parse: Callable[[Mapping[str, Any]], T], parse_text: Callable[[str], T]
) -> Reader[T]:
    """For endpoints that may answer JSON or a plain file (certificate, VPN config, logs)."""

    def read(response: httpx.Response, where: Where) -> T:
        if is_json(response):
            return parse(json_object(response, where))
        return parse_text(response.text)

    return read


def read_acknowledgement(response: httpx.Response, where: Where) -> ActionResult:
    """An ActionResult from the documented JSON body.

    An empty body (a bare 204) is not one: it does not say what STACKS did, so the
    change it answers ends in `UnconfirmedChange` and is read back.
    """
    return ActionResult.from_api(json_object(response, where))


def in_range(name: str, value: int, low: int, high: int) -> int:
    """`value` if it is an integer within [low, high], else ValueError (nothing is sent)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


class EndpointCalls:
    _sender: RequestSender

    def _call(
        self,
        route: Route,
        read: Reader[T],
        priority: Priority | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        **path_values: str | int,
    ) -> T:
        path = route.path(**path_values)
        return self._sender.send(route, path, read, priority=priority, params=params, json=json)
