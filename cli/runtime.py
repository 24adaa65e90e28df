"""What every command shares: settings read once, the database, finding a unit.

A ``Runtime`` lives for one invocation (``ctx.obj``). Settings are read lazily, on first
use, so ``minhbach unit --help`` works even while the environment holds a bad value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import click
from sqlalchemy import Engine, make_url, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from casework.settings import Settings
from cli.errors import NOT_INITIALISED
from store.db import (
    current_revision,
    head_revision,
    is_sqlite,
    make_engine,
    session_factory,
    writing,
)
from store.models import Unit


class Runtime:
    """Per-invocation state: the settings and one engine, disposed when the command ends."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def engine(self) -> Engine:
        """The engine, created on first use. For SQLite this creates the database file."""
        if self._engine is None:
            self._engine = _create_engine(self.settings.database_url)
        return self._engine

    def migrated_engine(self) -> Engine:
        """The engine of a database that ``minhbach init`` has brought to the current schema.

        Checked up front rather than left to a "no such table" error halfway through a
        command, and without creating an empty SQLite file as a side effect.
        """
        if _sqlite_file_missing(self.settings.database_url):
            raise click.ClickException(NOT_INITIALISED)
        engine = self.engine()
        current, head = current_revision(engine), _head_revision()
        if current is None:
            raise click.ClickException(NOT_INITIALISED)
        if current != head:
            raise click.ClickException(
                f"the database schema is at revision {current}, this version of minhbach "
                f"needs {head}: run `minhbach init` to migrate it"
            )
        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the migrated database. Commands commit explicitly; the rest is
        rolled back when the block ends. Its transactions write (``store.db.writing``):
        the apps may be writing at the same moment."""
        with session_factory(writing(self.migrated_engine()))() as session:
            yield session

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_runtime = click.make_pass_decorator(Runtime)

# The migrations shipped with the package do not change while it runs; reading them means
# compiling every revision file, which adds up when one process runs many commands (tests).
_head_revision = cache(head_revision)


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        # The URL itself is not repeated: it may hold a password.
        raise click.ClickException(
            "MINHBACH_DATABASE_URL is not a valid database URL "
            "(e.g. postgresql+psycopg://user@host/minhbach)"
        ) from None


def _create_engine(url: str) -> Engine:
    sa_url = _parse_url(url)
    try:
        # hide_parameters: SQLAlchemy would otherwise put the statement's parameters (a
        # TOTP secret, sealed keys) into the text of any database error.
        return make_engine(sa_url, hide_parameters=True)
    except NoSuchModuleError:
        raise click.ClickException(
            f"MINHBACH_DATABASE_URL names an unknown database type {sa_url.drivername!r}"
        ) from None
    except ImportError as exc:
        raise click.ClickException(
            f"the database driver for {sa_url.drivername!r} is not installed "
            f"(missing module {exc.name!r})"
        ) from None


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite database; None for other databases, in-memory and URI forms."""
    database = url.database
    if not is_sqlite(url) or not database or database == ":memory:" or url.query.get("uri"):
        return None
    return Path(database)


def _sqlite_file_missing(url: str) -> bool:
    path = _sqlite_path(_parse_url(url))
    return path is not None and not path.exists()


def describe_database(url: str) -> str:
    """The database location for people to read: a file path, or the URL without secrets."""
    sa_url = _parse_url(url)
    path = _sqlite_path(sa_url)
    if path is not None:
        return f"{path.resolve()} (SQLite)"
    # Some drivers also take the password as a query parameter.
    secret_keys = [key for key in sa_url.query if "password" in key.lower()]
    return sa_url.difference_update_query(secret_keys).render_as_string(hide_password=True)


def find_unit(session: Session, slug: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.slug == slug))
    if unit is None:
        raise click.ClickException(f"no unit {slug!r}: `minhbach unit list` shows the units")
    return unit
