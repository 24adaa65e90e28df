"""The report form in four steps, in real Chromium, with JavaScript and without.

Without JavaScript the steps are CSS only: Next and Back are links to the steps, and the
one a link points at is shown. The tests go through them from the keyboard, go back, and
check that nothing typed is lost before the one post at the end. With JavaScript, Next
first checks the step's fields. Each step is drawn at desktop and phone width in both
languages (test-artifacts/screenshots/report-step-*), and the tallest is measured on a
phone: the one long page it replaces was about 6,100 pixels tall there.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy.orm import Session

import crypto
from store.models import Case, RecipientKind, Track, WrapPurpose
from tests.browser import helpers
from tests.browser.helpers import Recorder
from tests.submit.test_report_form import case_key
from tests.worlds import World

pytestmark = pytest.mark.browser

NAME = "Nguyễn Thị Hoa CANARYSTEPNAME"
CONTACT = "0912 000 111"
WHAT = "Cán bộ thu tiền ngoài quy định khi cấp giấy phép."
WHO = "Ông Trần Văn B"
# A step's own height, and the whole page's with it (heading, lead, reception, footer).
MEASURE = """id => [Math.round(document.getElementById(id).getBoundingClientRect().height),
                     document.documentElement.scrollHeight]"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
SMALL_PHONE: ViewportSize = {"width": 360, "height": 740}
# Well under the old single page on a phone (about 6,100 px): each step is a screenful or two.
TALLEST_STEP_PX = 2_500
TALLEST_PAGE_PX = 3_500


def shown_steps(page: Page) -> list[str]:
    return [step for step in helpers.STEPS if page.locator(f"#step-{step}").is_visible()]


def active_id(page: Page) -> str:
    found: str = page.evaluate("() => document.activeElement.id")
    return found


def follow(page: Page, link: str) -> None:
    """Follow one of the current step's links (Next or Back) from the keyboard."""
    [step] = shown_steps(page)
    page.focus(f"#step-{step} .{link}")
    page.keyboard.press("Enter")


def identity_of(case: Case, world: World) -> Any:
    [wrap] = [
        w.wrapped
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.recipient_kind is RecipientKind.INSPECTOR
    ]
    key = crypto.unwrap(wrap, world.key_of("hoa"), crypto.Purpose.IDENTITY_KEY, case.public_id)
    return helpers.open_identity(case, key)


# --- without JavaScript ---------------------------------------------------------------------


@pytest.mark.no_javascript
def test_without_javascript_the_steps_are_links_and_keep_everything_typed(
    page: Page, base_url: str, session: Session, world: World
) -> None:
    page.goto(f"{base_url}/report")
    # The page's promise: nothing typed leaves it before Send. Moving between steps is a
    # move within the page; the browser asks the server nothing until the one post.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(f"{request.method} {request.url}"))
    assert shown_steps(page) == ["you"]
    assert not page.locator("#identity_name").is_visible()
    page.focus("#identity_choice-named")
    page.keyboard.press("Space")
    assert page.locator("#identity_name").is_visible()  # the details, once "named" is chosen
    helpers.type_into(page, "#identity_name", NAME)
    page.keyboard.press("Tab")
    page.keyboard.type(CONTACT)

    follow(page, "step-next")
    assert shown_steps(page) == ["what"]
    assert page.url.endswith("#step-what")
    page.keyboard.press("Tab")  # the link moved the keyboard's starting point to the step
    assert active_id(page) == "category"
    page.select_option("#category", "land")
    helpers.type_into(page, "#what", WHAT)
    page.keyboard.press("Tab")
    page.keyboard.type(WHO)

    follow(page, "step-next")
    assert shown_steps(page) == ["protection"]
    follow(page, "step-back")
    follow(page, "step-back")
    assert shown_steps(page) == ["you"]
    assert page.locator("#identity_choice-named").is_checked()
    assert page.locator("#identity_name").input_value() == NAME
    page.go_back()  # the browser's own history holds the steps too
    assert shown_steps(page) == ["what"]
    assert page.locator("#what").input_value() == WHAT
    assert page.locator("#category").input_value() == "land"

    follow(page, "step-next")
    follow(page, "step-next")
    assert shown_steps(page) == ["send"]
    assert asked == []
    page.focus(helpers.SEND_REPORT)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    helpers.read_code(page)
    assert asked[0] == f"POST {base_url}/report"

    case = helpers.the_case(session)
    assert case.track is Track.NAMED
    assert not case.submitted_with_js
    assert identity_of(case, world)["name"] == NAME
    report = helpers.open_report(case, case_key(case, world.people["lan"].id, world.key_of("lan")))
    assert (report["what"], report["who"]) == (WHAT, WHO)


@pytest.mark.no_javascript
def test_without_javascript_a_refused_report_opens_the_step_to_correct(
    page: Page, base_url: str, session: Session
) -> None:
    page.goto(f"{base_url}/report")
    page.check("#identity_choice-named")  # ...but no name and no way to reach them
    helpers.show_step(page, "what")
    page.select_option("#category", "land")
    page.fill("#what", WHAT)
    helpers.show_step(page, "send")
    with page.expect_navigation():
        page.click(helpers.SEND_REPORT)

    assert page.locator(".error-summary").is_visible()
    assert shown_steps(page) == ["you"]  # the step of the first mistake, by the server
    assert page.locator("#identity_name").get_attribute("aria-invalid") == "true"
    assert page.locator("#identity_name-error").is_visible()
    helpers.screenshots(page, "report-step-error-nojs")
    helpers.show_step(page, "what")
    assert page.locator("#what").input_value() == WHAT  # kept, in its own step
    # The summary's link opens the step of its field, from wherever the reporter is.
    page.locator(".error-summary a", has_text="contact").click()
    assert shown_steps(page) == ["you"]
    assert page.locator("#identity_contact").is_visible()
    assert helpers.committed_cases(session) == []


# --- with JavaScript ----------------------------------------------------------------------


def test_with_javascript_next_checks_the_step_first_and_moves_the_focus(
    page: Page, base_url: str, recorder: Recorder, session: Session, world: World
) -> None:
    helpers.open_form(page, base_url)
    page.click("#step-you .step-next")  # nothing chosen
    assert shown_steps(page) == ["you"]
    assert page.locator("#identity_choice-error").is_visible()
    assert active_id(page) == "identity_choice-anonymous"
    assert page.title().startswith("Error:")

    page.check("#identity_choice-named")
    page.click("#step-you .step-next")  # named, but no name
    assert page.locator("#identity_name-error").inner_text() == (
        "Write your full name, or choose to report anonymously."
    )
    assert active_id(page) == "identity_name"
    helpers.screenshots(page, "report-step-1-refused-js")
    page.keyboard.type(NAME)
    page.fill("#identity_contact", CONTACT)
    page.focus("#step-you .step-next")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'step-what-title'")
    assert shown_steps(page) == ["what"]
    assert page.locator(".error-summary, .field-error").count() == 0
    assert not page.title().startswith("Error:")

    page.click("#step-what .step-next")  # no category, nothing written
    assert active_id(page) == "category"
    assert page.locator("#what-error").is_visible()
    page.select_option("#category", "land")
    page.fill("#what", WHAT)
    page.click("#step-what .step-next")
    page.wait_for_function("() => document.activeElement.id === 'step-protection-title'")
    page.go_back()  # the browser's Back button: the step before, as it was left
    page.wait_for_function("() => document.activeElement.id === 'step-what-title'")
    assert page.locator("#what").input_value() == WHAT
    page.click("#step-what .step-next")
    page.click("#step-protection .step-next")
    assert shown_steps(page) == ["send"]
    helpers.send_and_read_code(page)

    case = helpers.the_case(session)
    assert case.submitted_with_js
    assert case.track is Track.NAMED
    assert identity_of(case, world) == {
        "schema": 1,
        "name": NAME,
        "contact": CONTACT,
        "address": "",
        "position": "",
        "notes": "",
    }


def test_with_javascript_a_name_typed_then_unchosen_is_not_sent(
    page: Page, base_url: str, recorder: Recorder, session: Session
) -> None:
    helpers.open_form(page, base_url)
    page.check("#identity_choice-named")
    page.fill("#identity_name", NAME)
    page.check("#identity_choice-anonymous")  # changed their mind
    assert not page.locator("#identity_name").is_visible()
    page.click("#step-you .step-next")
    page.select_option("#category", "land")
    page.fill("#what", WHAT)
    helpers.send_and_read_code(page)

    case = helpers.the_case(session)
    assert case.track is Track.ANONYMOUS
    assert case.identity is None
    assert not [w for w in case.key_wraps if w.purpose is WrapPurpose.IDENTITY_KEY]
    assert page.locator("[data-when=named]").is_hidden()


# --- each step, drawn and measured --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "vi"])
def test_each_step_is_short_on_a_phone_and_drawn_in_both_languages(
    browser: Browser, base_url: str, language: str
) -> None:
    recorder = Recorder()
    page = helpers.new_page(browser, recorder, javascript=False)
    with helpers.closed_then_checked(recorder, page):
        page.goto(f"{base_url}/language/{language}?next=/report")
        assert page.locator("html").get_attribute("lang") == language
        page.check("#identity_choice-named")  # the longest first step: details shown
        heights = {}
        for number, step in enumerate(helpers.STEPS, start=1):
            helpers.show_step(page, step)
            assert shown_steps(page) == [step]
            page.set_viewport_size(SMALL_PHONE)
            assert page.evaluate(OVERFLOW) <= 0, f"step {step} is wider than 360 px"
            page.set_viewport_size(helpers.PHONE)
            heights[step] = page.evaluate(MEASURE, f"step-{step}")
            helpers.screenshots(page, f"report-step-{number}-{step}-{language}")
        print(f"\nreport steps on a {helpers.PHONE['width']} px phone ({language}): {heights}")
        assert max(step for step, _page in heights.values()) < TALLEST_STEP_PX
        assert max(whole for _step, whole in heights.values()) < TALLEST_PAGE_PX
