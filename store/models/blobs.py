"""The database blob store's tables (``store.blobs.postgres``): encrypted attachment
streams kept in PostgreSQL rows, for hosts that share nothing but the database.

One ``blob_objects`` row per stream, in one of three states told apart by its names: a
finished blob (``blob_id``), the scratch file of a resumable upload (``upload_id``), or a
write still in progress or left by a killed process (neither). Its bytes are
``blob_chunks`` rows of at most 8,000 bytes, each keyed by the offset where it starts.
Turning an upload into a blob renames the row; no byte is copied. The contents are
ciphertext; the only time kept is the day (UTC) of the last write, as the filesystem
store keeps it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.models.content import BLOB_ID_LENGTH

CHUNK_ROW_SIZE = 8000  # bytes of data in a blob_chunks row, at most


class BlobObject(Base):
    __tablename__ = "blob_objects"
    __table_args__ = (
        CheckConstraint("blob_id IS NULL OR upload_id IS NULL", name="one_name"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_id: Mapped[str | None] = mapped_column(String(BLOB_ID_LENGTH), unique=True)
    upload_id: Mapped[str | None] = mapped_column(String(BLOB_ID_LENGTH), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    written_on: Mapped[date] = mapped_column(Date, index=True)


class BlobChunk(Base):
    __tablename__ = "blob_chunks"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        # Small enough to be kept in the table's own 8 KiB pages (store.blobs.postgres).
        CheckConstraint(f"length(data) BETWEEN 1 AND {CHUNK_ROW_SIZE}", name="data_size"),
    )

    # blob_objects.id, without a foreign key: its check, a query per row, cost 15-20% of
    # the database's work per byte. The store deletes a stream's chunks in the transaction
    # that deletes the stream, and locks the stream while it adds chunks to it.
    object_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
