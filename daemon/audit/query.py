"""The SELECT statements behind `history`, `query` (`audit list`) and `reconcile_interrupted`."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, or_, select

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


def unfinished_statement() -> Select:
    """`started` rows of actions that have no other row (no outcome), oldest first."""
    finished = select(LOG.c.action_id).where(LOG.c.outcome != "started")
    return (
        select(LOG)
        .where(LOG.c.outcome == "started", LOG.c.action_id.not_in(finished))
        .order_by(LOG.c.id)
    )
