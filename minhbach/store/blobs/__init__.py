"""Storage for encrypted attachments: ``from minhbach.store.blobs import FilesystemBlobStore``."""

from minhbach.store.blobs.filesystem import FilesystemBlobStore
from minhbach.store.blobs.interface import (
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
