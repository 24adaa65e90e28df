"""The public page of published conclusions: what is up, paged, escaped, in both
languages, linked from the unit's pages, and never anything that leads to a case."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from casework import publication
from store.models import PublishedConclusion
from tests.casework.test_access import seal_case
from tests.review.conftest import FAST
from tests.worlds import World

POSTED_WHERE = "Bảng tin trụ sở Thanh tra tỉnh"


def post_up(session: Session, world: World, title: str, posted_on: date) -> PublishedConclusion:
    case = seal_case(session, world, FAST).case
    row = PublishedConclusion(
        unit_id=world.unit.id,
        case_id=case.id,
        title=title,
        summary="Nội dung tố cáo đúng một phần.\n<script>alert(1)</script>",
        posted_where=POSTED_WHERE,
        concluded_on=date(2027, 2, 3),
        posted_on=posted_on,
        earliest_removal_on=publication.earliest_removal(posted_on),
        posted_by=world.people["lan"],
        posted_at=datetime(2027, 2, 18, 3, 0, tzinfo=UTC),
    )
    session.add(row)
    session.commit()
    return row


def test_the_page_shows_what_is_posted_and_nothing_that_leads_to_the_case(
    client: FlaskClient, session: Session, world: World
) -> None:
    row = post_up(session, world, "Kết luận về việc cấp sổ đỏ", date(2027, 2, 18))
    public_id = row.case.public_id if row.case else ""
    response = client.get("/conclusions")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Kết luận về việc cấp sổ đỏ" in html
    assert "Date of the conclusion" in html
    assert '<time datetime="2027-02-03">3 February 2027</time>' in html
    assert '<time datetime="2027-02-18">18 February 2027</time>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    for secret in (public_id, POSTED_WHERE, world.people["lan"].display_name):
        assert secret not in html
    assert 'id="page-of"' not in html  # one page: no paging


def test_a_conclusion_taken_down_is_not_shown(
    client: FlaskClient, session: Session, world: World
) -> None:
    gone = post_up(session, world, "Đã gỡ xuống", date(2027, 2, 18))
    gone.removed_on = gone.earliest_removal_on
    session.commit()
    html = client.get("/conclusions").get_data(as_text=True)
    assert "Đã gỡ xuống" not in html
    assert 'id="no-conclusions"' in html


def test_the_list_is_paged_without_javascript(
    client: FlaskClient, session: Session, world: World
) -> None:
    for number in range(publication.PER_PAGE + 1):
        post_up(session, world, f"Kết luận số {number:02d}", date(2027, 3, 1 + number))
    first = client.get("/conclusions").get_data(as_text=True)
    assert "Kết luận số 10" in first
    assert "Kết luận số 00" not in first
    assert "Page 1 of 2" in first
    assert 'href="/conclusions?page=2" rel="next"' in first
    second = client.get("/conclusions?page=2").get_data(as_text=True)
    assert "Kết luận số 00" in second
    assert 'href="/conclusions?page=1" rel="prev"' in second
    for odd in ("0", "-1", "abc", "9" * 40):
        assert "Page 1 of 2" in client.get(f"/conclusions?page={odd}").get_data(as_text=True)
    assert "Page 2 of 2" in client.get("/conclusions?page=7").get_data(as_text=True)


def test_the_unit_pages_link_to_it_and_it_speaks_vietnamese(
    client: FlaskClient, session: Session, world: World
) -> None:
    post_up(session, world, "Kết luận về việc cấp sổ đỏ", date(2027, 2, 18))
    home = client.get("/").get_data(as_text=True)
    assert 'href="/conclusions" id="conclusions-link"' in home
    assert 'href="/conclusions" id="footer-conclusions"' in home
    assert 'id="footer-conclusions"' in client.get("/report").get_data(as_text=True)
    client.get("/language/vi?next=/conclusions")
    html = client.get("/conclusions").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "18/2/2027" in html
