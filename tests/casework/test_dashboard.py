"""The dashboard's figures: exact counts on a small set of cases, only the unit's own,
purged cases included, month buckets at their edges, overdue and due soon at theirs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from casework import dashboard
from store.models import (
    Case,
    CaseTransfer,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
    Track,
    Unit,
)
from tests.store.factories import add_case, add_unit
from tests.worlds import World

TODAY = date(2026, 3, 10)
DAY = timedelta(days=1)


def protect(
    session: Session, case: Case, state: ProtectionState, category: ProtectionCategory, **extra: Any
) -> None:
    session.add(
        ProtectionRecord(
            case=case,
            person=ProtectedPerson.REPORTER,
            category=category,
            state=state,
            requested_by=Party.REPORTER,
            requested_on=TODAY,
            **extra,
        )
    )


def incident(session: Session, case: Case, kind: RetaliationKind, reported_on: date) -> None:
    session.add(
        RetaliationIncident(case=case, kind=kind, reported_on=reported_on, source=Party.REPORTER)
    )


@pytest.fixture
def other_unit(session: Session) -> Unit:
    """Another unit whose every case and record would change a figure if counted."""
    unit = add_unit(session, "so-tai-chinh")
    case = add_case(
        session,
        unit,
        status="verifying",
        category="land",
        received_on=TODAY,
        next_due=TODAY - DAY,
        closed_on=TODAY,
    )
    protect(session, case, ProtectionState.ACTIVE, ProtectionCategory.JOB, urgent=True)
    incident(session, case, RetaliationKind.DISMISSAL, TODAY)
    session.commit()
    return unit


def test_figures_of_an_empty_unit_are_zero(session: Session, world: World) -> None:
    found = dashboard.figures(session, world.unit.id, TODAY)
    assert found.total == found.open_cases == found.overdue == found.due_soon == 0
    assert found.by_status == found.by_category == found.protection_by_state == ()
    assert found.by_track == ()
    assert [month.start for month in found.months][::11] == [date(2025, 4, 1), date(2026, 3, 1)]
    assert all((m.received, m.closed, m.retaliation) == (0, 0, 0) for m in found.months)


def test_counts_by_status_and_category_only_of_the_unit(
    session: Session, world: World, other_unit: Unit
) -> None:
    unit = world.unit
    add_case(session, unit, status="received", category="land")
    add_case(session, unit, status="verifying", category="land", track=Track.NAMED)
    add_case(session, unit, status="verifying", category="procurement")
    # Purged by retention: its content is gone, but it was received and it counts.
    add_case(
        session,
        unit,
        status="closed",
        category="procurement",
        closed_on=TODAY,
        purged_on=TODAY,
        body=None,
    )
    session.commit()

    found = dashboard.figures(session, unit.id, TODAY)
    assert found.total == 4
    assert found.by_status == (("closed", 1), ("received", 1), ("verifying", 2))
    assert found.by_category == (("land", 2), ("procurement", 2))
    assert found.by_track == (("anonymous", 3), ("named", 1))
    assert found.open_cases == 3


def test_received_and_closed_per_month_at_the_month_edges(
    session: Session, world: World, other_unit: Unit
) -> None:
    unit = world.unit
    for received_on, closed_on in [
        (date(2025, 3, 31), date(2025, 4, 1)),  # received before the window, closed in it
        (date(2025, 4, 1), None),  # first day of the first month
        (date(2025, 4, 30), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2026, 3, 1)),  # last day of a month, first day of the next
        (date(2026, 3, 1), TODAY),
        (TODAY, None),
    ]:
        add_case(session, unit, received_on=received_on, closed_on=closed_on)
    session.commit()

    found = dashboard.figures(session, unit.id, TODAY)
    by_month = {m.start: (m.received, m.closed) for m in found.months}
    assert len(found.months) == 12
    assert by_month[date(2025, 4, 1)] == (2, 1)
    assert by_month[date(2026, 2, 1)] == (1, 1)
    assert by_month[date(2026, 3, 1)] == (2, 2)
    assert sum(received for received, _ in by_month.values()) == 5  # March 2025 is outside
    assert sum(closed for _, closed in by_month.values()) == 4
    assert found.total == 6


def test_a_shorter_window_across_a_year_boundary(session: Session, world: World) -> None:
    add_case(session, world.unit, received_on=date(2025, 12, 31))
    add_case(session, world.unit, received_on=date(2026, 1, 1))
    session.commit()
    found = dashboard.figures(session, world.unit.id, date(2026, 1, 15), months=2)
    assert [(m.start, m.received) for m in found.months] == [
        (date(2025, 12, 1), 1),
        (date(2026, 1, 1), 1),
    ]


def test_overdue_and_due_soon_at_their_edges(
    session: Session, world: World, other_unit: Unit
) -> None:
    for due in (
        TODAY - 30 * DAY,
        TODAY - DAY,  # overdue
        TODAY,  # due soon: today counts
        TODAY + 14 * DAY,  # due soon: the last day of the horizon counts
        TODAY + 15 * DAY,  # neither
        None,  # no running deadline
    ):
        add_case(session, world.unit, next_due=due)
    session.commit()

    found = dashboard.figures(session, world.unit.id, TODAY)
    assert (found.overdue, found.due_soon, found.due_soon_days) == (2, 2, 14)
    shorter = dashboard.figures(session, world.unit.id, TODAY, due_soon_days=0)
    assert (shorter.overdue, shorter.due_soon) == (2, 1)
    longer = dashboard.figures(session, world.unit.id, TODAY, due_soon_days=15)
    assert longer.due_soon == 3


def test_protection_and_retaliation(session: Session, world: World, other_unit: Unit) -> None:
    first = add_case(session, world.unit)
    second = add_case(session, world.unit, purged_on=TODAY, body=None)
    protect(session, first, ProtectionState.REQUESTED, ProtectionCategory.JOB, urgent=True)
    protect(session, first, ProtectionState.UNDER_REVIEW, ProtectionCategory.LIFE_HEALTH)
    protect(session, first, ProtectionState.ACTIVE, ProtectionCategory.JOB, urgent=True)
    protect(session, second, ProtectionState.MODIFIED, ProtectionCategory.INFORMATION)
    protect(session, second, ProtectionState.ENDED, ProtectionCategory.JOB, urgent=True)
    incident(session, first, RetaliationKind.DEMOTION, TODAY)
    incident(session, first, RetaliationKind.DEMOTION, date(2026, 2, 1))
    incident(session, second, RetaliationKind.INTIMIDATION, date(2024, 1, 1))  # before
    session.commit()

    found = dashboard.figures(session, world.unit.id, TODAY)
    assert found.protection_by_state == (
        ("active", 1),
        ("ended", 1),
        ("modified", 1),
        ("requested", 1),
        ("under_review", 1),
    )
    assert found.protection_by_category == (("information", 1), ("job", 3), ("life_health", 1))
    assert found.active_measures == 2
    assert found.urgent_pending == 1
    assert found.retaliation_by_kind == (("demotion", 2), ("intimidation", 1))
    assert found.retaliation_total == 3
    assert [m.retaliation for m in found.months][-2:] == [1, 1]
    assert sum(m.retaliation for m in found.months) == 2


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_few_aggregate_queries_whatever_the_number_of_cases(
    session: Session, world: World, statements: list[str]
) -> None:
    for index in range(30):
        add_case(session, world.unit, status=f"s{index % 3}", next_due=TODAY + index * DAY)
    session.commit()
    statements.clear()
    dashboard.figures(session, world.unit.id, TODAY)
    queries = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(queries) == 8  # one a block, not one a case
    assert all("count(" in sql for sql in queries)


@pytest.mark.parametrize(("months", "days"), [(0, 14), (121, 14), (12, -1), (12, 367)])
def test_out_of_range_parameters_are_refused(
    session: Session, world: World, months: int, days: int
) -> None:
    with pytest.raises(ValueError, match="must be between"):
        dashboard.figures(session, world.unit.id, TODAY, months=months, due_soon_days=days)


def test_month_starts() -> None:
    assert dashboard.month_starts(date(2026, 1, 31), 3) == (
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    )


def test_cases_forwarded_to_other_bodies_count_for_the_sender(
    session: Session, world: World, other_unit: Unit
) -> None:
    """A forwarded case moves to the receiving unit and counts there; the sender's figure
    comes from its own record of transfers."""
    case = add_case(session, other_unit, status="received", category="land")
    session.add(
        CaseTransfer(
            case=case,
            from_unit=world.unit,
            to_unit=other_unit,
            inspector=world.people["lan"],
            forwarded_on=TODAY,
            sender_keeps_access=False,
        )
    )
    session.commit()
    assert dashboard.figures(session, world.unit.id, TODAY).forwarded_out == 1
    assert dashboard.figures(session, other_unit.id, TODAY).forwarded_out == 0
