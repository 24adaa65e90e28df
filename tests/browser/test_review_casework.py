"""Decisions, deadlines and protection in real Chromium, by keyboard, with JavaScript off.

An inspector opens a named case, follows the case page's link to "Decisions and
deadlines", records acceptance with grounds using the keyboard only, and sees the new
status, the clocks it started and the grounds in the history; the protection page shows
the reporter's request. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from review import create_app
from tests.browser.screens import DESKTOP, screenshots
from tests.casework.test_access import SealedCase, seal_case
from tests.live import serve
from tests.review.conftest import FAST, Account, give_credentials, review_settings
from tests.worlds import World

pytestmark = pytest.mark.browser

GROUNDS = "Đủ điều kiện thụ lý theo Điều 29 <script>alert(1)</script>"


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    return give_credentials(session, world)


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})


@pytest.fixture
def base_url(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Iterator[str]:
    with serve(create_app(review_settings(engine, tmp_path))) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, base_url: str, account: Account, path: str) -> None:
    page.goto(f"{base_url}{path}")
    page.fill("#username", account.username)
    page.fill("#passphrase", account.passphrase)
    page.fill("#code", account.code())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url == f"{base_url}{path}"


def test_an_inspector_records_a_decision_by_keyboard(
    page: Page, base_url: str, accounts: dict[str, Account], named: SealedCase
) -> None:
    sign_in(page, base_url, accounts["lan"], f"/cases/{named.case.public_id}")
    with page.expect_navigation():
        page.click("#workflow-link")
    assert page.locator("#current-status").inner_text() == "Received, not yet read"
    assert page.locator("#deadline-triage").is_visible()
    screenshots(page, "review-workflow")

    page.focus("#status-accepted")
    page.keyboard.press("Space")
    page.focus("#status-grounds")
    page.keyboard.type(GROUNDS)
    with page.expect_navigation():
        page.press("#status button[type=submit]", "Enter")

    assert page.locator("#current-status").inner_text() == "Accepted"
    assert page.locator("#deadline-resolution").is_visible()
    assert page.locator("#deadline-notification").is_visible()
    history = page.locator(".timeline").inner_text()
    assert GROUNDS in history  # decrypted, and shown as text: the script never ran
    assert page.locator(".timeline script").count() == 0
    screenshots(page, "review-workflow-accepted")


def test_the_protection_page_shows_the_reporters_request(
    page: Page, base_url: str, accounts: dict[str, Account], named: SealedCase
) -> None:
    sign_in(page, base_url, accounts["lan"], f"/cases/{named.case.public_id}")
    with page.expect_navigation():
        page.click("#protection-link")
    text = page.locator("main").inner_text()
    assert "requested" in text.lower()
    screenshots(page, "review-protection")
