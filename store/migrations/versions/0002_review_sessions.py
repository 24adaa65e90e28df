"""Review app sessions, and the audit chain's sequence numbers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

``review_sessions`` holds signed-in sessions of the review app: the inspector's private key
sealed under a key that only the browser's cookie carries (docs/review-sessions.md).

``audit_entries.seq`` numbers the chain 1, 2, 3, ... and is part of each entry's hashed
content (casework.audit). No release wrote audit entries before this revision;
rows that exist anyway are numbered in id order, so the column can be NOT NULL and
unique, and ``minhbach audit verify`` reports them as the chain's first broken link
rather than silently accepting entries whose hash never covered a number.

On SQLite the batch blocks rebuild the table (the only way to make a column NOT NULL
there): ``table_kwargs`` keeps its AUTOINCREMENT, and ``_keeping_id_counter`` its counter,
which the copy would otherwise reset to the highest id left, so ids are never reused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_AUDIT_TABLE_KWARGS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_review_sessions_expires_after_creation")
        ),
        sa.CheckConstraint(
            "id IS NULL OR length(id) = 32", name=op.f("ck_review_sessions_id_size")
        ),
        sa.CheckConstraint(
            "sealed_key IS NULL OR length(sealed_key) = 60",
            name=op.f("ck_review_sessions_sealed_key_size"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_review_sessions_inspector_id_inspectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sessions")),
    )
    op.create_index(
        op.f("ix_review_sessions_expires_at"), "review_sessions", ["expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_review_sessions_inspector_id"), "review_sessions", ["inspector_id"], unique=False
    )

    with _keeping_id_counter():
        with op.batch_alter_table("audit_entries", table_kwargs=_AUDIT_TABLE_KWARGS) as batch:
            batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        op.execute(
            "UPDATE audit_entries SET seq = "
            "(SELECT count(*) FROM audit_entries AS earlier WHERE earlier.id <= audit_entries.id)"
        )
        with op.batch_alter_table("audit_entries", table_kwargs=_AUDIT_TABLE_KWARGS) as batch:
            batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
            batch.create_unique_constraint(op.f("uq_audit_entries_seq"), ["seq"])
            batch.create_check_constraint(op.f("ck_audit_entries_seq_positive"), "seq >= 1")


def downgrade() -> None:
    with (
        _keeping_id_counter(),
        op.batch_alter_table("audit_entries", table_kwargs=_AUDIT_TABLE_KWARGS) as batch,
    ):
        batch.drop_constraint(op.f("ck_audit_entries_seq_positive"), type_="check")
        batch.drop_constraint(op.f("uq_audit_entries_seq"), type_="unique")
        batch.drop_column("seq")
    # Dropping a table drops its indexes and constraints with it.
    op.drop_table("review_sessions")


@contextmanager
def _keeping_id_counter() -> Iterator[None]:
    """On SQLite, restore the AUTOINCREMENT counter of audit_entries after a rebuild."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or op.get_context().as_sql:
        yield
        return
    read = sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'audit_entries'")
    counter = bind.execute(read).scalar()
    yield
    if counter is None:
        return
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'audit_entries'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('audit_entries', :counter)"),
        {"counter": counter},
    )
