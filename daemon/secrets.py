"""Secrets never shown: the one API-key pattern, URL-password masking, and redaction.

Everything that may carry a secret to a person passes through here: log
records (daemon/log_setup.py), audit rows (the store redacts every string and
every `details` value before hashing it), config error messages and command
line errors, exception text built from server answers.

- The STACKS API key's shape is defined here once (`KEY_PREFIX`, 64 hex):
  `WHOLE_KEY` finds a complete key (a config file must not hold one), and
  `KEY_SHAPED` anything key-shaped, loose on purpose (a truncated or mistyped
  key is still a secret), which `redact_keys` blanks.
- `mask_url_password` hides the password of a database URL (`user:***@host`,
  `password=***`), for messages and `/status`.
- `redact_text` scrubs a string of keys, URL passwords, PEM private keys,
  WireGuard `PrivateKey =` lines and `password=`-style pairs; `redact_value`
  does it through mappings and sequences, blanking whole values under
  secret-looking keys (`password`, `privateKey`, `vpn_config`, ...).
"""

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

KEY_PREFIX = "sk_stacks_"
KEY_HEX_LENGTH = 64
# A whole key, in any case: what a config file must never hold (daemon/config/secret_guard.py).
WHOLE_KEY = re.compile(rf"{KEY_PREFIX}[0-9a-f]{{{KEY_HEX_LENGTH}}}", re.IGNORECASE)
# Anything key-shaped, down to a fragment: what is blanked wherever text is shown.
KEY_SHAPED = re.compile(KEY_PREFIX + r"[0-9A-Za-z]+")
REDACTED = "[redacted]"

_USERINFO_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
_QUERY_PASSWORD = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)

# A mapping key is secret if any of its words is one of these ...
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
_WORD_BOUNDARY = re.compile(r"[^0-9A-Za-z]+|(?<=[a-z0-9])(?=[A-Z])")

_TEXT_PATTERNS = (
    (KEY_SHAPED, KEY_PREFIX + REDACTED),
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        "[redacted private key]",
    ),
    (re.compile(r"(?im)^(\s*(?:PrivateKey|PresharedKey)\s*=\s*).*$"), r"\1" + REDACTED),
    (_USERINFO_PASSWORD, r"\1***@"),
    (re.compile(r"(?i)\b(password|passwd|token|secret)(\s*[=:]\s*)\S+"), r"\1\2" + REDACTED),
)


def redact_keys(text: str) -> str:
    """`text` with every key-shaped substring replaced by `sk_stacks_[redacted]`."""
    return KEY_SHAPED.sub(KEY_PREFIX + REDACTED, text)


def mask_url_password(url: str) -> str:
    """The URL with any password replaced by `***`, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        hidden = _USERINFO_PASSWORD.sub(r"\1***@", url)
        return _QUERY_PASSWORD.sub(r"\1***", hidden)


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
