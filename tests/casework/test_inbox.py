"""The inbox query: access by key wrap, filters, deadlines against today, keyset pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from casework import inbox
from store.models import (
    Case,
    CaseExclusion,
    CaseRead,
    Inspector,
    Message,
    Party,
    RecipientKind,
    WrapPurpose,
)
from tests.store.factories import add_case, add_wrap, ciphertext
from tests.worlds import World

TODAY = date(2026, 11, 27)


def readable_case(session: Session, world: World, *readers: str, **values: Any) -> Case:
    """A case with case-key wraps for ``readers`` (and the reporter and escrow, as intake
    writes them)."""
    case = add_case(session, world.unit, **values)
    add_wrap(session, case, RecipientKind.REPORTER)
    add_wrap(session, case, RecipientKind.ESCROW)
    for name in readers:
        add_wrap(session, case, RecipientKind.INSPECTOR, world.people[name])
    return case


def listed(
    session: Session, inspector: Inspector, today: date = TODAY, **kwargs: Any
) -> list[inbox.InboxRow]:
    return list(inbox.fetch_page(session, inspector.id, today=today, **kwargs).rows)


def ids(rows: list[inbox.InboxRow]) -> list[int]:
    return [row.id for row in rows]


def add_message(session: Session, case: Case, author: Inspector | None = None) -> Message:
    message = Message(
        case=case,
        author=Party.REPORTER if author is None else Party.INSPECTOR,
        inspector=author,
        body=ciphertext(),
        created_on=TODAY,
    )
    session.add(message)
    session.flush()
    return message


# --- access ---------------------------------------------------------------------------------


def test_lists_only_cases_with_a_case_key_wrap_for_this_inspector(
    session: Session, world: World
) -> None:
    lan, minh = world.people["lan"], world.people["minh"]
    both = readable_case(session, world, "lan", "minh")
    only_minh = readable_case(session, world, "minh")
    identity_only = readable_case(session, world, "minh")
    add_wrap(session, identity_only, RecipientKind.INSPECTOR, lan, WrapPurpose.IDENTITY_KEY)
    session.commit()

    assert ids(listed(session, lan)) == [both.id]
    assert ids(listed(session, minh)) == [identity_only.id, only_minh.id, both.id]
    assert listed(session, world.people["son"]) == []  # a supervisor reads no reports


def test_an_excluded_inspector_never_sees_the_case_even_with_a_stray_wrap(
    session: Session, world: World
) -> None:
    lan = world.people["lan"]
    case = readable_case(session, world, "lan", "minh")
    session.add(CaseExclusion(case=case, inspector=lan))
    session.commit()

    assert listed(session, lan) == []
    assert ids(listed(session, world.people["minh"])) == [case.id]


def test_rows_carry_no_ciphertext_only_the_clear_facts(session: Session, world: World) -> None:
    case = readable_case(
        session,
        world,
        "lan",
        status="verifying",
        category="land",
        urgent=True,
        protection_requested=True,
        retaliation_reported=True,
    )
    session.commit()
    (row,) = listed(session, world.people["lan"])
    assert (row.public_id, row.status, row.category) == (case.public_id, "verifying", "land")
    assert (row.urgent, row.protection_requested, row.retaliation_reported) == (True,) * 3
    assert not any(isinstance(value, bytes) for value in vars(row).values())


# --- filters --------------------------------------------------------------------------------


def test_filters_by_status_category_and_flags(session: Session, world: World) -> None:
    plain = readable_case(session, world, "lan")
    verifying = readable_case(session, world, "lan", status="verifying")
    procurement = readable_case(session, world, "lan", category="procurement")
    protected = readable_case(session, world, "lan", protection_requested=True)
    retaliation = readable_case(session, world, "lan", retaliation_reported=True)
    urgent = readable_case(session, world, "lan", urgent=True, status="verifying")
    session.commit()
    lan = world.people["lan"]

    def only(**filters: Any) -> list[int]:
        return sorted(ids(listed(session, lan, filters=inbox.Filters(**filters))))

    assert only() == sorted(
        [plain.id, verifying.id, procurement.id, protected.id, retaliation.id, urgent.id]
    )
    assert only(status="verifying") == [verifying.id, urgent.id]
    assert only(category="procurement") == [procurement.id]
    assert only(protection_requested=True) == [protected.id]
    assert only(retaliation_reported=True) == [retaliation.id]
    assert only(urgent=True) == [urgent.id]
    assert only(status="verifying", urgent=True) == [urgent.id]  # filters combine (AND)
    assert only(status="closed") == []


def test_overdue_and_due_soon_are_computed_from_the_next_deadline_against_today(
    session: Session, world: World
) -> None:
    day = timedelta(days=1)
    late = readable_case(session, world, "lan", next_due=TODAY - day)
    late_resolution = readable_case(session, world, "lan", next_due=TODAY - 3 * day)
    due_today = readable_case(session, world, "lan", next_due=TODAY)
    due_in_week = readable_case(session, world, "lan", next_due=TODAY + 7 * day)
    later = readable_case(session, world, "lan", next_due=TODAY + 8 * day)
    readable_case(session, world, "lan")  # no deadline at all
    # An ended case has no running deadline (casework.workflow clears next_due).
    readable_case(session, world, "lan", status="closed")
    readable_case(session, world, "lan", status="withdrawn")
    session.commit()
    lan = world.people["lan"]

    def only(**filters: Any) -> list[int]:
        return sorted(ids(listed(session, lan, filters=inbox.Filters(**filters))))

    assert only(overdue=True) == [late.id, late_resolution.id]
    assert only(due_soon_days=7) == [due_today.id, due_in_week.id]
    assert only(due_soon_days=0) == [due_today.id]
    # Tomorrow, what was due in a week is due in six days and "later" enters the window.
    assert sorted(
        ids(listed(session, lan, today=TODAY + day, filters=inbox.Filters(due_soon_days=7)))
    ) == [due_in_week.id, later.id]
    rows = {row.id: row for row in listed(session, lan)}
    assert rows[late_resolution.id].next_due == TODAY - 3 * day
    badges = {case_id: (row.overdue, row.due_soon) for case_id, row in rows.items()}
    assert badges[late.id] == (True, False)
    assert badges[due_in_week.id] == (False, True)
    assert badges[later.id] == (False, False)
    narrow = {row.id: row for row in listed(session, lan, due_soon_days=3)}
    assert not narrow[due_in_week.id].due_soon  # the badge follows the chosen horizon


def test_unread_means_never_opened_or_a_newer_message_by_someone_else(
    session: Session, world: World
) -> None:
    lan, minh = world.people["lan"], world.people["minh"]
    never_opened = readable_case(session, world, "lan", "minh")
    read = readable_case(session, world, "lan", "minh")
    reporter_wrote = readable_case(session, world, "lan", "minh")
    colleague_wrote = readable_case(session, world, "lan", "minh")
    i_wrote = readable_case(session, world, "lan", "minh")
    for case in (read, reporter_wrote, colleague_wrote, i_wrote):
        seen = add_message(session, case)
        session.add(CaseRead(inspector_id=lan.id, case_id=case.id, last_read_message_id=seen.id))
    add_message(session, reporter_wrote)
    add_message(session, colleague_wrote, author=minh)
    add_message(session, i_wrote, author=lan)
    session.commit()

    rows = {row.id: row.unread for row in listed(session, lan)}
    assert rows == {
        never_opened.id: True,
        read.id: False,
        reporter_wrote.id: True,
        colleague_wrote.id: True,
        i_wrote.id: False,
    }
    unread = ids(listed(session, lan, filters=inbox.Filters(unread=True)))
    assert sorted(unread) == sorted([never_opened.id, reporter_wrote.id, colleague_wrote.id])
    # Read markers are per inspector: minh has opened none of them.
    assert all(row.unread for row in listed(session, minh))


def test_case_read_without_a_message_mark_is_read_until_a_message_arrives(
    session: Session, world: World
) -> None:
    lan = world.people["lan"]
    case = readable_case(session, world, "lan")
    session.add(CaseRead(inspector_id=lan.id, case_id=case.id, last_read_message_id=None))
    session.commit()
    assert [row.unread for row in listed(session, lan)] == [False]
    add_message(session, case)
    session.commit()
    assert [row.unread for row in listed(session, lan)] == [True]


# --- sorting and pages ----------------------------------------------------------------------


def walk(session: Session, inspector: Inspector, **kwargs: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    after: inbox.Cursor | None = None
    while True:
        page = inbox.fetch_page(session, inspector.id, today=TODAY, after=after, **kwargs)
        pages.append(ids(list(page.rows)))
        if page.next_cursor is None:
            return pages
        after = inbox.Cursor.decode(
            page.next_cursor.encode(), kwargs.get("sort", inbox.Sort.NEWEST)
        )


def test_keyset_pages_cover_every_case_once_in_order(session: Session, world: World) -> None:
    cases = [readable_case(session, world, "lan").id for _ in range(7)]
    readable_case(session, world, "minh")  # not lan's: never on lan's pages
    session.commit()
    lan = world.people["lan"]

    assert walk(session, lan, limit=3) == [cases[6:3:-1], cases[3:0:-1], cases[0:1]]
    assert walk(session, lan, limit=3, sort=inbox.Sort.OLDEST) == [
        cases[0:3],
        cases[3:6],
        cases[6:7],
    ]
    assert walk(session, lan, limit=7) == [cases[::-1]]  # exactly one full page: no next


def test_received_order_is_by_the_date_received_then_by_id_across_pages(
    session: Session, world: World
) -> None:
    """A case forwarded in or registered from a back-dated letter arrives after others
    but was received before them: the order follows the date received, not the id."""
    day = timedelta(days=1)
    monday = readable_case(session, world, "lan", received_on=TODAY - 3 * day)
    forwarded = readable_case(session, world, "lan", received_on=TODAY - 10 * day)
    today_a = readable_case(session, world, "lan", received_on=TODAY)
    back_dated = readable_case(session, world, "lan", received_on=TODAY - 3 * day)
    today_b = readable_case(session, world, "lan", received_on=TODAY)
    session.commit()
    lan = world.people["lan"]
    newest = [today_b.id, today_a.id, back_dated.id, monday.id, forwarded.id]
    for limit in (1, 2, 5):
        pages = walk(session, lan, limit=limit)
        assert [case_id for page in pages for case_id in page] == newest, limit
        pages = walk(session, lan, limit=limit, sort=inbox.Sort.OLDEST)
        assert [case_id for page in pages for case_id in page] == newest[::-1], limit


def test_a_new_case_does_not_shift_the_next_page(session: Session, world: World) -> None:
    lan = world.people["lan"]
    cases = [readable_case(session, world, "lan").id for _ in range(4)]
    session.commit()
    first = inbox.fetch_page(session, lan.id, today=TODAY, limit=2)
    readable_case(session, world, "lan")
    session.commit()
    second = inbox.fetch_page(session, lan.id, today=TODAY, limit=2, after=first.next_cursor)
    assert ids(list(second.rows)) == [cases[1], cases[0]]


def test_sorting_by_deadline_puts_the_earliest_first_and_cases_without_one_last(
    session: Session, world: World
) -> None:
    day = timedelta(days=1)
    none_a = readable_case(session, world, "lan")
    soon = readable_case(session, world, "lan", next_due=TODAY + day)
    overdue = readable_case(session, world, "lan", next_due=TODAY - day)
    tie_a = readable_case(session, world, "lan", next_due=TODAY + 5 * day)
    tie_b = readable_case(session, world, "lan", next_due=TODAY + 5 * day)
    ended = readable_case(session, world, "lan", status="closed")
    none_b = readable_case(session, world, "lan")
    session.commit()
    expected = [overdue.id, soon.id, tie_a.id, tie_b.id, none_a.id, ended.id, none_b.id]

    pages = walk(session, world.people["lan"], sort=inbox.Sort.DUE, limit=2)
    assert [case_id for page in pages for case_id in page] == expected
    assert [len(page) for page in pages] == [2, 2, 2, 1]


# --- cursors and arguments ------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_opaque_text() -> None:
    cursor = inbox.Cursor(inbox.Sort.DUE, 42, date(2027, 1, 31))
    text = cursor.encode()
    assert text.isascii()
    assert "=" not in text
    assert "42" not in text
    assert inbox.Cursor.decode(text, inbox.Sort.DUE) == cursor
    plain = inbox.Cursor(inbox.Sort.NEWEST, 7, TODAY)
    assert inbox.Cursor.decode(plain.encode(), inbox.Sort.NEWEST) == plain


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!",
        "e30",  # {}
        inbox.Cursor(inbox.Sort.NEWEST, 7, TODAY).encode() + "x",
        "eyJzIjoibmV3ZXN0IiwiaSI6MH0",  # id 0
        "eyJzIjoibmV3ZXN0IiwiaSI6IjcifQ",  # id "7", a string
        "eyJzIjoibmV3ZXN0IiwiaSI6dHJ1ZX0",  # id true
        "A" * 300,
        "eyJzIjoibmV3ZXN0IiwiaSI6N30",  # {"s":"newest","i":7}: no sort key (an old link)
    ],
)
def test_a_malformed_cursor_is_refused(text: str) -> None:
    with pytest.raises(inbox.InvalidCursor):
        inbox.Cursor.decode(text, inbox.Sort.NEWEST)


def test_a_cursor_of_another_sort_order_is_refused(session: Session, world: World) -> None:
    newest = inbox.Cursor(inbox.Sort.NEWEST, 7, TODAY).encode()
    with pytest.raises(inbox.InvalidCursor):
        inbox.Cursor.decode(newest, inbox.Sort.OLDEST)
    with pytest.raises(inbox.InvalidCursor):
        inbox.Cursor.decode(newest, inbox.Sort.DUE)
    with pytest.raises(inbox.InvalidCursor):
        inbox.fetch_page(
            session,
            world.people["lan"].id,
            today=TODAY,
            sort=inbox.Sort.OLDEST,
            after=inbox.Cursor(inbox.Sort.NEWEST, 7, TODAY),
        )


def test_out_of_range_arguments_are_refused(session: Session, world: World) -> None:
    with pytest.raises(ValueError, match="due_soon_days"):
        inbox.Filters(due_soon_days=-1)
    with pytest.raises(ValueError, match="limit"):
        inbox.fetch_page(session, world.people["lan"].id, today=TODAY, limit=0)
    with pytest.raises(ValueError, match="limit"):
        inbox.fetch_page(
            session, world.people["lan"].id, today=TODAY, limit=inbox.MAX_PAGE_SIZE + 1
        )
