"""The blob store interface: where encrypted attachments live, outside the database.

Blobs are ciphertext produced by ``crypto``; a store never sees plaintext and never
interprets what it holds. A filesystem store is the default; an object store (S3 and the
like) can implement the same protocol.

Resumable uploads write into a *scratch* area first: one file per upload that grows by
appends at a known offset, then becomes a blob in one atomic step.
"""

from __future__ import annotations

import re
import secrets
from contextlib import AbstractContextManager
from datetime import datetime
from typing import BinaryIO, Protocol

# Lower-case hex only: safe as a file name everywhere, immune to path tricks, and
# unambiguous on case-insensitive filesystems.
_ID = re.compile(r"[0-9a-f]{32,128}")
ID_BYTES = 16  # 128 random bits, 32 hex characters


class BlobError(Exception):
    """Base class for blob store failures.

    Messages may name a blob id but never an upload id (a capability held by the
    reporter's browser) and never contents, so they are safe to log.
    """


class InvalidBlobId(BlobError, ValueError):
    """An id that is not 32 to 128 lower-case hex characters: refused before any I/O."""


class BlobNotFound(BlobError, LookupError):
    pass


class BlobExists(BlobError):
    """Blobs are written once; a second write under the same id is a bug upstream."""


class ScratchNotFound(BlobError, LookupError):
    """No scratch file for this upload: never created, committed, discarded or collected."""


class ScratchExists(BlobError):
    pass


class OffsetMismatch(BlobError):
    """An append was sent for another offset than the scratch file's current size.

    A retried request whose first attempt did arrive ends here: nothing is written twice,
    and ``current`` tells the client where to resume.
    """

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"append expected offset {expected}, but the upload is at {current}")
        self.expected = expected
        self.current = current


def check_id(value: object) -> str:
    """Return ``value`` if it is a valid blob or upload id, else raise InvalidBlobId."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidBlobId("an id is 32 to 128 lower-case hexadecimal characters")
    return value


def new_id() -> str:
    """A fresh random id for a blob or an upload."""
    return secrets.token_hex(ID_BYTES)


class BlobWriter(Protocol):
    def write(self, data: bytes) -> int: ...


class BlobStore(Protocol):
    def new_blob_id(self) -> str: ...

    def open_writer(self, blob_id: str) -> AbstractContextManager[BlobWriter]:
        """Write a new blob incrementally.

        The blob appears, complete and durable, only when the ``with`` block exits
        normally; if it raises, nothing appears and nothing is left behind.
        """
        ...

    def open_reader(self, blob_id: str) -> BinaryIO: ...

    def size(self, blob_id: str) -> int: ...

    def exists(self, blob_id: str) -> bool: ...

    def delete(self, blob_id: str) -> bool:
        """Remove a blob; True if it existed. Safe to repeat (retention purges retry)."""
        ...

    def blob_ids(self, *, modified_before: datetime | None = None) -> list[str]:
        """Every blob's id, or only those last written before ``modified_before`` (aware).

        Times are as coarse as the store keeps them (the filesystem store: the day).
        """
        ...

    def remove_stale_temp_files(self, cutoff: datetime) -> int:
        """Remove blob writes that a killed process left unfinished before ``cutoff``;
        returns how many. A writer cleans up after itself on any exception."""
        ...

    def scratch_create(self, upload_id: str) -> None:
        """Start an empty scratch file; ScratchExists if the upload already has one."""
        ...

    def scratch_append(
        self, upload_id: str, data: bytes | bytearray, expected_offset: int, *, sync: bool = True
    ) -> int:
        """Append ``data`` if the scratch file is exactly ``expected_offset`` bytes long.

        Returns the new size once the data is durable; with ``sync=False`` the store may
        return sooner and make it durable by the next ``scratch_sync`` (a request appends
        several pieces, then syncs once before it answers). Raises OffsetMismatch
        otherwise, without writing, so a retried append is harmless.
        """
        ...

    def scratch_sync(self, upload_id: str) -> None:
        """Make every append to the scratch file so far durable."""
        ...

    def scratch_size(self, upload_id: str) -> int:
        """The scratch file's size, durable: a client told it may drop what it holds."""
        ...

    def scratch_commit(self, upload_id: str, blob_id: str) -> None:
        """Turn the scratch file into blob ``blob_id`` atomically; the upload is gone."""
        ...

    def scratch_restore(self, blob_id: str, upload_id: str) -> None:
        """Undo ``scratch_commit``: blob ``blob_id`` becomes the upload's scratch file again
        (the claim that made it was rolled back, so the upload can be claimed once more).
        BlobNotFound if there is no such blob, ScratchExists if the upload has a file."""
        ...

    def scratch_discard(self, upload_id: str) -> bool:
        """Remove a scratch file; True if it existed. Safe to repeat."""
        ...

    def scratch_list_older_than(self, cutoff: datetime) -> list[str]:
        """Upload ids whose scratch file was last written before ``cutoff`` (aware)."""
        ...
