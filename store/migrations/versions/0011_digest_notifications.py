"""The daily digest by e-mail: each account's address, its choice, and the last sending.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``minhbach notify digest`` (casework.notify) sends staff who chose it one e-mail a day
with their unit's counts. The address is staff contact data, stored in clear like the
display name (docs/threat-model.md); the submit role's column grant on ``inspectors``
leaves all three columns out (deploy/postgres/grants.toml).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column("notify_digest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("digest_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspectors", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("notify_digest")
        batch_op.drop_column("notify_email")
