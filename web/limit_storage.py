"""Rate-limit counters and spent proof-of-work challenges in a SQLite file of the instance
folder: one storage for every process of the embedded default.

``make run`` starts each app with several gunicorn workers. With ``memory://`` each worker
kept its own counters, so every limit was as many times what is documented as there are
workers, and a solved challenge could be spent once per worker. Production shares Redis
(``MINHBACH_RATELIMIT_STORAGE_URI=redis://…``); without Redis this storage does the same
on one host. The ``limits`` library ships no file or SQLite storage, hence this one
(docs/architecture.md, "Rate limits"). It implements what the apps use: fixed windows
(``incr``, ``get``, ``get_expiry``, ``clear``, ``reset``, ``check``).

The counters are not secrets: keys are HMACs (submit.limits) or challenge ids. The file is
private (0600) anyway and holds no content of any request. Each ``incr`` is one atomic
UPSERT, so processes never lose a count between them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from limits.storage import Storage

from casework.settings import LIMITS_SCHEME as SCHEME
from store.fs import PRIVATE_FILE, create_private_dirs

BUSY_TIMEOUT_SECONDS = 10.0
# A purge of expired counters every this many increments keeps the file small.
PURGE_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID
"""
# A window that has expired starts again at ``amount``; a live one grows by it.
_INCREMENT = """
INSERT INTO counters (key, value, expires) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN counters.expires <= :now THEN :amount ELSE counters.value + :amount END,
    expires = CASE WHEN counters.expires <= :now THEN :expires ELSE counters.expires END
RETURNING value
"""


class SqliteStorage(Storage):
    STORAGE_SCHEME: ClassVar[list[str]] = [SCHEME]  # type: ignore[misc]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **_options: object
    ) -> None:
        super().__init__(uri, wrap_exceptions)
        self.path = _path_of(uri or "")
        self._local = threading.local()
        self._increments = 0
        with self._connection() as connection:
            connection.execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        parameters = {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        with self._connection() as connection:
            (value,) = connection.execute(_INCREMENT, parameters).fetchone()
        self._increments += 1
        if self._increments % PURGE_EVERY == 0:
            self._purge(now)
        return int(value)

    def get(self, key: str) -> int:
        row = self._one("SELECT value FROM counters WHERE key = ? AND expires > ?", key)
        return 0 if row is None else int(row)

    def get_expiry(self, key: str) -> float:
        row = self._one("SELECT expires FROM counters WHERE key = ? AND expires > ?", key)
        return time.time() if row is None else row

    def check(self) -> bool:
        try:
            with self._connection() as connection:
                connection.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._connection() as connection:
            return connection.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        with self._connection() as connection:
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))

    def _one(self, sql: str, key: str) -> float | None:
        with self._connection() as connection:
            row = connection.execute(sql, (key, time.time())).fetchone()
        return None if row is None else float(row[0])

    def _purge(self, now: float) -> None:
        with self._connection() as connection:
            connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections are not shared between threads);
        used as a context manager, it commits each statement's transaction."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            _create_private(self.path)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
            _switch_to_wal(connection)
            # Counters need not survive a power cut; they must not cost an fsync each.
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
        return connection


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting for a process that is doing the same.

    Workers that start together all open a new file at once. SQLite refuses the switch
    with "database is locked" at once, without its busy wait, while another connection
    holds the file in the middle of its own switch; a worker that let that through failed
    to boot, and gunicorn shut down (seen in the test suite). Once one switch is done the
    mode is in the file and the others' are no-ops.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _path_of(uri: str) -> Path:
    parts = urlsplit(uri)
    path = unquote(parts.netloc + parts.path)
    if parts.scheme != SCHEME or not path.startswith("/"):
        raise ValueError(f"{SCHEME}:// needs an absolute file path, e.g. {SCHEME}:///srv/limits")
    return Path(path)


def _create_private(path: Path) -> None:
    create_private_dirs(path.parent)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        descriptor = os.open(path, flags, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(descriptor)
