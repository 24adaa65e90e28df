"""The review app's persistent navigation in real Chromium, by keyboard, JavaScript off.

An inspector on a case finds "Cases" marked as where the page belongs and goes back to the
inbox with the keyboard alone; a custodian's navigation fits a phone's width without
scrolling sideways. Screenshots at desktop and phone width, in English and Vietnamese, go
to test-artifacts/screenshots/.
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

NAV = "nav#places"


@pytest.fixture
def sealed(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST)


def tab_to(page: Page, name: str) -> None:
    """Press Tab until the navigation's link called ``name`` has the focus."""
    link = page.locator(NAV).get_by_role("link", name=name, exact=True)
    for _ in range(15):
        page.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def in_vietnamese(page: Page) -> None:
    with page.expect_navigation():
        page.click(".languages a[lang=vi]")
    assert page.locator("html").get_attribute("lang") == "vi"


def test_from_a_case_back_to_the_inbox_by_keyboard(
    page: Page, review_url: str, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    helpers.sign_in(page, review_url, accounts["lan"], f"/cases/{sealed.case.public_id}")
    navigation = page.get_by_role("navigation", name="Main")
    assert (
        navigation.get_by_role("link", name="Cases", exact=True).get_attribute("aria-current")
        == "true"
    )
    helpers.screenshots(page, "review-navigation-case")

    tab_to(page, "Cases")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{review_url}/cases"
    current = navigation.locator("[aria-current]")
    assert current.count() == 1
    assert current.get_attribute("aria-current") == "page"
    assert current.inner_text() == "Cases"


def test_a_custodians_places_fit_a_phone_in_both_languages(
    page: Page, review_url: str, accounts: dict[str, Account]
) -> None:
    helpers.sign_in(page, review_url, accounts["hoa"], "/dashboard")
    navigation = page.locator(NAV)
    assert navigation.get_by_role("link").count() == 8
    helpers.screenshots(page, "review-navigation-dashboard")

    in_vietnamese(page)
    assert navigation.get_by_role("link", name="Nhật ký kiểm tra", exact=True).count() == 1
    helpers.screenshots(page, "review-navigation-dashboard-vi")

    page.set_viewport_size(helpers.PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= helpers.PHONE["width"]
    for link in navigation.get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= helpers.PHONE["width"]
        assert box["height"] >= 44  # a touch target
