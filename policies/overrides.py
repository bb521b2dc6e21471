"""Per-container options: the `[[overrides]]` that apply to a container, and each option's
effective value and where it came from. The one place options are resolved.

```toml
[[overrides]]
match = ["shop-db*"]             # container name globs (default ["*"])
types = ["postgresql", "mysql"]  # container types (the API's `type`); empty: any type
auto_restart.max_restarts = 2    # any policy option, as POLICY.OPTION
auto_restart.backoff_initial = "1m"
```

Precedence, lowest first: the option's default < its `[policies.NAME]` table <
each `[[overrides]]` that applies to the container, in file order (a later one
wins). An override applies when the container's name matches one of its `match`
globs and, if it lists `types`, the container's type is one of them.

`PolicyOptions` is what a deciding policy holds instead of one options object:
`of(name, type)` gives a container's effective options (cached), and
`values(option)` every value an option can take across the fleet (a policy sizes
its history window with the largest). `explain_options` gives, for one container, each
option's value and origin: `default`, or the config file and line of the
`[policies.NAME]` key or of the override that set it.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

DEFAULT_ORIGIN = "default"


@dataclass(frozen=True)
class Override:
    """One `[[overrides]]` table: which containers it applies to and the options it sets
    (policy name -> option name -> converted value)."""

    match: tuple[str, ...] = ("*",)
    types: tuple[str, ...] = ()
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def applies_to(self, name: str, container_type: str | None) -> bool:
        if not any(fnmatchcase(name, pattern) for pattern in self.match):
            return False
        return not self.types or container_type in self.types


class PolicyOptions:
    """One policy's options for every container: its table, changed by the overrides."""

    def __init__(self, policy: str, table: Any, overrides: tuple[Override, ...] = ()) -> None:
        self.policy = policy
        self.table = table
        self.overrides = overrides
        self._setting = tuple(o for o in overrides if policy in o.options)
        # Every evaluation and scrape asks for every container: room for a 16,384-container fleet.
        self.of = lru_cache(maxsize=16_384)(self._of)

    def _of(self, name: str, container_type: str | None = None) -> Any:
        """The effective options of the container named `name` of type `container_type`."""
        changes: dict[str, Any] = {}
        for _, override in _applying(self.overrides, name, container_type):
            changes.update(override.options.get(self.policy, {}))
        return replace(self.table, **changes) if changes else self.table

    def values(self, option: str) -> list[Any]:
        """Every value `option` can take: the table's and each override's."""
        return [
            getattr(self.table, option),
            *(
                o.options[self.policy][option]
                for o in self._setting
                if option in o.options[self.policy]
            ),
        ]

    @property
    def ever_enabled(self) -> bool:
        """Enabled in its table or in any override (then some container may need it)."""
        return any(self.values("enabled")) if hasattr(self.table, "enabled") else True


@dataclass(frozen=True)
class Effective:
    """One option of one container: its value, and where that value was set."""

    value: Any
    origin: str  # "default", or "FILE:LINE"


def explain_options(
    policies: Any,
    overrides: tuple[Override, ...],
    name: str,
    container_type: str | None,
    origin_of: Callable[[str], str | None],
) -> dict[str, dict[str, Effective]]:
    """policy -> option -> Effective for one container. `origin_of(key_path)` is where the
    key `policies.auto_restart.window` or `overrides[1].auto_restart.window` is written
    ("config.toml:12"), None when it is not in the file (then its value is the default)."""
    result: dict[str, dict[str, Effective]] = {}
    for policy in (f.name for f in fields(policies)):
        table = getattr(policies, policy)
        options = {}
        for option in (f.name for f in fields(table)):
            origin = origin_of(f"policies.{policy}.{option}") or DEFAULT_ORIGIN
            value = getattr(table, option)
            for index, override in _applying(overrides, name, container_type):
                if option in override.options.get(policy, {}):
                    value = override.options[policy][option]
                    origin = origin_of(f"overrides[{index}].{policy}.{option}") or (
                        f"overrides[{index}]"
                    )
            options[option] = Effective(value, origin)
        result[policy] = options
    return result


def _applying(
    overrides: tuple[Override, ...], name: str, container_type: str | None
) -> Iterator[tuple[int, Override]]:
    for index, override in enumerate(overrides):
        if override.applies_to(name, container_type):
            yield index, override
