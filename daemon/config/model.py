"""What a usable configuration is: typed frozen sections, their defaults and their rules.

Field names are the TOML keys, type hints drive the conversion of each value
(daemon/config/load.py), defaults are SPEC section 4, and each section lists in
`RULES`, beside its fields, what its values must hold beyond their types (an
OptionRule each: ranges, formats, relations between keys). Adding an option is
a field here (plus its line in config.example.toml, which a test enforces); the
`[policies]` table is PoliciesConfig, derived from the policy registry.
A configuration that breaks any of this raises ConfigError, listing every problem.
"""

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from daemon.audit import parse_url
from daemon.config.windows import WindowConfig, window_names_rule
from daemon.notify import NOTIFY_RULES, NotifyConfig
from daemon.secrets import mask_url_password
from daemon.stacks import DEFAULT_BASE_URL
from policies import OptionRule, Override, PoliciesConfig, positive_duration, positive_integer

DATABASE_SCHEMES = ("sqlite:///", "postgresql+psycopg://")


class ConfigError(Exception):
    """The configuration cannot be used; `errors` lists every reason found, one line each."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def split_host_port(value: str) -> tuple[str, int]:
    """`host:port` or `[ipv6]:port` -> (host, port); ValueError names what was expected.

    Port 0 passes (a listener picks a free port); config rules may ask for more.
    """
    host, colon, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address needs its brackets
    if not (colon and host and port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ValueError(f"expected HOST:PORT like 127.0.0.1:9847, got {value!r}")
    return host, int(port)


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def _is_host_port(value: str) -> bool:
    try:
        return split_host_port(value)[1] >= 1
    except ValueError:
        return False


def _has_database_scheme(value: str) -> bool:
    return any(value.startswith(scheme) and value != scheme for scheme in DATABASE_SCHEMES)


def _is_database_url(value: str) -> bool:
    """A URL the audit store can open as written: an `@` left unencoded in the password
    makes the host or the port wrong (or unreadable), and is refused here."""
    if not _has_database_scheme(value):
        return False
    try:
        url = parse_url(value)
    except ValueError:
        return False
    return "@" not in (url.host or "")


def _database_url_expected(section: "DaemonConfig") -> str:
    if _has_database_scheme(section.database_url):
        return (
            "a URL that reads as user, password, host, port and database: percent-encode "
            '"@", ":" and "/" in the user name and password (as %40, %3A and %2F)'
        )
    return "a URL starting with " + " or ".join(f'"{scheme}"' for scheme in DATABASE_SCHEMES)


def _both_or_neither(key: str, other: str, expected: str) -> OptionRule:
    """`key` must be set when `other` is (files and users that only work in pairs)."""
    return OptionRule(
        key,
        lambda section: bool(getattr(section, key)) or not getattr(section, other),
        f"{expected}, since {other} is set",
        needs=(other,),
    )


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = DEFAULT_BASE_URL
    api_key_file: str = ""  # else $CREDENTIALS_DIRECTORY/stacks_api_key, else $STACKS_API_KEY
    timeout: timedelta = timedelta(seconds=10)
    rate_limit_per_minute: int = 60
    reserve_for_actions: int = 10

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "base_url",
            lambda s: _is_http_url(s.base_url),
            "an http:// or https:// URL",
            shown_as=mask_url_password,
        ),
        positive_duration("timeout"),
        positive_integer("rate_limit_per_minute"),
        OptionRule(
            "reserve_for_actions",
            lambda s: 0 <= s.reserve_for_actions < s.rate_limit_per_minute,
            lambda s: f"0 to {s.rate_limit_per_minute - 1} (fewer than rate_limit_per_minute)",
            needs=("rate_limit_per_minute",),
        ),
    )


@dataclass(frozen=True)
class DaemonConfig:
    listen: str = "127.0.0.1:9847"
    database_url: str = "sqlite:////var/lib/stacks-opsd/audit.db"
    dry_run: bool = False
    instance_id: str = ""  # "" means hostname:pid
    log_format: Literal["text", "json"] = "text"
    tls_cert_file: str = ""  # TLS on the metrics listener when both files are set
    tls_key_file: str = ""
    basic_auth_user: str = ""  # basic auth on the metrics listener when both are set
    basic_auth_password_file: str = ""

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "listen",
            lambda s: _is_host_port(s.listen),
            'host:port with a port from 1 to 65535, e.g. "127.0.0.1:9847"',
        ),
        OptionRule(
            "database_url",
            lambda s: _is_database_url(s.database_url),
            _database_url_expected,
            shown_as=mask_url_password,
        ),
        _both_or_neither("tls_cert_file", "tls_key_file", "a certificate file"),
        _both_or_neither("tls_key_file", "tls_cert_file", "a private key file"),
        _both_or_neither("basic_auth_user", "basic_auth_password_file", "a user name"),
        _both_or_neither("basic_auth_password_file", "basic_auth_user", "a password file"),
    )

    @property
    def status_url(self) -> str:
        """This daemon's /status page as others reach it: `listen` with the scheme TLS gives;
        a wildcard address (0.0.0.0, ::) becomes this machine's name."""
        host, port = split_host_port(self.listen)
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.tls_cert_file and self.tls_key_file else "http"
        return f"{scheme}://{host}:{port}/status"


@dataclass(frozen=True)
class PollConfig:
    # "auto": what metrics and backups leave of the budget, from 1 s to 15 s
    status_interval: timedelta | Literal["auto"] = "auto"
    metrics_interval: timedelta = timedelta(minutes=5)
    backups_interval: timedelta = timedelta(minutes=30)

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "status_interval",
            lambda s: s.status_interval == "auto" or s.status_interval > timedelta(0),
            'a positive duration or "auto"',
        ),
        positive_duration("metrics_interval"),
        positive_duration("backups_interval"),
    )

    @property
    def fixed_status_interval(self) -> timedelta | None:
        """The configured status interval, or None when it is "auto"."""
        return None if self.status_interval == "auto" else self.status_interval


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    policies: PoliciesConfig = field(default_factory=PoliciesConfig)
    notify: tuple[NotifyConfig, ...] = ()  # [[notify]] tables, one per sink (daemon/notify)
    # `[[overrides]]`: policy options per container (policies/overrides.py), validated
    # by daemon/config/load.py's `validate_overrides`.
    windows: tuple[WindowConfig, ...] = ()  # [[windows]]: daemon/config/windows.py
    overrides: tuple[Override, ...] = field(default=(), metadata={"table_array": "overrides"})
    # The file the config was read from, as given; "" when no file exists and the
    # defaults apply. Not a TOML key.
    source: str = field(default="", metadata={"toml": False})
    # Rendered key path -> line of the file where it is set (daemon/config/key_lines.py),
    # for `explain`. Not a TOML key, and not part of what the config means.
    key_lines: Mapping[str, int] = field(
        default_factory=dict, compare=False, repr=False, metadata={"toml": False}
    )

    def origin_of(self, key: str) -> str | None:
        """Where `key` (`policies.auto_restart.window`) is set: "config.toml:12", or None
        when the file does not set it."""
        line = self.key_lines.get(key)
        return None if line is None else f"{self.source}:{line}"

    RULES: ClassVar[tuple[OptionRule, ...]] = (*NOTIFY_RULES, window_names_rule())
