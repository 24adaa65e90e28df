"""The daily e-mail summary chosen on the account page, in real Chromium, JavaScript off.

A person reaches the page from their account by keyboard, gives an address and ticks the
summary; a missing address is refused with an error summary that leads to the field; the
choice is undone in Vietnamese. Screenshots at desktop and phone width, in English and
Vietnamese, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from store.models import Inspector
from tests.browser import helpers
from tests.review.conftest import Account

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

SAVE = "#notifications-form button[type=submit]"


def stored(session: Session, account: Account) -> tuple[str | None, bool]:
    session.rollback()  # a fresh snapshot: the app committed in its own session
    session.expire_all()
    inspector = session.get(Inspector, account.inspector_id)
    assert inspector is not None
    return inspector.notify_email, inspector.notify_digest


def save(page: Page) -> None:
    with page.expect_navigation():
        page.click(SAVE)


def test_opting_in_with_an_address_and_out_again_in_vietnamese(
    page: Page, review_url: str, accounts: dict[str, Account], session: Session
) -> None:
    lan = accounts["lan"]
    helpers.sign_in(page, review_url, lan, "/")
    with page.expect_navigation():
        page.click("#notifications-link")
    assert page.url == f"{review_url}/account/notifications"
    helpers.screenshots(page, "review-notifications")

    # Ticked without an address: refused, the summary leads to the field, nothing saved.
    page.check("#digest")
    save(page)
    summary = page.get_by_role("alert")
    assert "Enter the e-mail address the daily summary should go to." in summary.inner_text()
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert page.is_checked("#digest")
    helpers.screenshots(page, "review-notifications-error")
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "email"
    assert stored(session, lan) == (None, False)

    helpers.type_into(page, "#email", "lan@example.vn")
    save(page)
    notice = page.get_by_role("status").inner_text()
    assert "You will receive the daily summary by e-mail." in notice
    assert page.is_checked("#digest")
    assert stored(session, lan) == ("lan@example.vn", True)

    with page.expect_navigation():
        page.click(".languages a[lang=vi]")
    assert page.locator("html").get_attribute("lang") == "vi"
    helpers.screenshots(page, "review-notifications-vi")
    page.uncheck("#digest")
    save(page)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert not page.is_checked("#digest")
    assert page.input_value("#email") == "lan@example.vn"  # kept for a later change of mind
    assert stored(session, lan) == ("lan@example.vn", False)
    page.set_viewport_size(helpers.PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= helpers.PHONE["width"]
    helpers.screenshots(page, "review-notifications-saved-vi")
