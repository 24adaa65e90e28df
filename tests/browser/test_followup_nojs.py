"""Following up from real Chromium with JavaScript off, as Tor Browser at "Safest" would.

The reporter types the code from the keyboard, reads the unit's question, downloads the
unit's file, answers with a file of their own and leaves. The inspectors must then be able
to open the answer. Screenshots of the follow-up pages at desktop and phone widths go to
test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page
from sqlalchemy.orm import Session

from casework.settings import Settings
from crypto.transcript import file_digest
from store.blobs import FilesystemBlobStore
from store.models import Party
from tests.browser import followup_page, helpers
from tests.submit.test_followup_pages import (
    QUESTION,
    UNIT_FILE,
    Story,
    inspector_key,
    new_case,
    reload,
    unit_message,
)
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

ANSWER = "Có, tôi còn giữ biên lai gốc.\nTôi gửi kèm bản chụp."
SCAN = "Bản chụp biên lai số 0231.\n".encode() * 300


@pytest.fixture
def story(session: Session, world: World, settings: Settings, store: FilesystemBlobStore) -> Story:
    """A case whose unit asked a question and sent a file with it."""
    story = new_case(session, world, settings)
    unit_message(session, store, world, story, QUESTION, (("biên bản làm việc.pdf", UNIT_FILE),))
    return story


def test_the_reporter_reads_downloads_and_answers_without_javascript(
    page: Page,
    base_url: str,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    story: Story,
    tmp_path: Path,
) -> None:
    page.goto(f"{base_url}/followup")
    assert page.locator("#followup-app").is_hidden()
    helpers.screenshots(page, "followup-start")

    helpers.type_code(page, story.code.lower().replace("-", " "))
    assert page.url == f"{base_url}/followup/case"
    assert page.locator(".message-unit .message-text").inner_text() == QUESTION
    assert page.get_by_text("Received, not yet read").is_visible()
    helpers.screenshots(page, "followup-case")

    with page.expect_download() as arrival:
        page.get_by_role("link", name="biên bản làm việc.pdf").click()
    download = arrival.value
    assert download.suggested_filename == "biên bản làm việc.pdf"
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == UNIT_FILE

    followup_page.open_action(page, "reply")
    helpers.type_into(page, "#reply_text", ANSWER)
    scan: FilePayload = {"name": "biên lai.jpg", "mimeType": "image/jpeg", "buffer": SCAN}
    page.set_input_files("#reply_files", files=[scan])
    helpers.submit_with(page, "Send message")
    assert page.get_by_role("status").first.inner_text().startswith("Your message was sent.")
    assert page.locator(".message-you .message-text").inner_text() == ANSWER
    helpers.screenshots(page, "followup-case-answered")

    case = reload(session, story)
    answer = case.messages[-1]
    assert answer.author is Party.REPORTER
    key = inspector_key(world, case)
    # Sealed on the server with the reporter's key from the code, as the page seals it.
    place, document = helpers.open_entry(case, key, answer.id)
    assert document["text"] == ANSWER
    [sent] = [a for a in case.attachments if a.message_id == answer.id]
    assert place.files == (file_digest(sent.meta),)
    meta, content = helpers.open_file(store, case, key, sent)
    assert (meta.name, meta.type, content) == ("biên lai.jpg", "image/jpeg", SCAN)

    helpers.submit_with(page, "Leave")
    assert page.get_by_text("You have left your report").is_visible()
    page.goto(f"{base_url}/followup/case")
    assert page.url == f"{base_url}/followup?reason=none"


def test_a_mistyped_code_is_explained_and_the_box_left_empty(
    page: Page, base_url: str, story: Story
) -> None:
    page.goto(f"{base_url}/followup")
    typo = story.code[:-1] + ("0" if story.code[-1] != "0" else "1")
    helpers.type_code(page, typo)
    alert = page.get_by_role("alert")
    assert "looks like it has a typo" in alert.inner_text()
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    assert page.locator("#code").input_value() == ""
    helpers.screenshots(page, "followup-start-error")
    page.get_by_role("link", name="This code looks like it has a typo").click()
    assert page.evaluate("document.activeElement.id") == "code"


def test_an_empty_reply_is_explained_next_to_the_box(
    page: Page, base_url: str, session: Session, story: Story
) -> None:
    """The browser checks the other forms itself (required, max); an empty reply is
    allowed by the page, since files alone may be sent, so the server explains."""
    page.goto(f"{base_url}/followup")
    helpers.type_code(page, story.code)
    followup_page.open_action(page, "retaliation")
    page.select_option("#retaliation_kind", "intimidation")  # another form: left as it is
    followup_page.open_action(page, "reply")
    helpers.submit_with(page, "Send message")
    assert "Write a message, or choose a file" in page.get_by_role("alert").inner_text()
    assert page.locator("#reply_text").get_attribute("aria-invalid") == "true"
    assert followup_page.is_open(page, "reply")  # the refused form comes back open
    assert not followup_page.is_open(page, "retaliation")
    page.get_by_role("link", name="Write a message, or choose a file to send.").click()
    page.keyboard.type("Tôi sẽ gửi sau.")
    assert page.locator("#reply_text").input_value() == "Tôi sẽ gửi sau."
    helpers.screenshots(page, "followup-case-error")
    assert reload(session, story).messages[-1].author is Party.INSPECTOR
