"""The configuration as typed, frozen dataclasses; their defaults are SPEC section 4.

Field names are the TOML keys and type hints drive validation (daemon/config/validate.py),
so adding a field here is all it takes to add an option (plus a line in
config.example.toml, which a test enforces).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from daemon.stacks import DEFAULT_BASE_URL
from policies import (
    AutoRestartOptions,
    BackupFreshnessOptions,
    PreChangeBackupOptions,
    WeeklyPinOptions,
)


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


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = DEFAULT_BASE_URL
    api_key_file: str = ""  # else $CREDENTIALS_DIRECTORY/stacks_api_key, else $STACKS_API_KEY
    timeout: timedelta = timedelta(seconds=10)
    rate_limit_per_minute: int = 60
    reserve_for_actions: int = 10


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


@dataclass(frozen=True)
class PollConfig:
    # "auto": what metrics and backups leave of the budget, from 1 s to 15 s
    status_interval: timedelta | Literal["auto"] = "auto"
    metrics_interval: timedelta = timedelta(minutes=5)
    backups_interval: timedelta = timedelta(minutes=30)

    @property
    def fixed_status_interval(self) -> timedelta | None:
        """The configured status interval, or None when it is "auto"."""
        return None if self.status_interval == "auto" else self.status_interval


@dataclass(frozen=True)
class PoliciesConfig:
    """One attribute per policy in policies.registry.POLICY_OPTIONS (a test keeps them equal)."""

    auto_restart: AutoRestartOptions = field(default_factory=AutoRestartOptions)
    pre_change_backup: PreChangeBackupOptions = field(default_factory=PreChangeBackupOptions)
    weekly_pin: WeeklyPinOptions = field(default_factory=WeeklyPinOptions)
    backup_freshness: BackupFreshnessOptions = field(default_factory=BackupFreshnessOptions)


@dataclass(frozen=True)
class Config:
    api: ApiConfig = field(default_factory=ApiConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    policies: PoliciesConfig = field(default_factory=PoliciesConfig)
    # The file the config was read from, as given; "" when no file exists and the
    # defaults apply. Not a TOML key.
    source: str = field(default="", metadata={"toml": False})
