"""Published conclusions: the public summary of a concluded case (LTC Art. 40).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``published_conclusions`` holds the text a unit posts about a conclusion, in the clear
because it is public, with the days it was concluded, posted, may come down and came
down. ``case_id`` links it to its case for staff only: the submit role is granted the
public columns alone (deploy/postgres/grants.toml).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "published_conclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("concluded_on", sa.Date(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("posted_where", sa.String(length=500), nullable=False),
        sa.Column("earliest_removal_on", sa.Date(), nullable=False),
        sa.Column("posted_by_id", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "earliest_removal_on > posted_on",
            name=op.f("ck_published_conclusions_removal_after_posting"),
        ),
        sa.CheckConstraint(
            "posted_on >= concluded_on",
            name=op.f("ck_published_conclusions_posted_after_conclusion"),
        ),
        sa.CheckConstraint(
            "removed_on IS NULL OR removed_on >= earliest_removal_on",
            name=op.f("ck_published_conclusions_removed_when_allowed"),
        ),
        sa.CheckConstraint(
            "title <> '' AND summary <> ''", name=op.f("ck_published_conclusions_text_not_empty")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_published_conclusions_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["posted_by_id"],
            ["inspectors.id"],
            name=op.f("fk_published_conclusions_posted_by_id_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"],
            ["inspectors.id"],
            name=op.f("fk_published_conclusions_removed_by_id_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_published_conclusions_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_conclusions")),
    )
    with op.batch_alter_table("published_conclusions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_published_conclusions_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            "ix_published_conclusions_unit_posted", ["unit_id", "posted_on", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("published_conclusions", schema=None) as batch_op:
        batch_op.drop_index("ix_published_conclusions_unit_posted")
        batch_op.drop_index(batch_op.f("ix_published_conclusions_case_id"))

    op.drop_table("published_conclusions")
