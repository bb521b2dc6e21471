"""Conditions that audit rows open and clear, and what a sink recalls of them when it starts.

A notification sink that keeps state across rows (Alertmanager's open alerts: a
container given up until it runs again, a change aborted until the same action
succeeds) declares that state as `ConditionRule`s made of `RowPattern`s. The one
declaration is read two ways:

- in memory, `RowPattern.matches` on a row as a JSON document: the sink's fold;
- in SQL, `recall_statement`: when a process starts delivering (a start, a
  takeover), the rows it must fold again to rebuild the conditions still open at
  its cursor, however old they are, without reading the whole log. For each rule
  and container (and action, where the rule keeps one condition per action), its
  latest opening row through the cursor is kept unless a clearing row of that
  container follows it; each container's rows are then read from the earliest
  kept opening through the cursor, oldest first.

Openings are rare outcomes (`gave_up`, `aborted`, `unknown`, a crash of a container
still given up), found by the outcome index; whether one was cleared is answered by
the (container_id, at) index, stopping at the first clearing row. The SQL may read
more rows than the fold needs (an opening it takes for one), never fewer, with one
assumption: it matches `details.event` in the stored JSON text, so a row that held
`"event": "running"` inside a nested object would count as clearing; the daemon
writes events only at the top of `details`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union_all

from daemon.audit.chain import canonical_json
from daemon.audit.history import EVENT_DETAIL
from daemon.audit.schema import LOG


@dataclass(frozen=True)
class RowPattern:
    """Audit rows by outcome, optionally action and `details.event` (the note a policy
    wrote: auto_restart's "running", "given_up")."""

    outcome: str
    actions: tuple[str, ...] = ()  # (): any action
    event: str | None = None
    same_action: bool = False  # as a clearing row: clears only its own action's condition

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether `row` (a JSON document: columns, `details` parsed) is one of these."""
        if str(row["outcome"]) != self.outcome:
            return False
        if self.actions and str(row["action"]) not in self.actions:
            return False
        if self.event is None:
            return True
        details = row.get("details")
        return isinstance(details, Mapping) and details.get(EVENT_DETAIL) == self.event


@dataclass(frozen=True)
class ConditionRule:
    """One kind of condition: the rows that open it and the later rows of the same
    container that clear it. `per_action`: one condition per container and action."""

    name: str
    opens: tuple[RowPattern, ...]
    clears: tuple[RowPattern, ...]
    per_action: bool = False


def recall_statement(rules: Iterable[ConditionRule], through_id: int) -> Select:
    """Every column of each container's rows from its earliest condition still open at
    row `through_id` through that row, oldest first."""
    opened = union_all(*(_still_open(rule, through_id) for rule in rules)).subquery()
    starts = (
        select(opened.c.container_id, func.min(opened.c.id).label("start_id"))
        .group_by(opened.c.container_id)
        .subquery()
    )
    return (
        select(LOG)
        .join(
            starts, and_(LOG.c.container_id == starts.c.container_id, LOG.c.id >= starts.c.start_id)
        )
        .where(LOG.c.id <= through_id)
        .order_by(LOG.c.id)
    )


def _still_open(rule: ConditionRule, through_id: int) -> Select:
    """The latest opening row of each of the rule's conditions that nothing cleared."""
    keys = [LOG.c.container_id, *([LOG.c.action] if rule.per_action else [])]
    latest = (
        select(*keys, func.max(LOG.c.id).label("latest_id"))
        .where(
            LOG.c.container_id.is_not(None),
            LOG.c.id <= through_id,
            or_(*(_matching(LOG, pattern) for pattern in rule.opens)),
        )
        .group_by(*keys)
        .subquery()
    )
    opening, clearing = LOG.alias(), LOG.alias()
    cleared = select(clearing.c.id).where(
        clearing.c.container_id == opening.c.container_id,
        clearing.c.at >= opening.c.at,
        clearing.c.id > opening.c.id,
        clearing.c.id <= through_id,
        or_(*(_clearing(clearing, opening, pattern) for pattern in rule.clears)),
    )
    return (
        select(opening.c.container_id, opening.c.id)
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(~cleared.exists())
    )


def _matching(table, pattern: RowPattern, by_outcome: bool = True) -> ColumnElement[bool]:
    """The pattern as SQL; `by_outcome` False keeps the outcome index out of the plan."""
    outcome = table.c.outcome if by_outcome else table.c.outcome + ""
    conditions = [outcome == pattern.outcome]
    if pattern.actions:
        conditions.append(table.c.action.in_(pattern.actions))
    if pattern.event is not None:
        mark = canonical_json({EVENT_DETAIL: pattern.event})[1:-1]
        conditions.append(table.c.details.contains(mark, autoescape=True))
    return and_(*conditions)


def _clearing(clearing, opening, pattern: RowPattern) -> ColumnElement[bool]:
    # One container's rows after the opening (the container index) are far fewer than
    # every row of the pattern's outcome after it, which SQLite would otherwise walk.
    matching = _matching(clearing, pattern, by_outcome=False)
    if pattern.same_action:
        return and_(matching, clearing.c.action == opening.c.action)
    return matching
