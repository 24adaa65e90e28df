"""A report that arrived on paper, in real Chromium: an inspector registers a signed letter
with its scan, prints the receipt, and the citizen follows the case on the public side with
the printed code, with JavaScript off and on.

Screenshots of the receipt as printed (print media) at desktop and phone widths, in both
languages, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

import crypto
from casework import intake
from casework.dates import unit_today
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.review.conftest import Account
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

WHAT = "Cán bộ địa chính thu tiền để cấp sổ đỏ"
SCAN = ("thu-to-cao.pdf", "application/pdf", b"%PDF-1.4 scanned letter " * 200)


def register_a_signed_letter(page: Page, review_url: str, account: Account, language: str) -> str:
    """Sign in at the registration form, switch the pages to ``language``, register a named,
    signed letter with its scan, and return the code the receipt shows."""
    helpers.sign_in(page, review_url, account, "/register")
    if language != "en":
        with page.expect_navigation():
            page.click(f'.languages a[hreflang="{language}"]')
        assert page.locator("html").get_attribute("lang") == language
    received = unit_today() - timedelta(days=2)
    page.check("#channel-letter")
    page.check("#signed")
    page.fill("#received_on", received.isoformat())
    page.select_option("#category", "land")
    page.fill("#what", WHAT)
    page.fill("#identity_name", "Nguyễn Văn An")
    helpers.attach(page, SCAN)  # the form's file field has the public form's id
    with page.expect_navigation():
        page.click("#registration-form button[type=submit]")
    return helpers.read_code(page)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_receipt_prints_alone_with_the_code_at_desktop_and_phone_width(
    page: Page,
    review_url: str,
    accounts: dict[str, Account],
    session: Session,
    language: str,
) -> None:
    code = register_a_signed_letter(page, review_url, accounts["lan"], language)
    case = helpers.the_case(session)
    reference = intake.public_reference(case.public_id)
    assert page.locator("#receipt-reference").inner_text() == reference
    assert page.locator("#print-notice").is_visible()
    page.emulate_media(media="print")
    # On paper: the receipt, its code and reference; not the app's bar, notice or buttons.
    assert page.locator("header.bar").is_hidden()
    assert page.locator("#print-notice").is_hidden()
    assert page.locator("footer").is_hidden()
    assert page.locator("#follow-up-code").inner_text() == code
    assert page.locator(".receipt").is_visible()
    helpers.screenshots(page, f"review-registration-receipt-print-{language}")
    page.emulate_media(media="screen")
    # Going back to the receipt shows no code: the page is gone, and a second post refused.
    page.goto(f"{review_url}/register")
    assert code not in page.content()


def test_the_citizen_follows_the_printed_code_without_and_with_javascript(
    page: Page,
    browser: Browser,
    recorder: Recorder,
    review_url: str,
    base_url: str,
    accounts: dict[str, Account],
    session: Session,
    world: World,
) -> None:
    code = register_a_signed_letter(page, review_url, accounts["lan"], "en")
    case = helpers.the_case(session)
    reference = intake.public_reference(case.public_id)
    assert [event.kind for event in case.events] == ["registration", "identity_verification"]

    citizen = helpers.new_page(browser, recorder, javascript=False)
    enhanced = helpers.new_page(browser, recorder, javascript=True)
    with helpers.closed_then_checked(recorder, citizen, enhanced):
        citizen.goto(f"{base_url}/followup")
        assert "Meet us in person" in citizen.locator("main").inner_text()
        helpers.type_code(citizen, code)  # typed from the paper, by keyboard
        assert citizen.url == f"{base_url}/followup/case"
        assert reference in citizen.locator("main").inner_text()
        helpers.screenshots(citizen, "followup-nojs-registered-case")

        helpers.open_case(enhanced, base_url, crypto.FollowUpCode.parse(code))
        assert reference in enhanced.locator(helpers.CASE_HEADING).inner_text()
        assert "Received, not yet read" in enhanced.locator("#followup-app").inner_text()
        helpers.screenshots(enhanced, "followup-js-registered-case")
