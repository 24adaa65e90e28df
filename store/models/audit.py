"""The audit log table: who opened, changed or exported what, hash-chained.

Chaining and verification belong to the audit module; this is only the storage. Entries
never point at a case through a foreign key (only by its public id), so purging a case
cannot cascade into the log, and the inspector foreign key has no ON DELETE action, so an
inspector with entries cannot be deleted (accounts are deactivated instead).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, byte_length
from store.types import UTCDateTime, utc_now

HASH_SIZE = 32


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        CheckConstraint(byte_length("prev_hash", HASH_SIZE), name="prev_hash_size"),
        CheckConstraint(byte_length("entry_hash", HASH_SIZE), name="entry_hash_size"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        # SQLite AUTOINCREMENT: ids are never reused, even after the newest row is gone.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # The position in the chain (1, 2, 3, ...), part of the hashed content: a gap or a
    # repeat shows that entries were deleted or inserted (casework.audit).
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), index=True)
    # A snapshot of the user name (or "system", "cli"), readable even if the account changes.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    case_public_id: Mapped[str | None] = mapped_column(String(36), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # never secrets
    # Unique: two writers that read the same chain tail cannot both append after it; the
    # loser gets an integrity error and retries, so the chain never forks.
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE), unique=True)
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE), unique=True)
