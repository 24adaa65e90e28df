"""Published conclusions on real dates: posting across Tết, the 15 days, corrections,
take-downs, and the public page that shows only what is still up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from casework import publication, workflow
from casework.publication import Draft, PublicationError
from store.models import Case, Inspector, InspectorRole, PublishedConclusion, Track
from tests.casework.test_workflow import new_case, step
from tests.store.factories import add_inspector, add_unit

NOW = datetime(2027, 2, 18, 3, 0, tzinfo=UTC)
CONCLUDED = date(2027, 2, 3)  # a Wednesday, before Tết (6-14 February 2027)
POSTED = date(2027, 2, 18)  # a Thursday, the sixth working day after the conclusion
DRAFT = Draft(
    title="Kết luận nội dung tố cáo đối với ông Nguyễn Văn B",
    summary="Nội dung tố cáo về việc thu tiền cấp sổ đỏ\r\nlà đúng một phần.",
    posted_where="Trụ sở Thanh tra tỉnh; cổng thông tin điện tử",
    posted_on=POSTED,
    earliest_removal_on=date(2027, 3, 5),
)


@pytest.fixture
def people(session: Session) -> tuple[Inspector, Inspector]:
    unit = add_unit(session)
    return (
        add_inspector(session, unit, "lan", InspectorRole.INSPECTOR),
        add_inspector(session, unit, "head", InspectorRole.SUPERVISOR),
    )


@pytest.fixture
def concluded(session: Session, people: tuple[Inspector, Inspector]) -> Case:
    case = new_case(session, people, Track.NAMED, date(2027, 2, 1))
    for status, day in (("accepted", 2), ("verifying", 2), ("concluded", 3)):
        step(case, people[0], status, date(2027, 2, day))
    return case


def test_posting_records_the_publication_and_stops_its_clock_across_tet(
    session: Session, concluded: Case, people: tuple[Inspector, Inspector]
) -> None:
    assert publication.concluded_on(concluded) == CONCLUDED
    assert workflow.current_deadlines(concluded)[-1].key == "publication"
    row = publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    session.flush()
    assert row.concluded_on == CONCLUDED
    assert row.summary == "Nội dung tố cáo về việc thu tiền cấp sổ đỏ\nlà đúng một phần."
    assert "publication" not in {d.key for d in workflow.current_deadlines(concluded)}
    [event] = [e for e in concluded.events if e.kind == workflow.PUBLICATION]
    assert event.occurred_on == POSTED
    assert event.inspector is people[0]
    assert publication.still_up(session, concluded) is row


def test_a_second_posting_of_the_same_conclusion_is_refused(
    session: Session, concluded: Case, people: tuple[Inspector, Inspector]
) -> None:
    publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    with pytest.raises(PublicationError) as refused:
        publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    assert refused.value.code == "already_posted"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"earliest_removal_on": date(2027, 3, 4)}, "too_short"),  # 14 days only
        ({"posted_on": date(2027, 2, 19)}, "posted_later"),  # tomorrow
        ({"posted_on": date(2027, 2, 2)}, "posted_before_conclusion"),
        ({"title": "  \r\n "}, "title_missing"),
        ({"summary": "x" * (publication.MAX_SUMMARY + 1)}, "summary_too_long"),
        ({"posted_where": ""}, "posted_where_missing"),
    ],
)
def test_a_bad_posting_is_refused_and_nothing_is_recorded(
    session: Session,
    concluded: Case,
    people: tuple[Inspector, Inspector],
    change: dict[str, object],
    code: str,
) -> None:
    events = len(concluded.events)
    draft = replace(DRAFT, **change)  # type: ignore[arg-type]
    with pytest.raises(PublicationError) as refused:
        publication.publish(session, concluded, people[0], draft, today=POSTED, now=NOW)
    assert refused.value.code == code
    assert len(concluded.events) == events
    assert session.query(PublishedConclusion).count() == 0


def test_fifteen_consecutive_days_are_counted_from_the_posting_day() -> None:
    assert publication.earliest_removal(POSTED) == date(2027, 3, 5)
    assert publication.earliest_removal(date(2027, 2, 6)) == date(2027, 2, 21)  # over Tết


def test_an_anonymous_or_unconcluded_case_has_nothing_to_publish(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    anonymous = new_case(session, people, Track.ANONYMOUS, date(2027, 2, 1))
    step(anonymous, people[0], "verifying", date(2027, 2, 2))
    named = new_case(session, people, Track.NAMED, date(2027, 2, 1))
    for case in (anonymous, named):
        assert publication.concluded_on(case) is None
        with pytest.raises(PublicationError) as refused:
            publication.publish(session, case, people[0], DRAFT, today=POSTED, now=NOW)
        assert refused.value.code == "not_concluded"


def test_a_late_posting_after_the_case_closed_leaves_its_history_alone(
    session: Session, concluded: Case, people: tuple[Inspector, Inspector]
) -> None:
    step(concluded, people[0], "handling", date(2027, 2, 4))
    step(concluded, people[0], "closed", date(2027, 2, 5))
    events = len(concluded.events)
    publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    assert len(concluded.events) == events


def test_a_correction_changes_the_text_only_and_says_what_changed(
    session: Session, concluded: Case, people: tuple[Inspector, Inspector]
) -> None:
    row = publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    changed = publication.correct(row, DRAFT.title, "Nội dung tố cáo là đúng một phần.")
    assert changed == ["summary"]
    assert row.summary == "Nội dung tố cáo là đúng một phần."
    with pytest.raises(PublicationError) as refused:
        publication.correct(row, row.title, row.summary)
    assert refused.value.code == "unchanged"


def test_a_take_down_waits_for_the_earliest_day(
    session: Session, concluded: Case, people: tuple[Inspector, Inspector]
) -> None:
    row = publication.publish(session, concluded, people[0], DRAFT, today=POSTED, now=NOW)
    with pytest.raises(PublicationError) as refused:
        publication.take_down(row, people[0], date(2027, 3, 4))
    assert refused.value.code == "too_early"
    assert row.removed_on is None
    publication.take_down(row, people[1], date(2027, 3, 5))
    assert _removal(row) == (date(2027, 3, 5), people[1])
    session.flush()
    for attempt in (lambda: publication.take_down(row, people[0], date(2027, 3, 6)),
                    lambda: publication.correct(row, "Tiêu đề mới", "Nội dung mới")):  # fmt: skip
        with pytest.raises(PublicationError) as again:
            attempt()
        assert again.value.code == "taken_down"
    # Taken down, the case may be posted again (a new posting, a new row).
    assert publication.still_up(session, concluded) is None


def test_the_public_page_lists_what_is_up_the_latest_first_in_pages(
    session: Session, people: tuple[Inspector, Inspector]
) -> None:
    unit = people[0].unit
    other = add_unit(session, "thanh-tra-huyen")
    for number in range(publication.PER_PAGE + 2):
        posted = date(2027, 3, 1 + number)
        session.add(_row(unit.id, people[0], f"Kết luận số {number}", posted))
    session.add(_row(other.id, people[0], "Của đơn vị khác", date(2027, 3, 1)))
    gone = _row(unit.id, people[0], "Đã gỡ", date(2027, 3, 1))
    gone.removed_on = date(2027, 3, 20)
    session.add(gone)
    session.flush()
    first = publication.public_page(session, unit.id, 1)
    assert (first.number, first.pages) == (1, 2)
    assert [item.title for item in first.items][:2] == ["Kết luận số 11", "Kết luận số 10"]
    assert len(first.items) == publication.PER_PAGE
    second = publication.public_page(session, unit.id, 2)
    assert [item.title for item in second.items] == ["Kết luận số 1", "Kết luận số 0"]
    assert publication.public_page(session, unit.id, 99).number == 2  # clamped
    assert publication.public_page(session, other.id, 1).items[0].title == "Của đơn vị khác"


def _removal(row: PublishedConclusion) -> tuple[date | None, Inspector | None]:
    return row.removed_on, row.removed_by


def _row(unit_id: int, by: Inspector, title: str, posted_on: date) -> PublishedConclusion:
    return PublishedConclusion(
        unit_id=unit_id,
        title=title,
        summary="Tóm tắt",
        posted_where="Trụ sở",
        concluded_on=CONCLUDED,
        posted_on=posted_on,
        earliest_removal_on=publication.earliest_removal(posted_on),
        posted_by=by,
        posted_at=NOW,
    )
