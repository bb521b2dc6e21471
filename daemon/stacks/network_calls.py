"""Networking endpoints: external access, allowed IPs and container connections."""

from daemon.stacks import routes
from daemon.stacks.calls import (
    EndpointCalls,
    read_acknowledgement,
    read_body,
)
from daemon.stacks.networking import (
    AllowedIp,
    AllowedIps,
    AvailableTargets,
    Connection,
    Connections,
    ExternalAccess,
    parse_allowed_ip,
)
from daemon.stacks.ratebudget import Priority
from daemon.stacks.results import ActionResult


class NetworkCalls(EndpointCalls):
    """External access, IP restrictions and VPC connections."""

    def set_external_access(
        self, container_id: str, enabled: bool, *, priority: Priority | None = None
    ) -> ExternalAccess:
        return self._call(
            routes.SET_EXTERNAL_ACCESS,
            read_body(lambda body: ExternalAccess.from_api(body, enabled)),
            priority,
            json={"enabled": bool(enabled)},
            container_id=container_id,
        )

    def allowed_ips(self, container_id: str, *, priority: Priority | None = None) -> AllowedIps:
        return self._call(
            routes.ALLOWED_IPS, read_body(AllowedIps.from_api), priority, container_id=container_id
        )

    def add_allowed_ip(
        self,
        container_id: str,
        ip_address: str,
        description: str | None = None,
        service_type: str | None = None,
        *,
        priority: Priority | None = None,
    ) -> AllowedIp | None:
        """Allow `ip_address` (IPv4/IPv6, optional CIDR); the new entry if STACKS returns it."""
        body = {"ip_address": ip_address}
        if description is not None:
            body["description"] = description
        if service_type is not None:
            body["service_type"] = service_type
        return self._call(
            routes.ADD_ALLOWED_IP,
            read_body(parse_allowed_ip),
            priority,
            json=body,
            container_id=container_id,
        )

    def remove_allowed_ip(
        self, container_id: str, ip_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """STACKS refuses to remove the last allowed IP (lockout protection)."""
        return self._call(
            routes.REMOVE_ALLOWED_IP,
            read_acknowledgement,
            priority,
            container_id=container_id,
            ip_id=ip_id,
        )

    def available_targets(
        self, container_id: str, *, priority: Priority | None = None
    ) -> AvailableTargets:
        return self._call(
            routes.AVAILABLE_TARGETS,
            read_body(AvailableTargets.from_api),
            priority,
            container_id=container_id,
        )

    def connect(
        self,
        source_id: str,
        target_id: str,
        connection_name: str | None = None,
        *,
        priority: Priority | None = None,
    ) -> Connection:
        """Connect `source_id` to `target_id` (restart the source to pick up the env vars)."""
        body = None if connection_name is None else {"connectionName": connection_name}
        return self._call(
            routes.CONNECT,
            read_body(Connection.from_api),
            priority,
            json=body,
            source_id=source_id,
            target_id=target_id,
        )

    def connections(self, container_id: str, *, priority: Priority | None = None) -> Connections:
        return self._call(
            routes.CONNECTIONS, read_body(Connections.from_api), priority, container_id=container_id
        )

    def delete_connection(
        self, connection_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.DELETE_CONNECTION, read_acknowledgement, priority, connection_id=connection_id
        )
