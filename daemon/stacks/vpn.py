"""Typed WireGuard VPN clients and configs of a `stacks-vpn` container.

A client config holds its private key, so configs are `Secret`s, and so is any
untyped part of a client entry.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daemon.stacks.details import secret_text
from daemon.stacks.fields import (
    MalformedData,
    as_str,
    as_time,
    pick,
    require_list,
    require_mapping,
    unwrap,
)
from daemon.stacks.secret import Secret

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
        ("name", "client_name", "clientName", "address", "ip", "ip_address", "allowedIps",
         "public_key", "publicKey", "created_at", "createdAt", *CONFIG_NAMES)
    )  # fmt: skip

    @classmethod
    def from_api(cls, raw: Any) -> "VpnClient":
        if isinstance(raw, str):
            return cls(name=raw)
        data = require_mapping(raw, "vpn client")
        return cls(
            name=as_str(
                pick(data, "name", "client_name", "clientName"), "vpn client", required=True
            ),
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
    if isinstance(data, Mapping) and pick(data, "name", "client_name", "clientName"):
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
