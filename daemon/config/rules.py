"""Semantic rules on typed config sections: ranges, formats and relations between keys.

Each Rule checks one key of one dataclass after its type is right. A rule is
skipped when its key or a key it `needs` already failed (a type error or an earlier
rule, so rules on a key come after the rules on the keys it needs): one mistake
yields one message.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from daemon.config.display import describe
from daemon.config.model import ApiConfig, DaemonConfig, PollConfig, split_host_port
from policies import (
    AutoRestartOptions,
    BackupFreshnessOptions,
    PreChangeBackupOptions,
    WeeklyPinOptions,
)

DATABASE_SCHEMES = ("sqlite:///", "postgresql+psycopg://")
NEVER_RESTARTED = ("running", "stopped")


@dataclass(frozen=True)
class Rule:
    key: str
    holds: Callable[[Any], bool]
    expected: str | Callable[[Any], str]
    needs: tuple[str, ...] = ()
    shown: Callable[[object], str] = describe

    def expectation(self, section: object) -> str:
        return self.expected if isinstance(self.expected, str) else self.expected(section)


def _positive_duration(key: str) -> Rule:
    return Rule(key, lambda s: getattr(s, key) > timedelta(0), "a positive duration")


def _positive_integer(key: str) -> Rule:
    return Rule(key, lambda s: getattr(s, key) >= 1, "a positive integer")


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


def _is_database_url(value: str) -> bool:
    return any(value.startswith(scheme) and value != scheme for scheme in DATABASE_SCHEMES)


def _without_password(value: object) -> str:
    """Show a database URL with any password replaced, e.g. postgres://app:***@db/ops."""
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, _, rest = value.partition("://")
        credentials, _, location = rest.rpartition("@")
        user = credentials.partition(":")[0]
        return describe(f"{scheme}://{user}:***@{location}")
    return describe(value)


RULES: dict[type, tuple[Rule, ...]] = {
    ApiConfig: (
        Rule("base_url", lambda s: _is_http_url(s.base_url), "an http:// or https:// URL"),
        _positive_duration("timeout"),
        _positive_integer("rate_limit_per_minute"),
        Rule(
            "reserve_for_actions",
            lambda s: 0 <= s.reserve_for_actions < s.rate_limit_per_minute,
            lambda s: f"0 to {s.rate_limit_per_minute - 1} (fewer than rate_limit_per_minute)",
            needs=("rate_limit_per_minute",),
        ),
    ),
    DaemonConfig: (
        Rule(
            "listen",
            lambda s: _is_host_port(s.listen),
            'host:port with a port from 1 to 65535, e.g. "127.0.0.1:9847"',
        ),
        Rule(
            "database_url",
            lambda s: _is_database_url(s.database_url),
            'a URL starting with "sqlite:///" or "postgresql+psycopg://"',
            shown=_without_password,
        ),
        Rule(
            "tls_cert_file",
            lambda s: bool(s.tls_cert_file) or not s.tls_key_file,
            "a certificate file, since tls_key_file is set",
            needs=("tls_key_file",),
        ),
        Rule(
            "tls_key_file",
            lambda s: bool(s.tls_key_file) or not s.tls_cert_file,
            "a private key file, since tls_cert_file is set",
            needs=("tls_cert_file",),
        ),
        Rule(
            "basic_auth_user",
            lambda s: bool(s.basic_auth_user) or not s.basic_auth_password_file,
            "a user name, since basic_auth_password_file is set",
            needs=("basic_auth_password_file",),
        ),
        Rule(
            "basic_auth_password_file",
            lambda s: bool(s.basic_auth_password_file) or not s.basic_auth_user,
            "a password file, since basic_auth_user is set",
            needs=("basic_auth_user",),
        ),
    ),
    PollConfig: (
        Rule(
            "status_interval",
            lambda s: s.status_interval == "auto" or s.status_interval > timedelta(0),
            'a positive duration or "auto"',
        ),
        _positive_duration("metrics_interval"),
        _positive_duration("backups_interval"),
    ),
    AutoRestartOptions: (
        Rule(
            "statuses",
            lambda s: not set(s.statuses) & set(NEVER_RESTARTED),
            'statuses of crashed containers, like "error" ("running" and "stopped" never are)',
        ),
        _positive_duration("backoff_initial"),
        Rule(
            "backoff_max",
            lambda s: s.backoff_max >= s.backoff_initial,
            lambda s: f"at least backoff_initial ({describe(s.backoff_initial)})",
            needs=("backoff_initial",),
        ),
        _positive_duration("reset_after"),
        _positive_integer("max_restarts"),
        _positive_duration("window"),
    ),
    PreChangeBackupOptions: (_positive_duration("timeout"),),
    WeeklyPinOptions: (_positive_integer("keep_weeks"),),
    BackupFreshnessOptions: (_positive_duration("max_age"),),
}
