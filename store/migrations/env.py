"""Alembic environment, run by Alembic for every command (see ``store.db``).

A connection handed over in ``config.attributes["connection"]`` is used as is, inside the
caller's transaction: the CLI and the tests share their engine that way. Otherwise the
database URL comes from the ``sqlalchemy.url`` option, or from ``MINHBACH_DATABASE_URL``
and the instance folder (``store.instance``) when Alembic's own command line runs with the
repository's alembic.ini.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from store.db import is_sqlite, make_engine, migration_connection
from store.instance import database_url
from store.models import Base
from store.types import UTCDateTime

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return database_url(os.environ)


def _render_item(kind: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    # Revisions are frozen history and must not import application code that may change:
    # autogenerate writes the plain type that UTCDateTime stores as.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by rebuilding them; autogenerate must write batch blocks.
        render_as_batch=sqlite,
        # With the pysqlite hooks in make_engine, SQLite DDL is transactional too.
        transactional_ddl=True if sqlite else None,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    """``alembic upgrade --sql``: write the SQL for a DBA instead of running it."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    shared = config.attributes.get("connection")
    if isinstance(shared, Connection):
        _configure(shared)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url())
    try:
        with migration_connection(engine) as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


# Logging is configured only when Alembic's command line read an ini file; an application
# calling migrations keeps its own logging setup.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
