"""Where a backup is taken from and restored into: the configured database (a SQLite file
or a PostgreSQL database) and blob store, and whether they are fresh enough to restore
into (docs/backups.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import Engine, make_url

from casework.blobs import blob_store
from casework.settings import BLOB_STORE_DATABASE, Settings
from store.db import is_sqlite
from store.dumps import Snapshot, postgres, sqlite

SQLITE, POSTGRESQL = "sqlite", "postgresql"
DUMP_ENTRY = {SQLITE: "database.sql", POSTGRESQL: "database.pgdump"}


@dataclass(frozen=True)
class Target:
    """The configured database, by kind. ``engine`` is used for PostgreSQL only: for SQLite
    the file is read and written directly, and must not be created by an engine first."""

    kind: str
    sqlite_path: Path | None
    engine: Engine | None

    def snapshot(self) -> AbstractContextManager[Snapshot]:
        if self.sqlite_path is not None:
            return sqlite.snapshot(self.sqlite_path)
        assert self.engine is not None
        return postgres.snapshot(self.engine)

    def has_data(self) -> bool:
        if self.sqlite_path is not None:
            return sqlite.has_tables(self.sqlite_path)
        assert self.engine is not None
        return not postgres.is_empty(self.engine)

    def restore(
        self, dump: Iterable[bytes], dumped_by: int | None, again: Callable[[], Iterable[bytes]]
    ) -> None:
        """Restore ``dump``; ``again`` reads it anew (PostgreSQL reads its start twice)."""
        if self.sqlite_path is not None:
            sqlite.restore(self.sqlite_path, dump)
            return
        assert self.engine is not None
        postgres.restore(self.engine, dump, dumped_by or 0, again())

    def undo(self) -> str:
        """Remove what a failed restore left, where that can be done; say what remains."""
        if self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            return "the restored database file was removed again"
        return "drop the database and create it empty again before the next attempt"


def target(settings: Settings, engine: Callable[[], Engine]) -> Target:
    """The configured database. ``engine`` is only called for PostgreSQL."""
    url = make_url(settings.database_url)
    if is_sqlite(url):
        if not url.database or url.database == ":memory:" or url.query.get("uri"):
            raise click.ClickException("only a SQLite database in a file can be backed up")
        return Target(SQLITE, Path(url.database).resolve(), None)
    if url.get_backend_name() != POSTGRESQL:
        raise click.ClickException(f"backups support SQLite and PostgreSQL, not {url.drivername}")
    return Target(POSTGRESQL, None, engine())


def blobs_in_dump(settings: Settings) -> bool:
    """With the database blob store, blobs are rows: the dump holds them already, in the
    same snapshot as the attachments that name them."""
    return settings.blob_store == BLOB_STORE_DATABASE


def refuse_unless_fresh(target: Target, settings: Settings) -> None:
    """A restore goes into an empty database and blob store, never over data."""
    if target.has_data():
        raise click.ClickException(
            "refused: the configured database already holds data; a backup is restored "
            "into a fresh instance only (a new SQLite file, or an empty PostgreSQL database)"
        )
    # The database store's tables are in that database: empty with it.
    if not blobs_in_dump(settings) and blob_store(settings).blob_ids():
        raise click.ClickException(
            f"refused: the blob store {settings.blob_path} already holds files; "
            "restore into an empty one"
        )
