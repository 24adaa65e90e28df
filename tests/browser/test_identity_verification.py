"""A named web report becomes a formal denunciation once the unit verifies who made it
(LTC Art. 22-23, 29(1)(a)), in real Chromium with JavaScript off.

The reporter, reading in Vietnamese, is told what to do to complete it and when the unit
receives people; an inspector records the verification on the case's workflow page by
keyboard; the reporter's page then drops the notice and shows the law's deadline.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework.dates import unit_today
from casework.settings import Settings
from tests.browser import helpers
from tests.review.conftest import Account
from tests.worlds import World

pytestmark = [pytest.mark.browser, pytest.mark.no_javascript]

SCHEDULE = "Sáng thứ Năm hằng tuần, phòng tiếp công dân số 2"


def in_vietnamese(app: Flask, msgid: str) -> str:
    with app.test_request_context(), force_locale("vi"):
        return str(gettext(msgid))


def test_the_reporter_learns_how_to_complete_a_named_report_and_sees_it_done(
    page: Page,
    base_url: str,
    submit_app: Flask,
    review_url: str,
    session: Session,
    world: World,
    settings: Settings,
    accounts: dict[str, Account],
) -> None:
    world.unit.reception_schedule = SCHEDULE
    session.commit()
    today: date = unit_today()
    made = helpers.accept_case(
        session, world, settings, received=today, identity={"schema": 1, "name": "Lê Văn C"},
        verified=False,
    )  # fmt: skip
    reference = "MB-" + made.case_id[:8].upper()

    page.goto(f"{base_url}/language/vi?next=/followup")
    assert page.locator("html").get_attribute("lang") == "vi"
    helpers.type_code(page, made.code.display().lower().replace("-", " "))
    notice = page.locator("#verification-notice").inner_text()
    assert reference in notice
    assert SCHEDULE in notice
    assert "formal denunciation" not in notice  # said in Vietnamese, not in English
    assert page.locator("#deadline-triage").count() == 0  # no statutory clock yet
    helpers.screenshots(page, "followup-awaiting-verification-vi")

    reporter = page
    staff = page.context.new_page()
    helpers.sign_in(staff, review_url, accounts["lan"], f"/cases/{made.case_id}/workflow")
    assert staff.locator("#awaiting-verification").is_visible()
    staff.focus("#identity-in_person")
    staff.keyboard.press("Space")
    with staff.expect_navigation():
        staff.press("#identity button[type=submit]", "Enter")
    assert staff.locator("#awaiting-verification").count() == 0
    assert staff.locator("#deadline-triage").is_visible()
    history = staff.locator(".timeline").inner_text()
    assert "identity verified" in history.lower()

    reporter.reload()
    assert reporter.locator("#verification-notice").count() == 0
    deadlines = reporter.locator("#deadline-triage").inner_text()
    assert in_vietnamese(submit_app, "Decision on accepting the report") in deadlines
    helpers.screenshots(reporter, "followup-verified-vi")
