"""The API's routes below /api/v1: method, path pattern, required scope, handler."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from daemon.simulator import access, backups, connections, container_info, containers, metrics, vpn
from daemon.simulator.call import Call
from daemon.simulator.catalog import catalogue_view
from daemon.simulator.exchange import Reply

READ, CREATE, MANAGE, DELETE = (
    "containers:read",
    "containers:create",
    "containers:manage",
    "containers:delete",
)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    scope: str
    handler: Callable[[Call], Reply]


def templates(call: Call) -> Reply:
    return Reply(catalogue_view())


def _route(method: str, template: str, scope: str, handler: Callable[[Call], Reply]) -> Route:
    """`/containers/{container_id}` -> a pattern capturing `container_id`."""
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(pattern), scope, handler)


C = "/containers/{container_id}"
ROUTES = (
    _route("GET", "/containers", READ, containers.list_containers),
    _route("POST", "/containers", CREATE, containers.create_container),
    _route("GET", "/containers/templates", READ, templates),
    _route("GET", "/containers/status/{container_id}", READ, containers.container_status),
    _route(
        "DELETE", "/containers/connections/{connection_id}", MANAGE, connections.delete_connection
    ),
    _route("PUT", f"{C}/status", MANAGE, containers.set_status),
    _route("DELETE", C, DELETE, containers.delete_container),
    _route("GET", f"{C}/credentials", READ, container_info.credentials),
    _route("GET", f"{C}/logs", READ, container_info.logs),
    _route("GET", f"{C}/metrics", READ, metrics.metrics),
    _route("GET", f"{C}/certificate", READ, container_info.certificate),
    _route("POST", f"{C}/certificate/regenerate", MANAGE, container_info.regenerate_certificate),
    _route("PUT", f"{C}/external-access", MANAGE, access.set_external_access),
    _route("GET", f"{C}/allowed-ips", READ, access.list_allowed_ips),
    _route("POST", f"{C}/allowed-ips", MANAGE, access.add_allowed_ip),
    _route("DELETE", f"{C}/allowed-ips/{{ip_id}}", MANAGE, access.remove_allowed_ip),
    _route("GET", f"{C}/available-targets", READ, connections.available_targets),
    _route("POST", "/containers/{source_id}/connect/{target_id}", MANAGE, connections.connect),
    _route("GET", f"{C}/connections", READ, connections.list_connections),
    _route("GET", f"{C}/backups", READ, backups.list_backups),
    _route("POST", f"{C}/backup", MANAGE, backups.trigger_backup),
    _route("GET", "/backups/stats", READ, backups.backup_stats),
    _route("POST", "/backups/{backup_id}/restore", MANAGE, backups.restore_backup),
    _route("POST", "/backups/{backup_id}/pin", MANAGE, backups.pin_backup),
    _route("POST", "/backups/{backup_id}/unpin", MANAGE, backups.unpin_backup),
    _route("DELETE", "/backups/{backup_id}", DELETE, backups.delete_backup),
    _route("GET", f"{C}/vpn-clients", READ, vpn.list_clients),
    _route("POST", f"{C}/vpn-clients", MANAGE, vpn.add_client),
    _route("GET", f"{C}/vpn-config", READ, vpn.config),
    _route("DELETE", f"{C}/vpn-clients/{{client_name}}", MANAGE, vpn.remove_client),
)


def match(method: str, route: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `method` and `route` (the path below /api/v1), with its parameters."""
    for candidate in ROUTES:
        found = candidate.pattern.fullmatch(route)
        if found and candidate.method == method:
            return candidate, found.groupdict()
    return None
