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
from playwright.sync_api import Browser, ConsoleMessage, Dialog, FilePayload, Page
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import crypto
from review import create_app as create_review_app
from store.models import AuditEntry, Case, Message, Party
from tests.browser.fixtures_submit import base_url, settings, submit_app
from tests.browser.screens import DESKTOP, screenshots
from tests.browser.test_followup_js import open_case
from tests.browser.test_followup_nojs import type_code
from tests.browser.test_report_js import attach, fill, open_form, send_and_read_code
from tests.live import serve
from tests.review.conftest import Account, give_credentials, review_settings
from tests.worlds import World

__all__ = ["base_url", "settings", "submit_app"]  # fixtures
pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
HOSTILE = (
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> **markdown** '
    "[link](javascript:alert(3)) javascript:alert(4)"
)
WHAT = "Cán bộ địa chính nhận tiền\nđể cấp sổ đỏ."
EVIDENCE = "Biên lai chuyển tiền ngày 3/2.\n".encode() * 3000  # several stream chunks
FILE_NAME = "biên lai <img src=x onerror=alert(5)>.txt"  # no "/": a path part is cut off
REPLY = "Cảm ơn anh/chị. Xin cho biết thêm\nai đã nhận tiền?"


class Errors:
    """Console errors (CSP violations included) and dialogs: any one fails the test."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.seen.append(message.text)

    def dialog(self, dialog: Dialog) -> None:
        self.seen.append(f"dialog: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def errors() -> Errors:
    return Errors()


def new_page(browser: Browser, errors: Errors, *, javascript: bool) -> Page:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", errors.console)
    page.on("dialog", errors.dialog)
    page.on("pageerror", lambda error: errors.seen.append(f"page error: {error}"))
    return page


@pytest.fixture
def accounts(session: Session, world: World) -> dict[str, Account]:
    return give_credentials(session, world)


@pytest.fixture
def review_url(engine: Engine, tmp_path: Path, accounts: dict[str, Account]) -> Iterator[str]:
    # The same instance folder as the submit app's settings: one database, one blob store.
    with serve(create_review_app(review_settings(engine, tmp_path))) as base:
        yield base


@pytest.fixture
def pages(browser: Browser, errors: Errors) -> Iterator[dict[str, Page]]:
    made = {
        "tipster_js": new_page(browser, errors, javascript=True),
        "tipster_nojs": new_page(browser, errors, javascript=False),
        "inspector": new_page(browser, errors, javascript=True),
    }
    try:
        yield made
    finally:
        for page in made.values():
            page.context.close()
    assert errors.seen == []


def report_with_javascript(page: Page, base_url: str) -> str:
    open_form(page, base_url)
    fill(page, {"what": WHAT, "who": HOSTILE})
    attach(page, (FILE_NAME, "text/plain", EVIDENCE))
    return send_and_read_code(page)


def report_without_javascript(page: Page, base_url: str) -> str:
    page.goto(f"{base_url}/report")
    page.select_option("#category", "land")
    page.fill("#what", WHAT)
    page.fill("#who", HOSTILE)
    evidence: FilePayload = {"name": FILE_NAME, "mimeType": "text/plain", "buffer": EVIDENCE}
    page.set_input_files("#files", files=[evidence])
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    return page.locator("#follow-up-code").inner_text().strip()


def sign_in(page: Page, review_url: str, account: Account, next_path: str) -> None:
    page.goto(f"{review_url}{next_path}")
    assert page.url.startswith(f"{review_url}/login")
    page.fill("#username", account.username)
    page.fill("#passphrase", account.passphrase)
    page.fill("#code", account.code())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url == f"{review_url}{next_path}"


def read_download_and_reply(page: Page, tmp_path: Path, name: str) -> None:
    assert page.locator("#report-what").inner_text() == WHAT
    who = page.locator("#report-who")
    assert who.inner_text() == HOSTILE  # shown as typed...
    assert who.locator("*").count() == 0  # ...and nothing in it became an element
    assert page.locator("main script, main img, main strong:has-text('markdown')").count() == 0
    screenshots(page, name)

    with page.expect_download() as started:
        page.get_by_role("link", name=f"Download {FILE_NAME}").click()
    download = started.value
    assert download.suggested_filename.endswith(".txt")
    saved = tmp_path / f"{name}.download"
    download.save_as(saved)
    assert saved.read_bytes() == EVIDENCE

    page.fill("#reply-field", REPLY)
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()
    shown = page.locator(".case-message .multiline")
    assert shown.inner_text() == REPLY
    screenshots(page, f"{name}-replied", around="#messages")


def check_database(session: Session, inspector_id: int) -> None:
    session.rollback()  # see what the two servers committed
    [case] = session.scalars(select(Case)).all()
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
    session.rollback()
    [case] = session.scalars(select(Case)).all()
    assert case.submitted_with_js is javascript

    inspector = pages["inspector"]
    sign_in(inspector, review_url, accounts["lan"], f"/cases/{case.public_id}")
    name = "review-case-js" if javascript else "review-case-nojs"
    read_download_and_reply(inspector, tmp_path, name)
    check_database(session, accounts["lan"].inspector_id)

    if javascript:
        open_case(tipster, base_url, crypto.FollowUpCode.parse(code))
        reply = tipster.locator("#followup-app li.message-unit .message-text")
    else:
        tipster.goto(f"{base_url}/followup")
        type_code(tipster, code)
        reply = tipster.locator(".message-unit .message-text")
    assert reply.inner_text() == REPLY
