"""The configured blob store: the one place that reads ``MINHBACH_BLOB_STORE``.

Both apps, the command line and the benchmarks call ``blob_store(settings)`` wherever they
need the store (per request, per command). The filesystem store is cheap to make each
time; the database store's engine is made once per process and database
(``store.blobs.postgres.shared_store``).
"""

from __future__ import annotations

from casework.settings import BLOB_STORE_DATABASE, Settings
from store.blobs import BlobStore, FilesystemBlobStore
from store.blobs.postgres import shared_store


def blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == BLOB_STORE_DATABASE:
        return shared_store(settings.database_url)
    return FilesystemBlobStore(settings.blob_path)
