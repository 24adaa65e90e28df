"""The inbox lists cases by the date they were received: an index to walk them in order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``casework.inbox`` orders by (received_on, id) in either direction, for the cases an
inspector holds a key wrap for, of any unit (a case forwarded away is still read by the
unit that sent it). With this index the database walks the cases in that order and stops
after a page, instead of sorting every case the inspector may open; the columns the inbox
filters on follow the key, so that a case that does not match a filter is passed over
without reading its row (``benchmarks/inbox.py`` times the pages and checks the plan).
"""

from __future__ import annotations

from alembic import op

KEY = ["received_on", "id"]
# What the inbox filters on: a case that does not match is passed over without its row.
FILTERED = [
    "status",
    "category",
    "next_due",
    "urgent",
    "protection_requested",
    "retaliation_reported",
]

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_received_keyset", [*KEY, *FILTERED], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_received_keyset")
