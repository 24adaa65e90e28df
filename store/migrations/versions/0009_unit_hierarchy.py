"""Units name their directly superior unit; escalation steps sealed to chosen people.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

``units.superior_id`` is nullable: a unit without one has its own head answer the
reporter's escalation. The check refuses a unit that is its own superior; longer cycles are
refused by ``casework.hierarchy`` before anything is written.

``event_wraps`` holds, for an escalation step between two units (LTC Art. 37-38), the key
of the step's sealed record wrapped to each person who may read it (casework.escalation).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superior_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_units_superior_id"), ["superior_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_units_superior_id_units"),
            "units",
            ["superior_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_units_not_its_own_superior"), "superior_id IS NULL OR superior_id <> id"
        )

    op.create_table(
        "event_wraps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column(
            "recipient_kind",
            sa.Enum(
                "inspector",
                "reporter",
                "escrow",
                name="recipient_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "(recipient_kind = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (recipient_kind <> 'inspector' AND inspector_id IS NULL)",
            name=op.f("ck_event_wraps_inspector_iff_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["case_events.id"],
            name=op.f("fk_event_wraps_event_id_case_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["inspectors.id"], name=op.f("fk_event_wraps_inspector_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_wraps")),
        sa.UniqueConstraint(
            "event_id",
            "recipient_kind",
            "inspector_id",
            name=op.f("uq_event_wraps_event_id_recipient_kind_inspector_id"),
        ),
    )
    op.create_index(op.f("ix_event_wraps_event_id"), "event_wraps", ["event_id"], unique=False)
    op.create_index(
        op.f("ix_event_wraps_inspector_id"), "event_wraps", ["inspector_id"], unique=False
    )
    op.create_index(
        "ux_event_wraps_shared_recipient",
        "event_wraps",
        ["event_id", "recipient_kind"],
        unique=True,
        sqlite_where=sa.text("inspector_id IS NULL"),
        postgresql_where=sa.text("inspector_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("event_wraps")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_units_not_its_own_superior"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_units_superior_id_units"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_units_superior_id"))
        batch_op.drop_column("superior_id")
