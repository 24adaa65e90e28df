"""A consistent dump of the database while the apps keep writing, and its restore into an
empty one: SQLite as SQL statements (``store.dumps.sqlite``), PostgreSQL through the real
``pg_dump`` and ``pg_restore`` (``store.dumps.postgres``).

A dump is bytes to this package, as blobs are: ``casework.backup_archive`` encrypts them
as they stream out, and no plaintext copy is written anywhere on the way. Each dump also
reads, in the same snapshot as the data it dumps, what the backup needs to know about it
(``Facts``): the blobs its attachments name, so that exactly those are copied after it,
and the escrow keys the archive is encrypted to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Plain SQL, the same on both databases and for both drivers (sqlite3's own connection
# for SQLite, SQLAlchemy's for PostgreSQL): only what a backup must know.
_REVISION = "SELECT version_num FROM alembic_version"
_ESCROW_KEYS = (
    "SELECT DISTINCT escrow_public_key FROM units "
    "WHERE escrow_public_key IS NOT NULL ORDER BY escrow_public_key"
)
_BLOB_IDS = "SELECT blob_id FROM attachments ORDER BY blob_id"

# The size of the pieces read from a dump program's output.
PIECE_SIZE = 1024 * 1024


class DumpError(RuntimeError):
    """A dump or restore failed. The message never holds a password or row data."""


@dataclass(frozen=True)
class Facts:
    """What the snapshot holds, read in the snapshot itself."""

    revision: str
    escrow_keys: tuple[bytes, ...]  # every distinct unit escrow public key
    blob_ids: tuple[str, ...]  # every blob an attachment of the snapshot refers to


@dataclass(frozen=True)
class Snapshot:
    """A dump in progress: its facts, then its bytes (iterate once, in full)."""

    facts: Facts
    pieces: Iterator[bytes]


def read_facts(query: Callable[[str], Iterable[tuple[Any, ...]]]) -> Facts:
    """``query`` runs one statement inside the snapshot and returns its rows."""
    revisions = [str(row[0]) for row in query(_REVISION)]
    if len(revisions) != 1:
        raise DumpError("the database has no single schema revision: is it initialised?")
    return Facts(
        revision=revisions[0],
        escrow_keys=tuple(bytes(row[0]) for row in query(_ESCROW_KEYS)),
        blob_ids=tuple(str(row[0]) for row in query(_BLOB_IDS)),
    )
