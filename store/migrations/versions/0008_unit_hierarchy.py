"""Units name their directly superior unit (LTC Art. 37-38: escalation, re-denunciation).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``units.superior_id`` is nullable: a unit without one has its own head answer the
reporter's escalation. The check refuses a unit that is its own superior; longer cycles are
refused by ``casework.hierarchy`` before anything is written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
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


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_units_not_its_own_superior"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_units_superior_id_units"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_units_superior_id"))
        batch_op.drop_column("superior_id")
