"""Typed container details: credentials, SSH certificate, logs, templates.

The guide's per-container answers that the daemon's own loop does not read
(that is `models`); the client offers them for callers that ask on demand.
Credentials and private keys come back wrapped in `Secret`; the untyped rest of
a credentials answer is kept as a `Secret` too, because its shape varies by
container type and any of it may be sensitive. A certificate and logs may also
arrive as a plain file instead of JSON (`from_text`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.stacks.fields import (
    MalformedData,
    Secret,
    as_float,
    as_int,
    as_str,
    data_object,
    mapping_at,
    pick,
    require_list,
    require_mapping,
    secret_text,
    unwrap,
)

PRIVATE_KEY_NAMES = ("privateKey", "private_key", "certificate", "key", "pem")


@dataclass(frozen=True)
class Credentials:
    """`GET /containers/{id}/credentials`: main login and where to connect."""

    container_name: str | None
    type: str | None
    username: str | None
    password: Secret[str] | None
    host: str | None
    port: int | None
    internal_host: str | None
    details: Secret[Mapping[str, Any]] = field(compare=False)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "Credentials":
        data = require_mapping(unwrap(body), "credentials")
        main = mapping_at(data, "mainCredentials", "main_credentials")
        info = mapping_at(data, "connectionInfo", "connection_info")
        return cls(
            container_name=as_str(pick(data, "containerName", "container_name"), "containerName"),
            type=as_str(data.get("type"), "type"),
            username=as_str(pick(main, "username", "user"), "username"),
            password=secret_text(main.get("password"), "password"),
            host=as_str(info.get("host"), "host"),
            port=as_int(info.get("port"), "port"),
            internal_host=as_str(pick(info, "internalHost", "internal_host"), "internalHost"),
            details=Secret({"data": data, "credentials": body.get("credentials")}),
        )


@dataclass(frozen=True)
class Certificate:
    """An SSH private key (`GET .../certificate`) or the answer to regenerating it."""

    private_key: Secret[str] | None
    filename: str | None = None
    message: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "Certificate":
        data = data_object(body)
        return cls(
            private_key=secret_text(pick(data, *PRIVATE_KEY_NAMES), "private key"),
            filename=as_str(pick(data, "filename", "fileName"), "filename"),
            message=as_str(pick(body, "message"), "message"),
        )

    @classmethod
    def from_text(cls, text: str) -> "Certificate":
        if not text.strip():
            raise MalformedData("empty certificate body")
        return cls(private_key=Secret(text))


def _log_line(item: Any) -> str:
    if isinstance(item, Mapping):
        text = pick(item, "message", "line", "log", "text")
        stamp = pick(item, "timestamp", "time")
        line = "" if text is None else str(text)
        return f"{stamp} {line}" if stamp is not None else line
    return str(item)


@dataclass(frozen=True)
class Logs:
    """`GET /containers/{id}/logs`: the newest lines, oldest first."""

    lines: tuple[str, ...]

    def __repr__(self) -> str:  # logs can be long and personal: show their size only
        return f"Logs({len(self.lines)} lines)"

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "Logs":
        data = unwrap(body)
        if isinstance(data, Mapping):
            # `logs` null: no lines (beside it, `lines` is their count, not the lines).
            if "logs" in data:
                data = data["logs"]
            else:
                data = pick(data, "lines", "output")
                if data is None:
                    data = pick(body, "logs", "lines", "output")
        if data is None:
            return cls(())
        if isinstance(data, str):
            return cls.from_text(data)
        return cls(tuple(_log_line(item) for item in require_list(data, "logs")))

    @classmethod
    def from_text(cls, text: str) -> "Logs":
        return cls(tuple(text.splitlines()))


@dataclass(frozen=True)
class Template:
    """A container template from `GET /containers/templates`."""

    id: str
    name: str | None = None
    type: str | None = None
    category: str | None = None
    description: str | None = None
    tier: str | None = None
    price_monthly: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    _KNOWN = frozenset(
        ("id", "template_id", "templateId", "name", "type", "category", "description",
         "tier", "plan", "price", "price_monthly", "priceMonthly", "monthly_price")
    )  # fmt: skip

    @classmethod
    def from_api(cls, raw: Any, category: str | None = None) -> "Template":
        data = require_mapping(raw, "template")
        price = pick(data, "price_monthly", "priceMonthly", "monthly_price", "price")
        if isinstance(price, str):
            price = price.strip().lstrip("$").split("/")[0]
        if isinstance(price, Mapping):
            price = pick(price, "monthly", "amount", "value")
        return cls(
            id=as_str(pick(data, "id", "template_id", "templateId"), "template id", required=True),
            name=as_str(data.get("name"), "template name"),
            type=as_str(data.get("type"), "template type"),
            category=as_str(data.get("category"), "category") or category,
            description=as_str(data.get("description"), "description"),
            tier=as_str(pick(data, "tier", "plan"), "tier"),
            price_monthly=as_float(price, "template price"),
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )


def parse_templates(body: Mapping[str, Any]) -> tuple[Template, ...]:
    """Templates as a list, under `templates`, or grouped by category/tier in an object."""
    data = unwrap(body)
    if isinstance(data, Mapping) and "templates" in data:
        data = data["templates"]
    if isinstance(data, list):
        return tuple(Template.from_api(item) for item in data)
    groups = require_mapping(data, "templates")
    return tuple(
        Template.from_api(item, category=str(group))
        for group, items in groups.items()
        if isinstance(items, list)
        for item in items
    )
