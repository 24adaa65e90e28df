"""Signed-in sessions of the review app (docs/review-sessions.md), and the server's record
of reporters' follow-up sessions (docs/submission.md §2).

A row holds the inspector's private key only sealed under a key that exists nowhere but
in the browser's cookie, so neither this table alone nor the cookie alone opens a case.
The row's id is the SHA-256 of the random token in the cookie: a copy of the table gives
no usable cookie either. These are inspectors' times, not a reporter's, so they are
stored to the microsecond.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, byte_length
from store.models.organisation import Inspector
from store.types import UTCDateTime, utc_now

SESSION_ID_SIZE = 32  # SHA-256 of the cookie's token
# AES-256-GCM of a 32-byte X25519 private key: 12-byte nonce, 32 bytes, 16-byte tag.
SEALED_SESSION_KEY_SIZE = 12 + 32 + 16


class ReviewSession(Base):
    __tablename__ = "review_sessions"
    __table_args__ = (
        CheckConstraint(byte_length("id", SESSION_ID_SIZE), name="id_size"),
        CheckConstraint(byte_length("sealed_key", SEALED_SESSION_KEY_SIZE), name="sealed_key_size"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[bytes] = mapped_column(LargeBinary(SESSION_ID_SIZE), primary_key=True)
    # Sessions go with their account; accounts are deactivated rather than deleted, but a
    # deleted account must not leave live sessions behind.
    inspector_id: Mapped[int] = mapped_column(
        ForeignKey("inspectors.id", ondelete="CASCADE"), index=True
    )
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary(SEALED_SESSION_KEY_SIZE))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # The absolute end, fixed at login; the idle end is last_seen_at plus the idle timeout.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    inspector: Mapped[Inspector] = relationship()


class FollowupSession(Base):
    """A reporter's follow-up session exists on the server as long as this row does:
    leaving deletes it, so a copy of the cookie taken before is of no use after. The id is
    the SHA-256 of the random token in the cookie. A reporter's times are not kept: the
    cookie carries the session's start and last use (signed), the row only the day it
    began, so that rows of sessions nobody ended are purged after a day."""

    __tablename__ = "followup_sessions"
    __table_args__ = (CheckConstraint(byte_length("id", SESSION_ID_SIZE), name="id_size"),)

    id: Mapped[bytes] = mapped_column(LargeBinary(SESSION_ID_SIZE), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    started_on: Mapped[date] = mapped_column(Date, index=True)
