"""The audit pages in real Chromium, by keyboard, with JavaScript off: a custodian opens a
case, and a supervisor finds its trail from the reference the case page shows. The trail
reads in words: the case's reference in the title, people by name, actions and details
translated. Screenshots at desktop and phone width, in English and Vietnamese, go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from casework.intake import public_reference
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account, give_names
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]


@pytest.fixture
def sealed(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST)


def test_a_supervisor_reads_a_cases_trail_in_words(
    page: Page,
    browser: Browser,
    recorder: Recorder,
    session: Session,
    world: World,
    review_url: str,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    names = give_names(session, world)
    reference = public_reference(sealed.case.public_id)
    custodian = helpers.new_page(browser, recorder, javascript=False)
    with helpers.closed_then_checked(recorder, custodian):
        helpers.sign_in(custodian, review_url, accounts["hoa"], f"/cases/{sealed.case.public_id}")
        assert reference in custodian.locator("h1").inner_text()

    helpers.sign_in(page, review_url, accounts["son"], "/audit/")
    page.focus("#case")
    page.keyboard.type(reference)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.title().startswith(f"Audit trail of case {reference}")
    rows = page.locator("#audit-entries tbody tr")
    opened = rows.filter(has_text="Opened the case")
    assert opened.count() == 1
    assert names["hoa"] in opened.inner_text()
    assert accounts["hoa"].username not in page.locator("#audit-entries").inner_text()
    assert sealed.case.public_id not in page.locator("main").inner_text()  # no UUID shown
    assert "case_open" not in page.content()
    helpers.screenshots(page, "review-audit-case")

    with page.expect_navigation():
        page.click(".languages a[lang=vi]")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert reference in page.locator("h1").inner_text()
    helpers.screenshots(page, "review-audit-case-vi")
    page.set_viewport_size(helpers.PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= helpers.PHONE["width"]
