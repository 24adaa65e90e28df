"""The whole loop in Chromium, across both apps on one database and one blob store.

A tipster reports with a file (once with JavaScript, once without); an inspector signs in
with passphrase and TOTP, opens the case, reads the report (script, HTML and markdown in
it stay inert text), downloads the file and replies; the tipster comes back with the code
and reads the reply. Screenshots of the case page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from store.models import AuditEntry, Message, Party
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.review.conftest import Account

pytestmark = pytest.mark.browser

HOSTILE = (
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> **markdown** '
    "[link](javascript:alert(3)) javascript:alert(4)"
)
WHAT = "Cán bộ địa chính nhận tiền\nđể cấp sổ đỏ."
EVIDENCE = "Biên lai chuyển tiền ngày 3/2.\n".encode() * 3000  # several stream chunks
FILE_NAME = "biên lai <img src=x onerror=alert(5)>.txt"  # no "/": a path part is cut off
REPLY = "Cảm ơn anh/chị. Xin cho biết thêm\nai đã nhận tiền?"


@pytest.fixture
def pages(browser: Browser, recorder: Recorder) -> Iterator[dict[str, Page]]:
    """Two tipsters (one with JavaScript, one without) and an inspector, each in a context
    of their own; an error logged by any of them fails the test."""
    made = {
        "tipster_js": helpers.new_page(browser, recorder, javascript=True),
        "tipster_nojs": helpers.new_page(browser, recorder, javascript=False),
        "inspector": helpers.new_page(browser, recorder, javascript=True),
    }
    with helpers.closed_then_checked(recorder, *made.values()):
        yield made


def report_with_javascript(page: Page, base_url: str) -> str:
    helpers.open_form(page, base_url)
    helpers.fill(page, {"what": WHAT, "who": HOSTILE})
    helpers.attach(page, (FILE_NAME, "text/plain", EVIDENCE))
    return helpers.send_and_read_code(page)


def report_without_javascript(page: Page, base_url: str) -> str:
    page.goto(f"{base_url}/report")
    helpers.fill(page, {"what": WHAT, "who": HOSTILE})
    helpers.attach(page, (FILE_NAME, "text/plain", EVIDENCE))
    return helpers.post_and_read_code(page)


def read_download_and_reply(page: Page, tmp_path: Path, name: str) -> None:
    assert page.locator("#report-what").inner_text() == WHAT
    who = page.locator("#report-who")
    assert who.inner_text() == HOSTILE  # shown as typed...
    assert who.locator("*").count() == 0  # ...and nothing in it became an element
    assert page.locator("main script, main img, main strong:has-text('markdown')").count() == 0
    helpers.screenshots(page, name)

    with page.expect_download() as started:
        page.get_by_role("link", name=f"Download {FILE_NAME}").click()
    download = started.value
    assert download.suggested_filename.endswith(".txt")
    saved = tmp_path / f"{name}.download"
    download.save_as(saved)
    assert saved.read_bytes() == EVIDENCE

    page.fill("#reply-field", REPLY)
    helpers.submit_with(page, "Send reply")
    shown = page.locator(".case-message .multiline")
    assert shown.inner_text() == REPLY
    helpers.screenshots(page, f"{name}-replied", around="#messages")


def check_database(session: Session, inspector_id: int) -> None:
    case = helpers.the_case(session)
    [message] = session.scalars(select(Message)).all()
    assert message.author is Party.INSPECTOR
    assert message.inspector_id == inspector_id
    assert REPLY.encode() not in message.body
    actions = [
        entry.action
        for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.case_public_id == case.public_id)
        )
    ]
    assert actions == ["case_open", "file_download", "reply", "case_open"]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_report_read_reply_and_follow_up(
    pages: dict[str, Page],
    base_url: str,
    review_url: str,
    session: Session,
    accounts: dict[str, Account],
    tmp_path: Path,
    javascript: bool,
) -> None:
    tipster = pages["tipster_js" if javascript else "tipster_nojs"]
    if javascript:
        code = report_with_javascript(tipster, base_url)
    else:
        code = report_without_javascript(tipster, base_url)
    case = helpers.the_case(session)
    assert case.submitted_with_js is javascript

    inspector = pages["inspector"]
    helpers.sign_in(inspector, review_url, accounts["lan"], f"/cases/{case.public_id}")
    name = "review-case-js" if javascript else "review-case-nojs"
    read_download_and_reply(inspector, tmp_path, name)
    check_database(session, accounts["lan"].inspector_id)

    if javascript:
        helpers.open_case(tipster, base_url, crypto.FollowUpCode.parse(code))
        reply = tipster.locator("#followup-app li.message-unit .message-text")
        # The page checked the report (signed, with its file) and the signed reply itself.
        assert tipster.locator('#followup-app [data-slot="report-altered"]').is_hidden()
        assert "altered in storage" not in tipster.locator("#followup-app").inner_text()
    else:
        tipster.goto(f"{base_url}/followup")
        helpers.type_code(tipster, code)
        reply = tipster.locator(".message-unit .message-text")
    assert reply.inner_text() == REPLY
