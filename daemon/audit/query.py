"""The SELECT statements behind `history` (policies), `query` (`audit list`) and reconciliation.

The policies' reads select only the columns of a HistoryRow (history.py) and are
served by the history indexes of record.py: a window by (`actor`, `action`,
`at`), the rows of one container by (`container_id`, `at`), and the rows
appended since the last evaluation by the primary key.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, or_, select, union_all

from daemon.audit.history import DRY_RUN_MARK, HISTORY_COLUMNS, Episode, RowKind
from daemon.audit.record import AuditLog

LOG = AuditLog.__table__


def history_statement(
    since: datetime | None = None,
    actors: Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
    container_id: str | None = None,
    after_id: int | None = None,
    before: datetime | None = None,
) -> Select:
    """HistoryRow columns of the rows at or after `since` and before `before` (and after
    row `after_id`), optionally only these actors/actions/container, oldest first."""
    statement = select(*HISTORY_COLUMNS)
    if since is not None:
        statement = statement.where(LOG.c.at >= since)
    if before is not None:
        statement = statement.where(LOG.c.at < before)
    if after_id is not None:
        statement = statement.where(LOG.c.id > after_id)
    if actors is not None:
        statement = statement.where(LOG.c.actor.in_(list(actors)))
    if actions is not None:
        statement = statement.where(LOG.c.action.in_(list(actions)))
    if container_id is not None:
        statement = statement.where(LOG.c.container_id == container_id)
    return statement.order_by(LOG.c.id)


def last_id_statement() -> Select:
    """The id of the newest row (None when there is none)."""
    return select(func.max(LOG.c.id))


def from_latest_statement(
    episode: Episode,
    before: datetime,
    actors: Iterable[str],
    actions: Iterable[str],
    dry_run: bool = False,
) -> Select:
    """HistoryRow columns of the rows before `before` of every open `episode`, oldest first.

    The episodes still open are found as the indexes make it cheap:

    - an episode of a container (auto_restart's `gave_up`: rare openings, frequent
      closings anywhere after them) by its latest opening row and whether any
      closing row follows it, in that container's rows (the container index,
      stopping at the first); its rows are read from the opening on, there too;
    - an episode of a finer key (weekly_pin's pin of a backup: one closing per
      opening) in one scan of the policy's rows (the history index): per key its
      latest opening or closing row, and its latest row before `before`. Where the
      former opens the episode before `before`, it is read by its id, and only the
      few episodes with rows after the opening are read from the container index.
    """
    actors, actions = list(actors), list(actions)
    if episode.key != ("container_id",):
        return _per_key_rows(episode, before, actors, actions, dry_run)
    opened = _open_per_container(episode, before, dry_run)
    joined = LOG.join(
        opened,
        and_(
            LOG.c.container_id == opened.c.container_id,
            LOG.c.at >= opened.c.at,
            LOG.c.id >= opened.c.id,
        ),
    )
    return (
        select(*HISTORY_COLUMNS)
        .select_from(joined)
        .where(LOG.c.at < before, LOG.c.actor.in_(actors), LOG.c.action.in_(actions))
        .order_by(LOG.c.id)
    )


def _open_per_container(episode: Episode, before: datetime, dry_run: bool) -> Subquery:
    """Each container's latest opening row before `before` that no closing row follows."""
    latest = (
        select(LOG.c.container_id, func.max(LOG.c.id).label("latest_id"))
        .where(_of_kinds(LOG, episode.opens), *_counting(LOG, dry_run, episode.not_before))
        .group_by(LOG.c.container_id)
        .subquery("latest")
    )
    opening, closing = LOG.alias("opening"), LOG.alias("closing")
    closed = select(closing.c.id).where(
        closing.c.container_id == opening.c.container_id,
        closing.c.at >= opening.c.at,
        closing.c.id > opening.c.id,
        _of_kinds(closing, episode.closes),
        *_counting(closing, dry_run, episode.not_before),
    )
    return (
        select(opening.c.id, opening.c.at, opening.c.container_id)
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(opening.c.at < before, ~closed.exists())
        .subquery("opened")
    )


def _per_key_rows(
    episode: Episode, before: datetime, actors: list[str], actions: list[str], dry_run: bool
) -> Select:
    """The rows of each key's open episode: the opening alone by id, or with what
    followed it from the container index."""
    key = [LOG.c[name] for name in episode.key]
    marks = and_(_of_kinds(LOG, (*episode.opens, *episode.closes)), *_counting(LOG, dry_run))
    latest = select(
        *key,
        func.max(case((marks, LOG.c.id))).label("latest_id"),  # the latest opening or closing
        func.max(case((LOG.c.at < before, LOG.c.id))).label("last_id"),  # its latest row before
    ).where(LOG.c.actor.in_(actors), LOG.c.action.in_(actions))
    if episode.not_before is not None:
        latest = latest.where(LOG.c.at >= episode.not_before)
    latest = latest.group_by(*key).subquery("latest")
    opening = LOG.alias("opening")
    opened = (
        select(
            opening.c.id,
            opening.c.at,
            *(opening.c[name] for name in episode.key),
            (latest.c.last_id > opening.c.id).label("followed"),
        )
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(_of_kinds(opening, episode.opens), opening.c.at < before)
        .cte("opened")
    )
    alone = select(*HISTORY_COLUMNS).join(opened, LOG.c.id == opened.c.id).where(~opened.c.followed)
    same_key = [LOG.c[name] == opened.c[name] for name in episode.key]
    followed = (
        select(*HISTORY_COLUMNS)
        .select_from(LOG.join(opened, and_(*same_key, LOG.c.at >= opened.c.at)))
        .where(
            opened.c.followed,
            LOG.c.id >= opened.c.id,
            LOG.c.at < before,
            LOG.c.actor.in_(actors),
            LOG.c.action.in_(actions),
        )
    )
    rows = union_all(alone, followed).subquery("rows")
    return select(rows).order_by(rows.c.id)


def _counting(
    table, dry_run: bool, not_before: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of the rows that count: from `not_before` on, and for a live reader
    nothing a dry run decided (its `dry_run` rows, the `gave_up` it marked); what it
    observed counts (`HistoryRow.counts`)."""
    conditions = []
    if not_before is not None:
        conditions.append(table.c.at >= not_before)
    if not dry_run:
        marked = table.c.details.contains(DRY_RUN_MARK, autoescape=True)
        conditions += [
            table.c.outcome != "dry_run",
            or_(table.c.outcome != "gave_up", table.c.details.is_(None), ~marked),
        ]
    return conditions


def _of_kinds(table, kinds: Iterable[RowKind]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(
                table.c.actor == kind.actor,
                table.c.action == kind.action,
                table.c.outcome == kind.outcome,
            )
            for kind in kinds
        )
    )


def list_statement(
    since: datetime | None = None,
    container: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> Select:
    """Rows for `audit list`: `container` matches an id or a name; `limit` keeps the newest."""
    statement = select(LOG)
    if since is not None:
        statement = statement.where(LOG.c.at >= since)
    if container is not None:
        statement = statement.where(
            or_(LOG.c.container_id == container, LOG.c.container_name == container)
        )
    if action is not None:
        statement = statement.where(LOG.c.action == action)
    if outcome is not None:
        statement = statement.where(LOG.c.outcome == outcome)
    if limit is not None:
        newest = statement.order_by(LOG.c.id.desc()).limit(limit).subquery()
        return select(newest).order_by(newest.c.id)
    return statement.order_by(LOG.c.id)


def unfinished_statement(from_id: int | None = None) -> Select:
    """`started` rows (from row `from_id` on) of actions that have no outcome yet, oldest first.

    An outcome row always comes after its `started` row, so one index lookup per
    `started` row (on `action_id`) answers it, however long the log is.
    """
    outcome = LOG.alias("outcome")
    finished = (
        select(outcome.c.id)
        .where(outcome.c.action_id == LOG.c.action_id, outcome.c.outcome != "started")
        .exists()
    )
    statement = select(LOG).where(LOG.c.outcome == "started", ~finished)
    if from_id is not None:
        statement = statement.where(LOG.c.id >= from_id)
    return statement.order_by(LOG.c.id)
