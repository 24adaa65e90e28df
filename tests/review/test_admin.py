"""Administrators' account management: list, enrol, deactivate, reset TOTP."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import keyrings, recipients
from casework.keyrings import KeyringAction, keyring_of
from store.models import AuditEntry, Inspector, InspectorRole, Unit
from tests.review.conftest import Account, Clock, csrf_token, post_login
from tests.store.factories import add_inspector, add_unit
from tests.worlds import World

PASSPHRASE = "mật khẩu ban đầu của Tâm"
_RECOVERY = re.compile(r'id="recovery-code">([^<]+)<')
_URI = re.compile(r'id="totp-uri">([^<]+)<')


def entries(session: Session, action: str) -> list[AuditEntry]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def account(session: Session, username: str) -> Inspector:
    session.rollback()
    session.expire_all()
    found = session.scalar(select(Inspector).where(Inspector.username == username))
    assert found is not None, username
    return found


@pytest.fixture
def admin(client: FlaskClient, accounts: dict[str, Account], clock: Clock) -> FlaskClient:
    assert post_login(client, accounts["admin"], at=clock.now).status_code == 303
    return client


def enrol(client: FlaskClient, **fields: str) -> tuple[int, str]:
    data = {
        "csrf_token": csrf_token(client, "/admin/people/new"),
        "display_name": "Trần Văn Tâm",
        "username": "Tam.Tran",
        "role": "inspector",
        "new": PASSPHRASE,
        "confirm": PASSPHRASE,
        **fields,
    }
    response = client.post("/admin/people/new", data=data)
    return response.status_code, response.get_data(as_text=True)


def confirm_post(
    client: FlaskClient, path: str, passphrase: str, person_id: int
) -> tuple[int, str]:
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, f"/admin/people/{person_id}"),
            "confirm_passphrase": passphrase,
        },
    )
    return response.status_code, response.get_data(as_text=True)


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lan", "hoa", "son"])
def test_only_administrators_reach_the_admin_pages(
    client: FlaskClient, accounts: dict[str, Account], world: World, name: str
) -> None:
    post_login(client, accounts[name])
    lan_id = world.people["lan"].id
    for path in ("/admin/people", "/admin/people/new", f"/admin/people/{lan_id}"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/")
    for path in (f"/admin/people/{lan_id}/deactivate", f"/admin/people/{lan_id}/reset-totp"):
        response = client.post(path, data={"csrf_token": token, "confirm_passphrase": "x"})
        assert response.status_code == 403, path
    assert client.post("/admin/people/new", data={"csrf_token": token}).status_code == 403


def test_admin_pages_need_a_session(client: FlaskClient) -> None:
    response = client.get("/admin/people")
    assert response.status_code == 303
    assert "/login" in response.headers["Location"]


def test_accounts_of_another_unit_are_not_found(
    admin: FlaskClient, session: Session, accounts: dict[str, Account]
) -> None:
    stranger = add_inspector(session, add_unit(session, "other-unit"), "stranger")
    session.commit()
    assert admin.get(f"/admin/people/{stranger.id}").status_code == 404
    status, _page = confirm_post(
        admin, f"/admin/people/{stranger.id}/deactivate", accounts["admin"].passphrase, 1
    )
    assert status == 404
    assert account(session, "stranger").active


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_the_units_people(admin: FlaskClient, world: World) -> None:
    page = admin.get("/admin/people").get_data(as_text=True)
    for person in world.people.values():
        assert person.username in page
        assert crypto.fingerprint(person.public_key) in page
    assert page.count("<tr>") == len(world.people) + 1  # one row each, plus the header


# --- enrolment ------------------------------------------------------------------------------


def test_enrolment_stores_a_keyring_that_opens_three_ways_and_shows_its_secrets_once(
    admin: FlaskClient, session: Session, world: World
) -> None:
    status, page = enrol(admin)
    assert status == 200, page
    person = account(session, "tam.tran")
    assert person is not None
    assert (person.display_name, person.role, person.active) == (
        "Trần Văn Tâm",
        InspectorRole.INSPECTOR,
        True,
    )
    keyring = keyring_of(person)
    code_match, uri_match = _RECOVERY.search(page), _URI.search(page)
    assert code_match
    assert uri_match
    code = crypto.RecoveryCode.parse(code_match.group(1))
    for private_key in (
        keyring.unlock(PASSPHRASE),
        keyring.recover(code),
        keyring.recover_with_escrow(world.escrow),
    ):
        assert crypto.public_bytes(private_key) == person.public_key
    totp = pyotp.parse_uri(html.unescape(uri_match.group(1)))
    assert isinstance(totp, pyotp.TOTP)
    assert totp.secret == person.totp_secret
    assert totp.name == f"tam.tran@{world.unit.slug}"

    # The QR code is inline SVG that the strict CSP allows: no style, no script.
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "<path" in svg
    for forbidden in ("style", "script", " on"):
        assert forbidden not in svg.lower()
    assert PASSPHRASE not in page
    assert crypto.fingerprint(person.public_key) in page

    # Shown once: no later page holds the secrets.
    later = admin.get(f"/admin/people/{person.id}").get_data(as_text=True)
    later += admin.get("/admin/people").get_data(as_text=True)
    for secret in (code.display(), person.totp_secret):
        assert secret not in later
    [entry] = entries(session, KeyringAction.ENROLLED)
    assert (entry.actor, entry.target, entry.details["role"]) == (
        "admin.thanh-tra-tinh",
        "tam.tran",
        "inspector",
    )
    logged = f"{entry.details}{entry.target}"
    for secret in (PASSPHRASE, code.display(), person.totp_secret):
        assert secret not in logged


def test_the_new_account_signs_in_and_gets_case_keys(
    admin: FlaskClient, app: Flask, session: Session, world: World
) -> None:
    status, page = enrol(admin)
    uri_match = _URI.search(page)
    assert status == 200
    assert uri_match
    secret = pyotp.parse_uri(html.unescape(uri_match.group(1))).secret
    person = account(session, "tam.tran")
    assert person is not None
    key = keyring_of(person).unlock(PASSPHRASE)
    newcomer = Account(person.id, person.username, PASSPHRASE, secret, key)
    assert post_login(app.test_client(), newcomer).status_code == 303
    assert person.id in {
        reader.id for reader in recipients.unit_recipients(session, world.unit).readers
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": "lan.thanh-tra-tinh"}, "username", "already taken"),
        ({"username": "Lan Tran"}, "username", "letters a-z"),
        ({"display_name": "  "}, "display_name", "full name"),
        ({"role": "king"}, "role", "Choose a role"),
        ({"new": "short", "confirm": "short"}, "new", "at least 12 characters"),
        ({"confirm": PASSPHRASE + "!"}, "confirm", "not the same"),
    ],
)
def test_bad_enrolment_input_is_named_and_nothing_is_stored(
    admin: FlaskClient,
    session: Session,
    world: World,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    status, page = enrol(admin, **fields)
    assert status == 400
    assert message in page
    assert f'id="{field}-error"' in page
    assert 'role="alert"' in page
    assert "Trần Văn Tâm" in page or field == "display_name"  # typed values come back
    assert PASSPHRASE not in page  # the passphrase does not
    count = len(list(session.scalars(select(Inspector.id))))
    assert count == len(world.people)
    assert entries(session, KeyringAction.ENROLLED) == []


# --- deactivation ---------------------------------------------------------------------------


def test_deactivation_needs_the_admins_passphrase(
    admin: FlaskClient, session: Session, world: World
) -> None:
    lan_id = world.people["lan"].id
    status, page = confirm_post(admin, f"/admin/people/{lan_id}/deactivate", "wrong!", lan_id)
    assert status == 400
    assert "This is not your passphrase." in page
    assert 'aria-invalid="true"' in page
    assert account(session, "lan.thanh-tra-tinh").active
    [failed] = entries(session, KeyringAction.CONFIRMATION_FAILED)
    assert failed.details["for"] == KeyringAction.DEACTIVATED
    assert entries(session, KeyringAction.DEACTIVATED) == []


def test_deactivation_ends_sessions_and_stops_logins_and_new_wraps(
    admin: FlaskClient,
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    clock: Clock,
) -> None:
    lan, lan_id = accounts["lan"], world.people["lan"].id
    lan_browser = app.test_client()
    assert post_login(lan_browser, lan, at=clock.now).status_code == 303

    status, page = confirm_post(
        admin, f"/admin/people/{lan_id}/deactivate", accounts["admin"].passphrase, lan_id
    )
    assert status == 200, page
    assert "can no longer sign in" in page
    person = account(session, lan.username)
    assert person is not None
    assert not person.active
    assert lan_browser.get("/").status_code == 303  # the open session has ended
    clock.advance(timedelta(seconds=30))
    assert post_login(lan_browser, lan, at=clock.now).status_code == 401
    assert lan_id not in {
        reader.id for reader in recipients.unit_recipients(session, world.unit).readers
    }
    [entry] = entries(session, KeyringAction.DEACTIVATED)
    assert (entry.target, entry.details["sessions_ended"]) == (lan.username, 1)


def test_an_admin_cannot_deactivate_themselves(
    admin: FlaskClient, accounts: dict[str, Account], session: Session, world: World
) -> None:
    own = world.people["admin"].id
    status, page = confirm_post(
        admin, f"/admin/people/{own}/deactivate", accounts["admin"].passphrase, own
    )
    assert status == 400
    assert "another administrator" in page
    assert account(session, "admin.thanh-tra-tinh").active


# --- TOTP reset -----------------------------------------------------------------------------


def test_totp_reset_replaces_the_secret_shown_once(
    admin: FlaskClient,
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    clock: Clock,
) -> None:
    lan, lan_id = accounts["lan"], world.people["lan"].id
    status, page = confirm_post(
        admin, f"/admin/people/{lan_id}/reset-totp", accounts["admin"].passphrase, lan_id
    )
    assert status == 200, page
    uri_match = _URI.search(page)
    assert uri_match
    assert "<svg" in page
    new_secret = pyotp.parse_uri(html.unescape(uri_match.group(1))).secret
    person = account(session, lan.username)
    assert person is not None
    assert new_secret == person.totp_secret != lan.totp_secret
    assert new_secret not in admin.get(f"/admin/people/{lan_id}").get_data(as_text=True)

    browser = app.test_client()
    assert post_login(browser, lan, at=clock.now).status_code == 401  # the old app
    renewed = Account(lan.inspector_id, lan.username, lan.passphrase, new_secret, lan.private_key)
    assert post_login(browser, renewed, at=clock.now).status_code == 303
    [entry] = entries(session, KeyringAction.TOTP_RESET)
    assert entry.target == lan.username
    assert new_secret not in str(entry.details)


def test_totp_reset_needs_the_admins_passphrase(
    admin: FlaskClient, accounts: dict[str, Account], session: Session, world: World
) -> None:
    lan = accounts["lan"]
    lan_id = world.people["lan"].id
    status, page = confirm_post(admin, f"/admin/people/{lan_id}/reset-totp", "", lan_id)
    assert status == 400
    assert 'id="reset-confirm_passphrase-error"' in page
    status, page = confirm_post(admin, f"/admin/people/{lan_id}/reset-totp", "wrong!", lan_id)
    assert status == 400
    assert account(session, lan.username).totp_secret == lan.totp_secret
    assert entries(session, KeyringAction.TOTP_RESET) == []


def test_admin_forms_need_an_anti_forgery_token(
    admin: FlaskClient, accounts: dict[str, Account], world: World
) -> None:
    lan_id = world.people["lan"].id
    forged = admin.post(
        f"/admin/people/{lan_id}/deactivate",
        data={"confirm_passphrase": accounts["admin"].passphrase},
    )
    assert forged.status_code == 400


def test_enrolment_input_renders_as_text_not_markup(admin: FlaskClient) -> None:
    payload = "<script>alert(1)</script><b>bold</b>"
    status, page = enrol(admin, display_name=payload, new="short", confirm="short")
    assert status == 400
    assert payload not in page
    assert html.escape(payload, quote=True) in page or "&lt;script&gt;" in page


@pytest.mark.parametrize(("name", "linked"), [("admin", True), ("lan", False), ("son", False)])
def test_home_links_to_the_admin_pages_for_admins_only(
    client: FlaskClient, accounts: dict[str, Account], name: str, linked: bool
) -> None:
    post_login(client, accounts[name])
    page = client.get("/").get_data(as_text=True)
    assert ('href="/admin/people"' in page) is linked
    assert 'href="/account/passphrase"' in page  # everyone may change their passphrase


def test_a_user_name_taken_while_the_key_was_sealed_is_named_not_a_crash(
    admin: FlaskClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = keyrings.enrol_inspector

    def racing(db_session: Session, unit: Unit, **fields: Any) -> keyrings.Enrolment:
        add_inspector(session, world.unit, fields["username"])  # another admin, same name
        session.commit()
        return real(db_session, unit, **fields)

    monkeypatch.setattr(keyrings, "enrol_inspector", racing)
    status, page = enrol(admin)
    assert status == 400
    assert "already taken" in page
    assert entries(session, KeyringAction.ENROLLED) == []


# --- ending the account's sessions, each audited --------------------------------------------


def signed_in_twice(app: Flask, account: Account, clock: Clock) -> tuple[FlaskClient, FlaskClient]:
    """Two browsers of the account, signed in with two successive codes."""
    first, second = app.test_client(), app.test_client()
    assert post_login(first, account, at=clock.now).status_code == 303
    clock.advance(timedelta(seconds=30))
    assert post_login(second, account, at=clock.now).status_code == 303
    return first, second


def login_sessions(session: Session, account: Account) -> list[str]:
    return [
        str(entry.details["session"])
        for entry in entries(session, "login")
        if entry.actor_id == account.inspector_id
    ]


def ended_sessions(session: Session, reason: str) -> list[tuple[str, str]]:
    return sorted(
        (entry.actor, str(entry.details["session"]))
        for entry in entries(session, "session_invalid")
        if entry.details.get("reason") == reason
    )


def test_a_totp_reset_ends_the_accounts_sessions_each_audited(
    admin: FlaskClient,
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    clock: Clock,
) -> None:
    lan, lan_id = accounts["lan"], world.people["lan"].id
    browsers = signed_in_twice(app, lan, clock)
    status, page = confirm_post(
        admin, f"/admin/people/{lan_id}/reset-totp", accounts["admin"].passphrase, lan_id
    )
    assert status == 200, page
    assert f"The open sessions of {lan.username} have ended" in page
    for browser in browsers:
        assert browser.get("/").status_code == 303
    started = login_sessions(session, lan)
    assert ended_sessions(session, "totp_reset") == sorted((lan.username, ref) for ref in started)
    [entry] = entries(session, KeyringAction.TOTP_RESET)
    assert entry.details["sessions_ended"] == 2
    assert admin.get(f"/admin/people/{lan_id}").status_code == 200  # the admin's stays


def test_an_admin_resetting_their_own_totp_keeps_the_session_they_did_it_in(
    admin: FlaskClient, accounts: dict[str, Account], session: Session, world: World
) -> None:
    own = world.people["admin"].id
    status, _page = confirm_post(
        admin, f"/admin/people/{own}/reset-totp", accounts["admin"].passphrase, own
    )
    assert status == 200
    assert admin.get(f"/admin/people/{own}").status_code == 200
    [entry] = entries(session, KeyringAction.TOTP_RESET)
    assert entry.details["sessions_ended"] == 0


def test_deactivation_audits_every_session_it_ends(
    admin: FlaskClient,
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    world: World,
    clock: Clock,
) -> None:
    lan, lan_id = accounts["lan"], world.people["lan"].id
    signed_in_twice(app, lan, clock)
    status, _page = confirm_post(
        admin, f"/admin/people/{lan_id}/deactivate", accounts["admin"].passphrase, lan_id
    )
    assert status == 200
    started = login_sessions(session, lan)
    assert ended_sessions(session, "deactivated") == sorted((lan.username, ref) for ref in started)
    [entry] = entries(session, KeyringAction.DEACTIVATED)
    assert entry.details["sessions_ended"] == 2


def test_the_list_says_which_unit_is_directly_superior(
    admin: FlaskClient, world: World, session: Session
) -> None:
    page = admin.get("/admin/people").get_data(as_text=True)
    assert "names no directly superior unit" in page
    province = add_unit(session, "uy-ban-tinh")
    province.name = "Ủy ban nhân dân tỉnh"
    world.unit.superior = province
    session.commit()
    page = html.unescape(admin.get("/admin/people").get_data(as_text=True))
    assert "Directly superior unit: Ủy ban nhân dân tỉnh." in page
