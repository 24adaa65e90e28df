"""Escalations to the head of the directly superior unit through the review app: the
superior's head demands a report, the resolving unit reports (sealed to that head), the
head answers (sealed to the reporter); every step audited, refused to anyone else."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import escalation, followup
from casework.hierarchy import set_superior
from casework.intake import public_reference
from review.views import escalations as escalation_views
from store.models import AuditEntry, Case, ProtectionState
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import (
    FAST,
    Account,
    asked_first,
    csrf_token,
    give_credentials,
    post_login,
)
from tests.worlds import World, build_world, reporter_entry

ON = date(2026, 12, 9)  # triage of a case received on 27 November was due 8 December
NOTE = "Quá hạn thụ lý mà chưa có quyết định"
REPORT = "Chậm do thiếu cán bộ <em>xác minh</em>"
ANSWER = "Đã yêu cầu thụ lý ngay"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(escalation_views, "unit_today", lambda: ON)


@pytest.fixture
def province(session: Session, world: World) -> World:
    superior = build_world(session, "uy-ban-tinh")
    superior.unit.name = "Ủy ban nhân dân tỉnh"
    set_superior(world.unit, superior.unit)
    session.commit()
    return superior


@pytest.fixture
def province_accounts(session: Session, province: World) -> dict[str, Account]:
    return give_credentials(session, province)


@pytest.fixture
def escalated(session: Session, world: World, province: World) -> SealedCase:
    sealed = seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})
    case = sealed.case
    for record in case.protections:  # the intake's urgent request is already being reviewed
        record.state = ProtectionState.UNDER_REVIEW
    entry = reporter_entry(session, case, sealed.keys, "escalation", ON, NOTE)
    followup.escalate(session, case, entry, ON)
    session.commit()
    return sealed


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


def post(client: FlaskClient, sealed: SealedCase, step: str, **form: str) -> tuple[int, str]:
    token = csrf_token(client, "/escalations")
    response = client.post(
        f"/escalations/{sealed.case.public_id}/{step}", data={"csrf_token": token, **form}
    )
    return response.status_code, unescape(response.get_data(as_text=True))


def page(client: FlaskClient) -> str:
    response = client.get("/escalations")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def stored(session: Session, sealed: SealedCase) -> Case:
    session.commit()
    session.expire_all()
    case = session.get(Case, sealed.case.id)
    assert case is not None
    return case


def actions(session: Session) -> list[str]:
    session.commit()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_superior_demands_the_unit_reports_and_the_head_answers(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    province_accounts: dict[str, Account],
    escalated: SealedCase,
) -> None:
    app = client.application
    head = signed_in(app.test_client(), province_accounts["hoa"])
    listing = page(head)
    assert f'id="escalation-{escalated.case.public_id}"' in listing
    assert "16 December 2026" in listing  # five working days from 9 December
    supervisor = signed_in(app.test_client(), province_accounts["son"])
    address = f"/escalations/{escalated.case.public_id}/demand"
    assert f'href="{address}"' in page(supervisor)  # a link: nothing happens yet
    text, _form = asked_first(supervisor, address, "demand")
    assert "The demand cannot be withdrawn." in text
    assert "escalation_demand" not in actions(session)
    assert post(supervisor, escalated, "demand")[0] == 303
    reference = public_reference(escalated.case.public_id)
    said = f"A report on case {reference} was demanded from {escalated.case.unit.name}."
    assert said in page(supervisor)
    assert post(supervisor, escalated, "demand")[0] == 409  # once
    assert supervisor.get(address).status_code == 409  # and not asked again

    handler = signed_in(app.test_client(), accounts["lan"])
    owed = page(handler)
    assert 'id="owed-heading"' in owed
    assert "report to Ủy ban nhân dân tỉnh" in owed
    code, problem = post(handler, escalated, "report", text="  ")
    assert code == 400
    assert "Write the report." in problem
    assert post(handler, escalated, "report", text=REPORT)[0] == 303
    case = stored(session, escalated)
    [report] = [e for e in case.events if e.kind == escalation.REPORT]
    assert report.grounds is not None
    assert REPORT.encode() not in report.grounds

    shown = page(head)
    assert REPORT in shown  # escaped on the page, whole once unescaped
    assert NOTE in shown  # the reporter's words, which only the unit could open
    assert "<em>" not in head.get("/escalations").get_data(as_text=True)
    code, problem = post(head, escalated, "answer", text="")
    assert code == 400
    assert 'id="problem"' in problem
    assert post(head, escalated, "answer", text=ANSWER)[0] == 303
    assert 'id="no-escalations"' in page(head)
    case = stored(session, escalated)
    assert case.urgent is False  # nothing else was pending
    [answer] = escalation.answers(case)
    reading = escalation.read_as_reporter(case, answer, escalated.keys.code.reporter_private_key())
    assert reading is not None
    assert reading.text() == ANSWER
    assert [a for a in actions(session) if a.startswith("escalation_")] == [
        "escalation_demand",
        "escalation_report",
        "escalation_answer",
    ]


def test_only_the_answering_units_heads_take_its_steps(
    client: FlaskClient,
    accounts: dict[str, Account],
    province_accounts: dict[str, Account],
    escalated: SealedCase,
) -> None:
    app = client.application
    own_head = signed_in(app.test_client(), accounts["hoa"])  # the case unit's custodian
    assert 'id="no-escalations"' in page(own_head)
    assert post(own_head, escalated, "demand")[0] == 404
    assert post(own_head, escalated, "answer", text=ANSWER)[0] == 404
    inspector = signed_in(app.test_client(), province_accounts["lan"])
    assert post(inspector, escalated, "demand")[0] == 403
    assert inspector.get(f"/escalations/{escalated.case.public_id}/demand").status_code == 403
    supervisor = signed_in(app.test_client(), province_accounts["son"])
    assert post(supervisor, escalated, "answer", text=ANSWER)[0] == 403
    assert post(inspector, escalated, "report", text=REPORT)[0] == 404  # not its case
    response = supervisor.post(f"/escalations/{escalated.case.public_id}/demand")
    assert response.status_code == 400  # no anti-forgery token
    admin = signed_in(app.test_client(), province_accounts["admin"])
    assert admin.get("/escalations").status_code == 403


def test_the_home_page_links_the_escalations_for_every_casework_role(
    client: FlaskClient, province_accounts: dict[str, Account]
) -> None:
    for name in ("lan", "hoa", "son"):
        person = signed_in(client.application.test_client(), province_accounts[name])
        assert 'id="escalations-link"' in person.get("/").get_data(as_text=True)
