"""The reporter's escalation to the superior unit, re-denunciation and the head's answer on
the follow-up page, without JavaScript and through the API (the browser: tests/browser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import crypto
from casework import escalation, workflow
from casework.calendar import PeriodUnit
from casework.hierarchy import set_superior
from casework.settings import Settings
from crypto import bound
from crypto.encoding import b64u_decode
from store.models import Case, Party
from tests.conftest import settings_for
from tests.submit.conftest import TEST_ENV
from tests.submit.test_api_followup import current_view, open_session, sealed
from tests.submit.test_api_support import Api, api, openapi_checked
from tests.submit.test_followup_pages import Story, entry_document, form_token, reload
from tests.submit.test_followup_status import (
    LONG_AGO,
    PROFILE,
    TODAY,
    action,
    anonymous,
    decide,
    long_date,
    named,
    page_of,
    section,
)
from tests.worlds import World, build_world

__all__ = ["anonymous", "api", "named", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")

SUPERIOR = "Ủy ban nhân dân tỉnh"
NOTE = "Hai tháng chưa có quyết định thụ lý."
REASONS = "Kết luận bỏ qua chứng cứ tôi gửi."
ANSWER = "Đã yêu cầu Thanh tra tỉnh thụ lý trong 3 ngày."
NOW = datetime(2026, 11, 27, 3, tzinfo=UTC)


@pytest.fixture
def settings(engine: Engine, tmp_path: Path, world: World) -> Settings:
    """Two units now: this app serves the first (the resolving unit)."""
    return settings_for(
        engine, tmp_path / "instance", **{**TEST_ENV, "MINHBACH_UNIT": world.unit.slug}
    )


@pytest.fixture
def province(session: Session, world: World) -> World:
    superior = build_world(session, "uy-ban-tinh")
    superior.unit.name = SUPERIOR
    set_superior(world.unit, superior.unit)
    session.commit()
    return superior


def answer(session: Session, province: World, story: Story, text: str = ANSWER) -> Case:
    """The superior unit's custodian answers, as the review app does."""
    case = reload(session, story)
    head = province.people["hoa"]
    escalation.answer(
        session,
        case,
        inspector=head,
        private_key=province.key_of("hoa"),
        text=text,
        today=TODAY,
        now=NOW,
    )
    session.commit()
    return case


def concluded(session: Session, world: World, story: Story) -> Case:
    on = LONG_AGO + timedelta(days=3)
    return decide(session, world, story, ("accepted", on), ("verifying", on), ("concluded", on))


def test_the_escalation_names_the_superior_unit_and_the_answer_reaches_the_reporter(
    client: FlaskClient, session: Session, world: World, province: World, named: Story
) -> None:
    page = page_of(client, named)
    intro = action(page, "escalate")
    assert "Escalate to the head of the superior unit" in intro
    assert f"ask the head of {SUPERIOR}, the unit directly above" in intro
    response = client.post(
        "/followup/escalate", data={"csrf_token": form_token(client), "escalate_text": NOTE}
    )
    assert response.status_code == 303
    case = reload(session, named)
    [event] = [e for e in case.events if e.kind == workflow.ESCALATION]
    assert event.data == {"to_unit": "uy-ban-tinh"}
    assert entry_document(world, case, event.message_id)["text"] == NOTE

    page = client.get("/followup/case").text
    assert f"Who now answers: {SUPERIOR}" in page
    assert f"The head of {SUPERIOR}, the unit directly above" in page
    demand_by = PROFILE.calendar.due_date(TODAY, 5, PeriodUnit.WORKING_DAYS)
    assert demand_by is not None
    assert f"Due by {long_date(demand_by)}." in page
    assert 'id="answers-heading"' not in page

    answered = answer(session, province, named)
    page = client.get("/followup/case").text
    [event] = escalation.answers(answered)
    shown = section(page, "answers-heading")
    assert f'id="answer-{event.id}"' in shown
    assert ANSWER in shown
    assert "Escalation answered" in shown
    assert 'id="escalated-notice"' not in page  # answered: nothing waits any more


def test_an_altered_answer_is_said_to_be_altered(
    client: FlaskClient, session: Session, province: World, named: Story
) -> None:
    page_of(client, named)
    client.post("/followup/escalate", data={"csrf_token": form_token(client), "escalate_text": ""})
    case = answer(session, province, named)
    [event] = escalation.answers(case)
    assert event.grounds is not None
    event.grounds = event.grounds[:-1] + bytes([event.grounds[-1] ^ 1])  # the signature
    session.commit()
    shown = section(client.get("/followup/case").text, "answers-heading")
    assert "This record was altered in storage" in shown
    assert ANSWER not in shown


def test_a_re_denunciation_after_the_conclusion_goes_to_the_superior_for_20_days(
    client: FlaskClient, session: Session, world: World, province: World, named: Story
) -> None:
    concluded(session, world, named)
    page = page_of(client, named)
    intro = action(page, "redenounce")
    assert "must review it within 20 days" in intro
    assert f"It goes to: {SUPERIOR}." in intro
    response = client.post(
        "/followup/re-denounce",
        data={"csrf_token": form_token(client), "redenounce_text": REASONS},
    )
    assert response.status_code == 303
    case = reload(session, named)
    [event] = [e for e in case.events if e.kind == workflow.RE_DENUNCIATION]
    entry = next(m for m in case.messages if m.id == event.message_id)
    assert (entry.purpose, entry.author) == ("re-denunciation", Party.REPORTER)
    assert REASONS.encode() not in entry.body
    assert entry_document(world, case, event.message_id)["text"] == REASONS
    review = {d.key: d.due_on for d in workflow.current_deadlines(case)}["re_denunciation"]
    assert review == PROFILE.calendar.due_date(TODAY, 20, PeriodUnit.DAYS)

    page = client.get("/followup/case").text
    assert "Your re-denunciation was sent." in page
    assert 'id="redenounce-form"' not in page
    assert f"Who now answers: {SUPERIOR}" in page
    again = client.post(
        "/followup/re-denounce", data={"csrf_token": form_token(client), "redenounce_text": ""}
    )
    assert again.status_code == 409
    decided = answer(session, province, named, "Giữ nguyên kết luận.")
    assert [e.kind for e in escalation.answers(decided)] == ["re_denunciation_decision"]
    shown = section(client.get("/followup/case").text, "answers-heading")
    assert "Giữ nguyên kết luận." in shown
    assert "Re-denunciation decided" in shown


def test_a_re_denunciation_before_any_resolution_is_refused_with_the_reason(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    decide(session, world, named, ("accepted", TODAY))  # resolution runs, not yet overdue
    page = page_of(client, named)
    assert 'id="redenounce-form"' not in page
    refused = client.post(
        "/followup/re-denounce",
        data={"csrf_token": form_token(client), "redenounce_text": REASONS},
    )
    assert refused.status_code == 409
    assert "cannot be re-denounced now" in refused.text
    assert REASONS in refused.text  # what was typed stays in the form
    assert 'href="#deadlines-heading"' in refused.text
    assert [e for e in reload(session, named).events if e.kind == "re_denunciation"] == []


def test_the_api_re_denounces_and_gives_the_answer_sealed_to_the_reporter(
    api: Api, session: Session, world: World, province: World, named: Story
) -> None:
    concluded(session, world, named)
    open_session(api, named)
    view = current_view(api)
    assert (view["may_re_denounce"], view["answered_by"], view["answered_by_superior"]) == (
        True,
        SUPERIOR,
        True,
    )
    envelope = sealed(api, named, "re-denunciation", REASONS)
    response = api.post("/followup/re-denounce", {"envelope": envelope})
    assert response.status_code == 200
    after = response.get_json()
    assert (after["may_re_denounce"], after["escalated"]) == (False, True)
    again = api.post("/followup/re-denounce", {"envelope": sealed(api, named, "re-denunciation")})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "not_concluded")

    answer(session, province, named)
    view = current_view(api)
    item = view["answers"][-1]
    assert (item["kind"], item["answered_on"]) == ("re_denunciation_decision", str(TODAY))
    reporter_key = named.keys.code.reporter_private_key()
    key = crypto.unwrap(
        b64u_decode(item["wrap"]), reporter_key, crypto.Purpose.RECORD_KEY, named.case.public_id
    )
    verifying = b64u_decode(view["signing_keys"][f"staff/{item['inspector']}"])
    place, document = bound.open_bound_json(
        key, crypto.Kind.NOTE, b64u_decode(item["record"]), verifying
    )
    assert document == {"schema": 1, "text": ANSWER}
    assert (place.author, place.ref) == (f"staff/{item['inspector']}", f"case_events/{item['id']}")


def test_the_anonymous_track_has_no_re_denunciation(
    client: FlaskClient, session: Session, anonymous: Story
) -> None:
    assert 'id="redenounce-form"' not in page_of(client, anonymous)
    refused = client.post(
        "/followup/re-denounce", data={"csrf_token": form_token(client), "redenounce_text": ""}
    )
    assert refused.status_code == 409
    assert [e for e in reload(session, anonymous).events if e.kind == "re_denunciation"] == []
