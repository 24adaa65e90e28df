"""The database blob store: encrypted attachment streams in rows (store.blobs.postgres).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``blob_objects`` holds one row per stream (a finished blob, an upload's scratch file, or a
write in progress) with its size and the day of its last write; ``blob_chunks`` holds its
bytes, at most 8,000 a row, keyed by the offset where each starts. The tables exist on
SQLite too, since both databases share the revisions, but stay empty unless
``MINHBACH_BLOB_STORE=database`` is set, which only PostgreSQL supports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "blob_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.String(length=128), nullable=True),
        sa.Column("upload_id", sa.String(length=128), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "blob_id IS NULL OR upload_id IS NULL", name=op.f("ck_blob_objects_one_name")
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_blob_objects_size_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_objects")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_blob_objects_blob_id")),
        sa.UniqueConstraint("upload_id", name=op.f("uq_blob_objects_upload_id")),
    )
    with op.batch_alter_table("blob_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blob_objects_written_on"), ["written_on"], unique=False
        )

    op.create_table(
        "blob_chunks",
        sa.Column("object_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "length(data) BETWEEN 1 AND 8000", name=op.f("ck_blob_chunks_data_size")
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_blob_chunks_position_not_negative")),
        sa.PrimaryKeyConstraint("object_id", "position", name=op.f("pk_blob_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A row of 8,000 bytes fits a page: kept there, never compressed (ciphertext does
        # not compress) nor cut into TOAST rows of 2 KB (store.blobs.postgres).
        op.execute("ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE PLAIN")


def downgrade() -> None:
    op.drop_table("blob_chunks")
    with op.batch_alter_table("blob_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_objects_written_on"))

    op.drop_table("blob_objects")
