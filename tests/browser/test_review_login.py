"""Signing in to the review app from real Chromium: passphrase and TOTP from the keyboard,
a mistake first, then the landing page, then signing out, after which the browser holds
no session cookie and going back shows nothing. Screenshots at desktop and phone widths
go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from review import auth
from store.models import AuditEntry, ReviewSession
from tests.browser import helpers
from tests.review.conftest import Account

pytestmark = pytest.mark.browser


def session_cookies(page: Page) -> list[str]:
    return [c["name"] for c in page.context.cookies() if c["name"] == auth.COOKIE]


def test_sign_in_with_totp_and_sign_out(
    page: Page, review_url: str, accounts: dict[str, Account], session: Session
) -> None:
    account = accounts["lan"]
    page.goto(f"{review_url}/")
    assert page.url == f"{review_url}/login?next=/"
    assert page.locator("h1").inner_text() == "Sign in"
    helpers.screenshots(page, "review-login")

    # A wrong code first: the user name stays, passphrase and code must be typed again.
    helpers.type_into(page, "#username", account.username)
    helpers.type_into(page, "#passphrase", account.passphrase)
    helpers.type_into(page, "#code", account.wrong_code())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#login-failed[role=alert]").is_visible()
    assert page.locator("#username").input_value() == account.username
    assert page.locator("#passphrase").input_value() == ""
    assert page.locator("#code").input_value() == ""
    helpers.screenshots(page, "review-login-failed")

    helpers.type_into(page, "#passphrase", account.passphrase)
    page.keyboard.press("Tab")  # from the passphrase straight on to the code
    page.keyboard.type(account.code())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{review_url}/"
    assert page.locator("h1").inner_text() == "Your account"
    assert account.username in page.locator("main").inner_text()
    assert page.locator("#fingerprint").inner_text().count("-") == 7
    assert session_cookies(page) == [auth.COOKIE]
    cookie = next(c for c in page.context.cookies() if c["name"] == auth.COOKIE)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["expires"]) == (True, "Strict", -1)
    helpers.screenshots(page, "review-home")

    page.focus("header button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{review_url}/login?reason=signed_out"
    assert "You have signed out" in page.locator("[role=status]").inner_text()
    assert session_cookies(page) == []
    helpers.screenshots(page, "review-signed-out")

    page.go_back()  # the landing page is not in any cache: the server sends to login
    assert page.url.startswith(f"{review_url}/login")
    session.rollback()
    assert session.scalars(select(ReviewSession)).all() == []
    actions = [entry.action for entry in session.scalars(select(AuditEntry))]
    assert actions == ["login_failed", "login", "logout"]
