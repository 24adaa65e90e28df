"""The case timeline: status changes, extensions, suspensions, forwards, notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.enums import ActorKind, RecipientKind
from store.models.organisation import Inspector
from store.types import UTCDateTime, str_enum

if TYPE_CHECKING:
    from store.models.cases import Case


class CaseEvent(Base):
    """One step in a case's history.

    Every event has a date (``occurred_on``); only inspector actions also carry a time
    (``occurred_at``). The database refuses a time on a reporter or system event, because
    those can follow directly from what a reporter did, and a stored exact time could be
    matched against network logs.
    """

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(
            "(actor_kind = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (actor_kind <> 'inspector' AND inspector_id IS NULL)",
            name="inspector_iff_actor",
        ),
        CheckConstraint(
            "occurred_at IS NULL OR actor_kind = 'inspector'", name="time_only_for_inspectors"
        ),
        CheckConstraint("kind <> ''", name="kind_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # status_change, extension, suspension, resumption, forward, escalation, note, ...:
    # open-ended like statuses, defined by casework.
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, "actor_kind"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Ciphertext: grounds written by an inspector may well mention the reporter.
    grounds: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Protocol 2: the reporter's words are a transcript entry (docs/crypto.md §13.1).
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    # Non-secret structured values only, e.g. {"days": 30} for an extension.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")
    inspector: Mapped[Inspector | None] = relationship()
    # Only for a record sealed to chosen people rather than under a case's keys: the
    # escalation steps between two units (casework.escalation).
    wraps: Mapped[list[EventWrap]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventWrap.id"
    )


class EventWrap(Base):
    """The key of one event's sealed record, HPKE-wrapped to one recipient.

    An escalation step is read by people who hold none of the case's keys: the head of the
    superior unit, and for the answer the reporter. Its record (``case_events.grounds``)
    is sealed under a key of its own, wrapped here to exactly the people that step needs
    (docs/crypto.md §13.8).
    """

    __tablename__ = "event_wraps"
    __table_args__ = (
        CheckConstraint(
            "(recipient_kind = 'inspector' AND inspector_id IS NOT NULL)"
            " OR (recipient_kind <> 'inspector' AND inspector_id IS NULL)",
            name="inspector_iff_kind",
        ),
        UniqueConstraint("event_id", "recipient_kind", "inspector_id"),
        Index(
            "ux_event_wraps_shared_recipient",
            "event_id",
            "recipient_kind",
            unique=True,
            sqlite_where=text("inspector_id IS NULL"),
            postgresql_where=text("inspector_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("case_events.id", ondelete="CASCADE"), index=True
    )
    recipient_kind: Mapped[RecipientKind] = mapped_column(str_enum(RecipientKind, "recipient_kind"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)  # HPKE envelope

    event: Mapped[CaseEvent] = relationship(back_populates="wraps")
