"""One's own account: changing the passphrase, and recovering with the recovery code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework.keyrings import KeyringAction, keyring_of
from crypto.keyring import seal_with_recovery
from store.models import AuditEntry, Inspector, ReviewSession
from tests.review.conftest import Account, Clock, csrf_token, post_login, session_cookie
from tests.worlds import World

NEW = "một passphrase mới rất dài"
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
    inspector.failed_logins, inspector.locked_until = 7, clock.now + timedelta(hours=1)
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
