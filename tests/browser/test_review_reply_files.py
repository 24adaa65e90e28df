"""An inspector sends the reporter files with a reply, in Chromium, across both apps.

The review app's reply form streams its files through ``web.streaming`` and encrypts them
under the case key as they arrive; the reporter, with JavaScript and without, finds them
under the unit's message and downloads them with the code. A reply with nothing in it is
refused with a clear error. Screenshots of the form, the sent reply and the reporter's
page, at desktop and phone widths in English and Vietnamese, go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page
from sqlalchemy.orm import Session

import crypto
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import Party
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.review.conftest import Account
from tests.worlds import World

pytestmark = pytest.mark.browser

REPLY = "Đơn của anh/chị đã được thụ lý.\nXin xem thông báo kèm theo."
FILE_NAME = "thông báo thụ lý.pdf"
NOTICE = "Thông báo thụ lý tố cáo số 12/TB.\n".encode() * 3000  # several stream chunks


@pytest.fixture
def pages(browser: Browser, recorder: Recorder) -> Iterator[dict[str, Page]]:
    """An inspector and two reporters' browsers (with and without JavaScript), each in a
    context of its own; an error logged by any of them fails the test."""
    made = {
        "inspector": helpers.new_page(browser, recorder, javascript=True),
        "reporter_js": helpers.new_page(browser, recorder, javascript=True),
        "reporter_nojs": helpers.new_page(browser, recorder, javascript=False),
    }
    with helpers.closed_then_checked(recorder, *made.values()):
        yield made


def in_language(page: Page, language: str) -> None:
    if language != "en":
        with page.expect_navigation():
            page.click(f'.languages a[hreflang="{language}"]')
    assert page.locator("html").get_attribute("lang") == language


def send(page: Page) -> None:
    with page.expect_navigation():
        page.click("#reply button[type=submit]")


def send_reply_with_a_file(page: Page, language: str) -> None:
    """An empty reply first (refused, saying why), then the text and the file."""
    send(page)
    summary = page.locator("#problem")
    assert summary.get_attribute("role") == "alert"
    assert page.locator("#reply-field").get_attribute("aria-invalid") == "true"
    helpers.screenshots(page, f"review-reply-empty-{language}", around="#reply")

    helpers.type_into(page, "#reply-field", REPLY)
    notice: FilePayload = {"name": FILE_NAME, "mimeType": "application/pdf", "buffer": NOTICE}
    page.set_input_files("#reply-files", notice)
    helpers.screenshots(page, f"review-reply-files-{language}", around="#reply")
    send(page)
    message = page.locator(".case-message").last
    assert message.locator(".multiline").inner_text() == REPLY
    assert message.locator(".case-files a").count() == 1
    helpers.screenshots(page, f"review-reply-sent-{language}", around="#messages")


def downloaded(page: Page, click: str, folder: Path) -> bytes:
    with page.expect_download() as started:
        page.click(click)
    download = started.value
    assert download.suggested_filename == FILE_NAME
    saved = folder / FILE_NAME
    download.save_as(saved)
    return saved.read_bytes()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_an_inspector_sends_a_file_the_reporter_downloads_with_and_without_javascript(
    pages: dict[str, Page],
    base_url: str,
    review_url: str,
    session: Session,
    world: World,
    settings: Settings,
    store: FilesystemBlobStore,
    accounts: dict[str, Account],
    tmp_path: Path,
    language: str,
) -> None:
    made = helpers.accept_case(session, world, settings, received=date.today())
    inspector = pages["inspector"]
    helpers.sign_in(inspector, review_url, accounts["lan"], f"/cases/{made.case_id}")
    in_language(inspector, language)
    assert "cannot be sent from here" not in inspector.content()
    send_reply_with_a_file(inspector, language)

    # Stored as ciphertext only, as the unit's file of the unit's message.
    case = helpers.the_case(session)
    [message] = case.messages
    [row] = [item for item in case.attachments if item.message_id == message.id]
    assert row.origin is Party.INSPECTOR
    with store.open_reader(row.blob_id) as reader:
        stored = reader.read()
    assert b"Th\xc3\xb4ng b\xc3\xa1o" not in stored
    assert FILE_NAME.encode() not in stored

    code = made.code
    without = pages["reporter_nojs"]
    without.goto(f"{base_url}/language/{language}?next=/followup")
    helpers.type_code(without, code.display())
    unit_message = without.locator(".message-unit")
    assert unit_message.locator(".message-text").inner_text() == REPLY
    link = f'.message-unit a:has-text("{FILE_NAME}")'
    assert downloaded(without, link, tmp_path / "nojs") == NOTICE
    helpers.screenshots(without, f"followup-unit-file-nojs-{language}", around=".message-unit")

    with_js = pages["reporter_js"]
    with_js.goto(f"{base_url}/language/{language}?next=/followup")
    helpers.open_case(with_js, base_url, crypto.FollowUpCode.parse(code.display()))
    unit_message = with_js.locator("#followup-app li.message-unit")
    assert unit_message.locator(".message-text").inner_text() == REPLY
    button = f'#followup-app li.message-unit button:has-text("{FILE_NAME}")'
    assert downloaded(with_js, button, tmp_path / "js") == NOTICE
    helpers.screenshots(with_js, f"followup-unit-file-js-{language}", around="li.message-unit")
