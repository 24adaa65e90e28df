"""The inbox in Chromium: "newest received first" follows the date received, and on a
phone every case's reference stays on one line with its marks in sight.

Cases arrive out of their received order, as a forwarded case or a letter registered
days after it came do. Screenshots of the inbox, at desktop and phone widths in English
and Vietnamese, go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework.intake import public_reference
from casework.settings import Settings
from store.models import Case
from tests.browser import helpers
from tests.browser.helpers import PHONE
from tests.review.conftest import Account
from tests.worlds import World

pytestmark = pytest.mark.browser

DAY = timedelta(days=1)


def cases_out_of_order(session: Session, world: World, settings: Settings) -> list[str]:
    """Five cases, made in an order other than their received order; their references,
    newest received first (the same day: the later made first)."""
    today = date.today()
    received = {
        "monday": today - 3 * DAY,
        "forwarded": today - 20 * DAY,  # forwarded in today from another unit
        "today_a": today,
        "back_dated": today - 3 * DAY,  # a letter registered days after it came
        "today_b": today,
    }
    made = {
        name: helpers.accept_case(session, world, settings, received=day)
        for name, day in received.items()
    }
    flagged = session.get_one(Case, _row_id(session, made["forwarded"].case_id))
    flagged.urgent = flagged.protection_requested = flagged.retaliation_reported = True
    session.commit()
    order = ["today_b", "today_a", "back_dated", "monday", "forwarded"]
    return [public_reference(made[name].case_id) for name in order]


def _row_id(session: Session, public_id: str) -> int:
    return next(case.id for case in helpers.committed_cases(session) if case.public_id == public_id)


def references(page: Page) -> list[str]:
    return page.locator("table.inbox tbody th[scope=row]").all_inner_texts()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_inbox_lists_by_date_received_and_reads_on_a_phone(
    page: Page,
    review_url: str,
    session: Session,
    world: World,
    settings: Settings,
    accounts: dict[str, Account],
    language: str,
) -> None:
    expected = cases_out_of_order(session, world, settings)
    helpers.sign_in(page, review_url, accounts["lan"], "/cases")
    if language != "en":
        with page.expect_navigation():
            page.click(f'.languages a[hreflang="{language}"]')
        assert page.locator("html").get_attribute("lang") == language
    assert references(page) == expected
    with page.expect_navigation():
        page.select_option("#sort", "oldest")
        page.click(".inbox-filters button[type=submit]")
    assert references(page) == expected[::-1]
    helpers.screenshots(page, f"review-inbox-oldest-{language}", around="#results")
    with page.expect_navigation():
        page.select_option("#sort", "newest")
        page.click(".inbox-filters button[type=submit]")
    assert references(page) == expected
    helpers.screenshots(page, f"review-inbox-{language}")

    page.set_viewport_size(PHONE)
    width = PHONE["width"]
    for row in page.locator("table.inbox tbody tr").all():
        reference = row.locator("th[scope=row] code")
        lines = reference.evaluate("code => code.getClientRects().length")
        assert lines == 1, reference.inner_text()  # never "MB-" then "28BE1489" below
        for item in row.locator(".badge").all():  # every mark within the screen
            box = item.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
    flagged = page.locator("table.inbox tbody tr").last
    # Unread, urgent, protection and retaliation (and the deadline's, as the clock runs).
    assert flagged.locator(".badge").count() >= 4
    # The page does not scroll sideways: the rows fit the phone.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    # Every fact is labelled on the card, and the table's meaning stays for screen readers.
    assert page.get_by_role("columnheader").count() == 7
    assert page.get_by_role("rowheader").count() == len(expected)
    page.set_viewport_size(helpers.DESKTOP)
