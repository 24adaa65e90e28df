"""A report sent from real Chromium with JavaScript off, as Tor Browser at "Safest" would.

The form is filled mostly from the keyboard, a file is attached, and the code is read off
the confirmation page; the case must then open with an inspector's key. Screenshots of
both pages at desktop and phone widths go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from playwright.sync_api import FilePayload, Page
from sqlalchemy.orm import Session

import crypto
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import ProtectedPerson, ProtectionCategory, Track
from submit import create_app
from tests.browser import helpers
from tests.submit.test_report_form import case_key
from tests.worlds import World

pytestmark = [
    pytest.mark.browser,
    pytest.mark.no_javascript,
    pytest.mark.browser_locale("vi-VN"),
]

EVIDENCE = "Biên lai chuyển tiền ngày 3/2.\n".encode() * 40


@pytest.fixture
def submit_app(settings: Settings, world: World) -> Flask:
    """In Vietnamese, the site's own default and the browser's preference (other tests read
    English): the report records the language it was written in."""
    return create_app(dataclasses.replace(settings, default_language="vi"))


def test_report_sent_without_javascript_opens_for_the_inspector(
    page: Page, base_url: str, session: Session, world: World, store: FilesystemBlobStore
) -> None:
    page.goto(f"{base_url}/report")
    helpers.screenshots(page, "report-form")

    page.focus("#identity_choice-anonymous")
    page.keyboard.press("Space")
    page.focus("#step-you .step-next")
    page.keyboard.press("Enter")  # a link to the next step: no script needed
    page.select_option("#category", "land")
    helpers.type_into(page, "#what", "Cán bộ địa chính nhận tiền để cấp sổ đỏ.")
    page.keyboard.press("Tab")  # from "what" straight on to "who"
    page.keyboard.type("Ông Trần Văn B, cán bộ địa chính xã")
    helpers.type_into(page, "#where", "UBND xã An Phú")
    helpers.type_into(page, "#when", "Tháng 2 năm 2026")
    helpers.type_into(page, "#how_known", "Tôi là người nộp hồ sơ.")
    helpers.type_into(page, "#evidence", "Biên lai chuyển tiền, đính kèm.")
    page.focus("#step-what .step-next")
    page.keyboard.press("Enter")
    page.focus("#protection_people-reporter")
    page.keyboard.press("Space")
    page.focus("#protection_kinds-job")
    page.keyboard.press("Space")
    page.focus("#step-protection .step-next")
    page.keyboard.press("Enter")
    assert page.locator("#encryption-mode").is_visible()
    evidence: FilePayload = {"name": "biên lai.txt", "mimeType": "text/plain", "buffer": EVIDENCE}
    page.set_input_files("#files", files=[evidence])
    page.focus(helpers.SEND_REPORT)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    code_text = helpers.read_code(page)
    helpers.screenshots(page, "confirmation")

    case = helpers.the_case(session)
    assert case.track is Track.ANONYMOUS
    assert not case.submitted_with_js
    assert {(p.person, p.category) for p in case.protections} == {
        (ProtectedPerson.REPORTER, ProtectionCategory.JOB)
    }
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    report = helpers.open_report(case, key)
    assert report["language"] == "vi"
    assert report["what"] == "Cán bộ địa chính nhận tiền để cấp sổ đỏ."
    assert report["who"] == "Ông Trần Văn B, cán bộ địa chính xã"
    assert report["protection"]["people"] == ["reporter"]
    [attachment] = case.attachments
    meta, plaintext = helpers.open_file(store, case, key, attachment)
    assert (meta.name, meta.type) == ("biên lai.txt", "text/plain")
    assert plaintext == EVIDENCE
    reporter = crypto.FollowUpCode.parse(code_text)
    assert crypto.lookup_index(reporter.lookup_token()) == case.lookup_index


def test_a_mistake_keeps_what_was_typed(page: Page, base_url: str, session: Session) -> None:
    page.goto(f"{base_url}/report")
    # The form leaves every check to the server (novalidate): a field in a hidden step
    # would otherwise block sending with a message in the browser's own language.
    page.check("#identity_choice-anonymous")
    helpers.show_step(page, "what")
    page.select_option("#category", "land")
    helpers.type_into(page, "#who", "Bà Nguyễn Thị C")
    helpers.type_into(page, "#what", "   ")
    with page.expect_navigation():
        helpers.click_send(page)
    assert page.locator("[role=alert]").is_visible()
    assert page.locator("#step-what").is_visible()  # the step to correct is the one shown
    assert page.locator("#what").get_attribute("aria-invalid") == "true"
    assert page.locator("#who").input_value() == "Bà Nguyễn Thị C"
    assert page.locator("#category").input_value() == "land"
    helpers.screenshots(page, "report-form-error")
    assert helpers.committed_cases(session) == []
