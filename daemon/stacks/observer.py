"""`ApiObserver`: what the client tells the outside (metrics) about each request.

The exporter implements it to count `stacks_api_requests_total{method,endpoint,code}`
and time requests; `route` is the route template (`/containers/{container_id}/logs`),
never a concrete path, so label cardinality stays fixed.
"""

from typing import Protocol

from daemon.stacks.errors import StacksError


class ApiObserver(Protocol):
    def on_request(
        self, method: str, route: str, status_code: int | None, duration_s: float
    ) -> None:
        """After every attempt; `status_code` is None when no response arrived."""

    def on_error(self, error: StacksError) -> None:
        """Once per call that finally failed (after retries)."""
