"""Engines, sessions, transactions and schema migrations.

SQLite is the embedded default and PostgreSQL the production database; the same code and
the same Alembic revisions serve both. Alembic runs programmatically from the environment
shipped inside this package, so ``minhbach init`` works from an installed wheel without an
``alembic.ini`` in the working directory.

Concurrency (docs/architecture.md, "Transactions"). Several processes and threads write at
once. On SQLite a transaction that has read and then writes must upgrade its lock, and
SQLite refuses the upgrade at once, without waiting, whenever another connection wrote in
the meantime: the write fails with "database is locked" and the work is lost. So the apps
and the command line write through ``writing(engine)``, whose transactions take the write
lock when they begin (``BEGIN IMMEDIATE``) and wait their turn (the busy timeout) instead,
and read through ``read_only(engine)``, whose transactions take no lock at all. A plain
engine keeps SQLite's deferred transactions, for one-off scripts and tests. PostgreSQL
keeps its own row locks and isolation. What can still fail for a moment (a lock not
granted within the timeout, a deadlock, a serialization failure) is ``is_transient``, and
``retry_transient`` runs the work again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from store.fs import create_private_dirs

if TYPE_CHECKING:
    # Only migrations need Alembic (with Mako and every dialect): ~9 MiB per web worker,
    # so it is imported where migrations run, not when an app starts.
    from alembic.config import Config

MIGRATIONS_PATH = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")
log = logging.getLogger(__name__)

# Milliseconds a connection waits for another writer's lock before failing with
# "database is locked": both apps and the CLI share one SQLite file. Write transactions
# are short (no slow work happens inside one), so a wait this long means a pile-up that
# retry_transient then rides out.
SQLITE_BUSY_TIMEOUT_MS = 10_000

# Set on every new SQLite connection. The busy timeout comes first, so that switching a
# new database to WAL waits for a lock held by another process starting at the same time.
# foreign_keys is off by default in SQLite and must be set per connection. WAL lets readers
# proceed while one writer commits. synchronous=FULL makes a commit survive power loss: a
# reporter has been shown a follow-up code by then. secure_delete overwrites deleted
# content, so purged key wraps do not linger in free pages.
_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
)

# The execution options of read_only() and writing() engines.
READ_ONLY = "minhbach_read_only"
IMMEDIATE = "minhbach_immediate"
# SQLite's primary result codes for a lock not granted; the extended codes
# (SQLITE_BUSY_SNAPSHOT, ...) carry them in their low byte.
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
# PostgreSQL: serialization_failure, deadlock_detected. Both mean "run it again".
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
# One key for the advisory lock that lets a single process migrate at a time.
_MIGRATION_LOCK_KEY = 0x6D696E6862616368  # "minhbach"
RETRY_ATTEMPTS = 5


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
        # A connection left over from before a database restart is replaced, not used.
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(sa_url, **kwargs)
    path = _sqlite_file(sa_url)
    if path is not None:
        _prepare_private_file(path)
    engine = create_engine(sa_url, **kwargs)
    _install_sqlite_hooks(engine)
    return engine


def read_only(engine: Engine) -> Engine:
    """The same database, for transactions that only read.

    On SQLite they begin deferred, so they take no lock and never wait for a writer, under
    ``PRAGMA query_only``, so that a write attempted by mistake fails at once instead of
    racing for a lock it can never be granted. On PostgreSQL they are READ ONLY.
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if not is_sqlite(engine.url):
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


def exclusive(session: Session, name: str) -> None:
    """Hold ``name`` until the transaction ends, across processes: for a decision read
    from several rows that a concurrent transaction must not make at the same time (a
    total that must stay under a cap). On SQLite a writing transaction already holds the
    database's write lock; on PostgreSQL this takes an advisory transaction lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def writing(engine: Engine) -> Engine:
    """The same database, for transactions that write: on SQLite they take the write lock
    when they begin, so that no read inside them can leave them unable to write."""
    return engine.execution_options(**{IMMEDIATE: True})


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a database refusing *for now*: the same work may succeed if run
    again (a lock not granted in time, a deadlock, a serialization failure)."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(original, "sqlstate", None) in _RETRY_SQLSTATES


def retry_transient(
    work: Callable[[], T],
    *,
    before_retry: Callable[[], None],
    attempts: int = RETRY_ATTEMPTS,
    may_retry: Callable[[], bool] = lambda: True,
) -> T:
    """Run ``work``; when it fails with a transient database error, call ``before_retry``
    (which must roll back what ``work`` left) and run it again, up to ``attempts`` times
    and as long as ``may_retry()`` says so.

    Waits grow and are jittered, so that writers who collided do not collide again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as error:
            if attempt == attempts or not is_transient(error) or not may_retry():
                raise
            before_retry()
            # No detail of the statement: it may carry ciphertext or ids.
            log.warning("database busy (%s); attempt %d of %d", type(error.orig).__name__,
                        attempt + 1, attempts)  # fmt: skip
            time.sleep(random.uniform(0.5, 1.5) * 0.05 * 2**attempt)  # noqa: S311 (jitter)
    raise AssertionError("unreachable")  # the loop returns or raises


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
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        # Set at every BEGIN: read_only(), writing() and plain engines share one pool.
        connection.exec_driver_sql(
            f"PRAGMA query_only = {'ON' if options.get(READ_ONLY) else 'OFF'}"
        )
        # The write lock now, not at the first write: see the module's docstring.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE) else "BEGIN")


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
        connection.execution_options(**{IMMEDIATE: True})  # one migration at a time
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Outside any transaction: SQLite ignores this pragma inside one.
            _raw_execute(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if not sqlite:
                    # Processes starting at once migrate one after the other; the later
                    # ones then find the schema at head and have nothing to do.
                    connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"
                    )
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
