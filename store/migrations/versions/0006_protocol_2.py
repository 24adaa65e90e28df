"""Protocol 2: signing keys, transcript entries, a unit key wrap (docs/crypto.md §13).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Existing cases stay protocol 1 (the server default) until upgraded; new ones are written
as protocol 2. ``messages.seq`` and ``purpose`` place each message in the case's
transcript; the reporter's withdrawals, escalations, retaliation reports and protection
requests become messages that the domain rows name by ``message_id``. The wrap purpose
``unit_key`` joins the CHECK on ``key_wraps.purpose``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_case_events_message_id"), ["message_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_case_events_message_id_messages"),
            "messages",
            ["message_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reporter_signing_key", sa.LargeBinary(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("protocol", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_check_constraint(
            "reporter_signing_key_size",
            "reporter_signing_key IS NULL OR length(reporter_signing_key) = 32",
        )
        batch_op.create_check_constraint("protocol_known", "protocol IN (1, 2)")

    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_key", sa.LargeBinary(length=32), nullable=True))
        batch_op.create_check_constraint(
            "signing_key_size", "signing_key IS NULL OR length(signing_key) = 32"
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=32), server_default="message", nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_messages_case_id_seq"), ["case_id", "seq"])
        batch_op.create_check_constraint("seq_positive", "seq IS NULL OR seq >= 1")

    with op.batch_alter_table("key_wraps", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_key_wraps_purpose"), type_="check")
        batch_op.create_check_constraint(
            "purpose", "purpose IN ('case_key', 'identity_key', 'unit_key')"
        )

    with op.batch_alter_table("protection_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_protection_records_message_id"), ["message_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_protection_records_message_id_messages"),
            "messages",
            ["message_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("retaliation_incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_retaliation_incidents_message_id"), ["message_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_retaliation_incidents_message_id_messages"),
            "messages",
            ["message_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("retaliation_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_retaliation_notes_message_id"), ["message_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_retaliation_notes_message_id_messages"),
            "messages",
            ["message_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escrow_signing_key", sa.LargeBinary(length=32), nullable=True)
        )
        batch_op.create_check_constraint(
            "escrow_signing_key_size",
            "escrow_signing_key IS NULL OR length(escrow_signing_key) = 32",
        )


def downgrade() -> None:
    op.execute("DELETE FROM key_wraps WHERE purpose = 'unit_key'")
    with op.batch_alter_table("key_wraps", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_key_wraps_purpose"), type_="check")
        batch_op.create_check_constraint("purpose", "purpose IN ('case_key', 'identity_key')")

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_units_escrow_signing_key_size"), type_="check")
        batch_op.drop_column("escrow_signing_key")

    with op.batch_alter_table("retaliation_notes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_retaliation_notes_message_id_messages"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_retaliation_notes_message_id"))
        batch_op.drop_column("message_id")

    with op.batch_alter_table("retaliation_incidents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_retaliation_incidents_message_id_messages"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_retaliation_incidents_message_id"))
        batch_op.drop_column("message_id")

    with op.batch_alter_table("protection_records", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_protection_records_message_id_messages"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_protection_records_message_id"))
        batch_op.drop_column("message_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_messages_seq_positive"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_messages_case_id_seq"), type_="unique")
        batch_op.drop_column("purpose")
        batch_op.drop_column("seq")

    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inspectors_signing_key_size"), type_="check")
        batch_op.drop_column("signing_key")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_protocol_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_reporter_signing_key_size"), type_="check")
        batch_op.drop_column("protocol")
        batch_op.drop_column("reporter_signing_key")

    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_case_events_message_id_messages"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_case_events_message_id"))
        batch_op.drop_column("message_id")
