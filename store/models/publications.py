"""Published conclusions (LTC Art. 40, NĐ31 Art. 6): the public summary of a conclusion.

Unlike everything else about a case, this text is public by nature: the unit posts it, and
the public app shows it. It is therefore stored in the clear, in a table of its own, and
holds nothing that links it to the reporter. ``case_id`` and the people who posted and
took it down are for staff only: the submit role may read the public columns alone
(deploy/postgres/grants.toml), never these.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.organisation import Inspector, Unit
from store.types import UTCDateTime, utc_now

if TYPE_CHECKING:
    from store.models.cases import Case

# The columns the public app may read (and the submit role is granted): nothing else.
PUBLIC_COLUMNS = ("id", "unit_id", "title", "summary", "concluded_on", "posted_on", "removed_on")


class PublishedConclusion(Base):
    """One posted summary of a conclusion, from its posting until it is taken down."""

    __tablename__ = "published_conclusions"
    __table_args__ = (
        # The public page lists a unit's conclusions still up, newest posting first.
        Index("ix_published_conclusions_unit_posted", "unit_id", "posted_on", "id"),
        CheckConstraint("posted_on >= concluded_on", name="posted_after_conclusion"),
        CheckConstraint("earliest_removal_on > posted_on", name="removal_after_posting"),
        CheckConstraint(
            "removed_on IS NULL OR removed_on >= earliest_removal_on", name="removed_when_allowed"
        ),
        CheckConstraint("title <> '' AND summary <> ''", name="text_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    concluded_on: Mapped[date] = mapped_column(Date)
    posted_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    # Staff only from here on.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    posted_where: Mapped[str] = mapped_column(String(500))
    earliest_removal_on: Mapped[date] = mapped_column(Date)
    posted_by_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("inspectors.id"))

    unit: Mapped[Unit] = relationship()
    case: Mapped[Case | None] = relationship()
    posted_by: Mapped[Inspector] = relationship(foreign_keys=[posted_by_id])
    removed_by: Mapped[Inspector | None] = relationship(foreign_keys=[removed_by_id])
