"""What a policy returns: Actions for the executor to perform, Notes to audit only.

Policies never call the API or the database. The executor turns each `Action`
into audited API calls (through the pre-change backup gate when `gated`), and
writes each `Note` as a single audit row with its outcome (`skipped`,
`gave_up`, ...).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    """A change to make: `action` is an audit action name such as `container.restart`."""

    policy: str
    action: str
    container_id: str
    container_name: str
    reason: str
    target: str | None = None
    gated: bool = True
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"policy:{self.policy}"


@dataclass(frozen=True)
class Note:
    """A decision that changes nothing but matters, audited with `outcome`."""

    policy: str
    action: str
    container_id: str
    container_name: str
    outcome: str
    reason: str
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return f"policy:{self.policy}"


Decision = Action | Note
