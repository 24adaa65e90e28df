"""The inbox: which cases an inspector can open, filtered, sorted and paged.

Pure SQLAlchemy, no Flask: the review app's inbox screen and ``benchmarks/inbox.py`` both
call ``fetch_page``.

- **Access** is by key: a case is listed only if this inspector holds a case-key wrap for
  it. An inspector the reporter excluded for a conflict of interest gets no wrap; the
  exclusion is checked as well, so a wrap granted by mistake still does not list the case.
- **Deadlines**: a case's next deadline is ``Case.next_due``, the earliest due date of its
  running clocks, which ``casework.workflow`` stores (and clears once the case has ended)
  whenever the case changes. "Overdue" (before today) and "due soon" (today to today + N days)
  are computed from it at query time against the unit's today (``dates.unit_today``),
  never stored: a stored flag would go stale overnight.
- **Unread** (for this inspector): never opened, or a message by someone else (the
  reporter or another inspector) newer than ``CaseRead.last_read_message_id``.
- **Order**: by the date received (``Case.received_on``, the date the law's clocks run
  from, which for a forwarded or back-dated case is earlier than its arrival here), or by
  the next deadline; the case's id breaks ties, so the order is total and stable.
- **Paging** is keyset pagination over (sort key, id): a page costs the same at page 200
  as at page 1, and a case arriving meanwhile does not shift the pages. The index
  ``ix_cases_received_keyset`` (received_on, id, then the filtered columns) lets the
  database walk the cases in either received order and stop after a page, rather than
  sort every case it may open (``benchmarks/inbox.py`` checks the plan). The cursor is
  opaque to the browser (base64url JSON) and checked on the way back in.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from store.models import (
    Case,
    CaseExclusion,
    CaseRead,
    KeyWrap,
    Message,
    RecipientKind,
    Track,
    WrapPurpose,
)
from store.types import MAX_ID

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DEFAULT_DUE_SOON_DAYS = 7
MAX_DUE_SOON_DAYS = 366
# Sorts "no deadline" after every real one; a date no case will ever be due on.
NO_DEADLINE = date(9999, 12, 31)
_MAX_CURSOR = 200  # characters; a real cursor is about 60


class Sort(enum.StrEnum):
    NEWEST = "newest"  # received, newest first; same day: the later registered first
    OLDEST = "oldest"
    DUE = "due"  # next deadline first; cases without one last


class InvalidCursor(ValueError):
    """A cursor this module did not write, or one written for another sort order."""


@dataclass(frozen=True)
class Filters:
    """What to narrow the inbox to; every filter set must hold (AND)."""

    status: str | None = None
    category: str | None = None
    overdue: bool = False
    due_soon_days: int | None = None  # due today or within this many days
    unread: bool = False
    protection_requested: bool = False
    retaliation_reported: bool = False
    urgent: bool = False

    def __post_init__(self) -> None:
        days = self.due_soon_days
        if days is not None and not 0 <= days <= MAX_DUE_SOON_DAYS:
            raise ValueError(f"due_soon_days must be between 0 and {MAX_DUE_SOON_DAYS}")


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: just after the case with this sort key and id."""

    sort: Sort
    id: int
    # The sort key: the date received, or for Sort.DUE the next deadline (NO_DEADLINE
    # for none).
    key: date

    def encode(self) -> str:
        data: dict[str, Any] = {"s": self.sort.value, "i": self.id, "d": self.key.isoformat()}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        """The cursor in ``text``, which must have been written for ``sort``."""
        if len(text) > _MAX_CURSOR:
            raise InvalidCursor("cursor too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            cursor = cls(
                sort=Sort(data["s"]),
                id=_positive_int(data["i"]),
                key=date.fromisoformat(data["d"]),
            )
        except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise InvalidCursor("malformed cursor") from error
        if cursor.sort is not sort:
            raise InvalidCursor("the cursor belongs to another sort order")
        return cursor


@dataclass(frozen=True)
class InboxRow:
    """One case as the inbox lists it: no ciphertext, nothing the reporter wrote."""

    id: int
    public_id: str
    track: Track
    status: str
    category: str
    received_on: date
    next_due: date | None
    overdue: bool
    due_soon: bool
    urgent: bool
    protection_requested: bool
    retaliation_reported: bool
    unread: bool


@dataclass(frozen=True)
class InboxPage:
    rows: tuple[InboxRow, ...]
    next_cursor: Cursor | None  # None on the last page


def fetch_page(
    session: Session,
    inspector_id: int,
    *,
    today: date,
    filters: Filters | None = None,
    sort: Sort = Sort.NEWEST,
    after: Cursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> InboxPage:
    """One page of the inbox of ``inspector_id``, starting after ``after``.

    ``due_soon_days`` sets the horizon of the rows' ``due_soon`` badge; the filter has its
    own (``Filters.due_soon_days``).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if after is not None and after.sort is not sort:
        raise InvalidCursor("the cursor belongs to another sort order")
    filters = filters or Filters()
    query = inbox_query(_Shape.of(filters, sort, after))
    params = _parameters(inspector_id, today, filters, after) | {"limit": limit + 1}
    found = session.execute(query, params).all()
    rows = tuple(_row(values, today, due_soon_days) for values in found[:limit])
    more = len(found) > limit
    return InboxPage(rows, _cursor_after(rows[-1], sort) if more and rows else None)


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL text of a page; the values travel as bound parameters."""

    sort: Sort
    after: bool
    status: bool
    category: bool
    overdue: bool
    due_soon: bool
    unread: bool
    protection_requested: bool
    retaliation_reported: bool
    urgent: bool

    @classmethod
    def of(cls, filters: Filters, sort: Sort, after: Cursor | None) -> _Shape:
        return cls(
            sort=sort,
            after=after is not None,
            status=filters.status is not None,
            category=filters.category is not None,
            overdue=filters.overdue,
            due_soon=filters.due_soon_days is not None,
            unread=filters.unread,
            protection_requested=filters.protection_requested,
            retaliation_reported=filters.retaliation_reported,
            urgent=filters.urgent,
        )


def _parameters(
    inspector_id: int, today: date, filters: Filters, after: Cursor | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "inspector_id": inspector_id,
        "today": today,
        "status": filters.status,
        "category": filters.category,
        "due_soon_until": today + timedelta(days=filters.due_soon_days or 0),
    }
    if after is not None:
        params |= {"after_id": after.id, "after_key": after.key}
    return params


# Building a statement of this size costs several times more than SQLite takes to run it,
# so each shape is built once and reused; SQLAlchemy then also reuses its compiled SQL.
@functools.cache
def inbox_query(shape: _Shape) -> Select[*tuple[Any, ...]]:
    """The SELECT behind ``fetch_page`` (bound parameters: see ``_parameters``)."""
    me = bindparam("inspector_id", type_=Integer)
    read = aliased(CaseRead, name="my_read")
    query = (
        select(
            Case.id,
            Case.public_id,
            Case.track,
            Case.status,
            Case.category,
            Case.received_on,
            Case.next_due.label("next_due"),
            Case.urgent,
            Case.protection_requested,
            Case.retaliation_reported,
            _unread(me, read).label("unread"),
        )
        .join(KeyWrap, _own_case_key(me))
        .outerjoin(read, and_(read.case_id == Case.id, read.inspector_id == me))
        .where(~_excluded(me))
    )
    for condition in _conditions(shape, me, read):
        query = query.where(condition)
    if shape.after:
        query = query.where(_after(shape.sort))
    return query.order_by(*_order(shape.sort)).limit(bindparam("limit", type_=Integer))


# --- building blocks ----------------------------------------------------------------------


def readable_by(me: BindParameter[int]) -> ColumnElement[bool]:
    """A case this inspector may open, by the inbox's rule: a case-key wrap of their own,
    and no exclusion (the daily digest counts by it too: casework.notify)."""
    return and_(exists().where(_own_case_key(me)), ~_excluded(me))


def _own_case_key(me: BindParameter[int]) -> ColumnElement[bool]:
    return and_(
        KeyWrap.case_id == Case.id,
        KeyWrap.inspector_id == me,
        KeyWrap.purpose == WrapPurpose.CASE_KEY,
        KeyWrap.recipient_kind == RecipientKind.INSPECTOR,
    )


def _excluded(me: BindParameter[int]) -> ColumnElement[bool]:
    return exists().where(CaseExclusion.case_id == Case.id, CaseExclusion.inspector_id == me)


def _unread(me: BindParameter[int], read: type[CaseRead]) -> ColumnElement[bool]:
    """Never opened, or a message by someone else after the last one read."""
    seen = func.coalesce(read.last_read_message_id, 0)
    newer = exists().where(
        Message.case_id == Case.id,
        Message.id > seen,
        or_(Message.inspector_id.is_(None), Message.inspector_id != me),
    )
    return or_(read.case_id.is_(None), newer)


def _conditions(
    shape: _Shape, me: BindParameter[int], read: type[CaseRead]
) -> Sequence[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if shape.status:
        out.append(Case.status == bindparam("status", type_=String))
    if shape.category:
        out.append(Case.category == bindparam("category", type_=String))
    for wanted, column in (
        (shape.protection_requested, Case.protection_requested),
        (shape.retaliation_reported, Case.retaliation_reported),
        (shape.urgent, Case.urgent),
    ):
        if wanted:
            out.append(column == true())
    today = bindparam("today", type_=Date)
    if shape.overdue:
        out.append(Case.next_due < today)
    if shape.due_soon:
        out.append(Case.next_due.between(today, bindparam("due_soon_until", type_=Date)))
    if shape.unread:
        out.append(_unread(me, read))
    return out


def _sort_due() -> ColumnElement[date]:
    return func.coalesce(Case.next_due, literal(NO_DEADLINE, type_=Date))


def _sort_key(sort: Sort) -> ColumnElement[date]:
    if sort is Sort.DUE:
        return _sort_due()
    return Case.__table__.c.received_on


def _order(sort: Sort) -> tuple[ColumnElement[Any], ...]:
    key = _sort_key(sort)
    if sort is Sort.NEWEST:
        return (key.desc(), Case.id.desc())
    return (key.asc(), Case.id.asc())


def _after(sort: Sort) -> ColumnElement[bool]:
    """After the cursor's case in this order: a row comparison, which both databases
    answer from the index on (sort key, id)."""
    here = tuple_(_sort_key(sort), Case.id)
    cursor = tuple_(bindparam("after_key", type_=Date), bindparam("after_id", type_=Integer))
    return here < cursor if sort is Sort.NEWEST else here > cursor


def _cursor_after(row: InboxRow, sort: Sort) -> Cursor:
    key = (row.next_due or NO_DEADLINE) if sort is Sort.DUE else row.received_on
    return Cursor(sort, row.id, key)


def _row(values: Any, today: date, due_soon_days: int) -> InboxRow:
    due: date | None = values.next_due
    return InboxRow(
        id=values.id,
        public_id=values.public_id,
        track=values.track,
        status=values.status,
        category=values.category,
        received_on=values.received_on,
        next_due=due,
        overdue=due is not None and due < today,
        due_soon=due is not None and today <= due <= today + timedelta(days=due_soon_days),
        urgent=bool(values.urgent),
        protection_requested=bool(values.protection_requested),
        retaliation_reported=bool(values.retaliation_reported),
        unread=bool(values.unread),
    )


def _positive_int(value: object) -> int:
    """An id: a positive integer a database column can hold."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise ValueError("not an id")
    return value
