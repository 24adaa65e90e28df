"""One's own account: changing the passphrase, and recovering with the recovery code."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework.keyrings import KeyringAction, keyring_of
from crypto.keyring import seal_with_recovery
from review import limits, login
from store.models import AuditEntry, Inspector, ReviewSession
from tests.review.conftest import Account, Clock, csrf_token, post_login, session_cookie
from tests.worlds import World

NEW = "một passphrase mới rất dài"
RECOVERY_FAILED_TEXT = "The user name, recovery code or code from the authenticator app"
_RECOVERY = re.compile(r'id="recovery-code">([^<]+)<')


def entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def reloaded(session: Session, account: Account) -> Inspector:
    session.rollback()  # a fresh snapshot: the app committed in its own session
    session.expire_all()
    inspector = session.get(Inspector, account.inspector_id)
    assert inspector is not None
    return inspector


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# --- changing the passphrase ---------------------------------------------------------------


def change(client: FlaskClient, current: str, new: str = NEW, confirm: str | None = None) -> str:
    response = client.post(
        "/account/passphrase",
        data={
            "csrf_token": csrf_token(client, "/account/passphrase"),
            "current": current,
            "new": new,
            "confirm": new if confirm is None else confirm,
        },
    )
    return f"{response.status_code} {response.get_data(as_text=True)}"


def test_changing_the_passphrase_reseals_the_same_key(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World
) -> None:
    lan = accounts["lan"]
    post_login(client, lan)
    page = change(client, lan.passphrase)
    assert page.startswith("200 ")
    assert "Passphrase changed" in page
    assert_no_secrets(page, NEW, lan.passphrase)

    inspector = reloaded(session, lan)
    keyring = keyring_of(inspector)
    assert crypto.public_bytes(keyring.unlock(NEW)) == crypto.public_bytes(world.key_of("lan"))
    with pytest.raises(crypto.WrongPassphrase):
        keyring.unlock(lan.passphrase)
    [entry] = entries(session, KeyringAction.PASSPHRASE_CHANGED)
    assert (entry.actor, entry.target) == (lan.username, lan.username)
    assert_no_secrets(str(entry.details), NEW, lan.passphrase)


def test_the_new_passphrase_signs_in_and_the_old_one_no_longer_does(
    client: FlaskClient, accounts: dict[str, Account], clock: Clock
) -> None:
    lan = accounts["lan"]
    post_login(client, lan, at=clock.now)
    change(client, lan.passphrase)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    clock.advance(timedelta(seconds=30))
    assert post_login(client, lan, at=clock.now).status_code == 401
    clock.advance(timedelta(seconds=30))
    assert post_login(client, lan, passphrase=NEW, at=clock.now).status_code == 303


def test_a_wrong_current_passphrase_changes_nothing(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    lan = accounts["lan"]
    post_login(client, lan)
    before = reloaded(session, lan).sealed_key_passphrase
    page = change(client, "not the passphrase at all")
    assert page.startswith("400 ")
    assert "This is not your current passphrase." in page
    assert 'role="alert"' in page
    assert 'aria-invalid="true"' in page
    assert_no_secrets(page, NEW, "not the passphrase at all")
    assert reloaded(session, lan).sealed_key_passphrase == before
    assert len(entries(session, KeyringAction.PASSPHRASE_CHANGE_FAILED)) == 1
    assert entries(session, KeyringAction.PASSPHRASE_CHANGED) == []


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", "short", "at least 12 characters"),
        (NEW, NEW + "x", "are not the same"),
        ("", "", "at least 12 characters"),
    ],
)
def test_a_weak_or_mistyped_new_passphrase_is_refused(
    client: FlaskClient,
    accounts: dict[str, Account],
    session: Session,
    new: str,
    confirm: str,
    message: str,
) -> None:
    lan = accounts["lan"]
    post_login(client, lan)
    before = reloaded(session, lan).sealed_key_passphrase
    page = change(client, lan.passphrase, new, confirm)
    assert page.startswith("400 ")
    assert message in page
    assert reloaded(session, lan).sealed_key_passphrase == before


def test_the_change_needs_a_session_and_an_anti_forgery_token(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    response = client.get("/account/passphrase")
    assert response.status_code == 303
    assert "/login" in response.headers["Location"]
    post_login(client, accounts["lan"])
    forged = client.post(
        "/account/passphrase",
        data={"current": accounts["lan"].passphrase, "new": NEW, "confirm": NEW},
    )
    assert forged.status_code == 400


# --- recovering with the recovery code -----------------------------------------------------


@pytest.fixture
def recovery(session: Session, world: World) -> crypto.RecoveryCode:
    """Lan's key sealed under a known recovery code, as enrolment leaves it."""
    code = crypto.RecoveryCode.generate()
    person = world.people["lan"]
    person.sealed_key_recovery = seal_with_recovery(world.key_of("lan"), code)
    session.commit()
    return code


def recover(
    client: FlaskClient,
    account: Account,
    code: str,
    *,
    totp: str | None = None,
    username: str | None = None,
    new: str = NEW,
    clock: Clock | None = None,
) -> tuple[int, str]:
    response = client.post(
        "/account/recover",
        data={
            "csrf_token": csrf_token(client, "/account/recover"),
            "username": account.username if username is None else username,
            "recovery": code,
            "code": account.code(clock.now if clock else None) if totp is None else totp,
            "new": new,
            "confirm": new,
        },
    )
    return response.status_code, response.get_data(as_text=True)


def test_recovery_reseals_the_key_and_hands_out_a_new_code_once(
    app: Flask,
    accounts: dict[str, Account],
    recovery: crypto.RecoveryCode,
    session: Session,
    world: World,
    clock: Clock,
) -> None:
    lan = accounts["lan"]
    browser, thief = app.test_client(), app.test_client()
    post_login(thief, lan, at=clock.now)  # someone who found the lost passphrase
    inspector = reloaded(session, lan)
    # Failures left from the lost passphrase, the last lock served: a recovery clears them.
    inspector.failed_logins, inspector.locked_until = 7, clock.now - timedelta(minutes=1)
    session.commit()

    clock.advance(timedelta(seconds=30))
    status, page = recover(browser, lan, recovery.display(), clock=clock)
    assert status == 200, page
    match = _RECOVERY.search(page)
    assert match
    new_code = crypto.RecoveryCode.parse(match.group(1))
    assert page.count(new_code.display()) == 1
    assert "will not be shown again" in page
    assert_no_secrets(page, NEW, recovery.display())

    inspector = reloaded(session, lan)
    keyring = keyring_of(inspector)
    key = world.key_of("lan")
    # The same key pair: every case key wrapped to it before still opens.
    assert crypto.public_bytes(keyring.unlock(NEW)) == crypto.public_bytes(key)
    assert crypto.public_bytes(keyring.recover(new_code)) == crypto.public_bytes(key)
    with pytest.raises(crypto.WrongRecoveryCode):
        keyring.recover(recovery)
    assert (inspector.failed_logins, inspector.locked_until) == (0, None)
    assert session.scalars(select(ReviewSession)).all() == []
    assert thief.get("/").status_code == 303  # the other session has ended
    [entry] = entries(session, KeyringAction.RECOVERED_WITH_CODE)
    assert entry.actor == lan.username
    assert entry.details == {"sessions_ended": 1}

    clock.advance(timedelta(seconds=30))
    assert post_login(browser, lan, passphrase=NEW, at=clock.now).status_code == 303


def test_the_spent_recovery_code_does_not_work_twice(
    client: FlaskClient, accounts: dict[str, Account], recovery: crypto.RecoveryCode, clock: Clock
) -> None:
    lan = accounts["lan"]
    assert recover(client, lan, recovery.display(), clock=clock)[0] == 200
    clock.advance(timedelta(seconds=30))
    assert recover(client, lan, recovery.display(), clock=clock)[0] == 401


def _wrong_code() -> str:
    return crypto.RecoveryCode.generate().display()


@pytest.mark.parametrize("mistake", ["recovery", "totp", "username", "inactive"])
def test_a_failed_recovery_says_the_same_whatever_failed_and_changes_nothing(
    client: FlaskClient,
    accounts: dict[str, Account],
    recovery: crypto.RecoveryCode,
    session: Session,
    world: World,
    mistake: str,
) -> None:
    lan = accounts["lan"]
    if mistake == "inactive":
        world.people["lan"].active = False
        session.commit()
    before = reloaded(session, lan).sealed_key_passphrase
    status, page = recover(
        client,
        lan,
        _wrong_code() if mistake == "recovery" else recovery.display(),
        totp=lan.wrong_code() if mistake == "totp" else None,
        username="nobody.here" if mistake == "username" else None,
    )
    assert status == 401
    assert "The user name, recovery code or code from the authenticator app is not right" in page
    assert 'value="nobody.here"' in page or f'value="{lan.username}"' in page
    assert_no_secrets(page, NEW, recovery.display())
    assert reloaded(session, lan).sealed_key_passphrase == before
    [failed] = entries(session, KeyringAction.RECOVERY_FAILED)
    expected = {
        "recovery": "recovery_code",
        "totp": "totp",
        "username": "unknown_user",
        "inactive": "inactive",
    }[mistake]
    assert failed.details == {"reason": expected}
    assert failed.actor == ("unknown" if mistake == "username" else lan.username)
    assert_no_secrets(str(failed.details) + (failed.target or ""), recovery.display(), NEW)


def test_a_totp_code_used_to_sign_in_does_not_also_recover(
    client: FlaskClient, accounts: dict[str, Account], recovery: crypto.RecoveryCode, clock: Clock
) -> None:
    lan = accounts["lan"]
    assert post_login(client, lan, at=clock.now).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    status, _page = recover(client, lan, recovery.display(), clock=clock)
    assert status == 401


def test_malformed_recovery_input_is_named_field_by_field(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    status, page = recover(client, accounts["lan"], "not-a-code", totp="12", new="short")
    assert status == 400
    for field in ("recovery", "code", "new"):
        assert f'href="#{field}"' in page
        assert f'id="{field}-error"' in page
    assert 'value="lan.thanh-tra-tinh"' in page  # the user name is kept
    assert "not-a-code" not in page  # secrets are not


def test_the_recovery_page_works_without_a_session(client: FlaskClient) -> None:
    page = client.get("/account/recover")
    assert page.status_code == 200
    assert session_cookie(client) is None
    assert 'name="csrf_token"' in page.get_data(as_text=True)


# --- a changed passphrase ends the account's other sessions ---------------------------------


def session_references(session: Session, account: Account, action: str) -> list[str]:
    session.rollback()
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.actor_id == account.inspector_id)
        .order_by(AuditEntry.seq)
    )
    return [str(row.details["session"]) for row in rows]


def test_changing_the_passphrase_ends_the_other_sessions_and_keeps_this_one(
    app: Flask, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    lan = accounts["lan"]
    here, elsewhere = app.test_client(), app.test_client()
    assert post_login(elsewhere, lan, at=clock.now).status_code == 303  # a forgotten tab
    clock.advance(timedelta(seconds=30))
    assert post_login(here, lan, at=clock.now).status_code == 303
    old_session, this_session = session_references(session, lan, "login")

    page = change(here, lan.passphrase)
    assert page.startswith("200 ")
    assert "Your other sessions have ended; this one stays." in page
    assert here.get("/").status_code == 200  # the person who changed it stays signed in
    assert elsewhere.get("/").status_code == 303
    session.rollback()  # a fresh snapshot: the app committed through its own connection
    assert len(session.scalars(select(ReviewSession)).all()) == 1
    [changed] = entries(session, KeyringAction.PASSPHRASE_CHANGED)
    assert changed.details["sessions_ended"] == 1
    assert changed.details["session"] == this_session
    [ended] = entries(session, "session_invalid")
    assert ended.details == {"reason": "passphrase_changed", "session": old_session}
    assert ended.actor == lan.username


# --- recovery shares the login's lockout and cap --------------------------------------------


def lock(session: Session, account: Account, until: datetime, failures: int = 5) -> None:
    inspector = reloaded(session, account)
    inspector.failed_logins, inspector.locked_until = failures, until
    session.commit()


def reasons(session: Session) -> list[str]:
    session.rollback()
    return [str(entry.details["reason"]) for entry in entries(session, "recovery_failed")]


def test_a_locked_account_cannot_recover_until_the_lock_has_passed(
    client: FlaskClient,
    accounts: dict[str, Account],
    recovery: crypto.RecoveryCode,
    session: Session,
    clock: Clock,
) -> None:
    lan = accounts["lan"]
    lock(session, lan, clock.now + login.LOCK_FIRST)
    before = reloaded(session, lan).sealed_key_passphrase
    status, page = recover(client, lan, recovery.display(), clock=clock)
    assert status == 401
    assert RECOVERY_FAILED_TEXT in page
    assert reasons(session) == ["locked"]
    inspector = reloaded(session, lan)
    assert inspector.sealed_key_passphrase == before
    assert (inspector.failed_logins, inspector.locked_until) == (5, clock.now + login.LOCK_FIRST)

    clock.advance(login.LOCK_FIRST)
    status, page = recover(client, lan, recovery.display(), clock=clock)
    assert status == 200, page
    inspector = reloaded(session, lan)
    assert (inspector.failed_logins, inspector.locked_until) == (0, None)  # a full recovery


def test_failed_recoveries_count_towards_the_lock_of_the_login(
    app: Flask,
    accounts: dict[str, Account],
    recovery: crypto.RecoveryCode,
    session: Session,
    clock: Clock,
) -> None:
    lan = accounts["lan"]
    for _ in range(login.LOCK_AFTER):
        status, _page = recover(
            app.test_client(), lan, recovery.display(), totp=lan.wrong_code(clock.now)
        )
        assert status == 401
    inspector = reloaded(session, lan)
    assert inspector.failed_logins == login.LOCK_AFTER
    assert inspector.locked_until == clock.now + login.LOCK_FIRST
    assert post_login(app.test_client(), lan, at=clock.now).status_code == 401
    assert reasons(session) == ["totp"] * login.LOCK_AFTER


def test_every_kind_of_failed_recovery_is_audited(
    app: Flask,
    accounts: dict[str, Account],
    recovery: crypto.RecoveryCode,
    session: Session,
    clock: Clock,
) -> None:
    lan = accounts["lan"]
    assert post_login(app.test_client(), lan, at=clock.now).status_code == 303
    recover(app.test_client(), lan, recovery.display(), clock=clock)  # that code is spent
    recover(app.test_client(), lan, _wrong_code(), clock=clock)
    recover(app.test_client(), lan, recovery.display(), username="lan\x00", clock=clock)
    lock(session, lan, clock.now + login.LOCK_FIRST)
    recover(app.test_client(), lan, recovery.display(), clock=clock)
    assert reasons(session) == ["totp_reused", "recovery_code", "unknown_user", "locked"]


def test_recovery_shares_the_global_cap_on_failed_sign_ins(
    app: Flask, accounts: dict[str, Account], recovery: crypto.RecoveryCode, clock: Clock
) -> None:
    app.config[limits.LOGIN_LIMIT] = "3 per minute"
    lan, minh = accounts["lan"], accounts["minh"]
    post_login(app.test_client(), minh, passphrase="not the passphrase at all")
    recover(app.test_client(), lan, _wrong_code(), clock=clock)
    recover(app.test_client(), lan, _wrong_code(), clock=clock)
    refused, page = recover(app.test_client(), lan, recovery.display(), clock=clock)
    assert refused == 429
    assert "too many failed sign-in attempts" in page
    assert post_login(app.test_client(), accounts["hoa"]).status_code == 429
