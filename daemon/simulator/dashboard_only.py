"""Dashboard-only endpoints: billing, account, keys, DB browser, files, resize, SSH password.

They answer 403 with the guide's body to any authenticated key, whatever its
scopes, before the container is even looked up.
"""

import re

from daemon.simulator.exchange import ApiError

DASHBOARD_ONLY = re.compile(
    r"/(billing|payments?|payment-methods|invoices|subscriptions?|api-keys|account|users?)(/.*)?"
    r"|/containers/[^/]+/(resize|database|db|files|file-manager|ssh-password|password)(/.*)?"
)
BODY = {
    "error": "This endpoint requires dashboard access (JWT authentication)",
    "hint": "This operation requires human approval via the dashboard.",
}


def refuse_dashboard_only(route: str) -> None:
    """403 when `route` (the path below /api/v1) is reserved to the dashboard."""
    if DASHBOARD_ONLY.fullmatch(route):
        raise ApiError(403, dict(BODY))
