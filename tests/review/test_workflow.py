"""Decisions and deadlines through the review app: steps, refusals, extensions, forwards."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import access, protection, transcript, workflow
from casework.intake import public_reference
from casework.profiles import BUILT_IN, ENVIRONMENT_FOLDER
from casework.records import CaseKeys, Trust
from casework.settings import Settings
from crypto import bound
from crypto.transcript import Position
from review import create_app
from review import labels as review_labels
from review.views import workflow as workflow_views
from store.models import (
    AuditEntry,
    Case,
    CaseTransfer,
    Inspector,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RecipientKind,
    WrapPurpose,
)
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
from web import labels as shared_labels

TODAY = date(2026, 11, 30)  # a Monday; the case arrived on Friday 27 November
GROUNDS = "Đủ điều kiện thụ lý <b>theo Điều 29</b>"
NOW = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflow_views, "unit_today", lambda: TODAY)


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


def page_of(client: FlaskClient, sealed: SealedCase) -> str:
    response = client.get(f"/cases/{sealed.case.public_id}/workflow")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post(
    client: FlaskClient, sealed: SealedCase, action: str, **form: str | list[str]
) -> tuple[int, str]:
    token = csrf_token(client, f"/cases/{sealed.case.public_id}/workflow")
    response = client.post(
        f"/cases/{sealed.case.public_id}/{action}", data={"csrf_token": token, **form}
    )
    return response.status_code, response.get_data(as_text=True)


def stored(session: Session, sealed: SealedCase) -> Case:
    session.commit()  # ends the test's read transaction: SQLite shows it its snapshot
    session.expire_all()
    case = session.get(Case, sealed.case.id)
    assert case is not None
    return case


def actions(session: Session, sealed: SealedCase) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.case_public_id == sealed.case.public_id)
            .order_by(AuditEntry.seq)
        )
    )


def test_the_page_shows_status_rules_deadlines_and_the_allowed_steps(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    html = page_of(signed_in(client, accounts["lan"]), named)
    assert 'id="current-status">Received, not yet read</dd>' in html
    assert "Law on Denunciation 2018 (Viet Nam)" in html
    # Seven working days from Friday 27 November 2026.
    assert "Decision on accepting the report" in html
    assert "8 December 2026" in html
    for status in ("triage", "accepted", "not_accepted"):
        assert f'id="status-{status}"' in html
    assert 'id="forward-heading"' in html  # forwarding has its own page, linked from here
    assert 'id="status-concluded"' not in html


def test_each_deadline_names_the_rule_it_comes_from(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    case = stored(session, named)
    case.unit.profile = "eu-2019-1937"
    workflow.refresh(case, case.received_on)
    session.commit()
    html = page_of(signed_in(client, accounts["lan"]), named)
    row = html[html.index('id="deadline-acknowledgement"') :]
    assert "Law" in row[: row.index("</tr>")]
    assert "Directive (EU) 2019/1937, Art. 9(1)(b)" in row[: row.index("</tr>")]


def test_a_decision_is_recorded_with_sealed_grounds_and_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    code, _ = post(client, named, "status", status="accepted", grounds=GROUNDS)
    assert code == 303
    case = stored(session, named)
    assert case.status == "accepted"
    [_verified, event] = case.events
    assert event.inspector_id == accounts["lan"].inspector_id
    assert event.grounds is not None
    assert GROUNDS.encode() not in event.grounds
    assert "Đủ điều kiện".encode() not in event.grounds
    assert {d["key"] for d in case.deadlines} == {"notification", "accused_notice", "resolution"}
    html = page_of(client, named)
    assert "Đủ điều kiện thụ lý &lt;b&gt;theo Điều 29&lt;/b&gt;" in html  # decrypted, escaped
    assert "status_change" in actions(session, named)


def test_a_refused_step_explains_and_keeps_what_was_typed(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    code, html = post(client, named, "status", status="concluded", grounds="kết luận vội")
    assert code == 400
    assert "cannot take that step from its present status" in html
    assert "kết luận vội</textarea>" in html
    code, html = post(client, named, "status", status="not_accepted", grounds="  ")
    assert code == 400
    assert "needs written grounds" in html
    assert stored(session, named).status == "received"


def test_triage_can_be_extended_once(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert post(client, named, "extend", deadline="triage", grounds="Nhiều địa điểm")[0] == 303
    [triage] = workflow.current_deadlines(stored(session, named))
    assert (triage.due_on, triage.extensions) == (date(2026, 12, 11), 1)
    code, html = post(client, named, "extend", deadline="triage", grounds="Lần nữa")
    assert code == 400
    assert "as often as the law allows" in html
    assert actions(session, named).count("deadline_extension") == 1


def audit_details(session: Session, sealed: SealedCase, action: str) -> list[dict[str, object]]:
    """What the audit entries of ``action`` say, without the session they were written in."""
    stored(session, sealed)  # a fresh snapshot
    return [
        {key: value for key, value in entry.details.items() if key != "session"}
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.case_public_id == sealed.case.public_id, AuditEntry.action == action)
            .order_by(AuditEntry.seq)
        )
    ]


def test_an_extension_of_the_resolution_names_the_criteria_of_article_3(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    for status in ("accepted", "verifying"):
        assert post(client, named, "status", status=status, grounds=GROUNDS)[0] == 303
    page = page_of(client, named)
    assert 'id="extend-nd31-art3"' in page
    assert "Two or more matters reported that must each be verified" in page
    assert "(NĐ31 Art. 3(2)(b))" in page
    code, html = post(client, named, "extend", deadline="resolution", grounds="Phức tạp")
    assert code == 400
    assert "at least one for a first extension, at least two for a second" in html
    assert "Phức tạp</textarea>" in html
    code, _ = post(
        client, named, "extend", deadline="resolution", grounds="Phức tạp",
        legal_grounds=["several_contents"],
    )  # fmt: skip
    assert code == 303
    case = stored(session, named)
    assert case.events[-1].data == {"deadline": "resolution", "legal_grounds": ["several_contents"]}
    assert "extension_notice" in {d["key"] for d in case.deadlines}
    # The second needs two: one is refused and stays ticked.
    code, html = post(
        client, named, "extend", deadline="resolution", grounds="Đặc biệt phức tạp",
        legal_grounds=["several_places"],
    )  # fmt: skip
    assert code == 400
    assert 'value="several_places" aria-describedby="extend-nd31-art3-hint" checked' in html
    assert audit_details(session, named, "deadline_extension") == [
        {"deadline": "resolution", "legal_grounds": ["several_contents"]}
    ]
    page = page_of(client, named)
    history = page[page.index('id="history"') :]
    assert "Two or more matters reported that must each be verified" in history
    assert 'id="record-extension_notification"' in page
    assert post(client, named, "record", kind="extension_notification", grounds="")[0] == 303
    assert "extension_notice" not in {d["key"] for d in stored(session, named).deadlines}


def test_a_suspension_is_decided_on_a_ground_of_article_34_and_notified(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    for status in ("accepted", "verifying"):
        assert post(client, named, "status", status=status, grounds=GROUNDS)[0] == 303
    page = page_of(client, named)
    assert 'id="status-ltc-art34"' in page
    assert "Waiting for the result of a further or repeated expert examination" in page
    code, html = post(client, named, "status", status="suspended", grounds="Chờ giám định")
    assert code == 400
    assert "Tick at least one of the grounds the law gives for this decision." in html
    assert stored(session, named).status == "verifying"
    code, _ = post(
        client, named, "status", status="suspended", grounds="Chờ giám định",
        legal_grounds=["awaiting_expert_result"],
    )  # fmt: skip
    assert code == 303
    assert audit_details(session, named, "status_change")[-1] == {
        "status": "suspended",
        "legal_grounds": ["awaiting_expert_result"],
    }
    assert "suspension_notice" in {d["key"] for d in stored(session, named).deadlines}
    assert 'id="resume-at-once"' in page_of(client, named)
    # Grounds ticked for a step not taken on them are refused, not silently dropped.
    code, html = post(
        client, named, "status", status="verifying", grounds="Đã có kết quả",
        legal_grounds=["awaiting_expert_result"],
    )  # fmt: skip
    assert code == 400
    assert "only for a decision that is taken on them" in html
    assert post(client, named, "status", status="verifying", grounds="Đã có kết quả")[0] == 303
    keys = {d["key"] for d in stored(session, named).deadlines}
    assert {"suspension_notice", "resumption_notice"} <= keys


def test_a_partial_withdrawal_in_writing_is_recorded_sealed_and_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert post(client, named, "status", status="accepted", grounds=GROUNDS)[0] == 303
    page = page_of(client, named)
    assert 'id="partial"' in page
    code, html = post(client, named, "partial-withdrawal", grounds="  ")
    assert code == 400
    assert "needs written grounds" in html
    withdrawn = "Rút nội dung thứ hai theo đơn ngày 1/12"
    assert post(client, named, "partial-withdrawal", grounds=withdrawn)[0] == 303
    case = stored(session, named)
    assert case.status == "accepted"
    event = case.events[-1]
    assert (event.kind, event.to_status) == ("partial_withdrawal", None)
    assert event.grounds is not None
    assert withdrawn.encode() not in event.grounds
    assert {d["key"] for d in case.deadlines} == {"notification", "accused_notice", "resolution"}
    assert audit_details(session, named, "event_record") == [{"kind": "partial_withdrawal"}]
    history = page_of(client, named)
    history = history[history.index('id="history"') :]
    assert "Part of the report withdrawn" in history
    assert withdrawn in history


def test_after_a_full_withdrawal_the_unit_terminates_or_goes_on_on_a_ground_of_article_33(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert post(client, named, "status", status="accepted", grounds=GROUNDS)[0] == 303
    case = stored(session, named)
    entry = reporter_entry(session, case, named.keys, "withdrawal", TODAY, "Tôi rút đơn")
    workflow.transition(case, "withdrawn", today=TODAY, entry=entry)
    session.commit()
    page = page_of(client, named)
    assert 'id="partial"' not in page  # nothing left to withdraw in part
    assert 'id="status-terminated"' in page
    assert 'id="status-ltc-art33-3"' in page
    assert "The reporter withdrew under threat or after being bribed" in page
    assert "Decision on the withdrawn report" in page
    code, _ = post(
        client, named, "status", status="verifying", grounds="Vẫn có dấu hiệu vi phạm",
        legal_grounds=["signs_of_violation"],
    )  # fmt: skip
    assert code == 303
    case = stored(session, named)
    assert case.status == "verifying"
    assert case.events[-1].data == {"legal_grounds": ["signs_of_violation"]}


def test_a_named_web_report_is_formal_once_the_unit_records_the_verified_identity(
    client: FlaskClient, session: Session, world: World, accounts: dict[str, Account]
) -> None:
    unverified = seal_case(session, world, FAST, identity={"name": "Lê Thị D"}, verified=False)
    signed_in(client, accounts["lan"])
    page = page_of(client, unverified)
    assert 'id="awaiting-verification"' in page
    assert 'id="identity"' in page
    assert 'id="status-accepted"' not in page  # the unsigned report's steps only
    assert 'id="status-verifying"' in page
    assert "Decision on an anonymous report (the unit&#39;s target)" in page
    code, html = post(client, unverified, "identity-verification", means="by magic")
    assert code == 400
    assert "Choose how the reporter&#39;s identity was verified." in html
    note = "Biên bản tiếp công dân số 12"
    code, _ = post(client, unverified, "identity-verification", means="in_person", grounds=note)
    assert code == 303
    case = stored(session, unverified)
    [event] = case.events
    assert (event.kind, event.data, event.inspector_id) == (
        "identity_verification",
        {"means": "in_person"},
        accounts["lan"].inspector_id,
    )
    assert event.grounds is not None
    assert note.encode() not in event.grounds
    assert {d["key"] for d in case.deadlines} == {"triage"}
    assert audit_details(session, unverified, "event_record") == [
        {"kind": "identity_verification", "means": "in_person"}
    ]
    page = page_of(client, unverified)
    assert 'id="awaiting-verification"' not in page
    assert 'id="identity"' not in page
    assert 'id="status-accepted"' in page
    history = page[page.index('id="history"') :]
    assert "Reporter&#39;s identity verified" in history
    assert "(In person)" in history
    assert note in history


def test_concluding_a_case_ends_its_running_protection_and_audits_it(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    """LTC Art. 54(2): protection ends at the conclusion, recorded as an ordinary step."""
    case = stored(session, named)
    keys = world.staff_keys(session, case, "lan", case.received_on)
    lan = world.people["lan"]
    record = protection.open_by_inspector(
        session, case, keys, lan, ProtectedPerson.REPORTER, ProtectionCategory.LIFE_HEALTH,
        False, protection.RequestDetails(relative="", request="Bị đe dọa"), case.received_on,
        NOW, None,
    )  # fmt: skip
    fields = protection.StepFields(measures="Giữ bí mật", responsible_body="Công an tỉnh",
                                   started_on=case.received_on)  # fmt: skip
    for state in (ProtectionState.UNDER_REVIEW, ProtectionState.ACTIVE):
        protection.transition(session, record, keys, lan, state, fields, case.received_on, NOW)
    session.commit()
    record_id = record.id
    others = {r.id: r.state for r in case.protections if r.id != record_id}
    signed_in(client, accounts["lan"])
    for status in ("accepted", "verifying"):
        assert post(client, named, "status", status=status, grounds=GROUNDS)[0] == 303
    assert session.get(ProtectionRecord, record_id).state is ProtectionState.ACTIVE  # type: ignore[union-attr]
    assert post(client, named, "status", status="concluded", grounds=GROUNDS)[0] == 303
    stored(session, named)
    ended = session.get(ProtectionRecord, record_id)
    assert ended is not None
    assert ended.state is ProtectionState.ENDED
    assert {r.id: r.state for r in ended.case.protections if r.id != record_id} == others
    ground = protection.open_details(keys, ended)["ground"]
    assert ground == (
        "Ended with the case, which is now: Concluded (Law on Denunciation, Art. 54(2))."
    )
    assert actions(session, named)[-1] == "protection_change"


def test_a_notice_is_recorded_once_it_is_due(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert 'id="record-notification"' not in page_of(client, named)
    post(client, named, "status", status="accepted", grounds=GROUNDS)
    page = page_of(client, named)
    assert 'id="record-notification"' in page
    assert 'id="record-accused_notification"' in page
    assert "Person accused notified of the acceptance" in page
    assert post(client, named, "record", kind="notification", grounds="")[0] == 303
    assert {d["key"] for d in stored(session, named).deadlines} == {"accused_notice", "resolution"}
    assert post(client, named, "record", kind="accused_notification", grounds="")[0] == 303
    assert {d["key"] for d in stored(session, named).deadlines} == {"resolution"}


def test_steps_need_the_anti_forgery_token(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    response = client.post(
        f"/cases/{named.case.public_id}/status", data={"status": "triage", "grounds": "x"}
    )
    assert response.status_code == 400
    assert stored(session, named).status == "received"


def test_people_without_the_case_key_see_nothing(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["son"])  # a supervisor: no case keys
    assert client.get(f"/cases/{named.case.public_id}/workflow").status_code == 404


def test_forwarding_moves_the_case_and_the_sender_keeps_a_record(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    commune = build_world(session, "ubnd-xa")
    commune.unit.name = "Ủy ban nhân dân xã"
    commune_accounts = give_credentials(session, commune)
    signed_in(client, accounts["lan"])
    code, _ = post(client, named, "forward", unit="ubnd-xa", grounds="Thuộc thẩm quyền")
    assert code == 303
    case = stored(session, named)
    assert (case.unit_id, case.status) == (commune.unit.id, "received")
    listing = client.get("/forwarded").get_data(as_text=True)
    assert "Ủy ban nhân dân xã" in listing
    said = re.search(r'role="status" id="done">\s*<p>([^<]+)</p>', listing)
    assert said is not None
    reference = public_reference(named.case.public_id)
    assert unescape(said.group(1)) == f"Case {reference} was forwarded to Ủy ban nhân dân xã."
    assert 'id="done"' not in client.get("/forwarded").get_data(as_text=True)  # said once
    assert client.get(f"/cases/{named.case.public_id}/workflow").status_code == 404
    assert session.scalar(select(CaseTransfer.to_unit_id)) == commune.unit.id
    other: Flask = create_app(settings)
    receiver = signed_in(other.test_client(), commune_accounts["lan"])
    html = page_of(receiver, named)
    assert "Thuộc thẩm quyền" in html  # the grounds travel with the unit key
    assert "case_forward" in actions(session, named)


def test_forwarding_is_asked_on_a_page_of_its_own_and_a_get_changes_nothing(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    build_world(session, "ubnd-xa")
    signed_in(client, accounts["hoa"])
    forward_url = f"/cases/{named.case.public_id}/forward"
    html = page_of(client, named)
    assert f'href="{forward_url}" id="forward-link"' in html  # a link: nothing happens yet
    assert f'action="{forward_url}"' not in html
    text, inside = asked_first(client, forward_url, "forward")
    assert "Your unit can no longer take any step on the case." in text
    assert 'id="forward-identity"' in inside  # a custodian holding the identity
    assert stored(session, named).status == "received"
    assert "case_forward" not in actions(session, named)


def test_a_forward_without_grounds_comes_back_with_what_was_chosen(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    build_world(session, "ubnd-xa")
    signed_in(client, accounts["hoa"])
    notice = "Đơn của ông/bà đã được chuyển"
    code, html = post(client, named, "forward", unit="ubnd-xa", identity="yes", notice=notice)
    assert code == 400
    assert '<a href="#forward-grounds">Write the grounds for forwarding the case.</a>' in html
    assert '<option value="ubnd-xa" selected>' in html
    assert 'name="identity" value="yes" checked' in html
    assert notice in unescape(html)
    code, html = post(client, named, "forward", unit="nowhere", grounds="Thuộc thẩm quyền")
    assert code == 400
    assert '<a href="#forward-unit">Choose the unit to forward the case to.</a>' in html
    assert stored(session, named).status == "received"


def test_a_case_that_cannot_be_forwarded_now_has_no_forward_page(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    build_world(session, "ubnd-xa")
    stored(session, named).status = "concluded"
    session.commit()
    signed_in(client, accounts["lan"])
    response = client.get(f"/cases/{named.case.public_id}/forward")
    assert response.status_code == 400
    assert "The case cannot take that step from its present status." in response.get_data(
        as_text=True
    )


def test_the_status_form_cannot_forward_without_moving_the_keys(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert 'id="status-forwarded"' not in page_of(client, named)
    code, html = post(client, named, "status", status="forwarded", grounds="Chuyển đơn")
    assert code == 400
    assert "Forward to the competent body" in html
    assert stored(session, named).status == "received"


def test_the_rules_are_named_in_the_language_chosen(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    client.get("/language/vi?next=/")
    html = page_of(client, named)
    assert "Luật Tố cáo 2018 (Việt Nam)" in html
    assert "Law on Denunciation 2018" not in html


def test_a_status_only_a_profile_file_knows_is_shown_in_its_own_words(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (BUILT_IN / "vn-denunciation-2018.toml").read_text(encoding="utf-8")
    text = text.replace('name = "vn-denunciation-2018"', 'name = "vn-test-labels"').replace(
        "received = {}", 'received = {}\nlodged = { label = { en = "Lodged", vi = "Đã nộp" } }'
    )
    (tmp_path / "vn-test-labels.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT_FOLDER, str(tmp_path))
    with app.test_request_context():
        assert app.jinja_env.globals["status_label"] is review_labels.status_label
        assert review_labels.status_label("lodged") == "Lodged"
        assert shared_labels.status_label("lodged") == "Lodged"  # the public side's
        assert review_labels.status_label("unknown-status") == "unknown-status"


# --- a notice to the reporter, and grounds only the unit reads (docs/crypto.md §13.1) ---------

NOTICE = "Đơn của anh/chị đã được thụ lý <i>theo Điều 29</i>."
DONE = "Đã gửi thông báo thụ lý."


def the_reporters_case_key(case: Case, sealed: SealedCase) -> bytes:
    """What the follow-up code opens: the case key, from the reporter's own wrap."""
    [wrap] = [
        w
        for w in case.key_wraps
        if w.recipient_kind is RecipientKind.REPORTER and w.purpose is WrapPurpose.CASE_KEY
    ]
    reporter = sealed.keys.code.reporter_private_key()
    return crypto.unwrap(wrap.wrapped, reporter, crypto.Purpose.CASE_KEY, case.public_id)


def test_the_grounds_hint_says_the_reporters_code_does_not_open_them(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    html = unescape(page_of(signed_in(client, accounts["lan"]), named))
    hint = re.search(r'<span class="hint" id="status-grounds-hint">(.*?)</span>', html, re.S)
    assert hint is not None
    assert (
        "For the unit only: sealed under the case's unit key, which the people who can read "
        "the case hold and the reporter's code does not open."
    ) in hint.group(1)
    assert "Sealed under the case key" not in html
    for form in ("status", "extend"):
        assert f'id="{form}-grounds-hint"' in html
    assert 'id="status-notice" name="notice"' in html
    assert "The reporter reads it with their code" in html


def test_a_notice_reaches_the_reporter_and_the_grounds_stay_the_units(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    signed_in(client, accounts["lan"])
    code, _ = post(client, named, "status", status="accepted", grounds=GROUNDS, notice=NOTICE)
    assert code == 303
    assert post(client, named, "record", kind="notification", notice=DONE)[0] == 303
    case = stored(session, named)
    lan = world.people["lan"]
    assert [(m.seq, m.purpose, m.author, m.inspector_id) for m in case.messages] == [
        (1, "notice", Party.INSPECTOR, lan.id),
        (2, "notice", Party.INSPECTOR, lan.id),
    ]
    # The reporter's code opens both notices, signed by lan and in order.
    case_key = the_reporters_case_key(case, named)
    entries = [item for item in transcript.read_checked(case, case_key) if item.message]
    assert [item.reading.text() for item in entries] == [NOTICE, DONE]
    assert {item.reading.trust for item in entries} == {Trust.SIGNED}
    assert {item.position for item in entries} == {Position.IN_ORDER}
    # The grounds do not open with the case key, only with the unit key.
    [_verified, decision, _recorded] = case.events
    assert decision.grounds is not None
    lan_key = session.get_one(Inspector, lan.id).signing_key
    assert lan_key is not None
    with pytest.raises(crypto.DecryptionFailed):
        bound.open_bound(case_key, crypto.Kind.NOTE, decision.grounds, lan_key)
    as_reporter = CaseKeys(case=case_key).open_note(case, decision, "grounds", "grounds")
    assert as_reporter is not None
    assert as_reporter.altered
    reader = access.reader_keys(case, lan, world.key_of("lan"))
    reading = reader.open_note(case, decision, "grounds", "grounds")
    assert reading is not None
    assert (reading.text(), reading.trust) == (GROUNDS, Trust.SIGNED)
    assert NOTICE.encode() not in decision.grounds
    # Both read on the review app's pages, each where it belongs, escaped.
    html = page_of(client, named)
    assert "Đủ điều kiện thụ lý &lt;b&gt;theo Điều 29&lt;/b&gt;" in html
    case_page = client.get(f"/cases/{named.case.public_id}").get_data(as_text=True)
    assert "Đơn của anh/chị đã được thụ lý &lt;i&gt;theo Điều 29&lt;/i&gt;." in case_page
    assert case_page.count("Notice to the reporter") == 2
    assert actions(session, named).count("status_change") == 1


def test_without_a_notice_nothing_is_written_to_the_reporter(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert post(client, named, "status", status="triage", grounds="", notice=" \r\n ")[0] == 303
    case = stored(session, named)
    assert case.status == "triage"
    assert case.messages == []


def test_a_refused_step_writes_no_notice_and_keeps_it(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    code, html = post(client, named, "status", status="not_accepted", grounds=" ", notice=NOTICE)
    assert code == 400
    assert "needs written grounds" in html
    assert "Đơn của anh/chị đã được thụ lý &lt;i&gt;theo Điều 29&lt;/i&gt;.</textarea>" in html
    too_long = "x" * 20_001
    code, _ = post(client, named, "status", status="triage", grounds=GROUNDS, notice=too_long)
    assert code == 400
    case = stored(session, named)
    assert case.status == "received"
    assert case.messages == []
    assert [e.kind for e in case.events] == ["identity_verification"]  # nothing more


def test_grounds_altered_in_storage_are_said_so_on_the_history(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert post(client, named, "status", status="triage", grounds="Cần xác minh")[0] == 303
    assert post(client, named, "status", status="accepted", grounds=GROUNDS)[0] == 303
    _verified, first, second = stored(session, named).events
    assert first.grounds is not None
    assert second.grounds is not None
    # One byte of the first step's grounds changed: its signature no longer holds.
    first.grounds = first.grounds[:-1] + bytes([first.grounds[-1] ^ 1])
    session.commit()
    html = page_of(client, named)
    assert "This record was altered in storage" in html
    assert "Cần xác minh" not in html
    assert "Đủ điều kiện thụ lý" in html  # the other step's grounds still read
