"""Publishing a conclusion from the review app: posting, refusals, corrections, take-downs,
each audited, and nobody without the case key reaching any of it."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.intake import public_reference
from review.views import publication as publication_views
from review.views import workflow as workflow_views
from store.models import AuditEntry, PublishedConclusion
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account, asked_first, csrf_token
from tests.review.test_workflow import GROUNDS, actions, page_of, post, signed_in, stored
from tests.worlds import World

CONCLUDED = date(2026, 11, 30)  # a Monday; the case arrived on Friday 27 November
TITLE = "Kết luận nội dung tố cáo về việc cấp sổ đỏ"
SUMMARY = "Nội dung tố cáo là đúng một phần.\r\nĐã chuyển cơ quan điều tra <b>xử lý</b>."
FORM = {
    "title": TITLE,
    "summary": SUMMARY,
    "posted_where": "Trụ sở Thanh tra tỉnh",
    "posted_on": "2026-11-30",
    "earliest_removal_on": "2026-12-15",
}


class Today:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.day = CONCLUDED
        for module in (workflow_views, publication_views):
            monkeypatch.setattr(module, "unit_today", lambda: self.day)


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> Today:
    return Today(monkeypatch)


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})


@pytest.fixture
def concluded(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase, today: Today
) -> SealedCase:
    signed_in(client, accounts["lan"])
    for status in ("accepted", "verifying", "concluded"):
        assert post(client, named, "status", status=status, grounds=GROUNDS)[0] == 303
    return named


def publication_page(client: FlaskClient, sealed: SealedCase) -> str:
    response = client.get(f"/cases/{sealed.case.public_id}/publication")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def send(client: FlaskClient, sealed: SealedCase, action: str, **form: str) -> tuple[int, str]:
    address = f"/cases/{sealed.case.public_id}/publication"
    token = csrf_token(client, address)
    response = client.post(f"{address}{action}", data={"csrf_token": token, **form})
    return response.status_code, unescape(response.get_data(as_text=True))


def postings(session: Session) -> list[PublishedConclusion]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(PublishedConclusion).order_by(PublishedConclusion.id)))


def details(session: Session, action: str) -> dict[str, object]:
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).one()
    return dict(entry.details)


def test_posting_a_conclusion_stores_it_in_the_clear_records_the_step_and_audits_it(
    client: FlaskClient, session: Session, concluded: SealedCase
) -> None:
    page = publication_page(client, concluded)
    assert "Never write the reporter's name" in page
    assert 'id="publish-posted_on" name="posted_on" value="2026-11-30"' in page
    assert 'value="2026-12-15"' in page  # 15 days on display by default
    assert 'id="publication-link"' in page_of(client, concluded)
    assert send(client, concluded, "", **FORM)[0] == 303
    [row] = postings(session)
    assert (row.title, row.case_id, row.concluded_on) == (TITLE, concluded.case.id, CONCLUDED)
    assert row.summary == SUMMARY.replace("\r\n", "\n")
    case = stored(session, concluded)
    assert [e.kind for e in case.events][-1] == "publication"
    assert "publication" not in {d["key"] for d in case.deadlines}
    assert actions(session, concluded)[-1] == "conclusion_publish"
    assert details(session, "conclusion_publish")["event_recorded"] is True
    raw = client.get(f"/cases/{concluded.case.public_id}/publication").get_data(as_text=True)
    assert "&lt;b&gt;xử lý&lt;/b&gt;" in raw  # escaped, never markup
    page = unescape(raw)
    assert 'id="posted-title">' + TITLE in page
    assert 'id="take-down-not-yet"' in page
    assert 'id="publish"' not in page  # one posting at a time


def test_posting_for_fewer_than_fifteen_days_is_refused_keeping_what_was_typed(
    client: FlaskClient, session: Session, concluded: SealedCase
) -> None:
    code, page = send(client, concluded, "", **{**FORM, "earliest_removal_on": "2026-12-14"})
    assert code == 400
    assert 'href="#publish-earliest_removal_on">A conclusion stays posted for at least 15' in page
    assert 'aria-invalid="true"' in page
    assert TITLE in page
    assert 'value="2026-12-14"' in page
    assert postings(session) == []
    assert "conclusion_publish" not in actions(session, concluded)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"posted_on": "30/11/2026"}, "publish-posted_on"),
        ({"posted_on": "2026-12-01"}, "publish-posted_on"),  # tomorrow
        ({"title": "   "}, "publish-title"),
        ({"posted_where": ""}, "publish-posted_where"),
    ],
)
def test_a_bad_form_is_refused_pointing_at_the_field(
    client: FlaskClient,
    session: Session,
    concluded: SealedCase,
    change: dict[str, str],
    field: str,
) -> None:
    code, page = send(client, concluded, "", **{**FORM, **change})
    assert code == 400
    assert f'href="#{field}"' in page
    assert f'id="{field}-error"' in page
    assert postings(session) == []


def test_a_case_not_concluded_has_nothing_to_publish(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase,
    today: Today,
) -> None:  # fmt: skip
    signed_in(client, accounts["lan"])
    assert 'id="nothing-to-publish"' in publication_page(client, named)
    code, page = send(client, named, "", **FORM)
    assert code == 400
    assert "Only a concluded case on the named track" in page
    assert postings(session) == []


def test_a_correction_is_saved_and_audited_with_what_changed(
    client: FlaskClient, session: Session, concluded: SealedCase
) -> None:
    send(client, concluded, "", **FORM)
    [row] = postings(session)
    fixed = "Nội dung tố cáo là đúng một phần."
    assert send(client, concluded, f"/{row.id}/correct", title=TITLE, summary=fixed)[0] == 303
    [row] = postings(session)
    assert row.summary == fixed
    assert details(session, "conclusion_correct")["changed"] == ["summary"]
    code, page = send(client, concluded, f"/{row.id}/correct", title=TITLE, summary=fixed)
    assert code == 400
    assert "The correction changes nothing." in page


def test_a_take_down_waits_fifteen_days_and_is_audited(
    client: FlaskClient, session: Session, concluded: SealedCase, today: Today
) -> None:
    send(client, concluded, "", **FORM)
    [row] = postings(session)
    today.day = date(2026, 12, 14)
    code, page = send(client, concluded, f"/{row.id}/take-down")
    assert code == 400
    assert "must stay posted until" in page
    assert postings(session)[0].removed_on is None
    too_soon = client.get(f"/cases/{concluded.case.public_id}/publication/{row.id}/take-down")
    assert too_soon.status_code == 400  # not even asked before the day
    today.day = date(2026, 12, 15)
    assert 'id="take-down-link"' in publication_page(client, concluded)
    assert send(client, concluded, f"/{row.id}/take-down")[0] == 303
    assert postings(session)[0].removed_on == date(2026, 12, 15)
    assert details(session, "conclusion_take_down")["removed_on"] == "2026-12-15"
    page = publication_page(client, concluded)
    reference = public_reference(concluded.case.public_id)
    assert f"The conclusion of case {reference} was taken down." in page
    assert 'id="earlier"' in page
    assert 'id="publish"' in page  # it may be posted again


def test_a_take_down_is_asked_on_a_page_of_its_own_and_a_get_changes_nothing(
    client: FlaskClient, session: Session, concluded: SealedCase, today: Today
) -> None:
    send(client, concluded, "", **FORM)
    [row] = postings(session)
    today.day = date(2026, 12, 15)
    address = f"/cases/{concluded.case.public_id}/publication/{row.id}/take-down"
    assert f'href="{address}" id="take-down-link"' in publication_page(client, concluded)
    text, _form = asked_first(client, address, "take-down")
    assert f"The public page no longer shows “{row.title}”." in text
    assert postings(session)[0].removed_on is None
    session.rollback()
    assert "conclusion_take_down" not in session.scalars(select(AuditEntry.action)).all()


def test_nobody_without_the_case_key_reaches_the_publication(
    client: FlaskClient, session: Session, accounts: dict[str, Account], concluded: SealedCase
) -> None:
    send(client, concluded, "", **FORM)
    [row] = postings(session)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    signed_in(client, accounts["son"])  # supervisors hold no case keys
    address = f"/cases/{concluded.case.public_id}/publication"
    assert client.get(address).status_code == 404
    token = csrf_token(client, "/")
    refused = client.post(f"{address}/{row.id}/take-down", data={"csrf_token": token})
    assert refused.status_code == 404
    assert postings(session)[0].removed_on is None


def test_a_posting_of_another_case_is_not_found(
    client: FlaskClient, session: Session, world: World, concluded: SealedCase
) -> None:
    send(client, concluded, "", **FORM)
    [row] = postings(session)
    other = seal_case(session, world, FAST)
    address = f"/cases/{other.case.public_id}/publication/{row.id}/correct"
    token = csrf_token(client, f"/cases/{other.case.public_id}/publication")
    response = client.post(address, data={"csrf_token": token, "title": "x", "summary": "y"})
    assert response.status_code == 404
    assert postings(session)[0].title == TITLE


def test_a_post_without_the_anti_forgery_token_is_refused(
    client: FlaskClient, session: Session, concluded: SealedCase
) -> None:
    response = client.post(f"/cases/{concluded.case.public_id}/publication", data=FORM)
    assert response.status_code == 400
    assert postings(session) == []
    assert re.search(r"conclusion_publish", " ".join(actions(session, concluded))) is None
