"""Signing in to the review app from real Chromium: passphrase and TOTP from the keyboard,
a mistake first, then the landing page, then signing out, after which the browser holds
no session cookie and going back shows nothing. Screenshots at desktop and phone widths
go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from review import auth, create_app
from store.models import AuditEntry, ReviewSession
from tests.live import serve
from tests.review.conftest import Account, give_credentials, review_settings
from tests.worlds import build_world

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def accounts(session: Session) -> dict[str, Account]:
    return give_credentials(session, build_world(session))


@pytest.fixture
def base_url(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Iterator[str]:
    with serve(create_app(review_settings(engine, tmp_path))) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page that fails the test on any console error (CSP violations included) other
    than the browser's note about the refused login's 401 status."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == []


def screenshots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def type_into(page: Page, selector: str, text: str) -> None:
    page.focus(selector)
    page.keyboard.type(text)


def session_cookies(page: Page) -> list[str]:
    return [c["name"] for c in page.context.cookies() if c["name"] == auth.COOKIE]


def test_sign_in_with_totp_and_sign_out(
    page: Page, base_url: str, accounts: dict[str, Account], session: Session
) -> None:
    account = accounts["lan"]
    page.goto(f"{base_url}/")
    assert page.url == f"{base_url}/login?next=/"
    assert page.locator("h1").inner_text() == "Sign in"
    screenshots(page, "review-login")

    # A wrong code first: the user name stays, passphrase and code must be typed again.
    type_into(page, "#username", account.username)
    type_into(page, "#passphrase", account.passphrase)
    type_into(page, "#code", account.wrong_code())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#login-failed[role=alert]").is_visible()
    assert page.locator("#username").input_value() == account.username
    assert page.locator("#passphrase").input_value() == ""
    assert page.locator("#code").input_value() == ""
    screenshots(page, "review-login-failed")

    type_into(page, "#passphrase", account.passphrase)
    page.keyboard.press("Tab")  # from the passphrase straight on to the code
    page.keyboard.type(account.code())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base_url}/"
    assert page.locator("h1").inner_text() == "Your account"
    assert account.username in page.locator("main").inner_text()
    assert page.locator("#fingerprint").inner_text().count("-") == 7
    assert session_cookies(page) == [auth.COOKIE]
    cookie = next(c for c in page.context.cookies() if c["name"] == auth.COOKIE)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["expires"]) == (True, "Strict", -1)
    screenshots(page, "review-home")

    page.focus("header button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base_url}/login?reason=signed_out"
    assert "You have signed out" in page.locator("[role=status]").inner_text()
    assert session_cookies(page) == []
    screenshots(page, "review-signed-out")

    page.go_back()  # the landing page is not in any cache: the server sends to login
    assert page.url.startswith(f"{base_url}/login")
    session.rollback()
    assert session.scalars(select(ReviewSession)).all() == []
    actions = [entry.action for entry in session.scalars(select(AuditEntry))]
    assert actions == ["login_failed", "login", "logout"]
