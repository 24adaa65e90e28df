"""One's own choice of the daily e-mail summary (``/account/notifications``)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEntry, Inspector
from tests.review.conftest import Account, csrf_token, post_login

PAGE = "/account/notifications"


def choose(client: FlaskClient, email: str, digest: bool, token: str | None = None) -> str:
    data = {"csrf_token": csrf_token(client, PAGE) if token is None else token, "email": email}
    if digest:
        data["digest"] = "yes"
    response = client.post(PAGE, data=data, follow_redirects=True)
    return f"{response.status_code} {response.get_data(as_text=True)}"


def stored(session: Session, account: Account) -> Inspector:
    session.rollback()  # a fresh snapshot: the app committed in its own session
    session.expire_all()
    inspector = session.get(Inspector, account.inspector_id)
    assert inspector is not None
    return inspector


def changes(session: Session) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == "notifications_changed")
    return list(session.scalars(query.order_by(AuditEntry.id)))


def test_opting_in_and_out_is_stored_and_audited_without_the_address(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    lan = accounts["lan"]
    post_login(client, lan)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="digest"' in page
    assert "checked" not in page

    page = choose(client, " lan@example.vn ", digest=True)
    assert page.startswith("200 ")
    assert "You will receive the daily summary by e-mail." in page
    assert 'value="lan@example.vn"' in page
    assert "checked" in page
    inspector = stored(session, lan)
    assert (inspector.notify_email, inspector.notify_digest) == ("lan@example.vn", True)

    page = choose(client, "lan@example.vn", digest=False)
    assert "You will not receive the daily summary by e-mail." in page
    inspector = stored(session, lan)
    assert (inspector.notify_email, inspector.notify_digest) == ("lan@example.vn", False)

    first, second = changes(session)
    assert (first.actor, first.target) == (lan.username, lan.username)
    assert first.details["digest"] is True
    assert first.details["email_changed"] is True
    assert (second.details["digest"], second.details["email_changed"]) == (False, False)
    assert "lan@example.vn" not in str(first.details) + str(second.details)


def test_bad_input_is_refused_clearly_and_nothing_is_lost(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    lan = accounts["lan"]
    post_login(client, lan)
    page = choose(client, "", digest=True)
    assert page.startswith("400 ")
    assert "Your choice has not been saved" in page
    assert "Enter the e-mail address the daily summary should go to." in page
    assert 'aria-invalid="true"' in page

    page = choose(client, "lan@example.vn\r\nBcc: x@evil.example", digest=True)
    assert page.startswith("400 ")
    assert "Enter one e-mail address" in page
    assert "checked" in page  # the choice is shown again as typed
    inspector = stored(session, lan)
    assert (inspector.notify_email, inspector.notify_digest) == (None, False)
    assert changes(session) == []


def test_a_change_needs_the_form_token_and_a_session(
    client: FlaskClient, accounts: dict[str, Account], session: Session
) -> None:
    assert client.get(PAGE).status_code in (302, 303)
    lan = accounts["lan"]
    post_login(client, lan)
    page = choose(client, "lan@example.vn", digest=True, token="forged")
    assert page.startswith("400 ")
    assert stored(session, lan).notify_digest is False


def test_administrators_read_no_cases_and_get_no_summary(
    client: FlaskClient, accounts: dict[str, Account]
) -> None:
    post_login(client, accounts["admin"])
    assert "notifications-link" not in client.get("/").get_data(as_text=True)
    assert client.get(PAGE).status_code == 403
