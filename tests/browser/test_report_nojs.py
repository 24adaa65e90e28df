"""A report sent from real Chromium with JavaScript off, as Tor Browser at "Safest" would.

The form is filled mostly from the keyboard, a file is attached, and the code is read off
the confirmation page; the case must then open with an inspector's key. Screenshots of
both pages at desktop and phone widths go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, FilePayload, Page
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import crypto
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import Case, ProtectedPerson, ProtectionCategory, Track
from submit import create_app
from tests.browser.screens import DESKTOP, screenshots
from tests.live import serve
from tests.submit.conftest import TEST_ENV
from tests.submit.test_report_form import (
    CODE,
    case_key,
    open_attachment,
    open_report,
)
from tests.worlds import World

pytestmark = pytest.mark.browser

EVIDENCE = "Biên lai chuyển tiền ngày 3/2.\n".encode() * 40


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
            "MINHBACH_DEFAULT_LANGUAGE": "vi",
        }
    )


@pytest.fixture
def base_url(settings: Settings, world: World) -> Iterator[str]:
    app: Flask = create_app(settings)
    with serve(app) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page with JavaScript off that fails the test on any console error (CSP included).

    HTTP error statuses are reported to the console too; those are checked by the tests
    themselves (the form's 400, the favicon this site does not have).
    """
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    try:
        yield page
    finally:
        context.close()
    assert errors == []


def type_into(page: Page, selector: str, text: str) -> None:
    """Focus a field as a keyboard user would arrive at it, then type."""
    page.focus(selector)
    page.keyboard.type(text)


def test_report_sent_without_javascript_opens_for_the_inspector(
    page: Page, base_url: str, session: Session, world: World, settings: Settings
) -> None:
    page.goto(f"{base_url}/report")
    assert page.locator("#encryption-mode").is_visible()
    screenshots(page, "report-form")

    page.select_option("#category", "land")
    type_into(page, "#what", "Cán bộ địa chính nhận tiền để cấp sổ đỏ.")
    page.keyboard.press("Tab")  # from "what" straight on to "who"
    page.keyboard.type("Ông Trần Văn B, cán bộ địa chính xã")
    type_into(page, "#where", "UBND xã An Phú")
    type_into(page, "#when", "Tháng 2 năm 2026")
    type_into(page, "#how_known", "Tôi là người nộp hồ sơ.")
    type_into(page, "#evidence", "Biên lai chuyển tiền, đính kèm.")
    page.focus("#protection_people-reporter")
    page.keyboard.press("Space")
    page.focus("#protection_kinds-job")
    page.keyboard.press("Space")
    evidence: FilePayload = {"name": "biên lai.txt", "mimeType": "text/plain", "buffer": EVIDENCE}
    page.set_input_files("#files", files=[evidence])
    page.focus("#report-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    code_text = page.locator("#follow-up-code").inner_text()
    assert CODE.fullmatch(code_text.strip())
    screenshots(page, "confirmation")

    [case] = session.scalars(select(Case)).all()
    assert case.track is Track.ANONYMOUS
    assert not case.submitted_with_js
    assert {(p.person, p.category) for p in case.protections} == {
        (ProtectedPerson.REPORTER, ProtectionCategory.JOB)
    }
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    report = open_report(case, key)
    assert report["language"] == "vi"
    assert report["what"] == "Cán bộ địa chính nhận tiền để cấp sổ đỏ."
    assert report["who"] == "Ông Trần Văn B, cán bộ địa chính xã"
    assert report["protection"]["people"] == ["reporter"]
    [attachment] = case.attachments
    meta, plaintext = open_attachment(
        FilesystemBlobStore(settings.blob_path), case, key, attachment
    )
    assert (meta.name, meta.type) == ("biên lai.txt", "text/plain")
    assert plaintext == EVIDENCE
    reporter = crypto.FollowUpCode.parse(code_text)
    assert crypto.lookup_index(reporter.lookup_token()) == case.lookup_index


def test_a_mistake_keeps_what_was_typed(page: Page, base_url: str, session: Session) -> None:
    page.goto(f"{base_url}/report")
    # The browser's own check needs "what"; a forged empty value shows the server's check.
    page.select_option("#category", "land")
    type_into(page, "#who", "Bà Nguyễn Thị C")
    type_into(page, "#what", "   ")
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert page.locator("#what").get_attribute("aria-invalid") == "true"
    assert page.locator("#who").input_value() == "Bà Nguyễn Thị C"
    assert page.locator("#category").input_value() == "land"
    screenshots(page, "report-form-error")
    assert session.scalars(select(Case)).all() == []
