"""Consequential actions in real Chromium, by keyboard, with JavaScript off: each is asked
on a page of its own that says what follows, and the next page says what was done.

A custodian forwards a case from its decisions page (in English, then a second case in
Vietnamese); an inspector gives up their own access to a case. Screenshots of the question
and the answer at desktop and phone width go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework.intake import public_reference
from tests.browser import helpers
from tests.casework.test_access import SealedCase, seal_case
from tests.review.conftest import FAST, Account
from tests.worlds import World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

COMMUNE = "Ủy ban nhân dân xã An Bình"


@pytest.fixture
def sealed(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST)


@pytest.fixture
def commune(session: Session) -> World:
    """A second unit with people who read cases: somewhere to forward to."""
    other = build_world(session, "ubnd-xa")
    other.unit.name = COMMUNE
    session.commit()
    return other


def follow(page: Page, selector: str) -> None:
    """Focus a link or button and press Enter, as a keyboard user does."""
    page.focus(selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def in_vietnamese(page: Page) -> None:
    with page.expect_navigation():
        page.click(".languages a[lang=vi]")


def forward(page: Page, sealed: SealedCase) -> None:
    """From the case's decisions page to the forward page, then forward it with grounds."""
    follow(page, "#forward-link")
    assert page.url.endswith(f"/cases/{sealed.case.public_id}/forward")
    assert page.locator("#forward-consequences").is_visible()
    page.focus("#forward-grounds")
    page.keyboard.type("Thuộc thẩm quyền của Ủy ban nhân dân xã")
    follow(page, "#forward button[type=submit]")


def test_a_custodian_forwards_a_case_after_reading_what_follows(
    page: Page,
    review_url: str,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
    commune: World,
) -> None:
    helpers.sign_in(page, review_url, accounts["hoa"], f"/cases/{sealed.case.public_id}/workflow")
    follow(page, "#forward-link")
    helpers.screenshots(page, "review-forward-confirm")
    page.go_back()
    forward(page, sealed)

    assert page.url == f"{review_url}/forwarded"
    status = page.get_by_role("status")
    reference = public_reference(sealed.case.public_id)
    assert status.inner_text() == f"Case {reference} was forwarded to {COMMUNE}."
    helpers.screenshots(page, "review-forward-done")

    second = seal_case(session, world, FAST)
    page.goto(f"{review_url}/cases/{second.case.public_id}/workflow")
    in_vietnamese(page)
    follow(page, "#forward-link")
    assert page.locator("html").get_attribute("lang") == "vi"
    helpers.screenshots(page, "review-forward-confirm-vi")
    page.go_back()
    forward(page, second)
    assert public_reference(second.case.public_id) in page.get_by_role("status").inner_text()
    helpers.screenshots(page, "review-forward-done-vi")


def test_an_inspector_gives_up_their_own_access_and_is_told_so(
    page: Page, review_url: str, world: World, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    lan = world.people["lan"]
    helpers.sign_in(page, review_url, accounts["lan"], f"/cases/{sealed.case.public_id}")
    follow(page, f"a[href$='/readers/{lan.id}/revoke']")
    assert page.locator("#revoke-consequences").is_visible()
    helpers.screenshots(page, "review-revoke-own-confirm")
    follow(page, "#revoke button[type=submit]")

    assert page.url == f"{review_url}/"
    reference = public_reference(sealed.case.public_id)
    assert page.get_by_role("status").inner_text() == f"You can no longer read case {reference}."
    helpers.screenshots(page, "review-revoke-own-done")
    page.goto(f"{review_url}/cases/{sealed.case.public_id}")
    assert page.locator("h1").inner_text() != f"Case {reference}"  # no longer opens
