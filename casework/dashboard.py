"""The supervisors' dashboard: aggregate figures of one unit for the fortnightly review.

``figures(session, unit_id, today)`` counts, for the head of the unit (DOMAIN.md, "The
periodic review"): cases by status and category; received and closed per month;
open, overdue and due-soon cases; protection records by state and category, active
measures and urgent requests still pending; retaliation incidents by kind and per month.

Rules that keep it fast and safe:

- **Aggregates in SQL.** Each block is one ``GROUP BY`` or ``count`` statement (eight in
  all); those over ``cases`` are served by its ``ix_cases_unit_*`` indexes, protection
  records and incidents are joined to their cases for the unit. Python only reads back a
  handful of group rows, never one row per case. ``benchmarks/inbox.py`` times
  ``figures`` at 100,000 cases.
- **Months are bucketed portably.** The month boundaries are computed here and bound as
  parameters: cases are counted with one index range a month, incidents through a
  ``CASE`` over the boundaries; SQLite and PostgreSQL evaluate both alike (no
  ``strftime`` or ``date_trunc``).
- **Track and status in one walk**: ``ix_cases_unit_track_status`` (unit, track, status)
  serves one GROUP BY that gives the counts by status and by track (named or anonymous).
- **Overdue and due soon are derived at read time** from ``next_due`` against the unit's
  today, never stored: overdue is ``next_due < today``, due soon is
  ``today <= next_due <= today + due_soon_days``.
- **Purged cases still count**: a retention purge wipes content, not the fact that a case
  was received and handled.
- **Nothing identifies anyone**: only counts and the stored codes they are grouped by
  (status, category slug, enum values, first days of months), never a case id, reference
  or a date of a single case.

Pure SQLAlchemy, no Flask. Read-only: nothing is added to the session.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from store.models import (
    Case,
    CaseTransfer,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
)

DEFAULT_MONTHS = 12
DEFAULT_DUE_SOON_DAYS = 14
MAX_MONTHS = 120
MAX_DUE_SOON_DAYS = 366
# A protection with measures in force; one still waiting for a decision.
ACTIVE_STATES = frozenset({ProtectionState.ACTIVE, ProtectionState.MODIFIED})
PENDING_STATES = frozenset({ProtectionState.REQUESTED, ProtectionState.UNDER_REVIEW})
# The bucket of a date outside the months shown.
_OUTSIDE = -1

Counts = tuple[tuple[str, int], ...]  # (stored code, count), sorted by code


@dataclass(frozen=True)
class Month:
    """One calendar month of the window: ``start`` is its first day."""

    start: date
    received: int
    closed: int
    retaliation: int  # incidents reported in the month


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows and exports: counts only."""

    as_of: date
    due_soon_days: int
    total: int  # every case of the unit, purged ones included
    by_status: Counts
    by_track: Counts  # named (confidential) and anonymous reports
    by_category: Counts
    months: tuple[Month, ...]  # oldest first; the last one holds ``as_of``
    open_cases: int  # not closed (no ``closed_on``)
    forwarded_out: int  # forwarded to other bodies (counted there since)
    overdue: int
    due_soon: int
    protection_by_state: Counts
    protection_by_category: Counts
    active_measures: int
    urgent_pending: int  # urgent requests not yet decided
    retaliation_by_kind: Counts
    retaliation_total: int


def figures(
    session: Session,
    unit_id: int,
    today: date,
    months: int = DEFAULT_MONTHS,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Figures:
    """The unit's figures as of ``today`` (the unit's local date)."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
    if not 0 <= due_soon_days <= MAX_DUE_SOON_DAYS:
        raise ValueError(f"due_soon_days must be between 0 and {MAX_DUE_SOON_DAYS}")
    starts = month_starts(today, months)
    by_track_and_status = _by_track_and_status(session, unit_id)
    overdue, due_soon = _deadlines(session, unit_id, today, due_soon_days)
    protection = _protection(session, unit_id)
    by_kind, retaliation_months = _retaliation(session, unit_id, starts)
    open_cases, forwarded_out = _open_and_forwarded(session, unit_id)
    received = _per_month(session, unit_id, "received_on", starts)
    closed = _per_month(session, unit_id, "closed_on", starts)
    return Figures(
        as_of=today,
        due_soon_days=due_soon_days,
        total=sum(by_track_and_status.values()),
        by_status=_sum_by(by_track_and_status, 1),
        by_track=_sum_by(by_track_and_status, 0),
        by_category=_grouped(session, unit_id, "category"),
        months=tuple(
            Month(start, received[index], closed[index], retaliation_months[index])
            for index, start in enumerate(starts)
        ),
        open_cases=open_cases,
        forwarded_out=forwarded_out,
        overdue=overdue,
        due_soon=due_soon,
        protection_by_state=_sum_by(protection, 0),
        protection_by_category=_sum_by(protection, 1),
        active_measures=sum(n for (state, _, _), n in protection.items() if state in ACTIVE_STATES),
        urgent_pending=sum(
            n for (state, _, urgent), n in protection.items() if urgent and state in PENDING_STATES
        ),
        retaliation_by_kind=by_kind,
        retaliation_total=sum(count for _, count in by_kind),
    )


def month_starts(today: date, months: int) -> tuple[date, ...]:
    """First days of the ``months`` calendar months ending with today's, oldest first."""
    index = today.year * 12 + today.month - 1  # months since year 0
    return tuple(_month(index - back) for back in range(months - 1, -1, -1))


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _next_month(start: date) -> date:
    return _month(start.year * 12 + start.month)


# --- one query per block ------------------------------------------------------------------
#
# Each statement is built once (``functools.cache``) with its values as bound parameters:
# building the per-month statement anew cost about 4 ms a call, more than running it.

_UNIT = "unit_id"


def _unit() -> BindParameter[int]:
    return bindparam(_UNIT, type_=Integer)


def _bounds(starts: Sequence[date]) -> dict[str, date]:
    """Parameters ``m0`` .. ``mN``: the first day of each month and of the month after."""
    edges = [*starts, _next_month(starts[-1])]
    return {f"m{index}": edge for index, edge in enumerate(edges)}


def _bound(index: int) -> BindParameter[date]:
    return bindparam(f"m{index}", type_=Date)


def _by_track_and_status(session: Session, unit_id: int) -> Counter[tuple[str, str]]:
    """Cases by (track, status): one walk of ``ix_cases_unit_track_status`` gives both."""
    rows = session.execute(_track_status_query(), {_UNIT: unit_id})
    return Counter({(str(_code(track)), str(status)): int(n) for track, status, n in rows})


@functools.cache
def _track_status_query() -> Select[*tuple[Any, ...]]:
    return (
        select(Case.track, Case.status, func.count())
        .where(Case.unit_id == _unit())
        .group_by(Case.track, Case.status)
    )


def _grouped(session: Session, unit_id: int, column: str) -> Counts:
    """Counts of the unit's cases by one column (an index on (unit_id, column) serves it)."""
    rows = session.execute(_grouped_query(column), {_UNIT: unit_id})
    return tuple((str(_code(value)), int(count)) for value, count in rows)


@functools.cache
def _grouped_query(name: str) -> Select[*tuple[Any, ...]]:
    column = getattr(Case, name)
    return (
        select(column, func.count())
        .where(Case.unit_id == _unit())
        .group_by(column)
        .order_by(column)
    )


def _per_month(session: Session, unit_id: int, column: str, starts: Sequence[date]) -> list[int]:
    """Cases whose ``column`` date falls in each month."""
    row = session.execute(
        _per_month_query(column, len(starts)), {_UNIT: unit_id, **_bounds(starts)}
    )
    return [int(count) for count in row.one()]


@functools.cache
def _per_month_query(name: str, months: int) -> Select[*tuple[Any, ...]]:
    """One counted index range a month, as scalar subqueries of one statement: the
    database walks a range faster than it evaluates a ``CASE`` on every row."""
    column = getattr(Case, name)
    counts = [
        select(func.count())
        .where(Case.unit_id == _unit(), column >= _bound(index), column < _bound(index + 1))
        .scalar_subquery()
        for index in range(months)
    ]
    return select(*counts)


def _deadlines(session: Session, unit_id: int, today: date, due_soon_days: int) -> tuple[int, int]:
    """Overdue and due-soon cases: one range over (unit_id, next_due) up to the horizon."""
    horizon = today + timedelta(days=due_soon_days)
    params = {_UNIT: unit_id, "today": today, "horizon": horizon}
    late, soon = session.execute(_deadlines_query(), params).one()
    return int(late), int(soon)


@functools.cache
def _deadlines_query() -> Select[*tuple[Any, ...]]:
    today = bindparam("today", type_=Date)
    overdue = func.count(case((Case.next_due < today, 1)))
    due_soon = func.count(case((Case.next_due >= today, 1)))
    horizon = bindparam("horizon", type_=Date)
    return select(overdue, due_soon).where(Case.unit_id == _unit(), Case.next_due <= horizon)


def _open_and_forwarded(session: Session, unit_id: int) -> tuple[int, int]:
    """Open cases of the unit, and cases it forwarded to other bodies (those now count
    at the receiving unit, so its own record of transfers tells them)."""
    open_cases, forwarded = session.execute(_open_query(), {_UNIT: unit_id}).one()
    return int(open_cases), int(forwarded)


@functools.cache
def _open_query() -> Select[*tuple[Any, ...]]:
    forwarded = (
        select(func.count())
        .select_from(CaseTransfer)
        .where(CaseTransfer.from_unit_id == _unit())
        .scalar_subquery()
    )
    open_cases = select(func.count()).where(Case.unit_id == _unit(), Case.closed_on.is_(None))
    return select(open_cases.scalar_subquery(), forwarded)


def _protection(session: Session, unit_id: int) -> Counter[tuple[str, str, bool]]:
    """Protection records of the unit's cases by (state, category, urgent)."""
    rows = session.execute(_protection_query(), {_UNIT: unit_id})
    return Counter(
        {
            (str(_code(state)), str(_code(category)), bool(urgent)): int(count)
            for state, category, urgent, count in rows
        }
    )


@functools.cache
def _protection_query() -> Select[*tuple[Any, ...]]:
    keys = (ProtectionRecord.state, ProtectionRecord.category, ProtectionRecord.urgent)
    return (
        select(*keys, func.count())
        .join(Case, Case.id == ProtectionRecord.case_id)
        .where(Case.unit_id == _unit())
        .group_by(*keys)
    )


def _retaliation(
    session: Session, unit_id: int, starts: Sequence[date]
) -> tuple[Counts, list[int]]:
    """Incidents of the unit's cases by kind (all time) and per month reported."""
    params = {_UNIT: unit_id, **_bounds(starts)}
    rows = [
        (str(_code(kind)), int(index), int(count))
        for kind, index, count in session.execute(_retaliation_query(len(starts)), params)
    ]
    by_kind: Counter[str] = Counter()
    for kind, _, count in rows:
        by_kind[kind] += count
    per_month = _by_bucket(((index, count) for _, index, count in rows), len(starts))
    return tuple(sorted(by_kind.items())), per_month


@functools.cache
def _retaliation_query(months: int) -> Select[*tuple[Any, ...]]:
    # Bucketed in a subquery and grouped outside it, so GROUP BY names a column instead of
    # repeating a CASE with bound parameters: a driver that numbers parameters on the
    # server would make the two copies differ, and PostgreSQL then refuses the query.
    incidents = (
        select(
            RetaliationIncident.kind.label("kind"),
            _month_bucket(RetaliationIncident.reported_on, months).label("bucket"),
        )
        .join(Case, Case.id == RetaliationIncident.case_id)
        .where(Case.unit_id == _unit())
        .subquery("incidents")
    )
    return select(incidents.c.kind, incidents.c.bucket, func.count()).group_by(
        incidents.c.kind, incidents.c.bucket
    )


# --- helpers ------------------------------------------------------------------------------


def _month_bucket(column: Any, months: int) -> ColumnElement[int]:
    """0 for the first month, 1 for the next, ...; ``_OUTSIDE`` before or after them.

    Plain comparisons with the month boundaries ``m0`` .. ``mN`` bound as parameters:
    portable, and a stored ``Date`` compares correctly on SQLite (ISO text) and
    PostgreSQL (date) alike.
    """
    # Dates before the window first: most incidents are older, and they stop at one test.
    whens: list[tuple[ColumnElement[bool], int]] = [
        (column < _bound(0), _OUTSIDE),
        (column >= _bound(months), _OUTSIDE),
    ]
    whens += [(column >= _bound(index), index) for index in reversed(range(1, months))]
    return case(*whens, else_=0)


def _by_bucket(rows: Iterable[tuple[Any, Any]], months: int) -> list[int]:
    counts = [0] * months
    for index, count in rows:
        if index is not None and 0 <= int(index) < months:
            counts[int(index)] += int(count)
    return counts


def _sum_by(counter: Counter[Any], position: int) -> Counts:
    totals: Counter[str] = Counter()
    for key, count in counter.items():
        totals[str(key[position])] += count
    return tuple(sorted(totals.items()))


def _code(value: Any) -> Any:
    """The stored code of an enum member, or the value itself."""
    return getattr(value, "value", value)
