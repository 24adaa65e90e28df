"""Storage for encrypted attachments: ``from store.blobs import FilesystemBlobStore``."""

from store.blobs.filesystem import FilesystemBlobStore
from store.blobs.interface import (
    BlobError,
    BlobExists,
    BlobNotFound,
    BlobStore,
    BlobWriter,
    InvalidBlobId,
    OffsetMismatch,
    ScratchExists,
    ScratchNotFound,
    check_id,
    new_id,
)

__all__ = [
    "BlobError",
    "BlobExists",
    "BlobNotFound",
    "BlobStore",
    "BlobWriter",
    "FilesystemBlobStore",
    "InvalidBlobId",
    "OffsetMismatch",
    "ScratchExists",
    "ScratchNotFound",
    "check_id",
    "new_id",
]
