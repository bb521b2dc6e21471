"""Validate a parsed TOML document against the config dataclasses, collecting every error.

Driven by the dataclasses' fields and type hints (borgmatic's validate.py in spirit):
a nested dataclass is a TOML table, anything else is converted by coerce(), then
the semantic rules run. Nothing stops at the first error; each one reads
`FILE: key.path: expected WHAT, got VALUE` or `FILE: key.path: unknown key; valid keys: ...`.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any, get_type_hints

from daemon.config.coerce import Mismatch, coerce
from daemon.config.display import describe, key_path
from daemon.config.model import PoliciesConfig
from daemon.config.rules import RULES
from policies import POLICY_OPTIONS


def validate(
    cls: type, table: Mapping[str, Any], label: str, path: tuple[str, ...] = ()
) -> tuple[Any, list[str]]:
    """Return an instance of `cls` built from `table` (defaults where invalid) and all errors."""
    keys = [field.name for field in dataclasses.fields(cls) if field.metadata.get("toml", True)]
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    errors: list[str] = []
    for key, raw in table.items():
        here = (*path, key)
        if key not in keys:
            errors.append(f"{label}: {key_path(here)}: {_unknown(cls, keys)}")
            continue
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if isinstance(raw, dict):
                values[key], nested_errors = validate(hint, raw, label, here)
                errors += nested_errors
            else:
                invalid.add(key)
                errors.append(f"{label}: {key_path(here)}: expected a table, got {describe(raw)}")
            continue
        try:
            values[key] = coerce(hint, raw)
        except Mismatch as mismatch:
            invalid.add(key)
            errors += [
                f"{label}: {key_path((*here, *problem.at))}: "
                f"expected {problem.expected}, got {describe(problem.value)}"
                for problem in mismatch.problems
            ]
    section = cls(**values)
    for rule in RULES.get(cls, ()):
        if invalid.isdisjoint((rule.key, *rule.needs)) and not rule.holds(section):
            invalid.add(rule.key)
            errors.append(
                f"{label}: {key_path((*path, rule.key))}: expected {rule.expectation(section)}, "
                f"got {rule.shown(getattr(section, rule.key))}"
            )
    return section, errors


def _unknown(cls: type, keys: list[str]) -> str:
    if cls is PoliciesConfig:
        return "unknown policy; valid policies: " + ", ".join(POLICY_OPTIONS)
    return "unknown key; valid keys: " + ", ".join(keys)
