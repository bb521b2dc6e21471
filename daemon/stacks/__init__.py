"""The STACKS API client: typed models, errors, rate budget and the client itself."""

from daemon.stacks.apikey import ApiKey, InvalidApiKey
from daemon.stacks.backup_calls import MAX_BACKUPS
from daemon.stacks.client import DEFAULT_BASE_URL, StacksClient
from daemon.stacks.decoding import rate_limit_headers
from daemon.stacks.errors import (
    AuthError,
    BudgetExhausted,
    MalformedResponse,
    NotFoundError,
    RateLimitedError,
    RequestDeferred,
    ScopeError,
    ServerError,
    SpendingCapError,
    StacksError,
    UnconfirmedChange,
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
from daemon.stacks.retry import Backoff, proves_not_applied, worth_resending
from daemon.stacks.routes import Route

__all__ = [
    "DEFAULT_BASE_URL",
    "KNOWN_BACKUP_STATUSES",
    "KNOWN_CONTAINER_STATUSES",
    "MAX_BACKUPS",
    "WINDOW_SECONDS",
    "ApiKey",
    "AuthError",
    "Backoff",
    "Backup",
    "BackupStats",
    "BudgetExhausted",
    "Container",
    "ContainerMetrics",
    "InvalidApiKey",
    "MalformedResponse",
    "MetricSample",
    "NotFoundError",
    "Priority",
    "RateBudget",
    "RateLimitedError",
    "RequestDeferred",
    "Route",
    "ScopeError",
    "ServerError",
    "SpendingCapError",
    "StacksClient",
    "StacksError",
    "UnconfirmedChange",
    "latest",
    "newest_completed",
    "proves_not_applied",
    "rate_limit_headers",
    "worth_resending",
]
