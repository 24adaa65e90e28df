"""Decisions, deadlines and protection in real Chromium, by keyboard, with JavaScript off.

An inspector opens a named case, follows the case page's link to "Decisions and
deadlines", records acceptance with grounds using the keyboard only, and sees the new
status, the clocks it started and the grounds in the history; the protection page shows
the reporter's request. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from tests.browser import helpers
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

GROUNDS = "Đủ điều kiện thụ lý theo Điều 29 <script>alert(1)</script>"


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity={"name": "Trần Văn Cường"})


def open_from_the_case(
    page: Page, review_url: str, account: Account, sealed: SealedCase, link: str
) -> None:
    """Sign in at the case's page, then follow one of its links."""
    helpers.sign_in(page, review_url, account, f"/cases/{sealed.case.public_id}")
    with page.expect_navigation():
        page.click(link)


def test_an_inspector_records_a_decision_by_keyboard(
    page: Page, review_url: str, accounts: dict[str, Account], named: SealedCase
) -> None:
    open_from_the_case(page, review_url, accounts["lan"], named, "#workflow-link")
    assert page.locator("#current-status").inner_text() == "Received, not yet read"
    assert page.locator("#deadline-triage").is_visible()
    helpers.screenshots(page, "review-workflow")

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
    helpers.screenshots(page, "review-workflow-accepted")


def test_the_protection_page_shows_the_reporters_request(
    page: Page, review_url: str, accounts: dict[str, Account], named: SealedCase
) -> None:
    open_from_the_case(page, review_url, accounts["lan"], named, "#protection-link")
    text = page.locator("main").inner_text()
    assert "requested" in text.lower()
    helpers.screenshots(page, "review-protection")
