"""Database URLs of the audit store: which backend, which SQLite file, and a safe display form."""

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from daemon.secrets import mask_url_password


def parse_url(database_url: str) -> URL:
    """The SQLAlchemy URL, or ValueError naming the (redacted) URL and the expected forms."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise ValueError(
            f"cannot parse database URL {mask_url_password(database_url)!r}: expected "
            "sqlite:///relative/path.db, sqlite:////absolute/path.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        ) from exc
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {mask_url_password(database_url)!r}: use sqlite:///... "
            "or postgresql+psycopg://..."
        )
    return url


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory databases and PostgreSQL."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:")
    return Path(database)


def psycopg_conninfo(url: URL) -> str:
    """A libpq connection URI for psycopg.connect(), from a postgresql+psycopg:// URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
