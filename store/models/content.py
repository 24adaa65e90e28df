"""What the two sides exchange: messages, attachments, and uploads still in progress.

Message bodies and attachment metadata are ciphertext; attachment contents live in the
blob store. Dates only, never times (see ``store.models.cases``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.enums import Party
from store.models.organisation import Inspector
from store.types import UTCDateTime, str_enum

if TYPE_CHECKING:
    from store.models.cases import Case

# Blob and upload ids are lower-case hex from the blob store; this leaves room to grow.
BLOB_ID_LENGTH = 128


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(
            "(author = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (author = 'reporter' AND inspector_id IS NULL)",
            name="inspector_iff_author",
        ),
        # Target of the attachments' (case_id, message_id) foreign key.
        UniqueConstraint("case_id", "id"),
        # Protocol 2: one transcript entry per number (docs/crypto.md §13.5).
        UniqueConstraint("case_id", "seq"),
        CheckConstraint("seq IS NULL OR seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the order of a conversation
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author: Mapped[Party] = mapped_column(str_enum(Party, "author"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext
    created_on: Mapped[date] = mapped_column(Date)
    # Protocol 2: the entry's number in the transcript (the report is 0), and its purpose
    # (message, notice, withdrawal, ...), both also in the signed place. NULL: protocol 1.
    seq: Mapped[int | None]
    purpose: Mapped[str] = mapped_column(String(32), default="message", server_default="message")

    case: Mapped[Case] = relationship(back_populates="messages")
    inspector: Mapped[Inspector | None] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (
        # A composite key keeps an attachment's message within the same case. While
        # message_id is NULL the constraint is not checked (MATCH SIMPLE, both backends).
        ForeignKeyConstraint(
            ["case_id", "message_id"],
            ["messages.case_id", "messages.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("stored_size >= 0", name="stored_size_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    blob_id: Mapped[str] = mapped_column(String(BLOB_ID_LENGTH), unique=True)
    meta: Mapped[bytes] = mapped_column(LargeBinary)  # ciphertext: name, type, size
    # Size of the ciphertext as stored, already padded into a size bucket by the sender.
    stored_size: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[Party] = mapped_column(str_enum(Party, "origin"))
    message_id: Mapped[int | None] = mapped_column(index=True)
    created_on: Mapped[date] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="attachments")


class Upload(Base):
    """A resumable upload of encrypted file chunks (a tus-like subset) not yet attached.

    There is no creation time: ``expires_at`` is all garbage collection needs, and the
    submit app should round it to a coarse step so it does not reveal when a reporter
    started uploading. The row is deleted once its file becomes an attachment.
    """

    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint("declared_size >= 0", name="declared_size_non_negative"),
        CheckConstraint('"offset" >= 0 AND "offset" <= declared_size', name="offset_in_range"),
    )

    # The random token in the upload URL: whoever knows it may append, so it is a secret
    # of the reporter's browser and never logged.
    id: Mapped[str] = mapped_column(String(BLOB_ID_LENGTH), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    declared_size: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed: Mapped[bool] = mapped_column(default=False)
    blob_id: Mapped[str | None] = mapped_column(String(BLOB_ID_LENGTH), unique=True)
