"""The SELECT statements behind `history`, `query` (`audit list`) and `reconcile_interrupted`."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select

from daemon.audit.record import AuditLog

LOG = AuditLog.__table__


def history_statement(
    since: datetime,
    actors: Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
    container_id: str | None = None,
    after_id: int | None = None,
) -> Select:
    """Rows at or after `since` (and after row `after_id`), optionally only these
    actors/actions/container, oldest first."""
    statement = select(LOG).where(LOG.c.at >= since)
    if after_id is not None:
        statement = statement.where(LOG.c.id > after_id)
    if actors is not None:
        statement = statement.where(LOG.c.actor.in_(list(actors)))
    if actions is not None:
        statement = statement.where(LOG.c.action.in_(list(actions)))
    if container_id is not None:
        statement = statement.where(LOG.c.container_id == container_id)
    return statement.order_by(LOG.c.id)


def from_latest_statement(
    outcome: str,
    before: datetime,
    actors: Iterable[str] | None = None,
    actions: Iterable[str] | None = None,
) -> Select:
    """Rows before `before` of each container from its latest `outcome` row on, oldest first."""

    def filtered(statement: Select, table) -> Select:
        statement = statement.where(table.c.at < before)
        if actors is not None:
            statement = statement.where(table.c.actor.in_(list(actors)))
        if actions is not None:
            statement = statement.where(table.c.action.in_(list(actions)))
        return statement

    latest = (
        filtered(select(LOG.c.container_id, func.max(LOG.c.id).label("first_id")), LOG)
        .where(LOG.c.outcome == outcome, LOG.c.container_id.is_not(None))
        .group_by(LOG.c.container_id)
        .subquery()
    )
    joined = select(LOG).join(
        latest, and_(LOG.c.container_id == latest.c.container_id, LOG.c.id >= latest.c.first_id)
    )
    return filtered(joined, LOG).order_by(LOG.c.id)


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
