"""The STACKS API key: validated once, sent only as a Bearer header, never shown.

Startup reads the key file into an `ApiKey`; `StacksClient` takes nothing else
and puts it in the `Authorization` header of its one `httpx.Client`. A key is
`sk_stacks_` followed by exactly 64 lowercase hex characters (the shape is
defined once, in `daemon.secrets`). `ApiKey` checks that and explains what is
wrong without echoing the key; its `repr`/`str` carry no key material, only a
short SHA-256 fingerprint that is safe for logs and lock names. Anything
key-shaped in text that came from elsewhere is blanked by
`daemon.secrets.redact_keys`.
"""

import hashlib
import hmac

from daemon.secrets import KEY_HEX_LENGTH, KEY_PREFIX


class InvalidApiKey(ValueError):
    """The configured API key does not have the documented format."""


def key_problem(secret: str) -> str | None:
    """What is wrong with `secret` as a STACKS key (None when nothing), never quoting it."""
    if not secret:
        return "the API key is empty"
    if not secret.startswith(KEY_PREFIX):
        return f"the API key does not start with {KEY_PREFIX!r}"
    body = secret[len(KEY_PREFIX) :]
    if len(body) != KEY_HEX_LENGTH:
        return (
            f"the API key has {len(body)} characters after {KEY_PREFIX!r}; "
            f"expected exactly {KEY_HEX_LENGTH} hex characters"
        )
    if any(char not in "0123456789abcdef" for char in body):
        if all(char in "0123456789abcdefABCDEF" for char in body):
            return f"the API key has uppercase hex after {KEY_PREFIX!r}; STACKS keys are lowercase"
        return f"the API key has characters other than 0-9 and a-f after {KEY_PREFIX!r}"
    return None


class ApiKey:
    """A validated STACKS API key whose value only leaves through `bearer()`.

    Surrounding whitespace (a key file's trailing newline) is ignored.
    """

    __slots__ = ("_fingerprint", "_secret")

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str):
            raise InvalidApiKey(f"the API key must be text, got {type(secret).__name__}")
        secret = secret.strip()
        problem = key_problem(secret)
        if problem is not None:
            raise InvalidApiKey(
                f"{problem}: copy the whole key ({KEY_PREFIX} + {KEY_HEX_LENGTH} hex) from the "
                "STACKS dashboard, or create a new one under Account Settings -> API Keys"
            )
        self._secret = secret
        self._fingerprint = hashlib.sha256(secret.encode()).hexdigest()

    def fingerprint(self, length: int = 12) -> str:
        """A prefix of the key's SHA-256 hex digest: identifies the key, reveals nothing."""
        return self._fingerprint[:length]

    def bearer(self) -> str:
        """The `Authorization` header value."""
        return f"Bearer {self._secret}"

    def bearer_header(self) -> dict[str, str]:
        return {"Authorization": self.bearer()}

    def __repr__(self) -> str:
        return f"ApiKey(fingerprint={self.fingerprint()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __reduce__(self):
        raise TypeError("an ApiKey cannot be pickled (it would write the key out)")
