"""`Secret`: a value returned by STACKS (password, private key, VPN config) that hides itself.

Its `repr`/`str` are a fixed placeholder, it refuses to be pickled or compared
by content, and JSON encoders reject it, so it cannot slip into a log line, an
exception, an audit row or a metric by accident. Call `reveal()` where the value
is really needed (writing it to the operator's terminal or a file they asked for).
"""

from typing import Generic, TypeVar

T = TypeVar("T")

PLACEHOLDER = "<secret>"


class Secret(Generic[T]):
    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def reveal(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({PLACEHOLDER})"

    def __str__(self) -> str:
        return PLACEHOLDER

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")
