"""What every policy module provides: its spec and options, the policy, and its decisions.

A policy module ends with one `PolicySpec`, in the spirit of Cloud Custodian's
policy classes that carry their own schema and example:

- `name`: the `[policies.NAME]` table of the config file;
- `options`: the frozen dataclass of that table (field names are the TOML keys,
  type hints drive the conversion, defaults are the documented ones), whose
  `RULES` (OptionRules) say what its values must hold beyond their types;
- `build`: how the loaded options become the deciding `Policy` (None for a policy
  that configures another part of the daemon instead of deciding);
- `example`: the ```toml block of the module's docstring, the options with their
  defaults; config.example.toml repeats it, and a test holds them equal.

The registry (policies/registry.py) lists the specs; PoliciesConfig, the
validation of `[policies.*]` and `build_policies` are derived from them. The
daemon's own config sections (daemon/config/model.py) use OptionRule too.

A Policy is the functional core: it never calls the API or the database. It
says which audit rows it needs (`history_query(now)`, a HistoryQuery: its own
window, nothing another policy needs) and folds them, one container at a time
and oldest first, into a compact state of its own (`fold(state, rows)`, pure).
The engine (daemon/evaluation.py) reads those rows, keeps each container's
state between evaluations and folds only the rows appended since (a policy
whose `state_needed` says so has a container's rows read only once the
container's view needs them), then passes
the states to `decide(snapshot, states, now)` and hands the decisions to the
executor. The executor turns each `Action` into audited API calls (through the
pre-change backup gate when `gated`), and writes each `Note` as a single audit
row with its outcome (`skipped`, `gave_up`, ...). A policy also shows its
state: `export` sets its per-container gauges, `describe` gives a
container's entry in `/status` and `explain` its part of `stacks-opsd
explain`, so the daemon needs to know nothing about any policy in particular.
Which containers a policy touches is decided by `applies_to`: the container's
options (policies/overrides.py) enable it, and its `match` and `exclude` globs
select the container's name.
"""

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from daemon.audit import AuditAction, HistoryQuery, HistoryRow, Outcome
from daemon.snapshot import ContainerView, Snapshot

OPERATOR = "cli"  # the actor of changes an operator makes with `stacks-opsd change`
_TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.DOTALL)


def actor_name(policy: str) -> str:
    """The audit `actor` of a policy (`policy:auto_restart`), or `cli` for an operator."""
    return policy if policy == OPERATOR else f"policy:{policy}"


@dataclass(frozen=True)
class Action:
    """A change to make: `action` is what the audit rows are about (`container.restart`).

    Every field the executor acts on is typed here; `details` go into the audit rows
    only. `expect_status` is the container status the decision was made on: the
    change is skipped if STACKS shows another one right before the request.
    `newest_backup` is the newest completed backup the decision knew of (recorded
    when the container cannot be backed up first). `wait` (backup.create) waits for
    the backup to end. `force` lets an operator act on a status the guide does not
    name. `gated`: the change waits for a pre-change backup first.
    `unless_pinned_within` (a pin): the span of creation times the pin is the one pin
    of (weekly_pin: its week); skipped if a fresh list shows another backup of that
    span pinned, as a human may have pinned one since the decision's list was read.
    """

    policy: str
    action: AuditAction
    container_id: str
    container_name: str
    reason: str
    target: str | None = None
    gated: bool = True
    expect_status: str | None = None
    newest_backup: int | None = None
    wait: bool = True
    force: bool = False
    unless_pinned_within: tuple[datetime, datetime] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return actor_name(self.policy)


@dataclass(frozen=True)
class Note:
    """A decision that changes nothing but matters, audited as one row with `outcome`."""

    policy: str
    action: AuditAction
    container_id: str
    container_name: str
    outcome: Outcome
    reason: str
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return actor_name(self.policy)


Decision = Action | Note


class PolicyGauges(Protocol):
    """Where policies publish their per-container gauges (the daemon's OpsMetrics)."""

    def set_restart_state(
        self, container_id: str, name: str, backoff_seconds: float, gave_up: bool
    ) -> None: ...

    def set_weekly_pin(self, container_id: str, name: str, timestamp: datetime) -> None: ...


State = TypeVar("State")


@dataclass(frozen=True)
class Subject:
    """Which container a state belongs to, as far as its options are concerned."""

    name: str
    container_type: str | None = None

    @classmethod
    def of(cls, view: ContainerView) -> "Subject":
        return cls(view.container.name, view.container.type)


class Policy(Protocol[State]):
    name: str
    # None: every container's state is read at the policy's first evaluation. Otherwise a
    # container's history is read at the first evaluation whose view of it this returns
    # True for (weekly_pin: once its backup list was read), and `decide` must ask for no
    # other container's state; until then `states` has none for it.
    state_needed: Callable[[ContainerView], bool] | None

    def history_query(self, now: datetime) -> HistoryQuery:
        """Which audit rows the state is folded from, as of `now`."""

    def fold(
        self, state: State | None, rows: Sequence[HistoryRow], subject: "Subject | None" = None
    ) -> State:
        """One container's state after its `rows` (new ones, oldest first); None: no state yet.
        `subject` is the container's name and type as the snapshot shows them (its
        options may differ from the table's); None: not in the snapshot, the table's options.

        Pure: the same state and rows give the same result, and `state` is not changed."""

    def decide(
        self, snapshot: Snapshot, states: Mapping[str, State], now: datetime
    ) -> list[Decision]:
        """The actions and notes for this snapshot (`states` by container id); pure, never
        raises for odd data."""

    def export(
        self, snapshot: Snapshot, states: Mapping[str, State], now: datetime, gauges: PolicyGauges
    ) -> None:
        """Set the policy's gauges for every container of the snapshot that has a state."""

    def describe(self, state: State, now: datetime) -> Mapping[str, Any]:
        """One container's state for `/status` (JSON-able)."""

    def explain(self, view: ContainerView, state: State | None, now: datetime) -> Mapping[str, Any]:
        """What `stacks-opsd explain` shows of one container's state (JSON-able)."""


@dataclass(frozen=True)
class PolicySpec:
    """One policy as the config and the daemon know it (see the module docstring)."""

    name: str
    options: type
    # ({policy name: PolicyOptions}, dry_run) -> policy
    build: Callable[[Any, bool], Policy] | None = None

    @property
    def example(self) -> str:
        """The ```toml block of the docstring of the module defining `options` (read when
        asked, so that nothing breaks where docstrings are stripped)."""
        module = self.options.__module__
        found = _TOML_BLOCK.search(sys.modules[module].__doc__ or "")
        if found is None:
            raise ValueError(f"{module}: its docstring must show the options in a ```toml block")
        return found.group(1)


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


def positive_integer(key: str, at_most: int | None = None) -> OptionRule:
    if at_most is None:
        return OptionRule(key, lambda section: getattr(section, key) >= 1, "a positive integer")
    return OptionRule(
        key,
        lambda section: 1 <= getattr(section, key) <= at_most,
        f"an integer from 1 to {at_most}",
    )


def unique_names(key: str, expected: str) -> OptionRule:
    """An array of tables (`[[notify]]`, `[[windows]]`) whose `name`s must differ."""

    def names(tables: Any) -> list[str]:
        return [table.name for table in tables]

    return OptionRule(
        key,
        lambda section: len(set(names(getattr(section, key)))) == len(getattr(section, key)),
        expected,
        shown_as=names,
    )


class Scope(Protocol):
    """The options that say which containers a policy acts on."""

    enabled: bool
    match: tuple[str, ...]
    exclude: tuple[str, ...]


def applies_to(options: Scope, name: str) -> bool:
    """Whether a policy with these (the container's) options acts on the container `name`:
    it is enabled, a `match` glob matches the name and no `exclude` glob does."""
    return options.enabled and _name_matches(name, options.match, options.exclude)


@lru_cache(maxsize=32_768)  # each policy (and each scrape) asks for every container
def _name_matches(name: str, match: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """True when `name` matches a `match` glob and no `exclude` glob (case-sensitive)."""
    if not any(fnmatchcase(name, pattern) for pattern in match):
        return False
    return not any(fnmatchcase(name, pattern) for pattern in exclude)
