"""The SELECT statements behind `history` (policies), `query` (`audit list`) and reconciliation.

The policies' reads select only the columns of a HistoryRow (history.py) and are
served by the history indexes of record.py: a window by (`actor`, `action`,
`at`), the rows of one container by (`container_id`, `at`), and the rows
appended since the last evaluation by the primary key.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, or_, select

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

    The episodes still open are found as the indexes make it cheap: an episode of a
    container (auto_restart's `gave_up`: rare openings, frequent closings) by its
    latest opening row and whether any closing row follows it, in that container's
    rows (the container index, stopping at the first); an episode of a finer key
    (weekly_pin's pin of a backup: one closing per opening) by the latest opening or
    closing row per key, in one scan of the history index. Then each open
    episode's rows are read from its opening on (the container index, from its `at`).
    """
    if episode.key == ("container_id",):
        opened = _open_per_container(episode, before, dry_run)
    else:
        opened = _open_per_key(episode, before, dry_run)
    same_key = [LOG.c[name] == opened.c[name] for name in episode.key]
    joined = LOG.join(opened, and_(*same_key, LOG.c.at >= opened.c.at, LOG.c.id >= opened.c.id))
    return (
        select(*HISTORY_COLUMNS)
        .select_from(joined)
        .where(LOG.c.at < before, LOG.c.actor.in_(list(actors)), LOG.c.action.in_(list(actions)))
        .order_by(LOG.c.id)
    )


def _open_per_container(episode: Episode, before: datetime, dry_run: bool) -> Subquery:
    """Each container's latest opening row before `before` that no closing row follows."""
    latest = (
        _counted(
            LOG, episode, dry_run, select(LOG.c.container_id, func.max(LOG.c.id).label("latest_id"))
        )
        .where(_of_kinds(LOG, episode.opens))
        .group_by(LOG.c.container_id)
        .subquery("latest")
    )
    opening, closing = LOG.alias("opening"), LOG.alias("closing")
    closed = _counted(closing, episode, dry_run, select(closing.c.id)).where(
        closing.c.container_id == opening.c.container_id,
        closing.c.at >= opening.c.at,
        closing.c.id > opening.c.id,
        _of_kinds(closing, episode.closes),
    )
    return (
        select(opening.c.id, opening.c.at, opening.c.container_id)
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(opening.c.at < before, ~closed.exists())
        .subquery("opened")
    )


def _open_per_key(episode: Episode, before: datetime, dry_run: bool) -> Subquery:
    """Per key, the latest opening or closing row, where it opens the episode before `before`."""
    key = [LOG.c[name] for name in episode.key]
    latest = (
        _counted(LOG, episode, dry_run, select(*key, func.max(LOG.c.id).label("latest_id")))
        .where(_of_kinds(LOG, (*episode.opens, *episode.closes)))
        .group_by(*key)
        .subquery("latest")
    )
    opening = LOG.alias("opening")
    return (
        select(opening.c.id, opening.c.at, *(opening.c[name] for name in episode.key))
        .join(latest, opening.c.id == latest.c.latest_id)
        .where(_of_kinds(opening, episode.opens), opening.c.at < before)
        .subquery("opened")
    )


def _counted(table, episode: Episode, dry_run: bool, statement: Select) -> Select:
    """`statement` over the rows that count: from `not_before` on, and for a live reader
    nothing a dry run wrote (its `dry_run` rows, the notes it marked)."""
    if episode.not_before is not None:
        statement = statement.where(table.c.at >= episode.not_before)
    if not dry_run:
        marked = table.c.details.contains(DRY_RUN_MARK, autoescape=True)
        statement = statement.where(
            table.c.outcome != "dry_run", or_(table.c.details.is_(None), ~marked)
        )
    return statement


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
