"""Published conclusions and the export for the archives, in real Chromium.

Staff conclude a named case, post its conclusion from the review app by keyboard, and the
public app's page shows it, with JavaScript and without, in English and in Vietnamese,
reached from the home page's link, and readable on a phone. Then the case is exported for
the archives: the inspector's download holds no identity; a custodian's, with the box
ticked and a reason, holds it. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from review.views import publication as publication_views
from store.models import PublishedConclusion
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.casework.test_access import REPORT, SealedCase, seal_case
from tests.review.conftest import FAST, Account
from tests.review.test_custody import CANARIES, IDENTITY, REASON
from tests.worlds import World

pytestmark = [pytest.mark.browser]

GROUNDS = "Kết luận: nội dung tố cáo đúng một phần."
TITLE = "Kết luận nội dung tố cáo về việc cấp sổ đỏ tại Phường 3"
SUMMARY = "Nội dung tố cáo là đúng một phần.\nĐã chuyển cơ quan điều tra <b>xử lý</b>."


@pytest.fixture
def named(session: Session, world: World) -> SealedCase:
    return seal_case(session, world, FAST, identity=IDENTITY)


def conclude(page: Page, review_url: str, account: Account, sealed: SealedCase) -> None:
    """Sign in at the case's workflow page and take it to "concluded", step by step."""
    helpers.sign_in(page, review_url, account, f"/cases/{sealed.case.public_id}/workflow")
    for status in ("accepted", "verifying", "concluded"):
        page.check(f"#status-{status}")
        page.fill("#status-grounds", GROUNDS)
        with page.expect_navigation():
            page.press("#status button[type=submit]", "Enter")


def publish_by_keyboard(page: Page) -> None:
    with page.expect_navigation():
        page.click("#publication-link")
    assert page.locator("#publish-warning").is_visible()
    page.focus("#publish-title")
    page.keyboard.type(TITLE)
    page.focus("#publish-summary")
    page.keyboard.type(SUMMARY)
    page.focus("#publish-posted_where")
    page.keyboard.type("Bảng tin trụ sở Thanh tra tỉnh")
    with page.expect_navigation():
        page.press("#publish button[type=submit]", "Enter")
    assert page.locator("#posted-title").inner_text() == TITLE


def check_public_page(page: Page, base_url: str, name: str) -> None:
    """From the home page's link, in English, then in Vietnamese."""
    page.goto(base_url + "/")
    with page.expect_navigation():
        page.click("#conclusions-link")
    assert page.url == base_url + "/conclusions"
    heading = page.get_by_role("heading", name=TITLE)
    assert heading.is_visible()
    article = page.locator("#conclusions article").first
    assert SUMMARY in article.inner_text()  # as text: the markup is shown, not applied
    assert article.locator("b").count() == 0
    assert "Date of the conclusion" in article.inner_text()
    helpers.screenshots(page, f"{name}-en")
    page.get_by_role("link", name="Tiếng Việt").click()
    page.wait_for_url(base_url + "/conclusions")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.get_by_role("heading", name=TITLE).is_visible()
    listed = page.locator("#conclusions").inner_text()
    assert re.search(r"\b\d{1,2}/\d{1,2}/\d{4}\b", listed)  # dates as Vietnamese pages write them
    assert not re.search(
        r"January|February|March|April|May|June|July|August|September|October|November|December",
        listed,
    )
    page.set_viewport_size(helpers.PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= helpers.PHONE["width"]
    helpers.screenshots(page, f"{name}-vi")


@pytest.mark.no_javascript
def test_staff_publish_a_conclusion_and_the_public_page_shows_it(
    page: Page,
    browser: Browser,
    recorder: Recorder,
    base_url: str,
    review_url: str,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    conclude(page, review_url, accounts["lan"], named)
    publish_by_keyboard(page)
    helpers.screenshots(page, "review-publication")
    check_public_page(page, base_url, "conclusions-nojs")
    with_javascript = helpers.new_page(browser, recorder, javascript=True)
    with helpers.closed_then_checked(recorder, with_javascript):
        check_public_page(with_javascript, base_url, "conclusions-js")


@pytest.mark.no_javascript
def test_a_conclusion_is_taken_down_only_after_the_question_page(
    page: Page,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    review_url: str,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    conclude(page, review_url, accounts["lan"], named)
    publish_by_keyboard(page)
    session.rollback()  # see what the app committed
    removal = session.scalars(select(PublishedConclusion.earliest_removal_on)).one()
    # The day the whole period has passed, for the review app (served in this process).
    monkeypatch.setattr(publication_views, "unit_today", lambda: removal)
    page.reload()
    page.focus("#take-down-link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert TITLE in page.locator("#take-down-consequences").inner_text()
    helpers.screenshots(page, "review-take-down-confirm")
    with page.expect_navigation():
        page.click(".languages a[lang=vi]")  # back to the same question, in Vietnamese
    assert TITLE in page.locator("#take-down-consequences").inner_text()
    helpers.screenshots(page, "review-take-down-confirm-vi")
    page.focus("#take-down button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#done[role=status]").is_visible()
    assert page.locator("#posted-title").count() == 0
    helpers.screenshots(page, "review-take-down-done-vi")


def download_export(
    page: Page, review_url: str, sealed: SealedCase, tmp_path: Path
) -> dict[str, bytes]:
    page.goto(f"{review_url}/cases/{sealed.case.public_id}/archive")
    with page.expect_download() as download:
        page.click("#archive-form button[type=submit]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.no_javascript
def test_an_archive_export_holds_no_identity_unless_a_custodian_adds_it(
    page: Page,
    browser: Browser,
    recorder: Recorder,
    review_url: str,
    accounts: dict[str, Account],
    named: SealedCase,
    tmp_path: Path,
) -> None:
    helpers.sign_in(page, review_url, accounts["lan"], f"/cases/{named.case.public_id}")
    with page.expect_navigation():
        page.click("#archive-link")
    assert page.locator("#identity-left-out").is_visible()
    helpers.screenshots(page, "review-archive")
    members = download_export(page, review_url, named, tmp_path)
    assert {"index.txt", "report.txt", "messages.txt", "decisions.txt"} <= set(members)
    assert REPORT["what"] in members["report.txt"].decode()
    for text in members.values():
        for canary in CANARIES:
            assert canary.encode() not in text

    custodian = helpers.new_page(browser, recorder, javascript=False)
    with helpers.closed_then_checked(recorder, custodian):
        helpers.sign_in(
            custodian, review_url, accounts["hoa"], f"/cases/{named.case.public_id}/archive"
        )
        custodian.check("#identity")
        custodian.fill("#reason", REASON)
        with custodian.expect_download() as download:
            custodian.click("#archive-form button[type=submit]")
        saved = tmp_path / "custodian.zip"
        download.value.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            identity = archive.read("identity.txt").decode()
            index = archive.read("index.txt").decode()
    for canary in CANARIES:
        assert canary in identity
    assert REASON in index
