"""The STACKS API client: `StacksClient`, its typed results, its errors and the rate budget.

One call, top to bottom (`client.restart(id)`):

    client.py      StacksClient: one flat method per endpoint, arguments checked
    routes.py      the route table: method, path template, default priority, scope
    sender.py      one request: budget, send, translate, observe, retry, headers
    ratebudget.py  who may spend a request of the key's per-minute limit
    errors.py      the exception tree, and answers and httpx failures mapped into it
    models.py      what the daemon reads and changes: containers, backups, metrics
    details.py     credentials, SSH certificate, logs, templates
    networking.py  external access, allowed IPs, connections, VPN clients
    fields.py      lenient JSON reading: bodies, both spellings, `Secret`
    apikey.py      the validated API key (its shape lives in `daemon.secrets`)

Everything other packages and the tests use is imported from here.
"""

from daemon.stacks.apikey import ApiKey, InvalidApiKey
from daemon.stacks.client import DEFAULT_BASE_URL, MAX_BACKUPS, StacksClient
from daemon.stacks.errors import (
    ApiError,
    AuthError,
    BudgetExhausted,
    DashboardOnlyError,
    ForbiddenError,
    MalformedResponse,
    NoCapacityError,
    NotFoundError,
    RateLimitedError,
    RequestDeferred,
    RequestTimeout,
    ScopeError,
    ServerError,
    SpendingCapError,
    StacksError,
    TransportError,
    UnconfirmedChange,
    ValidationError,
    safe_text,
)
from daemon.stacks.models import (
    KNOWN_BACKUP_STATUSES,
    KNOWN_CONTAINER_STATUSES,
    Backup,
    BackupStats,
    Container,
    ContainerMetrics,
    MetricSample,
    latest,
    newest_completed,
)
from daemon.stacks.ratebudget import WINDOW_SECONDS, Priority, RateBudget
from daemon.stacks.routes import ALL_ROUTES, Route, required_scope
from daemon.stacks.sender import (
    Backoff,
    proves_not_applied,
    rate_limit_headers,
    worth_resending,
)

__all__ = [
    "ALL_ROUTES",
    "DEFAULT_BASE_URL",
    "KNOWN_BACKUP_STATUSES",
    "KNOWN_CONTAINER_STATUSES",
    "MAX_BACKUPS",
    "WINDOW_SECONDS",
    "ApiError",
    "ApiKey",
    "AuthError",
    "Backoff",
    "Backup",
    "BackupStats",
    "BudgetExhausted",
    "Container",
    "ContainerMetrics",
    "DashboardOnlyError",
    "ForbiddenError",
    "InvalidApiKey",
    "MalformedResponse",
    "MetricSample",
    "NoCapacityError",
    "NotFoundError",
    "Priority",
    "RateBudget",
    "RateLimitedError",
    "RequestDeferred",
    "RequestTimeout",
    "Route",
    "ScopeError",
    "ServerError",
    "SpendingCapError",
    "StacksClient",
    "StacksError",
    "TransportError",
    "UnconfirmedChange",
    "ValidationError",
    "latest",
    "newest_completed",
    "proves_not_applied",
    "rate_limit_headers",
    "required_scope",
    "safe_text",
    "worth_resending",
]
