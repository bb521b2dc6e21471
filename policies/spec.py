"""What a policy module declares about itself: its PolicySpec, and the rules its options hold.

Each policy module ends with one `PolicySpec`, in the spirit of Cloud Custodian's
policy classes that carry their own schema and example:

- `name`: the `[policies.NAME]` table of the config file;
- `options`: the frozen dataclass of that table (field names are the TOML keys,
  type hints drive the conversion, defaults are the documented ones), whose
  `RULES` say what its values must hold beyond their types;
- `build`: how the loaded options become the deciding policy (None for a policy
  that configures another part of the daemon instead of deciding);
- `example`: the ```toml block of the module's docstring, the options with their
  defaults; config.example.toml repeats it (a test holds them equal).

The registry (policies/registry.py) lists the specs; PoliciesConfig, the
validation of `[policies.*]` and `build_policies` are derived from them, so a
new policy is one module plus one line in that list.

`OptionRule` is the same vocabulary for the daemon's own config sections
(daemon/config/model.py): every options section lists its rules beside its
fields, in a `RULES` class attribute.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from policies.base import Policy

_TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class OptionRule:
    """`key` of an options section must make `holds(section)` true once every type is right.

    When it does not, the config error reads `KEY: expected EXPECTED, got VALUE`, with
    `expected` a text or a function of the section, and VALUE the value passed through
    `shown_as` (e.g. a URL without its password). A rule is skipped when `key` or a key
    it `needs` is already wrong (a type error or an earlier rule), so one mistake yields
    one message: rules on a key come after the rules on the keys it needs.
    """

    key: str
    holds: Callable[[Any], bool]
    expected: str | Callable[[Any], str]
    needs: tuple[str, ...] = ()
    shown_as: Callable[[Any], object] | None = None

    def expectation(self, section: object) -> str:
        return self.expected if isinstance(self.expected, str) else self.expected(section)


def positive_duration(key: str) -> OptionRule:
    return OptionRule(
        key, lambda section: getattr(section, key) > timedelta(0), "a positive duration"
    )


def positive_integer(key: str) -> OptionRule:
    return OptionRule(key, lambda section: getattr(section, key) >= 1, "a positive integer")


@dataclass(frozen=True)
class PolicySpec:
    """One policy as the config and the daemon know it (see the module docstring)."""

    name: str
    options: type
    example: str
    build: Callable[[Any, bool], Policy] | None = None  # (PoliciesConfig, dry_run) -> policy


def toml_example(docstring: str | None) -> str:
    """The ```toml block of a policy module's docstring: its table with every default."""
    found = _TOML_BLOCK.search(docstring or "")
    if found is None:
        raise ValueError("a policy module's docstring must show its options in a ```toml block")
    return found.group(1)
