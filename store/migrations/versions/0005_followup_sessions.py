"""Follow-up sessions recorded on the server, so that leaving ends them everywhere.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A reporter's follow-up session lived in the signed cookie alone: a copy of the cookie taken
before "leave" still opened the case afterwards. ``followup_sessions`` holds one row per
live session (the SHA-256 of the cookie's token, the case, the day it began); leaving
deletes it. No time of day is stored: the cookie carries those, signed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "followup_sessions",
        sa.Column("id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "id IS NULL OR length(id) = 32", name=op.f("ck_followup_sessions_id_size")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_followup_sessions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_sessions")),
    )
    with op.batch_alter_table("followup_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_sessions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_followup_sessions_started_on"), ["started_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("followup_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_sessions_started_on"))
        batch_op.drop_index(batch_op.f("ix_followup_sessions_case_id"))

    op.drop_table("followup_sessions")
