"""External access (subdomain, caller IP auto-added) and allowed IPs with last-IP protection."""

import ipaddress

from daemon.simulator.call import Call
from daemon.simulator.exchange import ApiError, Reply, bad_request, not_found
from daemon.simulator.isotime import iso
from daemon.simulator.state import AllowedIp, ContainerRecord

SERVICE_TYPES = ("http", "tcp", "both")


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
        raise bad_request("service_type must be one of: http, tcp, both", "service_type")
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
        raise ApiError(
            400,
            {
                "success": False,
                "error": "Cannot remove the last allowed IP address (this prevents lockout). "
                "Add another IP first, or disable external access.",
            },
        )
    c.allowed_ips.remove(entry)
    c.updated_at = call.now
    return Reply(
        {"success": True, "message": f"{entry.ip_address} removed from the allowed IPs"},
        container_id=c.id,
    )
