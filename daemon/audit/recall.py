"""Conditions that audit rows open and clear, and what a sink recalls of them when it starts.

A notification sink that keeps state across rows (Alertmanager's open alerts: a
container given up until it runs again, a change aborted until the same action
succeeds) declares that state as `ConditionRule`s: the `RowKind`s that open a
condition and those that clear it, for one subject (`subject_of`: the container's
name, or its id when a row has no name), and in a `per_action` rule for one
action too. The one declaration is read two ways:

- in memory, row by row: the sink's fold (`ConditionRule.opened_by`, `cleared_actions`);
- in SQL, `recall_rows`: when a process starts delivering (a start, a takeover),
  the rows it must fold again to rebuild the conditions open at its cursor,
  however old, without reading the whole log.

`recall_rows` works in steps, each served by an index:

1. each condition's latest opening through the cursor (openings are rare
   outcomes, by the outcome index; the crash of a container still given up is a
   `skipped` note, and those are all looked at: the one opening that is not rare);
2. for each, the subject's latest clearing row (walking its rows back from the
   newest by the (container_name, at) or (container_id, at, ...) index, stopping at
   the first): the condition is closed if that row follows the latest opening;
3. for each open one, its first opening after that clearing: where the fold
   dates it from;
4. each subject's rows from the earliest of those through the cursor, by the
   subject's index.

It may read more rows than the fold needs, never fewer, with two assumptions:

- a row's time is never more than `SKEW_ALLOWANCE` behind an earlier row's (as
  the episode marks assume): a clearing row written on a clock stepped back
  further may be missed (an opening is not: each subject is read from the
  earliest time of its openings too);
- a `details.event` is matched as text in the stored JSON (`detail_text`), so a
  row holding `"event": "running"` inside a nested object would count, and on
  SQLite, whose LIKE ignores ASCII case, so would `"RUNNING"`; the daemon writes
  its events in lower case, at the top of `details`.

It costs a few statements per condition open at the cursor (a few milliseconds
each), and step 1 looks at every `skipped` row: on the benchmark's year of 1M
rows about 0.4 s on SQLite and 1 to 2 s on PostgreSQL, once per start of delivery. A
sink that filters rows could not be recalled this way (a clearing row it never
received leaves its condition open); the sink kinds that keep conditions take no
row filters but `match`, which keeps or drops whole subjects.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal, or_, select

from daemon.audit.episode_marks import SKEW_ALLOWANCE
from daemon.audit.history import EVENT_DETAIL, RowKind, of_kinds
from daemon.audit.schema import LOG, AuditLog


def subject_of(container_name: str | None, container_id: str | None) -> str | None:
    """What a row's conditions are about: the container's name, else its id."""
    return container_name or container_id


def _kind_values(row: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    """What `RowKind.matches` reads of a row document: actor, action, outcome, and its
    `details.event` (the note a policy wrote), if any."""
    details = row.get("details")
    event = details.get(EVENT_DETAIL) if isinstance(details, Mapping) else None
    return (
        str(row["actor"]),
        str(row["action"]),
        str(row["outcome"]),
        event if isinstance(event, str) else None,
    )


@dataclass(frozen=True)
class ConditionRule:
    """One kind of condition: the rows that open it and the later rows about the same
    subject that clear it. `per_action`: one condition per subject and action; a
    clearing kind that names no action then clears only its own action's condition."""

    name: str
    opens: tuple[RowKind, ...]
    clears: tuple[RowKind, ...]
    per_action: bool = False

    def opened_by(self, row: Mapping[str, Any]) -> bool:
        """Whether the row document opens a condition of this rule."""
        values = _kind_values(row)
        return any(kind.matches(*values) for kind in self.opens)

    def cleared_actions(self, row: Mapping[str, Any]) -> str | None:
        """Which of the subject's conditions the row document clears: "*" all of them,
        an action that one (a per-action rule), None none."""
        values = _kind_values(row)
        matching = [kind for kind in self.clears if kind.matches(*values)]
        if not matching:
            return None
        if all(_own(self, kind) for kind in matching):
            return str(row["action"])
        return "*"


def recall_rows(
    conn: Connection, rules: Iterable[ConditionRule], through_id: int
) -> list[AuditLog]:
    """Every row of each subject from its earliest condition open at row `through_id`
    through that row, oldest first (see the module's docstring)."""
    # subject -> the smallest id and the earliest time of its open conditions' first
    # openings (apart, when a clock stepped back: the rows are read from both)
    starts: dict[str, tuple[int, Any]] = {}
    for rule in rules:
        for subject, action, cleared in _open_conditions(conn, rule, through_id):
            first_id, first_at = _first_opening_after(
                conn, rule, subject, action, cleared, through_id
            )
            start_id, start_at = starts.get(subject, (first_id, first_at))
            starts[subject] = (min(start_id, first_id), min(start_at, first_at))
    rows = [
        row
        for subject, (start_id, start_at) in starts.items()
        for row in _rows_of(conn, subject, start_id, start_at, through_id)
    ]
    return sorted(rows, key=lambda row: row.id or 0)


def _about(table, subject) -> list[ColumnElement[bool]]:
    """The rows of `table` about `subject` (`subject_of`), as the two index-friendly
    alternatives they are: by name, or by id where the row has no name."""
    return [
        table.c.container_name == subject,
        and_(
            or_(table.c.container_name.is_(None), table.c.container_name == ""),
            table.c.container_id == subject,
        ),
    ]


def _open_conditions(
    conn: Connection, rule: ConditionRule, through_id: int
) -> list[tuple[str, str, int]]:
    """(subject, action or "", id of the clearing row looked after, or 0) of each of the
    rule's conditions that may be open at the cursor: its latest opening, and whether
    the subject's newest clearing row (by time, on each index) follows it."""
    subject = func.coalesce(func.nullif(LOG.c.container_name, ""), LOG.c.container_id)
    action = LOG.c.action if rule.per_action else literal("")
    latest = (
        select(subject.label("subject"), action.label("action"), func.max(LOG.c.id).label("id"))
        .where(subject.is_not(None), LOG.c.id <= through_id, of_kinds(LOG, rule.opens))
        .group_by(subject, *([LOG.c.action] if rule.per_action else []))
        .subquery()
    )

    def newest_clearing(about: ColumnElement[bool], clearing) -> Any:
        clears = or_(
            *(
                and_(
                    of_kinds(clearing, (kind,), by_outcome=False),
                    *([clearing.c.action == latest.c.action] if _own(rule, kind) else []),
                )
                for kind in rule.clears
            )
        )
        return (
            select(clearing.c.id)
            .where(about, clearing.c.id <= through_id, clears)
            .order_by(clearing.c.at.desc(), clearing.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    by_name, by_id = LOG.alias(), LOG.alias()
    statement = select(
        latest.c.subject,
        latest.c.action,
        latest.c.id,
        newest_clearing(_about(by_name, latest.c.subject)[0], by_name),
        newest_clearing(_about(by_id, latest.c.subject)[1], by_id),
    )
    found = []
    for subject_, action_, opened, named, unnamed in conn.execute(statement):
        # A clearing newer by time but older by id (a clock stepped back) keeps it open:
        # the fold, reading from before it, decides.
        cleared = max(named or 0, unnamed or 0)
        if cleared < opened:
            found.append((subject_, action_, cleared))
    return found


def _first_opening_after(
    conn: Connection, rule: ConditionRule, subject: str, action: str, cleared: int, through_id: int
) -> tuple[int, Any]:
    """(id, at) of the condition's first opening after row `cleared`: where the fold
    dates it from."""
    first: tuple[int, Any] | None = None
    for about in _about(LOG, subject):
        statement = (
            select(LOG.c.id, LOG.c.at)
            .where(
                about,
                LOG.c.id > cleared,
                LOG.c.id <= through_id,
                of_kinds(LOG, rule.opens, by_outcome=False),
                *([LOG.c.action == action] if rule.per_action else []),
            )
            .order_by(LOG.c.id)
            .limit(1)
        )
        found = conn.execute(statement).first()
        if found is not None and (first is None or found.id < first[0]):
            first = (found.id, found.at)
    assert first is not None  # the latest opening is one
    return first


def _rows_of(
    conn: Connection, subject: str, start_id: int, start_at: Any, through_id: int
) -> list[AuditLog]:
    """Every row about the subject from row `start_id` through `through_id`."""
    rows = []
    for about in _about(LOG, subject):
        statement = select(LOG).where(
            about,
            LOG.c.at >= start_at - SKEW_ALLOWANCE,
            LOG.c.id >= start_id,
            LOG.c.id <= through_id,
        )
        rows += [AuditLog(**row) for row in conn.execute(statement).mappings()]
    return rows


def _own(rule: ConditionRule, kind: RowKind) -> bool:
    """Whether a clearing kind clears only the condition of its own action."""
    return rule.per_action and kind.action is None
