"""SQLite: the database as SQL statements, one snapshot, no file written on the way.

``VACUUM INTO`` and the online backup API both write a second database file. That copy
would hold everything the live file holds, and more: the live file runs with
``secure_delete``, so a case purged by retention is overwritten there, while a copy
unlinked after the backup leaves its pages in the filesystem's free blocks. So the dump
is ``iterdump``'s statements, read inside one read transaction (WAL: the apps keep
writing meanwhile, and none of their commits after its start is seen), streamed to the
caller one statement at a time; memory is the largest row, whatever the database size.

Restoring executes the statements into an empty file, one at a time (a chunk holding two
is refused), under an authorizer that refuses ATTACH, DETACH and PRAGMA: a forged dump
must not write files outside the database or change how it is opened.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from store.db import SQLITE_BUSY_TIMEOUT_MS
from store.dumps import DumpError, Snapshot, read_facts
from store.fs import PRIVATE_FILE, create_private_dirs

_REFUSED = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA})
_SIDE_FILES = ("-wal", "-shm", "-journal")


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    # A URI with mode=rw never creates the file; autocommit mode (isolation_level None)
    # leaves every BEGIN and COMMIT to the statements themselves.
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return connection


@contextmanager
def snapshot(path: Path) -> Iterator[Snapshot]:
    """The database at ``path`` as it is now, until the block ends."""
    if not path.is_file():
        raise DumpError(f"no SQLite database at {path}")
    with closing(_connect(path, "rw")) as connection:
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")
        # The first read fixes the snapshot: the facts and every statement after them
        # see the same commit, however many the apps make meanwhile.
        facts = read_facts(lambda sql: connection.execute(sql).fetchall())
        pieces = (statement.encode("utf-8") for statement in connection.iterdump())
        yield Snapshot(facts, pieces)
        connection.execute("ROLLBACK")


def has_tables(path: Path) -> bool:
    """Whether the file at ``path`` exists and holds any table."""
    if not path.exists():
        return False
    with closing(_connect(path, "ro")) as connection:
        row = connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        return bool(row.fetchone()[0])


def restore(path: Path, statements: Iterable[bytes]) -> None:
    """Run a dump's statements into the empty database at ``path`` (created if absent).

    If anything fails, the file is left as it was: removed if this created it.
    """
    if has_tables(path):
        raise DumpError(f"{path} already holds a database; restore only into an empty one")
    created = not path.exists()
    if created:
        create_private_dirs(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE))
    try:
        with closing(_connect(path, "rw")) as connection:
            connection.set_authorizer(_authorize)
            try:
                for statement in statements:
                    connection.execute(statement.decode("utf-8"))
            except (sqlite3.Error, UnicodeDecodeError) as exc:
                # The code only: SQLite's message may quote a piece of the statement.
                code = getattr(exc, "sqlite_errorname", type(exc).__name__)
                raise DumpError(f"the SQLite dump does not restore ({code})") from None
            finally:
                if connection.in_transaction:  # the dump was cut short: nothing of it stays
                    connection.execute("ROLLBACK")
            connection.set_authorizer(None)
            _check(connection)
    except BaseException:
        if created:
            for name in ("", *_SIDE_FILES):
                Path(f"{path}{name}").unlink(missing_ok=True)
        raise


def _authorize(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_DENY if action in _REFUSED else sqlite3.SQLITE_OK


def _check(connection: sqlite3.Connection) -> None:
    if connection.execute("PRAGMA integrity_check").fetchone() != ("ok",):
        raise DumpError("the restored SQLite database fails its integrity check")
    if connection.execute("PRAGMA foreign_key_check").fetchall():
        raise DumpError("the restored SQLite database has rows whose references are missing")
