"""Resumable uploads of encrypted attachments (a tus-like subset), without Flask.

An upload is created with the exact size of its ciphertext, grows only by appends at its
current offset, and becomes an attachment when a report or message *claims* it complete.
Its id is a random 32-byte token, a capability held by the reporter's browser: the
database keeps only the token's SHA-256 (hex) as ``Upload.id`` and the scratch file is
named after that hash too, so neither a database copy nor a directory listing lets anyone
append to, or claim, somebody's upload.

The scratch file, not the database row, is the truth about how many bytes arrived: bytes
are appended as they come off the network, so a dropped connection keeps what it
delivered, and the client asks for the offset and resumes. The row's ``offset`` and
``completed`` columns follow the file after every successful append.

Callers own the transaction: functions here add to, flush or delete from ``session`` and
the caller commits.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import MalformedEnvelope
from crypto.files import CHUNK_SIZE, STREAM_HEADER_SIZE, TAG_SIZE
from crypto.padding import file_bucket
from store.blobs import BlobStore, OffsetMismatch, ScratchNotFound
from store.consistency import orphan_blobs
from store.db import exclusive
from store.models import Unit, Upload
from store.types import utc_now

TOKEN_BYTES = 32
_HOUR = timedelta(hours=1)


class UploadError(Exception):
    """Base class; messages never contain an upload token."""


class UploadNotFound(UploadError):
    """Unknown, expired, deleted or claimed: one answer for all, so ids cannot be probed."""


class SizeRefused(UploadError):
    """A declared size that is not positive or exceeds the largest allowed ciphertext."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"declared size {size} is outside 1..{limit}")
        self.limit = limit


class ScratchFull(UploadError):
    """Uploads in progress already reserve all the scratch space the service allows."""


class OffsetConflict(UploadError):
    """An append for another offset than the current one; ``current`` is where to resume."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the upload is at offset {current}")
        self.current = current


class BeyondDeclaredSize(UploadError):
    """The body would grow the upload past its declared size; nothing past it was written."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the upload is at offset {current} and cannot grow further")
        self.current = current


class UploadIncomplete(UploadError):
    """A claim of an upload that has not received all its declared bytes."""


@dataclass(frozen=True)
class NewUpload:
    token: str  # b64u; shown to the client once, never stored
    size: int
    expires_at: datetime


@dataclass(frozen=True)
class Progress:
    offset: int
    size: int


@dataclass(frozen=True)
class Claimed:
    upload_id: str  # the token as the client gave it
    blob_id: str
    size: int


def ciphertext_limit(max_file_size: int) -> int:
    """The ciphertext size of a ``max_file_size`` file: the largest upload to accept.

    Header and salt, the plaintext padded to its bucket, and a tag per 64 KiB chunk.
    Padmé buckets grow with the size, so no smaller file has a larger ciphertext.
    """
    padded = file_bucket(max_file_size)
    return STREAM_HEADER_SIZE + padded + TAG_SIZE * math.ceil(padded / CHUNK_SIZE)


def storage_id(token: str) -> str | None:
    """The stored id of an upload token, or None if the token is not well-formed."""
    try:
        raw = b64u_decode(token)
    except MalformedEnvelope:
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    return hashlib.sha256(raw).hexdigest()


def expiry(now: datetime, ttl_seconds: int) -> datetime:
    """``ttl_seconds`` ahead, rounded up to the hour: no row tells when an upload began."""
    moment = now + timedelta(seconds=ttl_seconds)
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + _HOUR


def create(
    session: Session,
    store: BlobStore,
    unit: Unit,
    size: int,
    *,
    max_size: int,
    ttl_seconds: int,
    now: datetime,
    scratch_limit: int | None = None,
) -> NewUpload:
    """Reserve ``size`` bytes of scratch space for a new upload.

    With ``scratch_limit``, the sizes of every upload still alive (not expired, not yet
    claimed) may not add up to more: a flood of reservations is refused (ScratchFull)
    before the disk fills. A reservation lasts its upload's lifetime.
    """
    if not 0 < size <= max_size:
        raise SizeRefused(size, max_size)
    if scratch_limit is not None and reserved(session, now) + size > scratch_limit:
        raise ScratchFull(f"{size} more bytes would pass the limit of {scratch_limit}")
    raw = secrets.token_bytes(TOKEN_BYTES)
    upload = Upload(
        id=hashlib.sha256(raw).hexdigest(),
        unit_id=unit.id,
        declared_size=size,
        offset=0,
        expires_at=expiry(now, ttl_seconds),
        completed=False,
    )
    session.add(upload)
    session.flush()
    # A scratch file without a row (the commit failed) is an orphan that garbage
    # collection removes once it is older than the TTL.
    store.scratch_create(upload.id)
    return NewUpload(b64u_encode(raw), size, upload.expires_at)


def reserved(session: Session, now: datetime) -> int:
    """Scratch bytes reserved by live uploads. Holds the reservation lock until the
    caller's transaction ends, so two reservations cannot both pass a cap."""
    exclusive(session, "uploads.reserve")
    total = session.scalar(select(func.sum(Upload.declared_size)).where(Upload.expires_at > now))
    return int(total or 0)


def offset(session: Session, store: BlobStore, token: str, now: datetime) -> Progress:
    upload = _live(session, token, now)
    return Progress(_arrived(store, upload), upload.declared_size)


@dataclass(frozen=True)
class Appending:
    """An append that may start: the upload's stored id, where it stands, how far it may go."""

    upload_id: str
    position: int
    declared_size: int


def append(
    session: Session,
    store: BlobStore,
    token: str,
    expected_offset: int,
    pieces: Iterable[bytes],
    now: datetime,
    *,
    length: int | None = None,
) -> int:
    """Append ``pieces`` at ``expected_offset``, each kept as it arrives and all durable
    before this returns or raises, and record the new offset in ``session``. Returns the
    new offset.

    The three steps, for a caller that must not hold a transaction open while the pieces
    arrive (the HTTP route): ``begin_append``, ``write_pieces``, ``record_offset``.
    """
    appending = begin_append(session, store, token, expected_offset, now, length=length)
    try:
        position = write_pieces(store, appending, pieces)
    except (OffsetConflict, BeyondDeclaredSize) as stopped:
        record_offset(session, appending.upload_id, stopped.current)
        raise
    record_offset(session, appending.upload_id, position)
    return position


def begin_append(
    session: Session,
    store: BlobStore,
    token: str,
    expected_offset: int,
    now: datetime,
    *,
    length: int | None = None,
) -> Appending:
    """Check that an append at ``expected_offset`` may start; reads only.

    ``length`` (the request's Content-Length, if known) refuses an oversized body before
    reading it. Raises UploadNotFound, OffsetConflict or BeyondDeclaredSize.
    """
    upload = _live(session, token, now)
    position = _arrived(store, upload)
    if expected_offset != position:
        raise OffsetConflict(position)
    if length is not None and position + length > upload.declared_size:
        raise BeyondDeclaredSize(position)
    return Appending(upload.id, position, upload.declared_size)


def write_pieces(
    store: BlobStore, appending: Appending, pieces: Iterable[bytes | bytearray]
) -> int:
    """Append ``pieces`` to the scratch file, all of them durable when this returns or
    raises (one sync at the end, not one per piece); no database.

    If ``pieces`` raises (the client went away), what was appended stays. Raises
    BeyondDeclaredSize or OffsetConflict (with the offset reached) or UploadNotFound.
    Returns the new offset.
    """
    position = appending.position
    try:
        try:
            for piece in pieces:
                if position + len(piece) > appending.declared_size:
                    raise BeyondDeclaredSize(position)
                position = store.scratch_append(appending.upload_id, piece, position, sync=False)
        finally:
            # Whatever ends the request, what it appended (or, on a conflict, what another
            # request appended, whose offset the answer tells) is durable before it answers.
            store.scratch_sync(appending.upload_id)
    except OffsetMismatch as exc:  # another request appended in the meantime
        raise OffsetConflict(exc.current) from None
    except ScratchNotFound:  # collected or claimed in the meantime
        raise UploadNotFound("no such upload") from None
    return position


def record_offset(session: Session, upload_id: str, position: int) -> None:
    """Bring the row's ``offset`` and ``completed`` in step with the scratch file.

    One UPDATE, no read: an upload claimed or collected meanwhile is simply not there.
    """
    session.execute(
        update(Upload)
        .where(Upload.id == upload_id)
        .values(offset=position, completed=Upload.declared_size == position)
    )


def delete(session: Session, store: BlobStore, token: str, now: datetime) -> None:
    upload = _live(session, token, now)
    session.delete(upload)
    session.flush()
    store.scratch_discard(upload.id)


def claim(
    session: Session,
    store: BlobStore,
    unit: Unit,
    upload_ids: Sequence[str],
    *,
    now: datetime | None = None,
) -> list[Claimed]:
    """Turn complete uploads of ``unit`` into blobs and delete their rows.

    All or nothing: if any upload is unknown, expired, of another unit or incomplete,
    nothing is committed. If the caller's transaction fails afterwards, it rolls back and
    calls ``unclaim``: the uploads are then as they were, and the same submission can be
    sent again.
    """
    if len(set(upload_ids)) != len(upload_ids):
        raise UploadNotFound("an upload is claimed twice")
    moment = utc_now() if now is None else now
    uploads = [_live(session, token, moment, unit) for token in upload_ids]
    for upload in uploads:
        if _arrived(store, upload) != upload.declared_size:
            raise UploadIncomplete("an upload has not received all its bytes")
    claimed: list[Claimed] = []
    try:
        for token, upload in zip(upload_ids, uploads, strict=True):
            blob_id = store.new_blob_id()
            try:
                store.scratch_commit(upload.id, blob_id)
            except ScratchNotFound:  # claimed or collected by another request just now
                raise UploadNotFound("no such upload") from None
            claimed.append(Claimed(token, blob_id, upload.declared_size))
            session.delete(upload)
        session.flush()
    except BaseException:
        unclaim(store, claimed)
        raise
    return claimed


def unclaim(store: BlobStore, claimed: Iterable[Claimed]) -> None:
    """Give blobs made by ``claim`` back to their uploads, after the claiming transaction
    was rolled back (which restored the uploads' rows)."""
    for item in claimed:
        upload_id = storage_id(item.upload_id)
        if upload_id is not None:  # claim took only well-formed tokens
            store.scratch_restore(item.blob_id, upload_id)


def collect_garbage(
    session: Session, store: BlobStore, now: datetime, *, ttl_seconds: int = 24 * 3600
) -> int:
    """Remove expired uploads (rows and scratch files) and orphaned scratch files.

    An orphan is a scratch file without a row (a commit that failed after the file was
    made, a claim that rolled back); only orphans untouched for ``ttl_seconds`` go, so a
    file whose row is still being committed is left alone. Returns how many went.
    """
    expired = session.scalars(select(Upload).where(Upload.expires_at <= now)).all()
    for upload in expired:
        session.delete(upload)
    session.flush()
    for upload in expired:
        store.scratch_discard(upload.id)
    removed = len(expired)
    stale = store.scratch_list_older_than(now - timedelta(seconds=ttl_seconds))
    if stale:
        known = set(session.scalars(select(Upload.id).where(Upload.id.in_(stale))))
        removed += sum(store.scratch_discard(name) for name in stale if name not in known)
    return removed


@dataclass(frozen=True)
class Collected:
    uploads: int  # expired uploads and orphaned scratch files
    blobs: int  # blobs no attachment refers to (store.consistency)
    unfinished_writes: int  # blob writes a killed process left behind


def collect(session: Session, store: BlobStore, now: datetime, *, ttl_seconds: int) -> Collected:
    """Everything abandoned: ``collect_garbage``, then orphaned blobs and unfinished blob
    writes older than the upload lifetime (``ttl_seconds``). The caller commits."""
    grace = timedelta(seconds=ttl_seconds)
    removed_uploads = collect_garbage(session, store, now, ttl_seconds=ttl_seconds)
    orphans = orphan_blobs(session, store, now, grace)
    return Collected(
        uploads=removed_uploads,
        blobs=sum(store.delete(blob_id) for blob_id in orphans),
        unfinished_writes=store.remove_stale_temp_files(now - grace),
    )


def _live(session: Session, token: str, now: datetime, unit: Unit | None = None) -> Upload:
    key = storage_id(token)
    upload = None if key is None else session.get(Upload, key)
    if upload is None or upload.expires_at <= now:
        raise UploadNotFound("no such upload")
    if unit is not None and upload.unit_id != unit.id:
        raise UploadNotFound("no such upload")
    return upload


def _arrived(store: BlobStore, upload: Upload) -> int:
    try:
        return store.scratch_size(upload.id)
    except ScratchNotFound:
        raise UploadNotFound("no such upload") from None
