"""Secrets never shown: the one API-key pattern, URL masking, and redaction.

Everything that may carry a secret to a person passes through here: log
records (daemon/log_setup.py), audit rows (the store redacts every string and
every `details` value before hashing it), config error messages and command
line errors, exception text built from server answers.

- The STACKS API key's shape is defined here once (`KEY_PREFIX`, 64 hex):
  `WHOLE_KEY` finds a complete key (a config file must not hold one), and
  `KEY_SHAPED` anything key-shaped, loose on purpose (a truncated or mistyped
  key is still a secret), which `redact_keys` blanks.
- `mask_url_password` hides the credentials of a URL (`user:***@host`) and the
  values of secret-looking query parameters (`password=***`), for messages and
  `/status`; `mask_url_path` shows only its scheme, host and port, for URLs whose
  path is the secret (incoming webhooks). Neither ever raises: a URL that cannot
  be read for sure (an `@` left unencoded in a password) is shown with no
  credentials at all.
- `redact_text` scrubs a string of keys, URL passwords, PEM private keys,
  WireGuard `PrivateKey =` lines, `Authorization:` values and `password=`-style
  pairs (`PGPASSWORD=...`, `{"client_secret": "..."}`); `redact_value` does it
  through mappings and sequences, blanking whole values under secret-looking
  keys (`password`, `privateKey`, `vpn_config`, ...).
"""

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

KEY_PREFIX = "sk_stacks_"
KEY_HEX_LENGTH = 64
# A whole key, in any case: what a config file must never hold (daemon/config/secret_guard.py).
WHOLE_KEY = re.compile(rf"{KEY_PREFIX}[0-9a-f]{{{KEY_HEX_LENGTH}}}", re.IGNORECASE)
# Anything key-shaped, down to a fragment: what is blanked wherever text is shown.
KEY_SHAPED = re.compile(KEY_PREFIX + r"[0-9A-Za-z]+")
REDACTED = "[redacted]"
HIDDEN = "***"  # what stands for a password or a secret query value in a URL

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_AUTHORITY_END = re.compile(r"[/?#]")
# Query parameters whose value is hidden: password=, sslpassword=, token=, api_key=, sig=, ...
_SECRET_QUERY_NAME = re.compile(r"pass|pwd|secret|token|key|auth|sig|credential", re.IGNORECASE)
_QUERY_PAIR = re.compile(r"([?&;]([^=&;#]*)=)([^&;#]*)")
# In text: a URL's `user:password@`, up to the last `@` before a space (a password may hold one).
_USERINFO_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")

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

# A secret's value in text: quoted ("...", '...'), an auth scheme and its credentials
# (`Bearer abc`, whose scheme stays shown), or one word.
_AUTH_SCHEME = r"(?:bearer|basic|digest|token|negotiate|apikey)\s+"
_QUOTED = r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'"""
_SECRET_VALUE = rf"{_QUOTED}|{_AUTH_SCHEME}\S+|\S+"
# A name ending in a secret word (`password`, `POSTGRES_PASSWORD`, `PGPASSWORD`,
# `client_secret`, `X-Auth-Token`), maybe closed by a quote (JSON, a repr), then = or :.
_SECRET_PAIR = re.compile(
    r"""(?i)(\b[\w-]*?(?:password|passwd|passphrase|secret|token|api[_-]?key)"""
    rf"""(?:\\?["'])?\s*[=:]\s*)({_SECRET_VALUE})"""
)
# An Authorization header's value: only when quoted or led by its scheme, so that a
# message about the header (`headers_files.Authorization: cannot read ...`) stays whole.
_AUTHORIZATION = re.compile(
    r"""(?i)(\b(?:proxy-)?authorization(?:\\?["'])?\s*[=:]\s*)"""
    rf"({_QUOTED}|{_AUTH_SCHEME}\S+)"
)
_LEADING_SCHEME = re.compile(rf"(?i){_AUTH_SCHEME}")


def _hidden_value(match: re.Match[str]) -> str:
    """A secret pair with its value redacted: quotes and an auth scheme kept."""
    value = match.group(2)
    quote = value[0] if value[0] in "\"'" and len(value) > 1 and value[-1] == value[0] else ""
    inner = value[1:-1] if quote else value
    scheme = _LEADING_SCHEME.match(inner)
    shown = (scheme.group() if scheme else "") + REDACTED
    return f"{match.group(1)}{quote}{shown}{quote}"


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
    (_USERINFO_PASSWORD, rf"\1{HIDDEN}@"),
    (_SECRET_PAIR, _hidden_value),
    (_AUTHORIZATION, _hidden_value),
)


def redact_keys(text: str) -> str:
    """`text` with every key-shaped substring replaced by `sk_stacks_[redacted]`."""
    return KEY_SHAPED.sub(KEY_PREFIX + REDACTED, text)


class _UrlParts(NamedTuple):
    scheme: str  # with its "://", or ""
    userinfo: str | None  # what precedes the host's "@", None without one
    unsure: bool  # an "@" elsewhere: where the credentials end cannot be told
    host_port: str
    rest: str  # path, query and fragment


def _url_parts(url: str) -> _UrlParts:
    """A URL split without parsing it strictly, so any text can be shown safely."""
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group() if scheme_match else ""
    after = url[len(scheme) :]
    end = _AUTHORITY_END.search(after)
    authority, rest = (after[: end.start()], after[end.start() :]) if end else (after, "")
    if "@" in rest:  # a "/", "?" or "#" left unencoded in a password, or an "@" in the path
        userinfo, _, after = after.rpartition("@")
        end = _AUTHORITY_END.search(after)
        authority, rest = (after[: end.start()], after[end.start() :]) if end else (after, "")
        return _UrlParts(scheme, userinfo, True, authority, rest)
    userinfo, at, host_port = authority.rpartition("@")
    return _UrlParts(scheme, userinfo if at else None, "@" in userinfo, host_port, rest)


def _masked_query(rest: str) -> str:
    path, question, query = rest.partition("?")
    if not question:
        return rest

    def masked(pair: re.Match[str]) -> str:
        secret = _SECRET_QUERY_NAME.search(pair.group(2))
        return pair.group(1) + (HIDDEN if secret else pair.group(3))

    return path + _QUERY_PAIR.sub(masked, question + query)


def mask_url_password(url: str) -> str:
    """The URL with its password and secret query values replaced by `***`, safe for
    messages and logs. When where the credentials end is unsure (more than one `@`, or
    one after a `/`, `?` or `#`), all of them, user name too, are shown as `***`."""
    parts = _url_parts(url)
    if parts.userinfo is None:
        credentials = ""
    elif parts.unsure:
        credentials = f"{HIDDEN}@"
    else:
        user, colon, _ = parts.userinfo.partition(":")
        credentials = f"{user}:{HIDDEN}@" if colon else f"{user}@"
    return parts.scheme + credentials + parts.host_port + _masked_query(parts.rest)


def mask_url_path(url: str) -> str:
    """Only the URL's scheme, host and port, then `/...` if it goes on: what may be shown
    of a URL whose path holds its secret (an incoming webhook's token)."""
    parts = _url_parts(url)
    host_port = parts.host_port
    if host_port.startswith("["):  # [IPv6]:port
        host, _, port = host_port.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, colon, port = host_port.rpartition(":")
        if not colon:
            host, port = host_port, ""
    shown_port = f":{port}" if port.isascii() and port.isdigit() else ""
    more = "/..." if parts.rest.strip("/") else ""
    return f"{parts.scheme}{host or '?'}{shown_port}{more}"


def redact_text(text: str) -> str:
    """`text` with every secret-looking fragment replaced, NUL characters dropped, and what
    is not UTF-8 (bytes of a command line that were not: lone surrogates) shown as "?"."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


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
