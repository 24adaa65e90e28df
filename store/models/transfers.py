"""Forwarding a case to the competent body (*chuyển đơn*): the sending unit's record."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.organisation import Inspector, Unit
from store.types import UTCDateTime, utc_now

if TYPE_CHECKING:
    from store.models.cases import Case


class CaseTransfer(Base):
    """One forward of a case from one unit to another.

    The case row itself moves to the receiving unit; this row is what the sending unit
    keeps: when, by whom, to whom, and whether its people kept read access (the sending
    unit's profile decides). The grounds are in the matching ``forward`` case event,
    sealed under the case key.
    """

    __tablename__ = "case_transfers"
    __table_args__ = (CheckConstraint("from_unit_id <> to_unit_id", name="different_units"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"))
    forwarded_on: Mapped[date] = mapped_column(Date)
    forwarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    sender_keeps_access: Mapped[bool]

    case: Mapped[Case] = relationship(back_populates="transfers")
    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id])
    inspector: Mapped[Inspector] = relationship()
