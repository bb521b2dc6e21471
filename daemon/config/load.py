"""Loading the config: find the TOML file, parse it, and validate it into a Config in one pass.

The path is the argument (from --config), else $STACKS_OPSD_CONFIG, else
/etc/stacks-opsd/config.toml. A file that was named explicitly must exist; when
the default file is absent, every default applies (Config.source is then "").
Relative `*_file` paths are relative to the config file's directory.

Validation (borgmatic's validate.py in spirit) is driven by the dataclasses of
daemon/config/model.py: a nested dataclass is a TOML table, any other value is
converted by its field's type hint (`coerce`), then the section's RULES run.
Nothing stops at the first error; ConfigError lists every one, each line reading

    FILE: key.path: expected WHAT, got VALUE
    FILE: key.path: unknown key; valid keys: ...

with VALUE shown as it would be written in TOML ("soon", 5, true, ["a", "b"]) so it
can be found in the file. No line ever shows an API key: entries holding one are
reported and dropped first (daemon/config/api_key.py), and every line is redacted.
Nor a password: every VALUE passes `redact_text`, and URL-valued keys are shown
masked by their rules (`shown_as`: credentials hidden; a webhook's path reduced).
"""

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomli

from daemon.config.api_key import KEY_IN_CONFIG, holds_key, lines_with_keys, without_keys
from daemon.config.key_lines import key_lines
from daemon.config.model import Config, ConfigError
from daemon.durations import (
    MAX_DURATION_TEXT,
    DurationTooLong,
    format_duration,
    parse_duration,
)
from daemon.secrets import redact_keys, redact_text
from policies import POLICY_OPTIONS, OptionRule, Override, PoliciesConfig

DEFAULT_CONFIG_PATH = "/etc/stacks-opsd/config.toml"
CONFIG_PATH_VARIABLE = "STACKS_OPSD_CONFIG"

_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_SHOWN = 60


def load_config(
    path: str | None,
    env: Mapping[str, str] = os.environ,
    default_path: str = DEFAULT_CONFIG_PATH,
) -> Config:
    """Return the validated Config, or raise ConfigError listing every problem."""
    if path is not None:
        origin = "given with --config"
    elif env.get(CONFIG_PATH_VARIABLE):
        path, origin = env[CONFIG_PATH_VARIABLE], f"named by ${CONFIG_PATH_VARIABLE}"
    else:
        path, origin = default_path, ""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        if not origin:
            return Config()
        raise ConfigError([f"{path}: no such config file ({origin})"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror}"]) from None
    label = os.path.basename(path) or path
    config = _parse(data, label)
    return _resolve_files(dataclasses.replace(config, source=path), os.path.dirname(path))


def _parse(data: bytes, label: str) -> Config:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]
        ) from None
    keys_in_text = [f"{label}: line {number}: {KEY_IN_CONFIG}" for number in lines_with_keys(text)]
    try:
        document = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        syntax = f"{label}: line {exc.lineno}, column {exc.colno}: invalid TOML: {exc.msg}"
        raise ConfigError([*keys_in_text, syntax]) from None
    errors = [] if holds_key(document) else keys_in_text
    document, removed = without_keys(document)
    errors += [f"{label}: {key_path(path)}: {KEY_IN_CONFIG}" for path in removed]
    config, validation_errors = validate(Config, document, label)
    errors += validation_errors
    if errors:
        raise ConfigError([redact_keys(error) for error in errors])
    return dataclasses.replace(config, key_lines=key_lines(text))


def _resolve_files(config: Config, base: str) -> Config:
    """Make relative `*_file` paths (and `[[notify]]` paths and header files) relative to
    the directory of the config file."""
    sections = {}
    for field in dataclasses.fields(config):
        section = getattr(config, field.name)
        if dataclasses.is_dataclass(section):
            sections[field.name] = _resolve_section(section, base)
        elif isinstance(section, tuple) and all(dataclasses.is_dataclass(s) for s in section):
            sections[field.name] = tuple(_resolve_section(item, base) for item in section)
    return dataclasses.replace(config, **sections)


def _resolve_section(section: Any, base: str) -> Any:
    def resolved(path: str) -> str:
        return os.path.join(base, path) if path and not os.path.isabs(path) else path

    changes: dict[str, Any] = {}
    for name, value in vars(section).items():
        if name.endswith("_file") and value:
            changes[name] = resolved(value)
        elif name.endswith("_files") and isinstance(value, dict):
            changes[name] = {key: resolved(path) for key, path in value.items()}
        elif name == "path" and value and value != "-":
            changes[name] = resolved(value)
    return dataclasses.replace(section, **changes)


def validate(
    cls: type, table: Mapping[str, Any], label: str, path: tuple[str, ...] = ()
) -> tuple[Any, list[str]]:
    """Return an instance of `cls` built from `table` (defaults where invalid) and all errors."""
    keys = [field.name for field in dataclasses.fields(cls) if field.metadata.get("toml", True)]
    hints = get_type_hints(cls)
    arrays = {
        field.name: field.metadata["table_array"]
        for field in dataclasses.fields(cls)
        if "table_array" in field.metadata
    }
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    errors: list[str] = []
    for key, raw in table.items():
        here = (*path, key)
        if key not in keys:
            errors.append(f"{label}: {key_path(here)}: {_unknown(cls, keys)}")
            continue
        if key in arrays:
            continue  # after the other keys: an array of tables may refine them
        hint = hints[key]
        item = _table_array_item(hint)
        if item is not None:
            tables, nested_errors = _validate_tables(item, raw, label, here)
            errors += nested_errors
            if tables is None:
                invalid.add(key)
            else:  # its tables' own errors aside, rules over the array (unique names) apply
                values[key] = tables
            continue
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
    for key, kind in arrays.items():
        if key in table:
            values[key], array_errors = TABLE_ARRAYS[kind](table[key], label, (*path, key), values)
            errors += array_errors
    section = cls(**values)
    for rule in getattr(cls, "RULES", ()):
        if invalid.isdisjoint((rule.key, *rule.needs)) and not rule.holds(section):
            invalid.add(rule.key)
            errors.append(_broken_rule(label, path, rule, section))
    return section, errors


def _broken_rule(label: str, path: tuple[str | int, ...], rule: OptionRule, section: Any) -> str:
    """What a section's value that breaks `rule` is reported as."""
    value = getattr(section, rule.key)
    shown = describe(rule.shown_as(value) if rule.shown_as else value)
    return (
        f"{label}: {key_path((*path, rule.key))}: expected {rule.expectation(section)}, got {shown}"
    )


def _table_array_item(hint: object) -> type | None:
    """The dataclass of a `tuple[Dataclass, ...]` field (a TOML array of tables), else None."""
    if get_origin(hint) is tuple and len(get_args(hint)) == 2 and get_args(hint)[1] is Ellipsis:
        item = get_args(hint)[0]
        if dataclasses.is_dataclass(item):
            return item
    return None


def _validate_tables(
    cls: type, raw: object, label: str, path: tuple[str | int, ...]
) -> tuple[tuple | None, list[str]]:
    """An array of tables (`[[notify]]`): each validated as `cls`, errors at `key[i].field`;
    None if `raw` is not an array of tables."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        name = path[-1]
        return None, [
            f"{label}: {key_path(path)}: expected an array of tables ([[{name}]]), "
            f"got {describe(raw)}"
        ]
    items, errors = [], []
    for index, table in enumerate(raw):
        item, item_errors = validate(cls, table, label, (*path, index))
        items.append(item)
        errors += item_errors
    return tuple(items), errors


def validate_overrides(
    raw: object, label: str, path: tuple[str, ...], sections: Mapping[str, Any]
) -> tuple[tuple[Override, ...], list[str]]:
    """`[[overrides]]` (policies/overrides.py): each table's `match` and `types`, and its
    `POLICY.OPTION` keys converted by the option's type; then each policy's RULES on its
    `[policies.POLICY]` table with this override's options applied."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        shown = describe(raw)
        return (), [f"{label}: {key_path(path)}: expected [[overrides]] tables, got {shown}"]
    tables = sections.get("policies", PoliciesConfig())
    overrides, errors = [], []
    for index, item in enumerate(raw):
        override, item_errors = _override(item, label, (*path, index), tables)
        errors += item_errors
        if override is not None:
            overrides.append(override)
    return tuple(overrides), errors


def _override(
    item: Mapping[str, Any], label: str, path: tuple[str | int, ...], tables: Any
) -> tuple[Override | None, list[str]]:
    errors: list[str] = []
    selectors: dict[str, tuple[str, ...]] = {}
    options: dict[str, dict[str, Any]] = {}
    for key, raw in item.items():
        here = (*path, key)
        if key in ("match", "types"):
            try:
                selectors[key] = coerce(tuple[str, ...], raw)
            except Mismatch as mismatch:
                errors += _mismatch_lines(label, here, mismatch)
            continue
        if key not in POLICY_OPTIONS:
            valid = ", ".join(("match", "types", *POLICY_OPTIONS))
            errors.append(f"{label}: {key_path(here)}: unknown policy or key; valid: {valid}")
            continue
        if key in NOT_PER_CONTAINER:
            errors.append(
                f"{label}: {key_path(here)}: {key} applies one table to every change and "
                f"cannot be overridden per container; set it in [policies.{key}]"
            )
            continue
        if not isinstance(raw, dict) or not raw:
            errors.append(
                f"{label}: {key_path(here)}: expected options of {key} as dotted keys, "
                f"like {key}.{dataclasses.fields(POLICY_OPTIONS[key])[0].name} = ..., "
                f"got {describe(raw)}"
            )
            continue
        converted, option_errors = _override_options(key, raw, label, here, tables)
        errors += option_errors
        options[key] = converted
    if not options and not errors:
        valid = ", ".join(POLICY_OPTIONS)
        errors.append(
            f"{label}: {key_path(path)}: expected at least one policy option like "
            f"auto_restart.max_restarts = 2 (policies: {valid}), got none"
        )
    if errors:
        return None, errors
    return Override(options=options, **selectors), []


def _override_options(
    policy: str, raw: Mapping[str, Any], label: str, path: tuple[str | int, ...], tables: Any
) -> tuple[dict[str, Any], list[str]]:
    cls = POLICY_OPTIONS[policy]
    hints = get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    converted: dict[str, Any] = {}
    errors: list[str] = []
    invalid: set[str] = set()
    for option, value in raw.items():
        here = (*path, option)
        if option not in names:
            errors.append(
                f"{label}: {key_path(here)}: unknown option of {policy}; valid options: "
                + ", ".join(names)
            )
            continue
        try:
            converted[option] = coerce(hints[option], value)
        except Mismatch as mismatch:
            invalid.add(option)
            errors += _mismatch_lines(label, here, mismatch)
    section = dataclasses.replace(getattr(tables, policy), **converted)
    for rule in getattr(cls, "RULES", ()):
        involved = {rule.key, *rule.needs}
        if involved.isdisjoint(converted) or not invalid.isdisjoint(involved):
            continue
        if not rule.holds(section):
            invalid.add(rule.key)
            errors.append(_broken_rule(label, path, rule, section))
    return converted, errors


def _mismatch_lines(label: str, here: tuple[str | int, ...], mismatch: "Mismatch") -> list[str]:
    return [
        f"{label}: {key_path((*here, *problem.at))}: "
        f"expected {problem.expected}, got {describe(problem.value)}"
        for problem in mismatch.problems
    ]


TABLE_ARRAYS = {"overrides": validate_overrides}
# The executor's backup gate reads one table for every change, not per container.
NOT_PER_CONTAINER = ("pre_change_backup",)


def _unknown(cls: type, keys: list[str]) -> str:
    """What to say of a key `cls` lacks; the keys of `[policies]` are the policy names."""
    noun, plural = ("policy", "policies") if cls is PoliciesConfig else ("key", "keys")
    return f"unknown {noun}; valid {plural}: " + ", ".join(keys)


@dataclass(frozen=True)
class Problem:
    """`value`, at list index path `at` within the field, is not `expected`."""

    expected: str
    value: object
    at: tuple[int, ...] = ()


class Mismatch(Exception):
    """A value does not fit its field; one Problem per bad item of a list."""

    def __init__(self, *problems: Problem):
        super().__init__("; ".join(problem.expected for problem in problems))
        self.problems = problems


def coerce(hint: object, value: object) -> object:
    """Return `value` converted to the type `hint`, or raise Mismatch.

    Supported hints: bool, int, float, str, timedelta (a duration), datetime.time
    ("HH:MM" or a TOML local time), Literal[...] (one of the choices), tuple[X, ...]
    (a TOML array; strings in arrays must be non-empty), dict[str, X] (a TOML table
    of X, e.g. header name -> file) and X | Y (the first that fits). A
    tuple[Dataclass, ...] field is an array of tables, validated by `validate`.
    """
    if hint is bool:
        return _check(isinstance(value, bool), "true or false", value)
    if hint is int:
        return _check(isinstance(value, int) and not isinstance(value, bool), "an integer", value)
    if hint is float:
        _check(isinstance(value, int | float) and not isinstance(value, bool), "a number", value)
        return float(value)
    if hint is str:
        return _check(isinstance(value, str), "a string", value)
    if hint is timedelta:
        try:
            return parse_duration(value)
        except DurationTooLong:
            raise Mismatch(Problem(f"a duration of at most {MAX_DURATION_TEXT}", value)) from None
        except ValueError:
            raise Mismatch(Problem('a duration like "5m"', value)) from None
    if hint is time:
        return _time_of_day(value)
    if get_origin(hint) is Literal:
        choices = get_args(hint)
        if not any(type(value) is type(choice) and value == choice for choice in choices):
            expected = "one of " + ", ".join(f'"{choice}"' for choice in choices)
            raise Mismatch(Problem(expected, value))
        return value
    if get_origin(hint) is tuple and len(get_args(hint)) == 2 and get_args(hint)[1] is Ellipsis:
        return _sequence(get_args(hint)[0], value)
    if get_origin(hint) is dict and get_args(hint)[0] is str:
        return _mapping(get_args(hint)[1], value)
    if get_origin(hint) in (UnionType, Union):
        return _either(get_args(hint), value)
    raise TypeError(f"config fields of type {hint!r} are not supported by the validator")


def _either(hints: tuple[object, ...], value: object) -> object:
    """The value as the first of `hints` it fits; else what each expected, joined by "or"."""
    expected = []
    for hint in hints:
        try:
            return coerce(hint, value)
        except Mismatch as mismatch:
            expected += [problem.expected.removeprefix("one of ") for problem in mismatch.problems]
    raise Mismatch(Problem(" or ".join(expected), value))


def _check(ok: bool, expected: str, value: object) -> object:
    if not ok:
        raise Mismatch(Problem(expected, value))
    return value


def _time_of_day(value: object) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise Mismatch(Problem('a time of day "HH:MM" (24-hour, UTC)', value))
    return time(int(match.group(1)), int(match.group(2)))


def _sequence(item_hint: object, value: object) -> tuple:
    if not isinstance(value, list):
        raise Mismatch(Problem(f"a list of {_plural(item_hint)}", value))
    items, problems = [], []
    for index, item in enumerate(value):
        try:
            converted = coerce(item_hint, item)
        except Mismatch as mismatch:
            problems += [Problem(p.expected, p.value, (index, *p.at)) for p in mismatch.problems]
            continue
        if converted == "":
            problems.append(Problem("a non-empty string", item, (index,)))
        items.append(converted)
    if problems:
        raise Mismatch(*problems)
    return tuple(items)


def _mapping(value_hint: object, value: object) -> dict:
    if not isinstance(value, dict):
        raise Mismatch(Problem(f"a table of {_plural(value_hint)}", value))
    items, problems = {}, []
    for key, item in value.items():
        try:
            converted = coerce(value_hint, item)
        except Mismatch as mismatch:
            problems += [Problem(f"{p.expected} for {key!r}", p.value) for p in mismatch.problems]
            continue
        if converted == "":
            problems.append(Problem(f"a non-empty string for {key!r}", item))
        items[key] = converted
    if problems:
        raise Mismatch(*problems)
    return items


def _plural(hint: object) -> str:
    return "strings" if hint is str else "values"


def describe(value: object) -> str:
    """Render a parsed TOML value for "got ..." in an error message, with every secret
    `redact_text` finds (API keys, URL passwords, `password=...`) blanked out; tables and
    long lists are named, not dumped. A rule on a URL-valued key shows its value masked
    (`OptionRule.shown_as`) before it gets here."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(redact_text(value), ensure_ascii=False)
        return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 4] + '..."'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return "an array of tables"
    if isinstance(value, list | tuple):
        shown = "[" + ", ".join(describe(item) for item in value) + "]"
        return shown if len(shown) <= _MAX_SHOWN else f"a list of {len(value)} items"
    return type(value).__name__


def key_path(parts: tuple[str | int, ...]) -> str:
    """Render ("policies", "auto_restart", "match", 0) as policies.auto_restart.match[0]."""
    rendered = ""
    for part in parts:
        if isinstance(part, int):
            rendered += f"[{part}]"
            continue
        name = (
            part if _BARE_KEY.fullmatch(part) else json.dumps(redact_keys(part), ensure_ascii=False)
        )
        rendered += f".{name}" if rendered else name
    return rendered
