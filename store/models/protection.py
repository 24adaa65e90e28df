"""Protection of the reporter and relatives, and the retaliation incident log."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import (
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    LargeBinary,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.enums import (
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionState,
    RetaliationKind,
)
from store.types import str_enum

if TYPE_CHECKING:
    from store.models.cases import Case


class ProtectionRecord(Base):
    """One protected person and one category of protection, through its states.

    Which relative exactly (several children, two parents) and the measures, responsible
    body and reasons are in the encrypted ``details``.
    """

    __tablename__ = "protection_records"
    __table_args__ = (
        # Target of the incidents' (case_id, protection_id) foreign key.
        UniqueConstraint("case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person: Mapped[ProtectedPerson] = mapped_column(str_enum(ProtectedPerson, "person"))
    category: Mapped[ProtectionCategory] = mapped_column(str_enum(ProtectionCategory, "category"))
    state: Mapped[ProtectionState] = mapped_column(str_enum(ProtectionState, "state"))
    urgent: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[Party] = mapped_column(str_enum(Party, "requested_by"))
    requested_on: Mapped[date] = mapped_column(Date)
    # An urgent oral request must be confirmed in writing by this date.
    written_confirmation_due: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    details: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext
    # Protocol 2: the reporter's words are a transcript entry (docs/crypto.md §13.1).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )

    case: Mapped[Case] = relationship(back_populates="protections")


class RetaliationIncident(Base):
    __tablename__ = "retaliation_incidents"
    __table_args__ = (
        # Composite, so an incident can only trigger a protection of its own case.
        ForeignKeyConstraint(
            ["case_id", "protection_id"],
            ["protection_records.case_id", "protection_records.id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RetaliationKind] = mapped_column(str_enum(RetaliationKind, "kind"))
    occurred_on: Mapped[date | None] = mapped_column(Date)  # when known
    reported_on: Mapped[date] = mapped_column(Date)
    source: Mapped[Party] = mapped_column(str_enum(Party, "source"))
    protection_id: Mapped[int | None] = mapped_column(index=True)
    details: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext
    # Protocol 2: the reporter's words are a transcript entry (docs/crypto.md §13.1).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )

    case: Mapped[Case] = relationship(back_populates="retaliation_incidents")
    notes: Mapped[list[RetaliationNote]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="RetaliationNote.id",
    )


class RetaliationNote(Base):
    """Something added to an incident later, by the reporter or by an inspector."""

    __tablename__ = "retaliation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("retaliation_incidents.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[Party] = mapped_column(str_enum(Party, "source"))
    added_on: Mapped[date] = mapped_column(Date)
    details: Mapped[bytes | None] = mapped_column(LargeBinary)  # ciphertext (None once purged)
    # Protocol 2: the reporter's words are a transcript entry (docs/crypto.md §13.1).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )

    incident: Mapped[RetaliationIncident] = relationship(back_populates="notes")
