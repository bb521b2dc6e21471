"""Typed answers about reaching containers: external access, allowed IPs, connections, VPN.

Connection strings and injected environment variables carry database
credentials (STACKS masks passwords as `****`, but not every field is
guaranteed), so they are kept as `Secret`s and these models keep no untyped
extras. A WireGuard client config holds its private key, so configs are
`Secret`s too, and so is any untyped part of a VPN client entry.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daemon.stacks.fields import (
    MalformedData,
    Secret,
    as_bool,
    as_str,
    as_time,
    data_object,
    pick,
    require_list,
    require_mapping,
    secret_text,
    unwrap,
)


@dataclass(frozen=True)
class ExternalAccess:
    """`PUT /containers/{id}/external-access`: the public address and the caller's IP."""

    enabled: bool
    message: str | None = None
    your_ip: str | None = None
    subdomain: str | None = None
    url: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any], enabled: bool) -> "ExternalAccess":
        data = data_object(body)
        merged = {**data, **{k: v for k, v in body.items() if k != "data"}}
        reported = pick(merged, "enabled", "external_access_enabled", "externalAccessEnabled")
        return cls(
            enabled=enabled if reported is None else as_bool(reported),
            message=as_str(merged.get("message"), "message"),
            your_ip=as_str(pick(merged, "your_ip", "yourIp"), "your_ip"),
            subdomain=as_str(merged.get("subdomain"), "subdomain"),
            url=as_str(merged.get("url"), "url"),
        )


@dataclass(frozen=True)
class AllowedIp:
    id: str
    ip_address: str
    description: str | None = None
    service_type: str | None = None
    added_at: datetime | None = None

    @classmethod
    def from_api(cls, raw: Any) -> "AllowedIp":
        data = require_mapping(raw, "allowed ip")
        return cls(
            id=as_str(data.get("id"), "allowed ip id", required=True),
            ip_address=as_str(pick(data, "ip_address", "ipAddress"), "ip_address", required=True),
            description=as_str(data.get("description"), "description"),
            service_type=as_str(pick(data, "service_type", "serviceType"), "service_type"),
            added_at=as_time(pick(data, "added_at", "addedAt", "created_at"), "added_at"),
        )


@dataclass(frozen=True)
class AllowedIps:
    """`GET /containers/{id}/allowed-ips`."""

    external_access_enabled: bool
    allowed_ips: tuple[AllowedIp, ...]
    subdomain: str | None = None
    url: str | None = None
    your_current_ip: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "AllowedIps":
        data = require_mapping(unwrap(body), "allowed ips")
        items = pick(data, "allowed_ips", "allowedIps") or []
        return cls(
            external_access_enabled=as_bool(
                pick(data, "external_access_enabled", "externalAccessEnabled")
            ),
            allowed_ips=tuple(AllowedIp.from_api(i) for i in require_list(items, "allowed_ips")),
            subdomain=as_str(data.get("subdomain"), "subdomain"),
            url=as_str(data.get("url"), "url"),
            your_current_ip=as_str(
                pick(data, "your_current_ip", "yourCurrentIp"), "your_current_ip"
            ),
        )


def parse_allowed_ip(body: Mapping[str, Any]) -> AllowedIp | None:
    """The entry `POST .../allowed-ips` created, when the answer includes it."""
    data = unwrap(body)
    if isinstance(data, Mapping) and "id" in data:
        return AllowedIp.from_api(data)
    return None


@dataclass(frozen=True)
class ConnectionTarget:
    id: str
    name: str | None = None
    type: str | None = None
    suggested: bool = False

    @classmethod
    def from_api(cls, raw: Any) -> "ConnectionTarget":
        data = require_mapping(raw, "connection target")
        return cls(
            id=as_str(data.get("id"), "target id", required=True),
            name=as_str(data.get("name"), "target name"),
            type=as_str(data.get("type"), "target type"),
            suggested=as_bool(data.get("suggested")),
        )


def _targets(data: Mapping[str, Any], *names: str) -> tuple[ConnectionTarget, ...]:
    items = pick(data, *names) or []
    return tuple(ConnectionTarget.from_api(item) for item in require_list(items, names[0]))


@dataclass(frozen=True)
class AvailableTargets:
    """`GET /containers/{id}/available-targets`, grouped as STACKS groups them."""

    databases: tuple[ConnectionTarget, ...]
    caches: tuple[ConnectionTarget, ...]
    load_balancers: tuple[ConnectionTarget, ...]
    applications: tuple[ConnectionTarget, ...]
    all: tuple[ConnectionTarget, ...]

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "AvailableTargets":
        data = require_mapping(unwrap(body), "available targets")
        groups = (
            _targets(data, "databases"),
            _targets(data, "caches"),
            _targets(data, "loadBalancers", "load_balancers"),
            _targets(data, "applications"),
        )
        everything = _targets(data, "all")
        if not everything:
            everything = tuple(target for group in groups for target in group)
        return cls(*groups, all=everything)


@dataclass(frozen=True)
class Connection:
    """`POST /containers/{source}/connect/{target}`: the env vars injected into the source."""

    id: str
    source_container: str | None
    target_container: str | None
    connection_name: str | None = None
    connection_type: str | None = None
    environment_variables: Secret[Mapping[str, str]] | None = field(default=None, compare=False)
    connection_string: Secret[str] | None = field(default=None, compare=False)
    message: str | None = None
    note: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "Connection":
        data = require_mapping(unwrap(body), "connection")
        env = pick(data, "environmentVariables", "environment_variables")
        return cls(
            id=as_str(data.get("id"), "connection id", required=True),
            source_container=as_str(
                pick(data, "sourceContainer", "source_container"), "sourceContainer"
            ),
            target_container=as_str(
                pick(data, "targetContainer", "target_container"), "targetContainer"
            ),
            connection_name=as_str(pick(data, "connectionName", "connection_name"), "name"),
            connection_type=as_str(pick(data, "connectionType", "connection_type"), "type"),
            environment_variables=None
            if env is None
            else Secret(dict(require_mapping(env, "environmentVariables"))),
            connection_string=secret_text(
                pick(data, "connectionString", "connection_string"), "connectionString"
            ),
            message=as_str(data.get("message"), "message"),
            note=as_str(data.get("note"), "note"),
        )


@dataclass(frozen=True)
class ConnectionSummary:
    """One entry of `GET /containers/{id}/connections` (outgoing or incoming)."""

    id: str
    connection_name: str | None = None
    connection_type: str | None = None
    connection_string: Secret[str] | None = field(default=None, compare=False)
    created_at: datetime | None = None
    peer_id: str | None = None
    peer_name: str | None = None
    peer_type: str | None = None
    peer_status: str | None = None

    @classmethod
    def from_api(cls, raw: Any, peer: str) -> "ConnectionSummary":
        data = require_mapping(raw, "connection")
        camel = peer + "Container"
        return cls(
            id=as_str(data.get("id"), "connection id", required=True),
            connection_name=as_str(pick(data, "connection_name", "connectionName"), "name"),
            connection_type=as_str(pick(data, "connection_type", "connectionType"), "type"),
            connection_string=secret_text(
                pick(data, "connection_string", "connectionString"), "connection_string"
            ),
            created_at=as_time(pick(data, "created_at", "createdAt"), "created_at"),
            peer_id=as_str(pick(data, f"{peer}_id", f"{peer}Id", f"{peer}_container", camel), "id"),
            peer_name=as_str(pick(data, f"{peer}_name", f"{peer}Name"), f"{peer}_name"),
            peer_type=as_str(pick(data, f"{peer}_type", f"{peer}Type"), f"{peer}_type"),
            peer_status=as_str(pick(data, f"{peer}_status", f"{peer}Status"), f"{peer}_status"),
        )


@dataclass(frozen=True)
class Connections:
    """`GET /containers/{id}/connections`: `outgoing` peers are targets, `incoming` are sources."""

    outgoing: tuple[ConnectionSummary, ...]
    incoming: tuple[ConnectionSummary, ...]

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "Connections":
        data = require_mapping(unwrap(body), "connections")
        outgoing = require_list(data.get("outgoing") or [], "outgoing")
        incoming = require_list(data.get("incoming") or [], "incoming")
        return cls(
            outgoing=tuple(ConnectionSummary.from_api(item, "target") for item in outgoing),
            incoming=tuple(ConnectionSummary.from_api(item, "source") for item in incoming),
        )


# -- WireGuard clients of a `stacks-vpn` container ----------------------------------

VPN_CLIENT_NAMES = ("name", "client_name", "clientName")
CONFIG_NAMES = ("config", "configuration", "conf", "wireguard_config", "wireguardConfig")


@dataclass(frozen=True)
class VpnClient:
    name: str
    address: str | None = None
    public_key: str | None = None
    created_at: datetime | None = None
    config: Secret[str] | None = field(default=None, compare=False)
    extra: Secret[Mapping[str, Any]] = field(default_factory=lambda: Secret({}), compare=False)

    _KNOWN = frozenset(
        (*VPN_CLIENT_NAMES, "address", "ip", "ip_address", "allowedIps",
         "public_key", "publicKey", "created_at", "createdAt", *CONFIG_NAMES)
    )  # fmt: skip

    @classmethod
    def from_api(cls, raw: Any) -> "VpnClient":
        if isinstance(raw, str):
            return cls(name=raw)
        data = require_mapping(raw, "vpn client")
        return cls(
            name=as_str(pick(data, *VPN_CLIENT_NAMES), "vpn client", required=True),
            address=as_str(pick(data, "address", "ip", "ip_address"), "address"),
            public_key=as_str(pick(data, "public_key", "publicKey"), "public_key"),
            created_at=as_time(pick(data, "created_at", "createdAt"), "created_at"),
            config=secret_text(pick(data, *CONFIG_NAMES), "config"),
            extra=Secret({k: v for k, v in data.items() if k not in cls._KNOWN}),
        )


def parse_vpn_clients(body: Mapping[str, Any]) -> tuple[VpnClient, ...]:
    data = unwrap(body)
    if isinstance(data, Mapping):
        data = pick(data, "clients", "vpn_clients", "vpnClients") or []
    return tuple(VpnClient.from_api(item) for item in require_list(data, "vpn clients"))


def parse_added_vpn_client(body: Mapping[str, Any], name: str) -> VpnClient:
    data = unwrap(body)
    if isinstance(data, Mapping) and isinstance(data.get("client"), Mapping):
        data = {**data, **data["client"]}
    if isinstance(data, Mapping) and pick(data, *VPN_CLIENT_NAMES):
        return VpnClient.from_api(data)
    config = pick(data, *CONFIG_NAMES) if isinstance(data, Mapping) else None
    return VpnClient(name=name, config=secret_text(config, "config"))


@dataclass(frozen=True)
class VpnConfig:
    """`GET /containers/{id}/vpn-config?client=...`: a WireGuard config file."""

    client: str
    config: Secret[str] = field(compare=False)
    filename: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any], client: str) -> "VpnConfig":
        data = unwrap(body)
        text = pick(data, *CONFIG_NAMES) if isinstance(data, Mapping) else data
        config = secret_text(text, "vpn config")
        if config is None or not config.reveal().strip():
            raise MalformedData("vpn config: missing")
        return cls(
            client=client,
            config=config,
            filename=as_str(pick(data, "filename"), "filename")
            if isinstance(data, Mapping)
            else None,
        )

    @classmethod
    def from_text(cls, text: str, client: str) -> "VpnConfig":
        if not text.strip():
            raise MalformedData("empty vpn config body")
        return cls(client=client, config=Secret(text))
