"""Inbox: an index over each inspector's case-key wraps in case order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

The inbox (casework.inbox) lists the cases an inspector holds a case-key wrap
for, newest or oldest first, in keyset pages by case id. ``ix_key_wraps_inbox`` on
(inspector_id, purpose, recipient_kind, case_id) holds exactly those rows in case order
and covers the access check, so a planner can walk an inspector's wraps in page order
instead of scanning every case of the unit: the better plan whenever the inspector holds
keys to few of them (someone enrolled late, or granted single cases). Every other
condition of the inbox is served by existing indexes: cases by primary key, read markers
by their primary key, newer messages by ``uq_messages_case_id_id``.
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_key_wraps_inbox",
        "key_wraps",
        ["inspector_id", "purpose", "recipient_kind", "case_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_key_wraps_inbox", table_name="key_wraps")
