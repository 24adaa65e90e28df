"""A blob store in PostgreSQL, for hosts that share nothing but the database.

The tables are ``blob_objects`` and ``blob_chunks`` (``store.models.blobs``): one row per
stream, named by its blob id when finished, by its upload id while it is an upload's
scratch file, by neither while a writer is still at work (or was killed); its bytes are
rows of at most ``ROW_SIZE``, each keyed by the offset where it starts.

Why rows of ``bytea`` and not large objects: rows are granted per role with the table
(large objects have their own permission system, and the app's roles would need
``lo_compat_privileges`` or ownership), are deleted by a plain ``DELETE`` cascading from
their stream (a large object outlives a deleted row unless ``lo_unlink`` is called, which
a crash between the two forgets), and ``pg_dump`` of the database takes them like any
other table.

Why rows of 8,000 bytes: such a row fits one 8 KiB page with its key, so it is stored in
the table itself (``STORAGE PLAIN``: never compressed, never moved out of line). A larger
value would be cut by TOAST into rows of 2 KB in a table of its own, each with its own
index entry: measured on the same server, 1 MiB values were written at about half the
speed of 8,000-byte rows sent with ``COPY``, and read slower too. Rows are written by
``COPY ... FROM STDIN (FORMAT BINARY)``, a MiB (``BATCH_SIZE``) at a time.

Memory is constant: a writer buffers less than a batch and writes each full batch in a
transaction of its own (which does not wait for the disk: the commit naming the blob
does, for all of them); a reader fetches a batch of rows at a time, each in a short query.
So no connection is held while a slow client (over Tor, minutes) sends or receives a
file, as the apps already give back their own session's connection for that time.

A blob appears complete only when its writer's ``with`` block ends: the stream is then
renamed to its blob id in one transaction. Until then it has no name, so no reader finds
it; a writer that raises deletes it; a process killed mid-write leaves a nameless stream,
which ``remove_stale_temp_files`` deletes once the cutoff has passed its day.

Scratch appends lock the upload's row for the length of their transaction, with the
``UPDATE`` that grows its size only if it is still the expected offset: of two requests
appending at the same offset, the second waits for the lock, finds the size changed and
gets OffsetMismatch. An append has committed when it returns; it is durable then too
unless made with ``sync=False``, whose commit does not wait for the WAL to reach the disk:
a request appends its pieces so, then ``scratch_sync`` waits once for all of them, before
the client is told its offset (``scratch_size`` waits the same way): a commit waits for
the WAL up to its own record, so for every commit before it. A commit to a blob takes
the same lock (``SELECT ... FOR UPDATE``), so no append is half-way through, and only
renames the row: no byte is copied.

Its own connections: the store gets an engine of its own for the database URL (one per
process and URL, ``shared_store``), never the caller's session. Its writes must commit on
their own, whatever becomes of the caller's transaction, exactly as a file written to
disk does: the upload code creates a scratch file inside a transaction that may roll back,
intake deletes blobs after rolling back, and a claim renames uploads into blobs before its
caller commits and gives them back (``scratch_restore``) if that commit fails. A
separate pool also keeps streaming out of the request's pool.

What the database learns: ciphertext only (the store never sees plaintext), the size of
each stream and the day (UTC) of its last write, as coarse as the filesystem store keeps
file times; no time of day. Listing by age follows: ``blob_ids`` counts a stream of day D
as written at midnight D, as the filesystem store's coarsened file times do (callers add
the day's grain, ``store.consistency``); scratch files and unfinished writes count as
written at the end of their day, so an upload or a write still going on is never taken
for an abandoned one (at the price of collecting them up to a day later).

Only PostgreSQL, through psycopg (3): the row locks above are what make appends safe
under concurrency (SQLite has none), and rows are written with psycopg's ``COPY``.
psycopg is imported only by a process that connects to PostgreSQL: importing this module
costs an app on SQLite nothing.

A chunk row names its stream without a foreign key: the key's check, a query per row,
was 15-20% of PostgreSQL's work per byte. Its two guarantees are kept here instead: the
chunks of a stream are deleted in the transaction that deletes the stream (``_remove``),
and rows are added only to a stream locked by the same transaction, so none can be added
to a stream deleted meanwhile.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from store.blobs.interface import (
    BlobError,
    BlobExists,
    BlobNotFound,
    BlobWriter,
    OffsetMismatch,
    ScratchExists,
    ScratchNotFound,
    check_id,
    new_id,
)
from store.db import make_engine
from store.models.blobs import CHUNK_ROW_SIZE, BlobChunk, BlobObject

if TYPE_CHECKING:
    import psycopg

ROW_SIZE = CHUNK_ROW_SIZE  # bytes of a blob_chunks row, at most (the model's CHECK)
BATCH_SIZE = 1024 * 1024  # written per transaction by a writer, read per query by a reader
COPY_WRITE = 64 * 1024  # COPY data handed to psycopg at a time
_COPY_ROWS = "COPY blob_chunks (object_id, position, data) FROM STDIN (FORMAT BINARY)"
_BATCH = (
    "SELECT position, data FROM blob_chunks"
    " WHERE object_id = %s AND position >= %s AND position < %s ORDER BY position"
)
# COPY's binary format (PostgreSQL's documentation of COPY, "Binary Format"): a signature,
# no flags, no header extension; per row the number of fields, then each field's length
# and value (object_id int4, position int8, data bytea); -1 fields at the end.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_ROW_HEAD = struct.Struct(">hiiiqi")
_COPY_TRAILER = b"\xff\xff"

_UNIQUE_VIOLATION = "23505"

log = logging.getLogger(__name__)

# Built once: an upload appends a statement per MiB, and building it cost more than running it.
_SCRATCH_SIZE = select(BlobObject.size).where(BlobObject.upload_id == bindparam("upload"))
_GROW_SCRATCH = (
    update(BlobObject)
    .where(BlobObject.upload_id == bindparam("upload"), BlobObject.size == bindparam("expected"))
    .values(size=bindparam("size"), written_on=bindparam("day"))
    .returning(BlobObject.id)
)
# Appends made with sync=False, and a writer's batches, commit without waiting for their
# WAL to reach the disk: a crash could lose the last of them (never more than PostgreSQL's
# wal_writer_delay, three times over), but nobody has been told of them yet: scratch_size
# and scratch_sync flush first, and a blob is named by a commit that waits (PostgreSQL's
# docs, "Asynchronous Commit").
_COMMIT_WITHOUT_WAITING = text("SET LOCAL synchronous_commit TO OFF")
_TAKE_TRANSACTION_ID = text("SELECT pg_current_xact_id()")
_KEEP_STREAM = (
    select(BlobObject.id)
    .where(BlobObject.id == bindparam("object"))
    .with_for_update(read=True, key_share=True)
)


class UnsupportedDatabase(ValueError):
    """The database blob store runs on PostgreSQL only."""


class PostgresBlobStore:
    def __init__(self, engine: Engine) -> None:
        if (engine.dialect.name, engine.dialect.driver) != ("postgresql", "psycopg"):
            raise UnsupportedDatabase("the database blob store needs PostgreSQL through psycopg")
        self.engine = engine

    # --- blobs -------------------------------------------------------------------------

    def new_blob_id(self) -> str:
        return new_id()

    @contextmanager
    def open_writer(self, blob_id: str) -> Iterator[BlobWriter]:
        check_id(blob_id)
        if self.exists(blob_id):
            raise BlobExists(f"blob {blob_id} already exists")
        with self.engine.begin() as connection:
            object_id = _new_object(connection, upload_id=None)
        writer = _ChunkWriter(self.engine, object_id, blob_id)
        published = False
        try:
            yield writer
            size = writer.finish()
            self._publish(object_id, blob_id, size)
            published = True
        finally:
            if not published:
                self._forget(object_id)

    def open_reader(self, blob_id: str) -> BinaryIO:
        check_id(blob_id)
        with self.engine.connect() as connection:
            row = connection.execute(
                select(BlobObject.id, BlobObject.size).where(BlobObject.blob_id == blob_id)
            ).first()
        if row is None:
            raise BlobNotFound(f"no blob {blob_id}")
        return io.BufferedReader(_ChunkReader(self.engine, blob_id, row.id, row.size))

    def size(self, blob_id: str) -> int:
        check_id(blob_id)
        size = self._scalar(select(BlobObject.size).where(BlobObject.blob_id == blob_id))
        if size is None:
            raise BlobNotFound(f"no blob {blob_id}")
        return int(size)

    def exists(self, blob_id: str) -> bool:
        check_id(blob_id)
        return self._scalar(select(BlobObject.id).where(BlobObject.blob_id == blob_id)) is not None

    def delete(self, blob_id: str) -> bool:
        # The rows' pages are reused once vacuumed, not overwritten: as with files,
        # deleting a case's key wraps is what makes ciphertext unreadable.
        check_id(blob_id)
        with self.engine.begin() as connection:
            return _remove(connection, BlobObject.blob_id == blob_id) > 0

    def blob_ids(self, *, modified_before: datetime | None = None) -> list[str]:
        query = select(BlobObject.blob_id).where(BlobObject.blob_id.is_not(None))
        if modified_before is not None:
            # Midnight of a stream's day, as the filesystem store's coarsened file times.
            query = query.where(BlobObject.written_on < _first_day_not_before(modified_before))
        with self.engine.connect() as connection:
            return sorted(connection.scalars(query))

    # --- scratch files of resumable uploads --------------------------------------------

    def scratch_create(self, upload_id: str) -> None:
        check_id(upload_id)
        try:
            with self.engine.begin() as connection:
                _new_object(connection, upload_id=upload_id)
        except IntegrityError as error:
            if _is_unique_violation(error):
                raise ScratchExists("the upload already has a scratch file") from None
            raise

    def scratch_append(
        self, upload_id: str, data: bytes | bytearray, expected_offset: int, *, sync: bool = True
    ) -> int:
        check_id(upload_id)
        size = expected_offset + len(data)
        with self.engine.begin() as connection:
            if not sync:  # made durable by scratch_sync, once per request
                connection.execute(_COMMIT_WITHOUT_WAITING)
            # One statement takes the row lock and checks the offset: an append waiting for
            # the lock is checked again against the row as the other one left it.
            grown = connection.execute(
                _GROW_SCRATCH,
                {"upload": upload_id, "expected": expected_offset, "size": size, "day": _today()},
            ).scalar()
            if grown is None:
                raise OffsetMismatch(expected_offset, self._scratch_size(connection, upload_id))
            _copy_rows(connection, grown, expected_offset, data)
        return size

    def scratch_sync(self, upload_id: str) -> None:
        self.scratch_size(upload_id)

    def scratch_size(self, upload_id: str) -> int:
        check_id(upload_id)
        with self.engine.begin() as connection:
            size = self._scratch_size(connection, upload_id)
            # A transaction with an id commits with a WAL record, and a commit waits for
            # the WAL to be flushed up to its record: every append seen above is durable
            # before its size is told to anyone.
            connection.execute(_TAKE_TRANSACTION_ID)
        return size

    def scratch_commit(self, upload_id: str, blob_id: str) -> None:
        check_id(upload_id)
        check_id(blob_id)
        with self.engine.begin() as connection:
            # Holding the lock means no append is half-way through when the row is renamed.
            object_id, _size = _lock_scratch(connection, upload_id)
            self._rename(connection, object_id, blob_id=blob_id, upload_id=None)

    def scratch_restore(self, blob_id: str, upload_id: str) -> None:
        check_id(blob_id)
        check_id(upload_id)
        with self.engine.begin() as connection:
            object_id = connection.scalar(
                select(BlobObject.id).where(BlobObject.blob_id == blob_id).with_for_update()
            )
            if object_id is None:
                raise BlobNotFound(f"no blob {blob_id}")
            self._rename(connection, object_id, blob_id=None, upload_id=upload_id)

    def scratch_discard(self, upload_id: str) -> bool:
        check_id(upload_id)
        with self.engine.begin() as connection:
            return _remove(connection, BlobObject.upload_id == upload_id) > 0

    def scratch_list_older_than(self, cutoff: datetime) -> list[str]:
        query = select(BlobObject.upload_id).where(
            BlobObject.upload_id.is_not(None), BlobObject.written_on < _day_ended_by(cutoff)
        )
        with self.engine.connect() as connection:
            return sorted(connection.scalars(query))

    # --- housekeeping ------------------------------------------------------------------

    def remove_stale_temp_files(self, cutoff: datetime) -> int:
        # Only a killed process leaves a nameless stream behind: a writer that raises
        # deletes its own.
        day = _day_ended_by(cutoff)
        with self.engine.begin() as connection:
            return _remove(
                connection,
                BlobObject.blob_id.is_(None),
                BlobObject.upload_id.is_(None),
                BlobObject.written_on < day,
            )

    # --- internals ---------------------------------------------------------------------

    @staticmethod
    def _scratch_size(connection: Connection, upload_id: str) -> int:
        size = connection.execute(_SCRATCH_SIZE, {"upload": upload_id}).scalar()
        if size is None:
            raise ScratchNotFound("no scratch file for this upload")
        return int(size)

    def _scalar(self, query: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.scalar(query)

    def _publish(self, object_id: int, blob_id: str, size: int) -> None:
        """Name a finished stream: the blob appears, complete, when this commits."""
        try:
            with self.engine.begin() as connection:
                named = connection.execute(
                    update(BlobObject)
                    .where(BlobObject.id == object_id)
                    .values(blob_id=blob_id, size=size, written_on=_today())
                )
        except IntegrityError as error:
            if _is_unique_violation(error):  # written meanwhile under the same id: a bug
                raise BlobExists(f"blob {blob_id} already exists") from None
            raise
        if named.rowcount != 1:  # collected as abandoned while it was being written
            raise BlobError(f"blob {blob_id} was removed while it was being written")

    def _rename(
        self, connection: Connection, object_id: int, *, blob_id: str | None, upload_id: str | None
    ) -> None:
        """Turn a locked stream from scratch into blob or back; refused if the new name
        is taken, and then nothing changes (the caller's transaction rolls back)."""
        try:
            connection.execute(
                update(BlobObject)
                .where(BlobObject.id == object_id)
                .values(blob_id=blob_id, upload_id=upload_id, written_on=_today())
            )
        except IntegrityError as error:
            if not _is_unique_violation(error):
                raise
            if blob_id is not None:
                raise BlobExists(f"blob {blob_id} already exists") from None
            raise ScratchExists("the upload already has a scratch file") from None

    def _forget(self, object_id: int) -> None:
        """Delete an unfinished stream. If the database refuses now, the stream stays
        nameless, invisible, and ``remove_stale_temp_files`` deletes it later."""
        try:
            with self.engine.begin() as connection:
                _remove(connection, BlobObject.id == object_id)
        except Exception as error:  # the writer's own exception is the one to raise
            log.warning("an unfinished blob write was left for collection (%s)",
                        type(error).__name__)  # fmt: skip


class _ChunkWriter:
    """Exposes only ``write``: each full batch goes to the database as it fills, in a
    transaction of its own; less than a batch is held in memory."""

    def __init__(self, engine: Engine, object_id: int, blob_id: str) -> None:
        self._engine = engine
        self._object_id = object_id
        self._blob_id = blob_id
        self._buffer = bytearray()
        self._position = 0  # bytes already in the database
        self._day = _today()

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        length = len(view)
        if self._buffer:
            taken = min(BATCH_SIZE - len(self._buffer), length)
            self._buffer += view[:taken]
            view = view[taken:]
            if len(self._buffer) < BATCH_SIZE:
                return length
            self._store(self._buffer)
            self._buffer = bytearray()
        while len(view) >= BATCH_SIZE:  # whole batches straight from the caller's bytes
            self._store(view[:BATCH_SIZE])
            view = view[BATCH_SIZE:]
        self._buffer += view
        return length

    def finish(self) -> int:
        """Store what is left; returns the stream's size."""
        if self._buffer:
            self._store(self._buffer)
            self._buffer = bytearray()
        return self._position

    def _store(self, batch: bytes | bytearray | memoryview) -> None:
        with self._engine.begin() as connection:
            # Durable by the commit that names the blob: until then no reader finds it, and
            # a batch a crash lost leaves a nameless stream, collected like any other.
            connection.execute(_COMMIT_WITHOUT_WAITING)
            # Held until the rows are in: the stream cannot be collected meanwhile.
            if connection.execute(_KEEP_STREAM, {"object": self._object_id}).first() is None:
                raise BlobError(f"blob {self._blob_id} was removed while it was being written")
            _copy_rows(connection, self._object_id, self._position, batch)
            today = _today()
            if today != self._day:  # a write still going on is not taken for abandoned
                connection.execute(
                    update(BlobObject)
                    .where(BlobObject.id == self._object_id)
                    .values(written_on=today)
                )
                self._day = today
        self._position += len(batch)


class _ChunkReader(io.RawIOBase):
    """A blob's bytes, a batch of rows at a time, each batch by a query of its own; only
    the rows of the current batch are held, and served without being joined."""

    def __init__(self, engine: Engine, blob_id: str, object_id: int, size: int) -> None:
        super().__init__()
        self._engine = engine
        self._blob_id = blob_id
        self._object_id = object_id
        self._size = size  # as the blob was when opened: nothing past it is served
        self._rows: deque[memoryview] = deque()
        self._position = 0  # in the blob, of the next byte to serve

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        wanted = min(len(target), self._size - self._position)
        if wanted <= 0:
            return 0
        if not self._rows:
            self._rows.extend(self._fetch(self._position))
        filled = 0
        while filled < wanted and self._rows:
            row = self._rows[0]
            count = min(wanted - filled, len(row))
            target[filled : filled + count] = row[:count]
            filled += count
            if count == len(row):
                self._rows.popleft()
            else:
                self._rows[0] = row[count:]
        self._position += filled
        return filled

    def _fetch(self, start: int) -> list[memoryview]:
        """The rows that begin within a batch from ``start``: they follow each other
        without a gap, or the blob was removed meanwhile."""
        with self._engine.begin() as connection:
            # Binary results: bytea in text format travels hex-encoded, twice its size,
            # and decoding it took half the CPU of a download (128 MiB read at about
            # twice the rate once binary).
            driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
            with driver.cursor(binary=True) as cursor:
                cursor.execute(_BATCH, (self._object_id, start, start + BATCH_SIZE))
                rows = cursor.fetchall()
        expected, batch = start, []
        for position, data in rows:
            if position != expected:
                break
            batch.append(memoryview(data))
            expected += len(data)
        if not batch:
            # Deleted (a retention purge) or given back to its upload while being read.
            raise BlobNotFound(f"blob {self._blob_id} was removed while it was being read")
        return batch


def _new_object(connection: Connection, *, upload_id: str | None) -> int:
    created = connection.execute(
        insert(BlobObject)
        .values(upload_id=upload_id, size=0, written_on=_today())
        .returning(BlobObject.id)
    )
    return int(created.scalar_one())


def _copy_rows(
    connection: Connection, object_id: int, position: int, data: bytes | bytearray | memoryview
) -> None:
    """Add ``data`` to a stream from ``position`` on, as rows of ROW_SIZE, in the
    connection's transaction.

    The rows go in COPY's binary format, built here a few rows at a time (``COPY_WRITE``):
    a call to psycopg per group, where ``write_row`` is a Python call per row (131 a MiB),
    and never a second copy of the whole piece (nor a MiB in libpq's output buffer).
    """
    view = memoryview(data)
    if not view:
        return
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    with driver.cursor() as cursor, cursor.copy(_COPY_ROWS) as copy:
        group = bytearray(_COPY_SIGNATURE)
        for start in range(0, len(view), ROW_SIZE):
            row = view[start : start + ROW_SIZE]
            group += _COPY_ROW_HEAD.pack(3, 4, object_id, 8, position + start, len(row))
            group += row
            if len(group) >= COPY_WRITE:
                copy.write(group)
                group = bytearray()
        group += _COPY_TRAILER
        copy.write(group)


def _remove(connection: Connection, *where: ColumnElement[bool]) -> int:
    """Delete the streams ``where`` says and their chunks; returns how many streams.

    The streams go first: that waits for an append or a writer's batch holding one of
    them, and whatever they added is then deleted with the rest.
    """
    removed = list(connection.scalars(delete(BlobObject).where(*where).returning(BlobObject.id)))
    if removed:
        connection.execute(delete(BlobChunk).where(BlobChunk.object_id.in_(removed)))
    return len(removed)


def _lock_scratch(connection: Connection, upload_id: str) -> tuple[int, int]:
    """The scratch row's id and size, locked until the transaction ends."""
    row = connection.execute(
        select(BlobObject.id, BlobObject.size)
        .where(BlobObject.upload_id == upload_id)
        .with_for_update()
    ).first()
    if row is None:
        raise ScratchNotFound("no scratch file for this upload")
    return int(row.id), int(row.size)


def _is_unique_violation(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == _UNIQUE_VIOLATION


def _today() -> date:
    return datetime.now(UTC).date()


def _aware(cutoff: datetime) -> datetime:
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError("cutoff must be a timezone-aware datetime")
    return cutoff.astimezone(UTC)


def _first_day_not_before(cutoff: datetime) -> date:
    """The first day whose midnight (UTC) is not before ``cutoff``."""
    moment = _aware(cutoff)
    day = moment.date()
    return day if datetime.combine(day, time(), UTC) == moment else day + timedelta(days=1)


def _day_ended_by(cutoff: datetime) -> date:
    """Days before this one have ended by ``cutoff`` (UTC)."""
    return _aware(cutoff).date()


# --- one engine per process and database ----------------------------------------------------

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def shared_store(database_url: str) -> PostgresBlobStore:
    """The store on this process's engine for ``database_url``, made on first use.

    Callers build a store per request or command, as they build the filesystem store; the
    engine and its pool are made once per process.
    """
    with _engines_lock:
        engine = _engines.get(database_url)
        if engine is None:
            engine = make_engine(database_url)
            _engines[database_url] = engine
    return PostgresBlobStore(engine)


def _after_fork_in_child() -> None:
    # A forked worker must not use, nor close, the connections its parent opened: closing
    # them would end the parent's sessions on the server. It opens its own.
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)
