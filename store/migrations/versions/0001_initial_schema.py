"""Initial schema: units, inspectors, cases and everything attached to them.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Constraint names not spelled out with op.f() (those of the enumeration CHECKs) come from
the naming convention of store.models.Base, which Alembic applies to every
operation through env.py's target_metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("reception_schedule", sa.Text(), nullable=False),
        sa.Column("escrow_public_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "escrow_public_key IS NULL OR length(escrow_public_key) = 32",
            name=op.f("ck_units_escrow_key_size"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("slug", name=op.f("uq_units_slug")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "track",
            sa.Enum(
                "anonymous",
                "named",
                name="track",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status_changed_on", sa.Date(), nullable=False),
        sa.Column("triage_due", sa.Date(), nullable=True),
        sa.Column("resolution_due", sa.Date(), nullable=True),
        sa.Column("target_due", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("purged_on", sa.Date(), nullable=True),
        sa.Column("lookup_index", sa.LargeBinary(length=5), nullable=False),
        sa.Column("lookup_hash", sa.LargeBinary(), nullable=False),
        sa.Column("reporter_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("identity", sa.LargeBinary(), nullable=True),
        sa.Column("submitted_with_js", sa.Boolean(), nullable=False),
        sa.Column("protection_requested", sa.Boolean(), nullable=False),
        sa.Column("retaliation_reported", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("last_reporter_activity_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "identity IS NULL OR track = 'named'", name=op.f("ck_cases_identity_only_named")
        ),
        sa.CheckConstraint("status <> ''", name=op.f("ck_cases_status_not_empty")),
        sa.CheckConstraint(
            "body IS NOT NULL OR purged_on IS NOT NULL", name=op.f("ck_cases_body_until_purged")
        ),
        sa.CheckConstraint("length(public_id) = 36", name=op.f("ck_cases_public_id_length")),
        sa.CheckConstraint(
            "lookup_index IS NULL OR length(lookup_index) = 5",
            name=op.f("ck_cases_lookup_index_size"),
        ),
        sa.CheckConstraint(
            "reporter_public_key IS NULL OR length(reporter_public_key) = 32",
            name=op.f("ck_cases_reporter_key_size"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("public_id", name=op.f("uq_cases_public_id")),
    )
    op.create_index(op.f("ix_cases_lookup_index"), "cases", ["lookup_index"], unique=False)
    op.create_index(
        "ix_cases_unit_category_id", "cases", ["unit_id", "category", "id"], unique=False
    )
    op.create_index("ix_cases_unit_keyset", "cases", ["unit_id", "id"], unique=False)
    op.create_index("ix_cases_unit_received_on", "cases", ["unit_id", "received_on"], unique=False)
    op.create_index(
        "ix_cases_unit_resolution_due", "cases", ["unit_id", "resolution_due"], unique=False
    )
    op.create_index("ix_cases_unit_status_id", "cases", ["unit_id", "status", "id"], unique=False)
    op.create_index("ix_cases_unit_target_due", "cases", ["unit_id", "target_due"], unique=False)
    op.create_index("ix_cases_unit_triage_due", "cases", ["unit_id", "triage_due"], unique=False)

    op.create_table(
        "inspectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "inspector",
                "custodian",
                "supervisor",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed_key_passphrase", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_key_recovery", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_key_escrow", sa.LargeBinary(), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=False),
        sa.Column("totp_last_counter", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passphrase_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "failed_logins >= 0", name=op.f("ck_inspectors_failed_logins_non_negative")
        ),
        sa.CheckConstraint(
            "public_key IS NULL OR length(public_key) = 32",
            name=op.f("ck_inspectors_public_key_size"),
        ),
        sa.CheckConstraint(
            "username = lower(username)", name=op.f("ck_inspectors_username_lower_case")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_inspectors_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspectors")),
        sa.UniqueConstraint("public_key", name=op.f("uq_inspectors_public_key")),
        sa.UniqueConstraint("username", name=op.f("uq_inspectors_username")),
    )
    op.create_index(op.f("ix_inspectors_unit_id"), "inspectors", ["unit_id"], unique=False)

    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("declared_size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("blob_id", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            '"offset" >= 0 AND "offset" <= declared_size', name=op.f("ck_uploads_offset_in_range")
        ),
        sa.CheckConstraint(
            "declared_size >= 0", name=op.f("ck_uploads_declared_size_non_negative")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_uploads_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_uploads_blob_id")),
    )
    op.create_index(op.f("ix_uploads_expires_at"), "uploads", ["expires_at"], unique=False)
    op.create_index(op.f("ix_uploads_unit_id"), "uploads", ["unit_id"], unique=False)

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("case_public_id", sa.String(length=36), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("entry_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint(
            "entry_hash IS NULL OR length(entry_hash) = 32",
            name=op.f("ck_audit_entries_entry_hash_size"),
        ),
        sa.CheckConstraint(
            "prev_hash IS NULL OR length(prev_hash) = 32",
            name=op.f("ck_audit_entries_prev_hash_size"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["inspectors.id"], name=op.f("fk_audit_entries_actor_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_entries_entry_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_entries_prev_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_entries_actor_id"), "audit_entries", ["actor_id"], unique=False)
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"], unique=False)
    op.create_index(
        op.f("ix_audit_entries_case_public_id"), "audit_entries", ["case_public_id"], unique=False
    )

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column(
            "actor_kind",
            sa.Enum(
                "inspector",
                "reporter",
                "system",
                name="actor_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grounds", sa.LargeBinary(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "(actor_kind = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (actor_kind <> 'inspector' AND inspector_id IS NULL)",
            name=op.f("ck_case_events_inspector_iff_actor"),
        ),
        sa.CheckConstraint("kind <> ''", name=op.f("ck_case_events_kind_not_empty")),
        sa.CheckConstraint(
            "occurred_at IS NULL OR actor_kind = 'inspector'",
            name=op.f("ck_case_events_time_only_for_inspectors"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["inspectors.id"], name=op.f("fk_case_events_inspector_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_case_events_inspector_id"), "case_events", ["inspector_id"], unique=False
    )

    op.create_table(
        "case_exclusions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_exclusions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_case_exclusions_inspector_id_inspectors"),
        ),
        sa.PrimaryKeyConstraint("case_id", "inspector_id", name=op.f("pk_case_exclusions")),
    )
    op.create_index(
        op.f("ix_case_exclusions_inspector_id"), "case_exclusions", ["inspector_id"], unique=False
    )

    op.create_table(
        "case_reads",
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reads_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["inspectors.id"],
            name=op.f("fk_case_reads_inspector_id_inspectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inspector_id", "case_id", name=op.f("pk_case_reads")),
    )
    op.create_index(op.f("ix_case_reads_case_id"), "case_reads", ["case_id"], unique=False)

    op.create_table(
        "key_wraps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "case_key",
                "identity_key",
                name="purpose",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
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
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(recipient_kind = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (recipient_kind <> 'inspector' AND inspector_id IS NULL)",
            name=op.f("ck_key_wraps_inspector_iff_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_key_wraps_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["inspectors.id"], name=op.f("fk_key_wraps_inspector_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_wraps")),
        sa.UniqueConstraint(
            "case_id",
            "purpose",
            "recipient_kind",
            "inspector_id",
            name=op.f("uq_key_wraps_case_id_purpose_recipient_kind_inspector_id"),
        ),
    )
    op.create_index(op.f("ix_key_wraps_inspector_id"), "key_wraps", ["inspector_id"], unique=False)
    op.create_index(
        "ux_key_wraps_shared_recipient",
        "key_wraps",
        ["case_id", "purpose", "recipient_kind"],
        unique=True,
        sqlite_where=sa.text("inspector_id IS NULL"),
        postgresql_where=sa.text("inspector_id IS NULL"),
    )

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "author",
            sa.Enum(
                "reporter",
                "inspector",
                name="author",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "(author = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (author = 'reporter' AND inspector_id IS NULL)",
            name=op.f("ck_messages_inspector_iff_author"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["inspectors.id"], name=op.f("fk_messages_inspector_id_inspectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("case_id", "id", name=op.f("uq_messages_case_id_id")),
    )
    op.create_index(op.f("ix_messages_inspector_id"), "messages", ["inspector_id"], unique=False)

    op.create_table(
        "protection_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "person",
            sa.Enum(
                "reporter",
                "spouse",
                "parent",
                "child",
                name="person",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "information",
                "job",
                "life_health",
                "property",
                "honour",
                name="category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "under_review",
                "rejected",
                "active",
                "modified",
                "ended",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column(
            "requested_by",
            sa.Enum(
                "reporter",
                "inspector",
                name="requested_by",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("written_confirmation_due", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_protection_records_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_records")),
        sa.UniqueConstraint("case_id", "id", name=op.f("uq_protection_records_case_id_id")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.String(length=128), nullable=False),
        sa.Column("meta", sa.LargeBinary(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "reporter",
                "inspector",
                name="origin",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "stored_size >= 0", name=op.f("ck_attachments_stored_size_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["case_id", "message_id"],
            ["messages.case_id", "messages.id"],
            name=op.f("fk_attachments_case_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_attachments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_attachments_blob_id")),
    )
    op.create_index(op.f("ix_attachments_case_id"), "attachments", ["case_id"], unique=False)
    op.create_index(op.f("ix_attachments_message_id"), "attachments", ["message_id"], unique=False)

    op.create_table(
        "retaliation_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dismissal",
                "suspension",
                "demotion",
                "transfer",
                "pay_cut",
                "negative_appraisal",
                "disciplinary_action",
                "intimidation",
                "harassment",
                "discrimination",
                "blacklisting",
                "property_damage",
                "reputation_damage",
                "threat_to_life_or_health",
                "other",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
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
        sa.Column("protection_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id", "protection_id"],
            ["protection_records.case_id", "protection_records.id"],
            name=op.f("fk_retaliation_incidents_case_id_protection_records"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_retaliation_incidents_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retaliation_incidents")),
    )
    op.create_index(
        op.f("ix_retaliation_incidents_case_id"), "retaliation_incidents", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_retaliation_incidents_protection_id"),
        "retaliation_incidents",
        ["protection_id"],
        unique=False,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it.
    op.drop_table("retaliation_incidents")
    op.drop_table("attachments")
    op.drop_table("protection_records")
    op.drop_table("messages")
    op.drop_table("key_wraps")
    op.drop_table("case_reads")
    op.drop_table("case_exclusions")
    op.drop_table("case_events")
    op.drop_table("audit_entries")
    op.drop_table("uploads")
    op.drop_table("inspectors")
    op.drop_table("cases")
    op.drop_table("units")
