"""Network access to containers: external access and allowed IPs, VPC connections, VPN clients.

- External access gives a container a subdomain and adds the caller's IP to its
  allowed IPs; disabling it removes both. Allowed IPs are IPv4/IPv6 addresses or
  CIDR ranges, and the last one cannot be removed (that would lock everyone out).
- A connection from a source to a target container injects the target's
  variables into the source, per target type, its password masked; targets are
  offered grouped by kind (databases, caches, load balancers, applications).
- WireGuard VPN clients exist on `stacks-vpn` containers only; each gets the next
  free address of the VPN subnet, and a new VPN container starts with `default`.
"""

import ipaddress
import re
from datetime import datetime
from typing import Any

from daemon.simulator.exchange import Call, Reply, bad_request, iso, not_found
from daemon.simulator.world import (
    PUBLIC_HOST,
    AllowedIp,
    Connection,
    ContainerRecord,
    VpnClient,
    World,
)

SERVICE_TYPES = ("http", "tcp", "both")
MASK = "****"  # what the API shows for a password in injected variables
TARGET_GROUPS = ("databases", "caches", "loadBalancers", "applications")
DATABASE_LOGINS = {
    # type: (variable prefix, user, database variable, database)
    "postgresql": ("POSTGRES", "postgres", "DB", "postgres"),
    "mysql": ("MYSQL", "root", "DATABASE", "mysql"),
    "mongodb": ("MONGO", "admin", "DB", "admin"),
}
CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
VPN_SUBNET = "10.13.13"  # .1 is the server (DNS), clients from .2
CONTAINER_NETWORK = "10.52.0.0/16"


# -- external access and allowed IPs ---------------------------------------------------


def _ip_view(entry: AllowedIp) -> dict:
    return {
        "id": entry.id,
        "ip_address": entry.ip_address,
        "description": entry.description,
        "service_type": entry.service_type,
        "added_at": iso(entry.added_at),
    }


def _add(call: Call, c: ContainerRecord, ip: str, description: str, service_type: str) -> AllowedIp:
    entry = AllowedIp(call.world.uuid(), ip, description, service_type, call.now)
    c.allowed_ips.append(entry)
    c.updated_at = call.now
    return entry


def set_external_access(call: Call) -> Reply:
    c = call.container()
    enabled = call.body().get("enabled")
    if not isinstance(enabled, bool):
        raise bad_request("enabled must be true or false", "enabled")
    caller = call.request.client_ip
    if not enabled:
        c.subdomain = None
        c.allowed_ips.clear()
        c.updated_at = call.now
        return Reply(
            {
                "success": True,
                "message": "External access disabled. The subdomain was removed and "
                "all IP restrictions were cleared.",
            },
            container_id=c.id,
        )
    if c.subdomain is None:
        c.subdomain = call.world.hex(6)
    if all(entry.ip_address != caller for entry in c.allowed_ips):
        _add(call, c, caller, "Your IP (Auto-added)", "both")
    return Reply(
        {
            "success": True,
            "message": f"External access enabled. Your container is available at: {c.url}",
            "your_ip": caller,
            "subdomain": c.subdomain,
            "url": c.url,
        },
        container_id=c.id,
    )


def list_allowed_ips(call: Call) -> Reply:
    c = call.container()
    data = {
        "external_access_enabled": c.external_access,
        "subdomain": c.subdomain,
        "url": c.url,
        "allowed_ips": [_ip_view(entry) for entry in c.allowed_ips],
        "your_current_ip": call.request.client_ip,
    }
    return Reply({"success": True, "data": data})


def add_allowed_ip(call: Call) -> Reply:
    c = call.container()
    body = call.body()
    raw = body.get("ip_address")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("ip_address is required", "ip_address")
    try:
        network = ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise bad_request(
            f"Invalid IP address '{raw}': use an IPv4 or IPv6 address, optionally with CIDR "
            "notation (e.g. 198.51.100.0/24)",
            "ip_address",
        ) from None
    ip = raw.strip() if "/" in raw else str(network.network_address)
    description = body.get("description") or "Custom IP"
    if not isinstance(description, str) or len(description) > 255:
        raise bad_request("description must be text of at most 255 characters", "description")
    service_type = body.get("service_type") or "both"
    if service_type not in SERVICE_TYPES:
        raise bad_request(
            f"service_type must be one of: {', '.join(SERVICE_TYPES)}", "service_type"
        )
    assume = call.world.assumptions
    if not c.external_access and assume.allowed_ip_requires_external_access:
        raise bad_request(
            f"External access is disabled for {c.id}; enable it with "
            "PUT /containers/{id}/external-access before adding allowed IPs"
        )
    if assume.allowed_ip_requires_new_address and any(e.ip_address == ip for e in c.allowed_ips):
        raise bad_request(f"{ip} is already in the allowed list", "ip_address")
    entry = _add(call, c, ip, description, service_type)
    return Reply(
        {"success": True, "message": f"{ip} added to the allowed IPs", "data": _ip_view(entry)},
        container_id=c.id,
    )


def remove_allowed_ip(call: Call) -> Reply:
    c = call.container()
    ip_id = call.params["ip_id"]
    entry = next((e for e in c.allowed_ips if e.id == ip_id), None)
    if entry is None:
        raise not_found(f"Allowed IP {ip_id} not found on container {c.id}")
    if len(c.allowed_ips) == 1:
        raise bad_request(
            "Cannot remove the last allowed IP address (this prevents lockout). "
            "Add another IP first, or disable external access."
        )
    c.allowed_ips.remove(entry)
    c.updated_at = call.now
    return Reply(
        {"success": True, "message": f"{entry.ip_address} removed from the allowed IPs"},
        container_id=c.id,
    )


# -- connections -----------------------------------------------------------------------


def environment(target: ContainerRecord) -> tuple[dict[str, str], str]:
    """The variables injected into the source (password masked) and the connection string."""
    host, kind = target.id, target.template.type
    port = str(target.template.service_port)
    if kind in DATABASE_LOGINS:
        prefix, user, database_variable, database = DATABASE_LOGINS[kind]
        env = {
            f"{prefix}_HOST": host,
            f"{prefix}_PORT": port,
            f"{prefix}_USER": user,
            f"{prefix}_PASSWORD": MASK,
            f"{prefix}_{database_variable}": database,
        }
        return env, f"{kind}://{user}:{MASK}@{host}:{port}/{database}"
    if kind == "redis":
        env = {"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_PASSWORD": MASK}
        return env, f"redis://:{MASK}@{host}:{port}"
    prefix = kind.upper().replace("-", "_")
    url = f"http://{host}:{port}"
    return {f"{prefix}_HOST": host, f"{prefix}_PORT": port, f"{prefix}_URL": url}, url


def _target_view(target: ContainerRecord) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "type": target.template.type,
        "status": target.status,
        "suggested": target.template.group in ("databases", "caches"),
    }


def available_targets(call: Call) -> Reply:
    source = call.container()
    others = sorted(
        (
            c
            for c in call.world.containers.values()
            if c.account == call.account and c is not source
        ),
        key=lambda c: c.name,
    )
    data: dict[str, Any] = {group: [] for group in TARGET_GROUPS}
    for target in others:
        data[target.template.group].append(_target_view(target))
    data["all"] = [_target_view(target) for target in others]
    return Reply({"success": True, "data": data})


def connect(call: Call) -> Reply:
    source = call.container("source_id")
    target = call.container("target_id")
    assume = call.world.assumptions
    if source is target and assume.connection_requires_other_target:
        raise bad_request("A container cannot be connected to itself")
    name = call.body(required=False).get("connectionName") or target.name
    if not isinstance(name, str) or len(name) > 64:
        raise bad_request("connectionName must be text of at most 64 characters", "connectionName")
    if assume.connection_requires_new_pair and any(
        c.source_id == source.id and c.target_id == target.id
        for c in call.world.connections.values()
    ):
        raise bad_request(f"{source.id} is already connected to {target.id}")
    env, conn_string = environment(target)
    connection = Connection(
        call.world.uuid(),
        source.id,
        target.id,
        name,
        target.template.type,
        env,
        conn_string,
        call.now,
    )
    call.world.connections[connection.id] = connection
    return Reply(
        {
            "success": True,
            "data": {
                "id": connection.id,
                "sourceContainer": source.id,
                "targetContainer": target.id,
                "connectionName": name,
                "connectionType": connection.type,
                "environmentVariables": env,
                "connectionString": conn_string,
                "message": "Connection created. "
                "Container will be updated with new environment variables.",
                "note": "You may need to restart the source container for changes to take effect.",
            },
        },
        container_id=source.id,
    )


def _other_end(side: str, other: ContainerRecord) -> dict[str, Any]:
    """`target_name`, `target_type`, `target_status` (or `source_...`) of a connection."""
    return {
        f"{side}_name": other.name,
        f"{side}_type": other.template.type,
        f"{side}_status": other.status,
    }


def list_connections(call: Call) -> Reply:
    c = call.container()
    containers = call.world.containers
    outgoing, incoming = [], []
    for conn in sorted(call.world.connections.values(), key=lambda conn: conn.created_at):
        base = {
            "id": conn.id,
            "connection_name": conn.name,
            "connection_type": conn.type,
            "connection_string": conn.connection_string,
            "created_at": iso(conn.created_at),
        }
        if conn.source_id == c.id:
            outgoing.append({**base, **_other_end("target", containers[conn.target_id])})
        elif conn.target_id == c.id:
            incoming.append({**base, **_other_end("source", containers[conn.source_id])})
    return Reply({"success": True, "data": {"outgoing": outgoing, "incoming": incoming}})


def delete_connection(call: Call) -> Reply:
    conn_id = call.params["connection_id"]
    conn = call.world.connections.get(conn_id)
    source = call.world.containers.get(conn.source_id) if conn else None
    if conn is None or source is None or source.account != call.account:
        raise not_found(f"Connection {conn_id} not found")
    del call.world.connections[conn_id]
    return Reply(
        {
            "success": True,
            "message": "Connection deleted. Restart the source container to drop its variables.",
        },
        container_id=source.id,
    )


# -- VPN clients -----------------------------------------------------------------------


def add_vpn_client(world: World, c: ContainerRecord, name: str, now: datetime) -> VpnClient:
    """A new client `name` of the VPN container `c`, at the next free address."""
    used = {client.address for client in c.vpn_clients.values()}
    host = next(n for n in range(2, 255) if f"{VPN_SUBNET}.{n}" not in used)
    client = VpnClient(name, f"{VPN_SUBNET}.{host}", now, world.hex(43))
    c.vpn_clients[name] = client
    return client


def _vpn(call: Call) -> ContainerRecord:
    c = call.container()
    if not c.template.vpn:
        raise bad_request(
            f"VPN clients exist only on stacks-vpn containers; {c.id} is {c.template.type}"
        )
    return c


def _view(client: VpnClient) -> dict:
    return {"name": client.name, "address": client.address, "created_at": iso(client.created_at)}


def list_clients(call: Call) -> Reply:
    c = _vpn(call)
    return Reply({"success": True, "data": [_view(v) for v in c.vpn_clients.values()]})


def add_client(call: Call) -> Reply:
    c = _vpn(call)
    name = call.body().get("name")
    if not isinstance(name, str) or not CLIENT_NAME.fullmatch(name):
        raise bad_request(
            "name must be 1-32 letters, digits, hyphens or underscores, starting with a "
            "letter or digit",
            "name",
        )
    if name in c.vpn_clients:
        raise bad_request(f"VPN client '{name}' already exists", "name")
    client = add_vpn_client(call.world, c, name, call.now)
    return Reply(
        {"success": True, "message": f"VPN client '{name}' added", "data": _view(client)},
        container_id=c.id,
    )


def _client(c: ContainerRecord, name: str) -> VpnClient:
    client = c.vpn_clients.get(name)
    if client is None:
        raise not_found(f"VPN client '{name}' not found on {c.id}")
    return client


def config(call: Call) -> Reply:
    c = _vpn(call)
    client = _client(c, call.request.query.get("client", "default"))
    text = (
        "[Interface]\n"
        f"PrivateKey = {client.private_key}=\n"
        f"Address = {client.address}/32\n"
        f"DNS = {VPN_SUBNET}.1\n\n"
        "[Peer]\n"
        f"PublicKey = {c.private_key[:43]}=\n"
        f"Endpoint = {PUBLIC_HOST}:{c.port}\n"
        f"AllowedIPs = {VPN_SUBNET}.0/24, {CONTAINER_NETWORK}\n"
        "PersistentKeepalive = 25\n"
    )
    return Reply(
        {
            "success": True,
            "data": {"client": client.name, "filename": f"{client.name}.conf", "config": text},
        }
    )


def remove_client(call: Call) -> Reply:
    c = _vpn(call)
    client = _client(c, call.params["client_name"])
    del c.vpn_clients[client.name]
    return Reply(
        {"success": True, "message": f"VPN client '{client.name}' removed"}, container_id=c.id
    )
