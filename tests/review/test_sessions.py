"""Sessions hold the unlocked key without storing it; each claim of
docs/review-sessions.md is tested here.

- the database row alone does not open the key (K is not in it);
- the cookie alone does not open it (after logout or timeout there is no row);
- neither holds the raw private key bytes;
- timeouts and logout delete the row and tell the browser to clear the site's data;
- views get the key through ``current_private_key()`` and nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import crypto
from casework import audit as audit_log
from casework.settings import Settings
from crypto.encoding import b64u_decode, b64u_encode
from crypto.keys import private_bytes
from review import auth, create_app, session_store
from store.models import AuditEntry, Inspector, InspectorRole, ReviewSession
from tests.review.conftest import Account, Clock, csrf_token, post_login, session_cookie

probe = Blueprint("probe", __name__, url_prefix="/probe")


@probe.get("/key")
@auth.login_required()
def key_fingerprint() -> Response:
    return jsonify(fingerprint=crypto.fingerprint(crypto.public_bytes(auth.current_private_key())))


@probe.get("/custodians-only")
@auth.login_required(InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)
def custodians_only() -> str:
    return "open"


@probe.post("/decrypt")
@auth.login_required()
def decrypt() -> tuple[str, int]:
    from web.database import db

    auth.audit("case_decrypted", case_public_id="0b7c6f3e-5d7a-4a43-9c54-3f1e0f9d2a11")
    db().commit()
    return "", 204


@pytest.fixture
def app(settings: Settings, accounts: dict[str, Account]) -> Flask:
    app = create_app(settings)
    app.config["TESTING"] = True
    app.register_blueprint(probe)
    return app


def rows(session: Session) -> list[ReviewSession]:
    session.rollback()
    return list(session.scalars(select(ReviewSession)))


def actions(session: Session) -> list[tuple[str, str, dict[str, object]]]:
    session.rollback()
    return [
        (entry.actor, entry.action, entry.details)
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    ]


def signed_in(client: FlaskClient, account: Account, at: datetime | None = None) -> str:
    assert post_login(client, account, at=at).status_code == 303
    cookie = session_cookie(client)
    assert cookie is not None
    return cookie


def logout(client: FlaskClient) -> Response:
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


# --- the cookie -----------------------------------------------------------------------------


def test_the_cookie_is_http_only_strict_site_wide_and_dies_with_the_browser(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    response = post_login(client, accounts["lan"])
    [header] = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("mb_review_session=")
    ]
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert attributes == {"httponly", "path", "samesite"}
    assert "Path=/" in header
    assert "SameSite=Strict" in header
    assert len(b64u_decode(header.split(";")[0].split("=", 1)[1])) == 64


def test_over_https_the_cookie_is_secure(
    engine: Engine, tmp_path: Path, accounts: dict[str, Account], settings: Settings
) -> None:
    app = create_app(replace(settings, review_https=True))
    client = app.test_client()
    response = post_login(client, accounts["lan"])
    cookies = response.headers.getlist("Set-Cookie")
    assert all("Secure" in cookie for cookie in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- what each side holds -------------------------------------------------------------------


def test_the_row_holds_neither_the_key_nor_the_token_and_does_not_open_alone(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    account = accounts["lan"]
    cookie = signed_in(client, account)
    raw_key = private_bytes(account.private_key)
    token = b64u_decode(cookie)[:32]
    [row] = rows(session)
    assert row.id == hashlib.sha256(token).digest()
    stored = b"".join([row.id, row.sealed_key])
    assert raw_key not in stored
    assert token not in stored
    # Without K: neither a guessed key nor a key derived from anything in the row opens it.
    for guess in (bytes(32), row.id, hashlib.sha256(row.sealed_key).digest()):
        with pytest.raises(InvalidTag):
            AESGCM(guess).decrypt(row.sealed_key[:12], row.sealed_key[12:], row.id)


def test_the_cookie_holds_no_key_and_a_copied_database_row_plus_cookie_opens_it(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    # Only the two together open the key: the design's one way in.
    account = accounts["lan"]
    cookie = signed_in(client, account)
    raw = b64u_decode(cookie)
    assert private_bytes(account.private_key) not in raw
    [row] = rows(session)
    opened = AESGCM(raw[32:]).decrypt(row.sealed_key[:12], row.sealed_key[12:], row.id)
    assert opened == private_bytes(account.private_key)


def test_views_get_the_unsealed_key_of_the_signed_in_inspector(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    signed_in(client, accounts["lan"])
    expected = crypto.fingerprint(crypto.public_bytes(accounts["lan"].private_key))
    assert client.get("/probe/key").get_json() == {"fingerprint": expected}


def test_the_key_never_appears_in_a_page_or_a_header(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    signed_in(client, accounts["lan"])
    raw = private_bytes(accounts["lan"].private_key)
    response = client.get("/")
    body = response.get_data()
    for form in (raw, raw.hex().encode(), b64u_encode(raw).encode()):
        assert form not in body
        assert form.decode("latin-1") not in str(response.headers)


def test_after_logout_the_cookie_is_useless(
    client: FlaskClient, app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    cookie = signed_in(client, accounts["lan"])
    response = logout(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?reason=signed_out"
    assert response.headers["Clear-Site-Data"] == auth.CLEAR_SITE_DATA
    assert rows(session) == []
    # A thief who copied the cookie before logout replays it in another browser.
    thief = app.test_client()
    thief.set_cookie(auth.COOKIE, cookie)
    assert thief.get("/probe/key").status_code == 303
    assert thief.get("/").headers["Location"].startswith("/login")
    assert [action for _, action, _ in actions(session)] == ["login", "logout"]


def test_a_cookie_with_the_wrong_key_ends_the_session_as_tampering(
    client: FlaskClient, app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    cookie = signed_in(client, accounts["lan"])
    token = b64u_decode(cookie)[:32]
    forged = app.test_client()
    forged.set_cookie(auth.COOKIE, b64u_encode(token + bytes(32)))
    response = forged.get("/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/&reason=ended"
    assert response.headers["Clear-Site-Data"] == auth.CLEAR_SITE_DATA
    assert rows(session) == []
    assert actions(session)[-1][1:] == (
        "session_invalid",
        {"reason": "bad_key", "session": token_ref(token)},
    )


def token_ref(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()[:16]


@pytest.mark.parametrize(
    "cookie", ["", "not base64!", b64u_encode(bytes(63)), b64u_encode(bytes(64))]
)
def test_a_malformed_or_unknown_cookie_is_no_session(
    app: Flask, accounts: dict[str, Account], cookie: str
) -> None:
    client = app.test_client()
    client.set_cookie(auth.COOKIE, cookie)
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")


# --- timeouts -------------------------------------------------------------------------------


def test_idle_timeout_ends_the_session_and_clears_the_browser(
    client: FlaskClient, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    signed_in(client, accounts["lan"])
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # activity moves the idle end on
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=30))
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/&reason=timeout"
    assert response.headers["Clear-Site-Data"] == auth.CLEAR_SITE_DATA
    assert "mb_review_session=;" in " ".join(response.headers.getlist("Set-Cookie"))
    assert rows(session) == []
    assert actions(session)[-1][1] == "session_timeout"
    assert actions(session)[-1][2]["reason"] == "idle"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended" in page


def test_absolute_timeout_ends_even_a_busy_session(
    client: FlaskClient, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    signed_in(client, accounts["lan"])
    end = clock.now + timedelta(hours=12)
    while clock.now + timedelta(minutes=29) < end:
        clock.advance(timedelta(minutes=29))  # never idle for long
        assert client.get("/").status_code == 200
    clock.now = end
    response = client.get("/")
    assert response.headers["Location"] == "/login?next=/&reason=timeout"
    assert rows(session) == []
    assert actions(session)[-1][1:] == (
        "session_timeout",
        {"reason": "absolute", "session": actions(session)[0][2]["session"]},
    )


def test_last_use_is_written_at_most_every_thirty_seconds(
    client: FlaskClient, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    signed_in(client, accounts["lan"])
    [row] = rows(session)
    first = row.last_seen_at
    clock.advance(timedelta(seconds=10))
    client.get("/")
    assert rows(session)[0].last_seen_at == first
    clock.advance(timedelta(seconds=25))
    client.get("/")
    assert rows(session)[0].last_seen_at == clock.now


def test_timeouts_come_from_the_settings(
    settings: Settings, accounts: dict[str, Account], clock: Clock
) -> None:
    app = create_app(replace(settings, review_idle_minutes=5))
    client = app.test_client()
    signed_in(client, accounts["lan"])
    clock.advance(timedelta(minutes=5))
    assert client.get("/").status_code == 303


def test_sessions_nobody_came_back_to_are_swept_at_the_next_login(
    app: Flask, accounts: dict[str, Account], session: Session, clock: Clock
) -> None:
    signed_in(app.test_client(), accounts["lan"])
    clock.advance(timedelta(hours=1))
    signed_in(app.test_client(), accounts["minh"], at=clock.now)
    [row] = rows(session)
    assert row.inspector_id == accounts["minh"].inspector_id
    assert [(actor, action) for actor, action, _ in actions(session)] == [
        ("lan.thanh-tra-tinh", "login"),
        ("lan.thanh-tra-tinh", "session_timeout"),
        ("minh.thanh-tra-tinh", "login"),
    ]


def test_a_deactivated_account_loses_its_session_at_the_next_request(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    signed_in(client, accounts["lan"])
    person = session.get_one(Inspector, accounts["lan"].inspector_id)
    person.active = False
    session.commit()
    assert client.get("/").status_code == 303
    assert rows(session) == []
    assert actions(session)[-1][1:][0] == "session_invalid"


def test_ending_all_sessions_of_an_account(
    app: Flask, accounts: dict[str, Account], session: Session
) -> None:
    first, second = app.test_client(), app.test_client()
    signed_in(first, accounts["lan"])
    # A second browser, with the next code: the first one is used up.
    signed_in(second, accounts["lan"], at=datetime.now(UTC) + timedelta(seconds=30))
    session.rollback()
    person = session.get_one(Inspector, accounts["lan"].inspector_id)
    assert len(session_store.end_all_of(session, person)) == 2
    session.commit()
    assert first.get("/").status_code == 303
    assert second.get("/").status_code == 303


# --- roles and auditing ---------------------------------------------------------------------


def test_roles_are_enforced(app: Flask, accounts: dict[str, Account]) -> None:
    inspector, custodian = app.test_client(), app.test_client()
    signed_in(inspector, accounts["lan"])
    signed_in(custodian, accounts["hoa"])
    refused = inspector.get("/probe/custodians-only")
    assert refused.status_code == 403
    assert "Your role does not give access" in refused.get_data(as_text=True)
    assert custodian.get("/probe/custodians-only").get_data(as_text=True) == "open"


def test_a_post_without_a_session_is_sent_to_login_without_coming_back(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    client.get("/login")
    response = client.post("/probe/decrypt", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_audit_records_the_inspector_and_the_session(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    cookie = signed_in(client, accounts["lan"])
    response = client.post("/probe/decrypt", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 204
    reference = token_ref(b64u_decode(cookie)[:32])
    assert actions(session)[-1] == (
        "lan.thanh-tra-tinh",
        "case_decrypted",
        {"session": reference},
    )
    assert actions(session)[0][2] == {"session": reference}  # the login it came from
    assert audit_log.verify(session).ok


def test_login_required_needs_its_parentheses() -> None:
    with pytest.raises(TypeError, match="parentheses"):
        auth.login_required(lambda: "x")  # type: ignore[arg-type]


def test_current_inspector_outside_a_protected_view_is_a_programming_error(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="login_required"):
        auth.current_inspector()


def test_a_stale_cookie_at_the_login_page_is_cleared_before_the_form_is_shown(
    app: Flask, accounts: dict[str, Account]
) -> None:
    # The form's anti-forgery cookie must not arrive together with Clear-Site-Data, which
    # could wipe it again: the clearing happens on a redirect first.
    client = app.test_client()
    client.set_cookie(auth.COOKIE, b64u_encode(bytes(64)))
    response = client.get("/login")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/&reason=ended"
    assert response.headers["Clear-Site-Data"] == auth.CLEAR_SITE_DATA
    # Cookies in that response only expire; none is given a new value.
    assert all("Max-Age=0" in cookie for cookie in response.headers.getlist("Set-Cookie"))
    form = client.get(response.headers["Location"])
    assert form.status_code == 200
    assert "Clear-Site-Data" not in form.headers
    assert "Your session could not be used any more" in form.get_data(as_text=True)
