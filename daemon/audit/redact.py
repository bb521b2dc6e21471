"""Redaction of secrets before anything reaches an audit row.

Values under secret-looking keys (password, token, secret, private key, api key,
credentials, VPN/WireGuard config, ...) are replaced by `[redacted]`, and every
string is scrubbed of STACKS API keys (`sk_stacks_...`), URL passwords, PEM
private key blocks and WireGuard `PrivateKey =` lines, wherever they appear.
"""

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

REDACTED = "[redacted]"

# A key is secret if any of its words is one of these ...
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "credential",
        "credentials",
        "authorization",
        "cookie",
        "wireguard",
    }
)
# ... or its last word is one of these (`private_key`, `vpn_config`, but not `key_scopes`).
_SECRET_LAST_WORDS = frozenset({"key", "config", "conf", "dsn"})

_TEXT_PATTERNS = (
    (re.compile(r"sk_stacks_[0-9A-Za-z]+"), "sk_stacks_" + REDACTED),
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        "[redacted private key]",
    ),
    (re.compile(r"(?im)^(\s*(?:PrivateKey|PresharedKey)\s*=\s*).*$"), r"\1" + REDACTED),
    (re.compile(r"(://[^:/@\s]*:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(password|passwd|token|secret)(\s*[=:]\s*)\S+"), r"\1\2" + REDACTED),
)
_WORD_BOUNDARY = re.compile(r"[^0-9A-Za-z]+|(?<=[a-z0-9])(?=[A-Z])")


def redact_text(text: str) -> str:
    """`text` with every secret-looking fragment replaced, and NUL characters dropped."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text.replace("\x00", "")


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (`password`, `privateKey`, `vpn_config`, ...)."""
    words = [word.lower() for word in _WORD_BOUNDARY.split(key) if word]
    if not words:
        return False
    return bool(_SECRET_WORDS.intersection(words)) or words[-1] in _SECRET_LAST_WORDS


def redact_value(value: Any) -> Any:
    """A JSON-ready copy of `value` with secrets redacted (mappings, sequences, scalars)."""
    if isinstance(value, Mapping):
        return {
            redact_text(str(key)): REDACTED if is_secret_key(str(key)) else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, set | frozenset):
        return sorted((redact_value(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return redact_text(str(value))
