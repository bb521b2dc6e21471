"""HTTP basic auth for the exporter's listener: one user, checked in constant time, never shown."""

import base64
import binascii
import hmac


class BasicAuth:
    """The one user allowed in; repr and str never show the password."""

    def __init__(self, user: str, password: str) -> None:
        if not user or ":" in user:
            raise ValueError("basic auth user must be non-empty and must not contain ':'")
        if not password:
            raise ValueError(f"basic auth for user {user!r} needs a non-empty password")
        self._user = user.encode()
        self._password = password.encode()

    def __repr__(self) -> str:
        return f"BasicAuth(user={self._user.decode()!r}, password=<redacted>)"

    def allows(self, authorization: str | None) -> bool:
        """Constant-time check of an `Authorization: Basic ...` header value."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(colon) and user_ok and password_ok
