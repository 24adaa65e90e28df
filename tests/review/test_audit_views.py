"""The audit trail of a case and of a person, for supervisors and custodians."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from casework import audit as audit_log
from casework.intake import public_reference
from review.views.audit import PAGE_SIZE
from store.models import AuditEntry, Case, CaseTransfer
from tests.review.conftest import Account, give_credentials, give_names, post_login
from tests.store.factories import add_case, add_unit
from tests.worlds import World, build_world

_ROW_SEQ = re.compile(r"<tr>\s*<td>(\d+)</td>")
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>**bold** [a](http://e.vn)'


@pytest.fixture
def case(session: Session, world: World) -> Case:
    case = add_case(session, world.unit)
    session.commit()
    return case


def record(
    session: Session,
    world: World,
    name: str,
    action: str,
    *,
    case_public_id: str | None = None,
    target: str | None = None,
    details: dict[str, str] | None = None,
) -> None:
    audit_log.append(
        session,
        actor=world.people[name],
        action=action,
        case_public_id=case_public_id,
        target=target,
        details=details,
    )
    session.commit()


def seqs(page: str) -> list[int]:
    return [int(seq) for seq in _ROW_SEQ.findall(page)]


def sign_in(client: FlaskClient, accounts: dict[str, Account], name: str) -> FlaskClient:
    assert post_login(client, accounts[name]).status_code == 303
    return client


@pytest.mark.parametrize("name", ["son", "hoa"])
def test_supervisors_and_custodians_see_the_audit_log(
    client: FlaskClient, accounts: dict[str, Account], world: World, name: str
) -> None:
    page = sign_in(client, accounts, name).get("/audit/").get_data(as_text=True)
    assert 'data-chain="ok"' in page
    for person in world.people.values():
        assert f"/audit/person/{person.id}" in page


@pytest.mark.parametrize("name", ["lan", "admin"])
def test_inspectors_and_admins_do_not(
    client: FlaskClient, accounts: dict[str, Account], world: World, case: Case, name: str
) -> None:
    sign_in(client, accounts, name)
    paths = ["/audit/", f"/audit/case/{case.public_id}", f"/audit/person/{world.people['lan'].id}"]
    for path in paths:
        assert client.get(path).status_code == 403, path


def test_the_audit_pages_need_a_session(client: FlaskClient) -> None:
    assert client.get("/audit/").status_code == 303


def test_the_trail_of_a_case_holds_its_entries_only(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    other = add_case(session, world.unit)
    session.commit()
    record(session, world, "lan", "case_opened", case_public_id=case.public_id)
    record(session, world, "minh", "case_opened", case_public_id=other.public_id)
    record(session, world, "hoa", "attachment_downloaded", case_public_id=case.public_id)

    page = sign_in(client, accounts, "son").get(f"/audit/case/{case.public_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "case_opened" in text
    assert "attachment_downloaded" in text
    assert world.people["minh"].username not in text
    assert 'data-chain="ok"' in text
    # Newest first: the download, then the opening (logins of son came in between).
    assert text.index("attachment_downloaded") < text.index("case_opened")


def test_cases_of_other_units_and_unknown_cases_are_not_found(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    foreign = add_case(session, add_unit(session, "other-unit"))
    session.commit()
    sign_in(client, accounts, "son")
    assert client.get(f"/audit/case/{foreign.public_id}").status_code == 404
    assert client.get("/audit/case/no-such-case").status_code == 404


def test_the_case_form_finds_a_case_or_says_why_not(
    client: FlaskClient, accounts: dict[str, Account], case: Case
) -> None:
    sign_in(client, accounts, "son")
    found = client.get("/audit/case", query_string={"case": f"  {case.public_id.upper()} "})
    assert found.status_code == 303
    assert found.headers["Location"].endswith(f"/audit/case/{case.public_id}")
    missing = client.get("/audit/case", query_string={"case": "1234"})
    text = missing.get_data(as_text=True)
    assert missing.status_code == 404
    assert "There is no case of your unit with this reference" in text
    assert 'aria-invalid="true"' in text
    assert 'value="1234"' in text


def test_the_trail_of_a_person_holds_what_they_did_and_what_was_done_to_them(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    lan = world.people["lan"]
    names = give_names(session, world)
    record(session, world, "lan", "case_open", case_public_id=case.public_id)
    record(session, world, "admin", "totp_reset", target=lan.username)
    record(session, world, "minh", "case_open", case_public_id=case.public_id)

    text = sign_in(client, accounts, "son").get(f"/audit/person/{lan.id}").get_data(as_text=True)
    assert "<td>Opened the case</td>" in text
    assert f"<td>Reset two-factor sign-in: {names['lan']}</td>" in text  # done to them
    assert f">{names['admin']}</a>" in text  # by whom, by name
    assert f"/audit/case/{case.public_id}" in text
    assert names["minh"] not in text
    assert client.get(f"/audit/person/{lan.id + 1000}").status_code == 404


def test_pages_go_back_in_time_by_keyset(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    for _ in range(PAGE_SIZE + 5):
        audit_log.append(
            session, actor=world.people["lan"], action="case_opened", case_public_id=case.public_id
        )
    session.commit()
    sign_in(client, accounts, "son")
    first = client.get(f"/audit/case/{case.public_id}").get_data(as_text=True)
    newest = seqs(first)
    assert len(newest) == PAGE_SIZE
    assert newest == sorted(newest, reverse=True)
    older_link = re.search(r'id="older" href="([^"]+)"', first)
    assert older_link
    second = client.get(older_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    older = seqs(second)
    assert len(older) == 5
    assert max(older) < min(newest)
    assert 'id="older"' not in second


def test_a_tampered_log_is_flagged_at_the_top_of_every_page(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    record(session, world, "lan", "case_opened", case_public_id=case.public_id)
    record(session, world, "lan", "attachment_downloaded", case_public_id=case.public_id)
    session.execute(
        update(AuditEntry).where(AuditEntry.action == "case_opened").values(action="nothing")
    )
    session.commit()
    sign_in(client, accounts, "son")
    for path in ("/audit/", f"/audit/case/{case.public_id}"):
        text = client.get(path).get_data(as_text=True)
        assert 'data-chain="broken"' in text
        assert "The first broken link is entry #1." in text
        assert 'role="alert"' in text


def test_recorded_text_renders_as_text_never_as_markup(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    record(
        session,
        world,
        "lan",
        "case_opened",
        case_public_id=case.public_id,
        target=PAYLOAD[:200],
        details={"note": PAYLOAD},
    )
    text = sign_in(client, accounts, "son").get(f"/audit/case/{case.public_id}")
    body = text.get_data(as_text=True)
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "<strong>bold" not in body
    assert "<b>bold" not in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    assert "**bold**" in body  # markdown stays literal


@pytest.mark.parametrize(
    ("name", "linked"), [("son", True), ("hoa", True), ("lan", False), ("admin", False)]
)
def test_home_links_to_the_audit_log_for_its_readers_only(
    client: FlaskClient, accounts: dict[str, Account], name: str, linked: bool
) -> None:
    page = sign_in(client, accounts, name).get("/").get_data(as_text=True)
    assert ('href="/audit/"' in page) is linked


# --- after a forward, each unit sees its own entries ---------------------------------------


@pytest.fixture
def commune(session: Session) -> World:
    return build_world(session, "ubnd-xa")


def forward_case(session: Session, case: Case, world: World, commune: World) -> None:
    """Move the case as a forward does: the row to the receiving unit, a record kept."""
    case.transfers.append(
        CaseTransfer(
            from_unit=world.unit,
            to_unit=commune.unit,
            inspector=world.people["lan"],
            forwarded_on=date(2026, 11, 30),
            sender_keeps_access=False,
        )
    )
    case.unit = commune.unit
    session.commit()


def test_after_a_forward_each_unit_sees_only_its_own_entries_of_the_case(
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    commune: World,
    case: Case,
) -> None:
    sender_reason = "Sender-Reason: cần xác minh nhân thân người tố cáo"
    record(session, world, "lan", "case_open", case_public_id=case.public_id)
    record(
        session,
        world,
        "hoa",
        "identity_open",
        case_public_id=case.public_id,
        details={"reason": sender_reason},
    )
    forward_case(session, case, world, commune)
    record(session, commune, "lan", "case_open", case_public_id=case.public_id)
    receiver_reason = "Receiver-Reason: đối chiếu với hồ sơ của huyện"
    record(
        session,
        commune,
        "hoa",
        "identity_open",
        case_public_id=case.public_id,
        details={"reason": receiver_reason},
    )
    names, commune_names = give_names(session, world), give_names(session, commune, " (xã)")
    commune_accounts = give_credentials(session, commune)
    receiving = sign_in(app.test_client(), commune_accounts, "son")
    sending = sign_in(app.test_client(), accounts, "son")

    received = receiving.get(f"/audit/case/{case.public_id}").get_data(as_text=True)
    assert receiver_reason in received
    assert f">{commune_names['lan']}</a>" in received
    for leaked in (sender_reason, f">{names['lan']}</a>", f">{names['hoa']}</a>"):
        assert leaked not in received
    openings = receiving.get("/audit/identity-openings").get_data(as_text=True)
    assert receiver_reason in openings
    assert sender_reason not in openings

    # The sending unit still answers for what its own people did before the forward.
    sent = sending.get(f"/audit/case/{case.public_id}")
    assert sent.status_code == 200
    sent_text = sent.get_data(as_text=True)
    assert sender_reason in sent_text
    assert f">{names['lan']}</a>" in sent_text
    for leaked in (receiver_reason, commune_names["lan"]):
        assert leaked not in sent_text
    found = sending.get("/audit/case", query_string={"case": case.public_id})
    assert found.status_code == 303


def test_a_persons_trail_leaves_out_what_another_unit_did_to_them(
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    commune: World,
    case: Case,
) -> None:
    lan = world.people["lan"]
    names, commune_names = give_names(session, world), give_names(session, commune, " (xã)")
    record(session, world, "hoa", "grant", case_public_id=case.public_id, target=lan.username)
    record(session, commune, "lan", "revoke", case_public_id=case.public_id, target=lan.username)
    text = sign_in(app.test_client(), accounts, "son").get(f"/audit/person/{lan.id}")
    page = text.get_data(as_text=True)
    assert f"<td>Gave access to the case: {names['lan']}</td>" in page
    assert "Revoked access" not in page
    assert commune_names["lan"] not in page


def test_the_trail_of_a_case_reads_in_words_under_its_reference(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World, case: Case
) -> None:
    names = give_names(session, world)
    record(
        session,
        world,
        "lan",
        "status_change",
        case_public_id=case.public_id,
        details={"status": "triage"},
    )
    record(session, world, "hoa", "a_future_action", case_public_id=case.public_id)
    text = sign_in(client, accounts, "son").get(f"/audit/case/{case.public_id}")
    page = text.get_data(as_text=True)
    reference = public_reference(case.public_id)
    assert f"<title>Audit trail of case {reference} ·" in page
    assert f"<h1>Audit trail of case {reference}</h1>" in page
    assert case.public_id not in page.split("<main", 1)[1].split("Older entries")[0].replace(
        f"/audit/case/{case.public_id}", ""
    )  # no UUID shown, only in addresses
    assert "<td>Changed the status</td>" in page
    assert "<dt>Status</dt><dd>Triage</dd>" in page  # the status in words, not "triage"
    assert "<td><code>a_future_action</code></td>" in page  # unknown yet: shown as stored
    assert f">{names['lan']}</a>" in page
    assert accounts["lan"].username not in page
    headers = re.findall(r'<th scope="col">([^<]+)</th>', page)
    assert headers == ["No.", "When", "Who", "What", "Details"]  # no case column, no empty one


def test_the_case_form_takes_the_reference_shown_on_the_case(
    client: FlaskClient, accounts: dict[str, Account], case: Case
) -> None:
    sign_in(client, accounts, "son")
    typed = f" {public_reference(case.public_id).lower()} "
    found = client.get("/audit/case", query_string={"case": typed})
    assert found.status_code == 303
    assert found.headers["Location"].endswith(f"/audit/case/{case.public_id}")
    unknown = client.get("/audit/case", query_string={"case": "MB-00000000"})
    assert unknown.status_code == 404
