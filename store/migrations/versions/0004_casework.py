"""Casework: computed deadlines, transfers between units, retaliation notes, retention.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

- ``cases.triage_due``, ``resolution_due`` and ``target_due`` give way to ``deadlines``
  (every running clock, computed by casework.workflow from the unit's policy
  profile and the case's events) and ``next_due`` (the earliest of them, indexed, so the
  inbox sorts and the dashboard counts overdue cases without scanning);
  ``ix_cases_unit_track_status`` lets the dashboard count by track and status in one walk.
  No release wrote the old columns; ``minhbach deadlines refresh`` recomputes every case
  after an upgrade.
- ``case_transfers``: the sending unit's record of a case forwarded to another unit.
- ``retaliation_notes``: what a reporter or inspector adds to an incident later.
- ``units.retention_days``: how long a closed case is kept before its contents are purged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "case_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_unit_id", sa.Integer(), nullable=False),
        sa.Column("to_unit_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("forwarded_on", sa.Date(), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender_keeps_access", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "from_unit_id <> to_unit_id", name=op.f("ck_case_transfers_different_units")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_transfers_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_unit_id"], ["units.id"], name=op.f("fk_case_transfers_from_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_case_transfers_inspector_id_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["to_unit_id"], ["units.id"], name=op.f("fk_case_transfers_to_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
    )
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_transfers_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_transfers_from_unit_id"), ["from_unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_transfers_to_unit_id"), ["to_unit_id"], unique=False
        )

    op.create_table(
        "retaliation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "reporter",
                "inspector",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["retaliation_incidents.id"],
            name=op.f("fk_retaliation_notes_incident_id_retaliation_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retaliation_notes")),
    )
    with op.batch_alter_table("retaliation_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retaliation_notes_incident_id"), ["incident_id"], unique=False
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_due", sa.Date(), nullable=True))
        # The default fills existing rows only and goes again below: PostgreSQL has no
        # equality for json, so a lasting JSON default would defeat the drift check.
        batch_op.add_column(
            sa.Column("deadlines", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch_op.drop_index(batch_op.f("ix_cases_unit_resolution_due"))
        batch_op.drop_index(batch_op.f("ix_cases_unit_target_due"))
        batch_op.drop_index(batch_op.f("ix_cases_unit_triage_due"))
        batch_op.create_index("ix_cases_unit_closed_on", ["unit_id", "closed_on"], unique=False)
        batch_op.create_index("ix_cases_unit_next_due", ["unit_id", "next_due"], unique=False)
        batch_op.create_index(
            "ix_cases_unit_track_status", ["unit_id", "track", "status"], unique=False
        )
        batch_op.drop_column("resolution_due")
        batch_op.drop_column("target_due")
        batch_op.drop_column("triage_due")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("deadlines", server_default=None)

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_units_retention_positive"), "retention_days IS NULL OR retention_days > 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_units_retention_positive"), type_="check")
        batch_op.drop_column("retention_days")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage_due", sa.DATE(), nullable=True))
        batch_op.add_column(sa.Column("target_due", sa.DATE(), nullable=True))
        batch_op.add_column(sa.Column("resolution_due", sa.DATE(), nullable=True))
        batch_op.drop_index("ix_cases_unit_track_status")
        batch_op.drop_index("ix_cases_unit_next_due")
        batch_op.drop_index("ix_cases_unit_closed_on")
        batch_op.create_index(
            batch_op.f("ix_cases_unit_triage_due"), ["unit_id", "triage_due"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_unit_target_due"), ["unit_id", "target_due"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_unit_resolution_due"), ["unit_id", "resolution_due"], unique=False
        )
        batch_op.drop_column("deadlines")
        batch_op.drop_column("next_due")

    with op.batch_alter_table("retaliation_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retaliation_notes_incident_id"))

    op.drop_table("retaliation_notes")
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_transfers_to_unit_id"))
        batch_op.drop_index(batch_op.f("ix_case_transfers_from_unit_id"))
        batch_op.drop_index(batch_op.f("ix_case_transfers_case_id"))

    op.drop_table("case_transfers")
