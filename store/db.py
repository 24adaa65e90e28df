"""Engines, sessions and schema migrations.

SQLite is the embedded default and PostgreSQL the production database; the same code and
the same Alembic revisions serve both. Alembic runs programmatically from the environment
shipped inside this package, so ``minhbach init`` works from an installed wheel without an
``alembic.ini`` in the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from store.fs import create_private_dirs

if TYPE_CHECKING:
    # Only migrations need Alembic (with Mako and every dialect): ~9 MiB per web worker,
    # so it is imported where migrations run, not when an app starts.
    from alembic.config import Config

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"

# Milliseconds a connection waits for another writer's lock before failing with
# "database is locked": both apps and the CLI share one SQLite file.
SQLITE_BUSY_TIMEOUT_MS = 10_000

# Set on every new SQLite connection. foreign_keys is off by default in SQLite and must be
# set per connection. WAL lets readers proceed while one writer commits. synchronous=FULL
# makes a commit survive power loss: a reporter has been shown a follow-up code by then.
# secure_delete overwrites deleted content, so purged key wraps do not linger in free pages.
_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
)


class MigrationError(RuntimeError):
    """A migration left the database inconsistent; it was rolled back."""


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets its pragmas and a private directory and file.

    Other databases are passed through to SQLAlchemy unchanged; ``kwargs`` go to
    ``create_engine`` in both cases.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return create_engine(sa_url, **kwargs)
    path = _sqlite_file(sa_url)
    if path is not None:
        _prepare_private_file(path)
    engine = create_engine(sa_url, **kwargs)
    _install_sqlite_hooks(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay usable after commit (e.g. to render the page that follows) without a
    # second query per attribute.
    return sessionmaker(bind=engine, expire_on_commit=False)


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory and URI-style databases."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri"):
        return None
    return Path(database)


def _prepare_private_file(path: Path) -> None:
    """Create the database's directory (0700) and file (0600) if they do not exist yet.

    SQLite would create the file world-readable under a usual umask, and it gives its -wal
    and -shm files the permissions of the database file, so creating the file first keeps
    all three private. Existing directories and files are left as the operator set them.
    """
    create_private_dirs(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, which begins transactions
        # implicitly before DML only, so DDL would run outside them. _on_begin emits BEGIN
        # instead: migrations become atomic and SAVEPOINTs work (the recipe in
        # SQLAlchemy's SQLite dialect documentation).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN")


# --- migrations ---------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped in this package.

    With ``connection``, env.py migrates through it (the caller owns the transaction);
    otherwise it connects to ``url``.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _escape(str(MIGRATIONS_PATH)))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", _escape(url))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _escape(value: str) -> str:
    # Config values go through ConfigParser interpolation, where "%" is special; URLs
    # carry percent-encoded passwords.
    return value.replace("%", "%%")


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("the package ships no migrations")
    return head


def current_revision(target: Engine | str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with _engine(target) as engine, engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(target: Engine | str) -> None:
    """Bring the schema to the newest revision, in a single transaction."""
    from alembic import command

    _run(target, lambda config: command.upgrade(config, "head"))


def downgrade_to(target: Engine | str, revision: str) -> None:
    """Take the schema back to ``revision`` ("base" drops everything)."""
    from alembic import command

    _run(target, lambda config: command.downgrade(config, revision))


def _run(target: Engine | str, operation: Callable[[Config], None]) -> None:
    with _engine(target) as engine, migration_connection(engine) as connection:
        operation(alembic_config(connection))


@contextmanager
def _engine(target: Engine | str) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction, suitable for running migrations.

    On SQLite, foreign key enforcement is switched off for the migration: Alembic's
    batch mode rebuilds a table by copying it and dropping the original, and with foreign
    keys on, that DROP would first delete every row, cascading into the child tables and
    erasing cases. ``PRAGMA foreign_key_check`` then verifies the result before commit.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Outside any transaction: SQLite ignores this pragma inside one.
            _raw_execute(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                _raw_execute(connection, "PRAGMA foreign_keys = ON")


def _raw_execute(connection: Connection, sql: str) -> None:
    """Run ``sql`` on the DBAPI connection directly, bypassing SQLAlchemy's autobegin."""
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is None:
        raise MigrationError("the database connection was closed")
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        tables = sorted({str(row[0]) for row in violations})
        raise MigrationError(f"foreign key violations after migration in: {', '.join(tables)}")
