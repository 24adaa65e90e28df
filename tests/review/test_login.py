"""Signing in: three factors, one-time codes, lockout, equal cost and equal answers."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.kdf import Argon2Params
from review import limits, login
from store.models import AuditEntry, Inspector, ReviewSession
from tests.review.conftest import FAST, Account, Clock, csrf_token, post_login

FAILED = "The user name, passphrase or code is not right"


def entries(session: Session) -> list[tuple[str, str, dict[str, object]]]:
    session.rollback()  # a new snapshot: the app wrote through its own connection
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return [(row.actor, row.action, row.details) for row in rows]


def account_row(session: Session, account: Account) -> Inspector:
    session.rollback()
    return session.get_one(Inspector, account.inspector_id, populate_existing=True)


def failure_page(response_text: str) -> str:
    """The visible message of a failed login, without the token that differs every time."""
    return re.sub(r'value="[^"]*"', "", response_text)


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[Argon2Params]:
    """Every Argon2id derivation from now on, by its cost."""
    login.dummy_unseal("prime the cache", FAST)  # the dummy key is sealed once per process
    runs: list[Argon2Params] = []
    real = Argon2Params.derive

    def counting(self: Argon2Params, secret: bytes, salt: bytes, length: int = 32) -> bytes:
        runs.append(self)
        return real(self, secret, salt, length)

    monkeypatch.setattr(Argon2Params, "derive", counting)
    return runs


# --- success --------------------------------------------------------------------------------


def test_the_three_factors_sign_in_and_the_login_is_audited(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    response = post_login(client, accounts["lan"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as Nguyễn Văn An" in page
    assert [(actor, action) for actor, action, _ in entries(session)] == [
        ("lan.thanh-tra-tinh", "login")
    ]
    assert session.scalars(select(ReviewSession)).one().inspector_id == accounts["lan"].inspector_id


def test_user_names_are_matched_in_lower_case_and_without_spaces(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    response = post_login(client, accounts["lan"], username="  LAN.Thanh-Tra-Tinh ")
    assert response.status_code == 303


def test_a_code_with_spaces_is_accepted(client: FlaskClient, accounts: dict[str, Account]) -> None:
    code = accounts["lan"].code()
    assert post_login(client, accounts["lan"], code=f"{code[:3]} {code[3:]}").status_code == 303


def test_the_code_of_the_neighbouring_step_is_accepted_for_clock_drift(
    client: FlaskClient, accounts: dict[str, Account], clock: Clock
) -> None:
    code = accounts["lan"].code(clock.now - timedelta(seconds=30))
    assert post_login(client, accounts["lan"], code=code).status_code == 303


def test_after_login_the_browser_returns_to_the_page_it_asked_for(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    asked = client.get("/?tab=mine")
    assert asked.status_code == 303
    assert asked.headers["Location"] == "/login?next=/?tab%3Dmine"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/?tab=mine"' in page
    response = post_login(client, accounts["lan"], next_path="/?tab=mine")
    assert response.headers["Location"] == "/?tab=mine"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/logout"])
def test_the_return_address_never_leaves_the_site(
    client: FlaskClient, accounts: dict[str, Account], target: str
) -> None:
    response = post_login(client, accounts["lan"], next_path=target)
    assert response.headers["Location"] == "/"


def test_a_signed_in_visit_to_the_login_page_goes_home(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    post_login(client, accounts["lan"])
    response = client.get("/login")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["passphrase", "totp"])
def test_a_wrong_factor_fails_counts_and_is_audited_without_secrets(
    client: FlaskClient, accounts: dict[str, Account], session: Session, reason: str
) -> None:
    account = accounts["lan"]
    if reason == "passphrase":
        response = post_login(client, account, passphrase="not the passphrase at all")
    else:
        response = post_login(client, account, code=account.wrong_code())
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)
    assert client.get_cookie("mb_review_session") is None
    assert account_row(session, account).failed_logins == 1
    [(actor, action, details)] = entries(session)
    assert (actor, action, details) == ("lan.thanh-tra-tinh", "login_failed", {"reason": reason})
    assert session.scalars(select(ReviewSession)).all() == []


def test_a_code_works_only_once(
    client: FlaskClient, app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    account = accounts["lan"]
    code = account.code()
    assert post_login(client, account, code=code).status_code == 303
    other = app.test_client()  # someone who watched the code being typed
    assert post_login(other, account, code=code).status_code == 401
    assert entries(session)[-1][1:] == ("login_failed", {"reason": "totp_reused"})


def test_an_older_code_than_the_last_one_used_is_refused_too(
    client: FlaskClient, app: Flask, accounts: dict[str, Account], clock: Clock
) -> None:
    account = accounts["lan"]
    assert post_login(client, account, code=account.code(clock.now)).status_code == 303
    earlier = account.code(clock.now - timedelta(seconds=30))
    assert post_login(app.test_client(), account, code=earlier).status_code == 401


def test_unknown_names_and_disabled_accounts_get_the_same_answer(
    client: FlaskClient, app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    wrong = post_login(client, accounts["lan"], passphrase="not the passphrase at all")
    unknown = post_login(app.test_client(), accounts["lan"], username="nobody.at.all")
    person = account_row(session, accounts["minh"])
    person.active = False
    session.commit()
    disabled = post_login(app.test_client(), accounts["minh"])
    answers = {
        (r.status_code, failure_page(r.get_data(as_text=True))) for r in (wrong, unknown, disabled)
    }
    assert len(answers) == 1
    assert next(iter(answers))[0] == 401


def test_an_unknown_name_is_not_written_into_the_audit_log(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    # People type their passphrase into the wrong field; the log is permanent.
    typed = "my-passphrase-typed-in-the-wrong-box"
    post_login(client, accounts["lan"], username=typed)
    [(actor, action, details)] = entries(session)
    assert (actor, action, details) == ("unknown", "login_failed", {"reason": "unknown_user"})
    session.rollback()
    raw = session.execute(select(AuditEntry.__table__)).all()
    assert typed not in repr(raw)


def test_passphrases_never_reach_the_audit_log(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    post_login(client, accounts["lan"], passphrase="wrong but secret passphrase")
    post_login(client, accounts["lan"])
    session.rollback()
    stored = repr(session.execute(select(AuditEntry.__table__)).all())
    assert "wrong but secret passphrase" not in stored
    assert accounts["lan"].passphrase not in stored


def test_every_attempt_costs_one_argon2id_run_of_the_configured_cost(
    client: FlaskClient,
    app: Flask,
    accounts: dict[str, Account],
    session: Session,
    argon2_runs: list[Argon2Params],
) -> None:
    account = accounts["lan"]
    post_login(app.test_client(), account, username="nobody.at.all")
    post_login(app.test_client(), account, passphrase="not the passphrase at all")
    post_login(app.test_client(), account, code=account.wrong_code())
    person = account_row(session, accounts["minh"])
    person.active = False
    session.commit()
    post_login(app.test_client(), accounts["minh"])
    post_login(app.test_client(), account)
    assert argon2_runs == [FAST] * 5


# --- lockout --------------------------------------------------------------------------------


def fail(app: Flask, account: Account, times: int) -> None:
    for _ in range(times):
        response = post_login(app.test_client(), account, passphrase="not the passphrase at all")
        assert response.status_code == 401


def test_five_failures_lock_the_account_even_against_the_right_credentials(
    app: Flask, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    account = accounts["lan"]
    fail(app, account, 5)
    row = account_row(session, account)
    assert row.failed_logins == 5
    assert row.locked_until == clock.now + login.LOCK_FIRST
    assert post_login(app.test_client(), account).status_code == 401
    assert entries(session)[-1][1:] == ("login_failed", {"reason": "locked"})
    assert account_row(session, account).failed_logins == 5  # attempts while locked do not count

    clock.advance(login.LOCK_FIRST)
    assert post_login(app.test_client(), account, at=clock.now).status_code == 303
    row = account_row(session, account)
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_each_failure_after_a_lock_doubles_the_next_lock(
    app: Flask, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    account = accounts["lan"]
    fail(app, account, 5)
    clock.advance(login.LOCK_FIRST)
    fail(app, account, 1)
    assert account_row(session, account).locked_until == clock.now + 2 * login.LOCK_FIRST
    clock.advance(2 * login.LOCK_FIRST)
    fail(app, account, 1)
    assert account_row(session, account).locked_until == clock.now + 4 * login.LOCK_FIRST


def test_lock_durations_double_up_to_a_day() -> None:
    durations = [login.lock_duration(n) for n in range(1, 12)]
    minutes = [None if d is None else int(d.total_seconds() // 60) for d in durations]
    assert minutes == [None, None, None, None, 15, 30, 60, 120, 240, 480, 960]
    assert login.lock_duration(100) == timedelta(hours=24)


def test_a_locked_account_does_not_check_the_passphrase(
    app: Flask, accounts: dict[str, Account], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = accounts["lan"]
    fail(app, account, 5)
    unlocked: list[str] = []
    monkeypatch.setattr(login, "_unlock", lambda inspector, passphrase: unlocked.append(passphrase))
    assert post_login(app.test_client(), account).status_code == 401
    assert unlocked == []


# --- the form -------------------------------------------------------------------------------


def test_missing_fields_are_named_and_the_user_name_is_kept(client: FlaskClient) -> None:
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "username": "lan", "passphrase": "", "code": "12"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Enter your passphrase." in page
    assert "Enter the 6-digit code from your authenticator app." in page
    assert 'value="lan"' in page
    assert re.search(r'id="passphrase"[^>]*aria-invalid="true"', page)
    assert re.search(r'id="code"[^>]*aria-describedby="code-hint code-error"', page)
    assert 'href="#passphrase"' in page
    assert "not filled in again" in page


def test_a_failed_login_never_puts_the_passphrase_or_code_back_into_the_page(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    account = accounts["lan"]
    code = account.wrong_code()
    response = post_login(client, account, code=code)
    page = response.get_data(as_text=True)
    assert account.passphrase not in page
    assert code not in page
    assert f'value="{account.username}"' in page


def test_an_empty_form_does_not_cost_an_argon2id_run(
    client: FlaskClient, argon2_runs: list[Argon2Params]
) -> None:
    response = client.post("/login", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert argon2_runs == []


def test_the_login_form_needs_its_anti_forgery_token(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    account = accounts["lan"]
    data = {"username": account.username, "passphrase": account.passphrase, "code": account.code()}
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert client.get_cookie("mb_review_session") is None


# --- the global cap -------------------------------------------------------------------------


def test_a_global_cap_on_failed_logins_applies_to_every_account(
    app: Flask, accounts: dict[str, Account]
) -> None:
    app.config[limits.LOGIN_LIMIT] = "3 per minute"
    fail(app, accounts["lan"], 3)
    refused = post_login(app.test_client(), accounts["minh"])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "too many failed sign-in attempts" in refused.get_data(as_text=True)


def test_successful_logins_do_not_use_up_the_cap(
    app: Flask, accounts: dict[str, Account], clock: Clock
) -> None:
    app.config[limits.LOGIN_LIMIT] = "2 per minute"
    for name in ("lan", "minh", "hoa", "son"):
        assert post_login(app.test_client(), accounts[name]).status_code == 303


def test_totp_matching_checks_the_drift_window_only() -> None:
    secret = pyotp.random_base32()
    moment = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    step = totp.timecode(moment)
    assert login.matching_totp_counter(secret, totp.at(moment), moment) == step
    assert login.matching_totp_counter(secret, totp.generate_otp(step + 1), moment) == step + 1
    assert login.matching_totp_counter(secret, totp.generate_otp(step - 2), moment) is None
    assert login.matching_totp_counter(secret, "abcdef", moment) is None


def test_an_unusable_totp_secret_fails_the_login_and_says_why_in_the_log(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    person = account_row(session, accounts["lan"])
    person.totp_secret = "JBSWY3DPEHPK3PXP"  # 80 bits: below pyotp's minimum
    session.commit()
    assert post_login(client, accounts["lan"], code="123456").status_code == 401
    assert entries(session)[-1][1:] == ("login_failed", {"reason": "totp_secret"})


# --- races ----------------------------------------------------------------------------------


def race(app: Flask, monkeypatch: pytest.MonkeyPatch, forms: list[dict[str, str]]) -> list[int]:
    """Post the login forms at once, each checked (Argon2id, TOTP) before any is recorded."""
    barrier = threading.Barrier(len(forms), timeout=20)
    real = login._verify

    def checked_together(*args: Any) -> Any:
        verdict = real(*args)
        barrier.wait()
        return verdict

    monkeypatch.setattr(login, "_verify", checked_together)
    clients = [app.test_client() for _ in forms]
    tokens = [csrf_token(client) for client in clients]
    statuses: list[int] = []

    def attempt(client: FlaskClient, token: str, form: dict[str, str]) -> None:
        statuses.append(client.post("/login", data={**form, "csrf_token": token}).status_code)

    threads = [
        threading.Thread(target=attempt, args=job)
        for job in zip(clients, tokens, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


def test_two_logins_racing_with_one_code_let_only_one_in(
    app: Flask, accounts: dict[str, Account], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = accounts["lan"]
    form = {"username": account.username, "passphrase": account.passphrase, "code": account.code()}
    assert race(app, monkeypatch, [form, form]) == [303, 401]
    recorded = sorted((action, details.get("reason")) for _, action, details in entries(session))
    assert recorded == [("login", None), ("login_failed", "totp_reused")]
    assert len(session.scalars(select(ReviewSession)).all()) == 1


def test_failures_racing_each_other_all_count(
    app: Flask, accounts: dict[str, Account], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = accounts["lan"]
    form = {"username": account.username, "passphrase": "wrong wrong wrong", "code": "123456"}
    assert race(app, monkeypatch, [form, form, form]) == [401, 401, 401]
    assert account_row(session, account).failed_logins == 3


def test_parallel_wrong_passphrases_are_checked_no_more_often_than_the_lock_allows(
    app: Flask, accounts: dict[str, Account], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = accounts["lan"]
    wrong = {"username": account.username, "passphrase": "wrong wrong wrong", "code": "123456"}
    assert race(app, monkeypatch, [wrong] * 10) == [401] * 10
    reasons = sorted(str(details["reason"]) for _, action, details in entries(session))
    assert reasons == ["locked"] * (10 - login.LOCK_AFTER) + ["passphrase"] * login.LOCK_AFTER
    row = account_row(session, account)
    assert row.failed_logins == login.LOCK_AFTER
    assert row.locked_until is not None
