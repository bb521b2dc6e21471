"""The route table: each STACKS endpoint of the guide as a `Route`: method, path, priority, scope.

`StacksClient` (in `client`) has one method per route. The template
(`/containers/{container_id}/logs`) is what metrics and errors name;
`Route.path(...)` fills it with URL-quoted values and refuses values that could
escape their path segment. The priority is the one a call spends from the rate
budget unless its caller passes another: changes ACTION; status and other reads
STATUS; backups BACKUPS; metrics METRICS. The scope is the one the guide says
the endpoint requires of the API key (None where it names none: the VPN
routes); a 2xx answer proves the key holds it (`required_scope`).
"""

from dataclasses import dataclass
from urllib.parse import quote

from daemon.stacks.ratebudget import Priority

# The API key's scopes (the guide's "Permissions (Scopes)").
READ, CREATE, MANAGE, DELETE = (
    "containers:read",
    "containers:create",
    "containers:manage",
    "containers:delete",
)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    priority: Priority
    scope: str | None = None  # what the guide says the key needs; None: it says nothing

    @property
    def reads(self) -> bool:
        """A GET: asking again changes nothing, so the sender retries it (see `sender`)."""
        return self.method == "GET"

    def path(self, **values: str | int) -> str:
        segments = {}
        for name, value in values.items():
            text = str(value)
            if not text or text in (".", "..") or "/" in text:
                raise ValueError(
                    f"{self.template}: {name} must be a single non-empty path segment, "
                    f"got {text!r:.60}"
                )
            segments[name] = quote(text, safe="")
        return self.template.format(**segments)


def _read(template: str, priority: Priority = Priority.STATUS, scope: str | None = READ) -> Route:
    return Route("GET", template, priority, scope)


def _change(method: str, template: str, scope: str | None = MANAGE) -> Route:
    return Route(method, template, Priority.ACTION, scope)


# Containers
LIST_CONTAINERS = _read("/containers")
CONTAINER_STATUS = _read("/containers/status/{container_id}")
CREDENTIALS = _read("/containers/{container_id}/credentials")
LOGS = _read("/containers/{container_id}/logs")
METRICS = _read("/containers/{container_id}/metrics", Priority.METRICS)
CREATE_CONTAINER = _change("POST", "/containers", CREATE)
SET_STATUS = _change("PUT", "/containers/{container_id}/status")  # a restart twice is two
DELETE_CONTAINER = _change("DELETE", "/containers/{container_id}", DELETE)
CERTIFICATE = _read("/containers/{container_id}/certificate")
REGENERATE_CERTIFICATE = _change("POST", "/containers/{container_id}/certificate/regenerate")
TEMPLATES = _read("/containers/templates")
# External access and IP restrictions
SET_EXTERNAL_ACCESS = _change("PUT", "/containers/{container_id}/external-access")
ALLOWED_IPS = _read("/containers/{container_id}/allowed-ips")
ADD_ALLOWED_IP = _change("POST", "/containers/{container_id}/allowed-ips")
REMOVE_ALLOWED_IP = _change("DELETE", "/containers/{container_id}/allowed-ips/{ip_id}")
# Connections
AVAILABLE_TARGETS = _read("/containers/{container_id}/available-targets")
CONNECT = _change("POST", "/containers/{source_id}/connect/{target_id}")
CONNECTIONS = _read("/containers/{container_id}/connections")
DELETE_CONNECTION = _change("DELETE", "/containers/connections/{connection_id}")
# Backups
BACKUPS = _read("/containers/{container_id}/backups", Priority.BACKUPS)
TRIGGER_BACKUP = _change("POST", "/containers/{container_id}/backup")
BACKUP_STATS = _read("/backups/stats", Priority.BACKUPS)
RESTORE_BACKUP = _change("POST", "/backups/{backup_id}/restore")
PIN_BACKUP = _change("POST", "/backups/{backup_id}/pin")
UNPIN_BACKUP = _change("POST", "/backups/{backup_id}/unpin")
DELETE_BACKUP = _change("DELETE", "/backups/{backup_id}", DELETE)
# VPN (the guide names no scope for these)
VPN_CLIENTS = _read("/containers/{vpn_container_id}/vpn-clients", scope=None)
ADD_VPN_CLIENT = _change("POST", "/containers/{vpn_container_id}/vpn-clients", None)
VPN_CONFIG = _read("/containers/{vpn_container_id}/vpn-config", scope=None)
REMOVE_VPN_CLIENT = _change(
    "DELETE", "/containers/{vpn_container_id}/vpn-clients/{client_name}", None
)

ALL_ROUTES = tuple(value for value in dict(globals()).values() if isinstance(value, Route))
_SCOPES = {(route.method, route.template): route.scope for route in ALL_ROUTES}


def required_scope(method: str, template: str) -> str | None:
    """The scope the guide says the route (`method`, route template) needs of the key,
    None for a route it names none for, or one not in the table."""
    return _SCOPES.get((method.upper(), template))
