"""API keys: issuing them (`sk_stacks_` + 64 hex), Bearer authentication, and scopes."""

import re
from collections.abc import Iterable, Mapping

from daemon.simulator.exchange import ApiError
from daemon.simulator.state import KeyRecord, World

ALL_SCOPES = ("containers:read", "containers:create", "containers:manage", "containers:delete")
KEY_PATTERN = re.compile(r"sk_stacks_[0-9a-f]{64}")
ACCOUNT_PATTERN = re.compile(r"[0-9a-f]{8}")
INVALID_KEY = {"error": "Invalid API key"}


def issue_key(
    world: World,
    scopes: Iterable[str] = ALL_SCOPES,
    spending_cap: float | None = None,
    rate_limit: int = 60,
    account: str | None = None,
) -> KeyRecord:
    """A new key for `account` (a new account when None)."""
    scopes = tuple(scopes)
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; valid scopes are {list(ALL_SCOPES)}")
    if spending_cap is not None and spending_cap < 0:
        raise ValueError(f"spending_cap must be >= 0 dollars, got {spending_cap}")
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 1:
        raise ValueError(f"rate_limit must be a positive number of requests, got {rate_limit!r}")
    if account is None:
        account = world.new_account()
    elif not ACCOUNT_PATTERN.fullmatch(account):
        raise ValueError(f"account must be 8 lowercase hex digits, got {account!r}")
    world.accounts.add(account)
    secret = "sk_stacks_" + world.hex(64)
    record = KeyRecord(secret, account, scopes, spending_cap, rate_limit)
    world.keys[secret] = record
    return record


def bearer_key(world: World, headers: Mapping[str, str]) -> KeyRecord | None:
    """The key named by `Authorization: Bearer ...`, or None when missing, malformed or unknown."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not KEY_PATTERN.fullmatch(token):
        return None
    return world.keys.get(token)


def authenticate(world: World, headers: Mapping[str, str]) -> KeyRecord:
    key = bearer_key(world, headers)
    if key is None:
        raise ApiError(401, dict(INVALID_KEY))
    return key


def require_scope(key: KeyRecord, scope: str) -> None:
    if scope not in key.scopes:
        raise ApiError(
            403,
            {
                "error": f"API key lacks required scope: {scope}",
                "required_scope": scope,
                "key_scopes": list(key.scopes),
            },
        )
