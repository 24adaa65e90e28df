"""The protection page: records, transitions, incidents and notes, through the review app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from casework import entry_facts, followup
from casework import protection as casework
from casework.dates import unit_today
from casework.intake import public_reference
from store.models import (
    AuditEntry,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
)
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account, csrf_token, post_login
from tests.review.test_case_view import XSS
from tests.worlds import World, reporter_entry

SECRET = "Ông Trưởng phòng dọa đuổi việc con gái tôi"
ASKED = "Xin chấm dứt biện pháp bảo vệ"


@pytest.fixture
def sealed(session: Session, world: World) -> SealedCase:
    """A case with the intake's urgent request (reporter, job); minh is excluded."""
    return seal_case(session, world, FAST, excluded=frozenset({world.people["minh"].id}))


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


def fresh(session: Session) -> None:
    """See what the app wrote since: end this session's read snapshot, forget its rows."""
    session.rollback()
    session.expire_all()


def url(sealed: SealedCase, tail: str = "") -> str:
    return f"/cases/{sealed.case.public_id}/protection{tail}"


def incidents_url(sealed: SealedCase, tail: str = "") -> str:
    return f"/cases/{sealed.case.public_id}/incidents{tail}"


def post(client: FlaskClient, sealed: SealedCase, path: str, data: dict[str, str]) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, url(sealed)), **data})


def audit_entries(session: Session, sealed: SealedCase) -> list[AuditEntry]:
    fresh(session)
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.case_public_id == sealed.case.public_id)
            .order_by(AuditEntry.seq)
        ).all()
    )


def changes(session: Session, sealed: SealedCase) -> list[tuple[str, dict[str, object]]]:
    """The audited actions other than page views, with their details minus the session."""
    return [
        (entry.action, {k: v for k, v in entry.details.items() if k != "session"})
        for entry in audit_entries(session, sealed)
        if entry.action != "protection_view"
    ]


def intake_record(sealed: SealedCase) -> ProtectionRecord:
    return sealed.case.protections[0]


def step(
    client: FlaskClient, sealed: SealedCase, record_id: int, to: str, **fields: str
) -> TestResponse:
    return post(client, sealed, url(sealed, f"/{record_id}/state"), {"to": to, **fields})


def form_ids(html: str) -> set[str]:
    return set(re.findall(r'<form [^>]*id="([^"]+)"', html))


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["minh", "son", "admin"])
def test_without_a_wrap_every_address_is_404(
    client: FlaskClient, accounts: dict[str, Account], sealed: SealedCase, who: str
) -> None:
    signed_in(client, accounts[who])
    assert client.get(url(sealed)).status_code == 404
    token = csrf_token(client, "/")
    record = intake_record(sealed).id
    for path in (url(sealed, "/open"), url(sealed, f"/{record}/state"), incidents_url(sealed)):
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    unknown = "/cases/00000000-0000-4000-8000-000000000000/protection"
    assert client.get(unknown).status_code == 404


def test_signed_out_goes_to_login_and_posts_need_the_token(
    client: FlaskClient, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    response = client.get(url(sealed))
    assert response.status_code == 303
    assert "/login" in response.headers["Location"]
    signed_in(client, accounts["lan"])
    refused = client.post(url(sealed, "/open"), data={"person": "reporter", "category": "job"})
    assert refused.status_code == 400
    assert len(sealed.case.protections) == 1


def test_unknown_records_and_incidents_are_404(
    client: FlaskClient, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert step(client, sealed, 999_999, "under_review").status_code == 404
    response = post(client, sealed, incidents_url(sealed, "/999999/notes"), {"text": "x"})
    assert response.status_code == 404


# --- the page and the records ------------------------------------------------------------


def test_the_page_shows_the_intake_request_and_is_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["hoa"])
    page = client.get(url(sealed))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The reporter: Job and position at work" in html
    assert "Requested with the report." in html
    assert 'class="protection-state">requested</dd>' in html
    record = intake_record(sealed)
    # The profile's target for deciding, labelled as the unit's own, never as the law's.
    assert "Decision due (the unit's own target: the law asks for a prompt" in html
    assert 'class="decision-due"' in html
    # Only the allowed next state is offered.
    assert {f"state-{record.id}-{state}" for state in ("under_review",)} <= form_ids(html)
    assert f"state-{record.id}-active" not in form_ids(html)
    assert [(e.actor, e.action) for e in audit_entries(session, sealed)] == [
        ("hoa.thanh-tra-tinh", "protection_view")
    ]


def test_an_inspector_records_a_request(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    due = (unit_today() + timedelta(days=3)).isoformat()
    response = post(
        client,
        sealed,
        url(sealed, "/open"),
        {
            "person": "child",
            "category": "life_health",
            "relative": "Con gái út",
            "request": SECRET,
            "urgent": "1",
            "confirmation_due": due,
        },
    )
    assert response.status_code == 303
    fresh(session)
    record = session.scalars(
        select(ProtectionRecord).where(ProtectionRecord.person == ProtectedPerson.CHILD)
    ).one()
    assert response.headers["Location"].endswith(f"#record-{record.id}")
    assert (record.requested_by, record.urgent, record.written_confirmation_due.isoformat()) == (  # type: ignore[union-attr]
        Party.INSPECTOR,
        True,
        due,
    )
    assert record.details is not None
    assert SECRET.encode() not in record.details
    html = client.get(url(sealed)).get_data(as_text=True)
    assert SECRET in html
    assert "Con gái út" in html
    assert "The reporter&#39;s child: Life and health" in html
    assert "Written confirmation due (the unit's own target: the law sets no period)" in html
    assert changes(session, sealed) == [
        (
            "protection_open",
            {
                "protection_id": record.id,
                "person": "child",
                "category": "life_health",
                "urgent": True,
            },
        )
    ]
    for entry in audit_entries(session, sealed):
        assert SECRET not in str(entry.details)


def test_a_refused_request_keeps_what_was_typed(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    response = post(
        client,
        sealed,
        url(sealed, "/open"),
        {
            "person": "spouse",
            "category": "honour",
            "request": SECRET,
            "urgent": "1",
            "confirmation_due": "ngày mai",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter the date as day/month/year" in html
    assert f">{SECRET}</textarea>" in html
    assert 'id="open-confirmation_due" name="confirmation_due" value="ngày mai"' in html
    assert '<option value="spouse" selected>' in html
    assert 'id="open-urgent" name="urgent" value="1" checked' in html
    fresh(session)
    assert len(session.scalars(select(ProtectionRecord)).all()) == 1
    assert changes(session, sealed) == []


def test_a_record_moves_through_its_states_by_the_forms(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    record = intake_record(sealed).id
    assert step(client, sealed, record, "active").status_code == 400  # not from requested
    assert step(client, sealed, record, "under_review", note="Đang xem").status_code == 303
    # Active needs measures, a body and a start date; what was typed comes back.
    refused = step(client, sealed, record, "active", responsible_body="Công an tỉnh")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Fill in: Measures." in html
    assert 'aria-invalid="true"' in html
    assert 'name="responsible_body" value="Công an tỉnh" required' in html
    today = unit_today().isoformat()
    granted = step(
        client,
        sealed,
        record,
        "active",
        measures="Giữ bí mật danh tính",
        responsible_body="Công an tỉnh",
        started_on=today,
    )
    assert granted.status_code == 303
    html = client.get(url(sealed)).get_data(as_text=True)
    assert 'class="protection-state">active</dd>' in html
    assert "Giữ bí mật danh tính" in html
    assert {f"state-{record}-modified", f"state-{record}-ended"} <= form_ids(html)
    assert f"state-{record}-rejected" not in form_ids(html)
    assert "from requested to under review" in html
    assert 'id="state-' + str(record) + '-ended-end_ground"' in html
    assert "The grounds for the protection no longer exist (LTC Art. 54(2))" in html
    unsaid = step(client, sealed, record, "ended", ground="Hết nguy cơ")
    assert unsaid.status_code == 400
    assert "Choose the ground in law for ending it." in unsaid.get_data(as_text=True)
    ended = step(client, sealed, record, "ended", ground="Hết nguy cơ", end_ground="grounds_ceased")
    assert ended.status_code == 303
    html = client.get(url(sealed)).get_data(as_text=True)
    assert "Ground in law: The grounds for the protection no longer exist" in html
    fresh(session)
    stored = session.get(ProtectionRecord, record)
    assert stored is not None
    assert stored.state is ProtectionState.ENDED
    assert [action for action, _ in changes(session, sealed)] == ["protection_change"] * 3
    assert changes(session, sealed)[1][1] == {
        "protection_id": record,
        "from": "under_review",
        "to": "active",
    }
    html = client.get(url(sealed)).get_data(as_text=True)
    assert not any(form.startswith(f"state-{record}-") for form in form_ids(html))


def test_a_reporter_request_and_ask_show_up_and_can_be_answered(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    today, case = unit_today(), sealed.case
    person, category = ProtectedPerson.PARENT, ProtectionCategory.PROPERTY
    facts = entry_facts.protection_request(person, category, False)
    request = reporter_entry(session, case, sealed.keys, "protection-request", today, SECRET, facts)
    record = casework.request_by_reporter(session, case, person, category, False, request, today)
    session.commit()
    signed_in(client, accounts["lan"])
    html = client.get(url(sealed)).get_data(as_text=True)
    assert "The reporter&#39;s father or mother: Property" in html
    assert SECRET in html
    # Grant it, then the reporter asks to end it.
    lan = world.people["lan"]
    keys = world.staff_keys(session, case, "lan", today)
    for state, fields in [
        (ProtectionState.UNDER_REVIEW, casework.StepFields()),
        (
            ProtectionState.ACTIVE,
            casework.StepFields(measures="m", responsible_body="b", started_on=unit_today()),
        ),
    ]:
        casework.transition(session, record, keys, lan, state, fields, today, datetime.now(UTC))
    ask = entry_facts.protection_ask(record.id, "end")
    asked = reporter_entry(session, case, sealed.keys, "protection-ask", today, ASKED, ask)
    casework.reporter_asks(session, record, "end", asked, today)
    session.commit()
    html = client.get(url(sealed)).get_data(as_text=True)
    assert "Asks to end the protection" in html
    assert ASKED in html  # the reporter's words, from their transcript entry
    assert f'id="answer-{record.id}"' in html
    answered = post(client, sealed, url(sealed, f"/{record.id}/answer"), {"text": "Chưa thể"})
    assert answered.status_code == 303
    html = client.get(url(sealed)).get_data(as_text=True)
    assert f'id="answer-{record.id}"' not in html
    assert "Chưa thể" in html
    assert changes(session, sealed)[-1] == ("protection_answer", {"protection_id": record.id})
    # The answer is the unit's: not a transcript entry. The reporter's two entries are on
    # the case page, each under what it is.
    case_page = client.get(f"/cases/{sealed.case.public_id}").get_data(as_text=True)
    assert "Request for protection" in case_page
    assert "Request about protection in place" in case_page
    assert "Chưa thể" not in case_page


# --- incidents -----------------------------------------------------------------------------


def test_an_incident_is_logged_linked_and_noted(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    today = unit_today()
    future = post(
        client,
        sealed,
        incidents_url(sealed),
        {
            "kind": "demotion",
            "occurred_on": (today + timedelta(days=1)).isoformat(),
            "text": SECRET,
        },
    )
    assert future.status_code == 400
    assert "An incident cannot be in the future." in future.get_data(as_text=True)
    assert f">{SECRET}</textarea>" in future.get_data(as_text=True)
    logged = post(
        client,
        sealed,
        incidents_url(sealed),
        {
            "kind": "threat_to_life_or_health",
            "occurred_on": today.isoformat(),
            "text": SECRET,
            "protection": "new",
            "person": "reporter",
            "category": "life_health",
            "urgent": "1",
        },
    )
    assert logged.status_code == 303
    fresh(session)
    incident = session.scalars(select(RetaliationIncident)).one()
    assert incident.details is not None
    assert SECRET.encode() not in incident.details
    new_record = session.get(ProtectionRecord, incident.protection_id)
    assert new_record is not None
    assert (new_record.person, new_record.category, new_record.state) == (
        ProtectedPerson.REPORTER,
        ProtectionCategory.LIFE_HEALTH,
        ProtectionState.REQUESTED,
    )
    html = client.get(url(sealed)).get_data(as_text=True)
    assert SECRET in html
    assert "Threats to life or health" in html
    assert "by the unit" in html
    # A note, and a link to the intake's record instead.
    noted = post(
        client, sealed, incidents_url(sealed, f"/{incident.id}/notes"), {"text": "Đã báo công an"}
    )
    assert noted.status_code == 303
    empty = post(client, sealed, incidents_url(sealed, f"/{incident.id}/notes"), {"text": " "})
    assert empty.status_code == 400
    intake = intake_record(sealed).id
    linked = post(
        client, sealed, incidents_url(sealed, f"/{incident.id}/link"), {"protection": str(intake)}
    )
    assert linked.status_code == 303
    bad = post(client, sealed, incidents_url(sealed, f"/{incident.id}/link"), {"protection": "x"})
    assert bad.status_code == 400
    html = client.get(url(sealed)).get_data(as_text=True)
    assert "Đã báo công an" in html
    fresh(session)
    assert session.get(RetaliationIncident, incident.id).protection_id == intake  # type: ignore[union-attr]
    assert [action for action, _ in changes(session, sealed)] == [
        "incident_log",
        "incident_note",
        "incident_link",
    ]
    assert changes(session, sealed)[0][1] == {
        "incident_id": incident.id,
        "kind": "threat_to_life_or_health",
        "protection_id": new_record.id,
    }
    for entry in audit_entries(session, sealed):
        assert SECRET not in str(entry.details)
        assert "công an" not in str(entry.details)


def test_a_reporter_incident_and_its_later_note_show_up(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    today, case, kind = unit_today(), sealed.case, RetaliationKind.HARASSMENT
    facts = entry_facts.retaliation(kind, None)
    told = reporter_entry(session, case, sealed.keys, "retaliation", today, SECRET, facts)
    incident = followup.record_retaliation(session, case, kind, told, None, today)
    facts = entry_facts.retaliation_note(incident.id)
    more = reporter_entry(
        session, case, sealed.keys, "retaliation-note", today, "Lại bị gọi lên", facts
    )
    casework.add_reporter_note(session, incident, more, today)
    session.commit()
    signed_in(client, accounts["lan"])
    html = client.get(url(sealed)).get_data(as_text=True)
    assert SECRET in html
    assert "Lại bị gọi lên" in html
    assert "The reporter is waiting for the unit's response" in html
    case_page = client.get(f"/cases/{sealed.case.public_id}").get_data(as_text=True)
    assert case_page.count(SECRET) == 2  # under "Retaliation reported", and as an entry
    assert "Added to a retaliation report" in case_page


def test_hostile_text_renders_inert(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    signed_in(client, accounts["lan"])
    record = intake_record(sealed).id
    hostile = " ".join(XSS)
    assert step(client, sealed, record, "under_review").status_code == 303
    granted = step(
        client,
        sealed,
        record,
        "active",
        measures=hostile,
        responsible_body=hostile,
        started_on=unit_today().isoformat(),
    )
    assert granted.status_code == 303
    post(client, sealed, incidents_url(sealed), {"kind": "other", "text": hostile})
    html = client.get(url(sealed)).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for raw in ("<script", "<img src=x", '<a href="javascript'):
        assert raw not in html.lower()
    assert 'style="' not in html


def test_the_inbox_flags_an_urgent_request_until_it_is_taken_up(
    client: FlaskClient, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    reference = public_reference(sealed.case.public_id)
    assert reference in client.get("/cases?urgent=1").get_data(as_text=True)
    assert step(client, sealed, intake_record(sealed).id, "under_review").status_code == 303
    assert reference not in client.get("/cases?urgent=1").get_data(as_text=True)
    assert reference in client.get("/cases").get_data(as_text=True)


# --- a case forwarded away ------------------------------------------------------------------


def test_a_case_forwarded_away_is_read_only_on_the_protection_page(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    sealed: SealedCase,
    forwarded_away: World,
) -> None:
    record, state = intake_record(sealed).id, intake_record(sealed).state
    signed_in(client, accounts["lan"])
    page = client.get(url(sealed))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="forwarded-away"' in text
    assert form_ids(text) == set()  # no form acts on the case
    attempts = {
        url(sealed, "/open"): {"person": "reporter", "category": "job", "request": "Bảo vệ"},
        url(sealed, f"/{record}/state"): {"to": "under_review"},
        url(sealed, f"/{record}/answer"): {"text": "Đã nhận"},
        incidents_url(sealed): {"kind": "dismissal", "text": SECRET},
        incidents_url(sealed, "/1/notes"): {"text": "Ghi chú"},
        incidents_url(sealed, "/1/link"): {"protection": str(record)},
    }
    for path, data in attempts.items():
        response = post(client, sealed, path, data)
        assert response.status_code == 403, path
        assert "forwarded to another unit" in response.get_data(as_text=True)
    assert changes(session, sealed) == []
    assert session.scalars(select(RetaliationIncident)).all() == []
    assert [item.state for item in session.scalars(select(ProtectionRecord))] == [state]
