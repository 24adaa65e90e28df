"""The follow-up case page's order and its "What you can do" entries, in Chromium.

Both paths, with JavaScript (the page the browser builds from followup_js.html) and
without (followup_case.html), on the same case: a named report whose legal triage deadline
has passed, with a question from the unit and a file, and protection in place. Status and
messages come before any form; each action is behind its own <details> entry, reached and
opened from the keyboard, used, and the page says what happened; a refused request comes
back with its entry open, the error and what was typed. At 360 pixels nothing overflows,
and the page is far shorter than the five stacked forms were (6,589 pixels without
JavaScript, 6,495 with it, on this same case).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy.orm import Session

from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import Party
from tests.browser import followup_page, helpers
from tests.browser.helpers import Recorder
from tests.submit.test_followup_pages import (
    QUESTION,
    UNIT_FILE,
    Story,
    granted,
    new_case,
    reload,
    unit_message,
)
from tests.worlds import World

pytestmark = pytest.mark.browser

PATHS = [True, False]
PATH_IDS = ["js", "nojs"]
NARROW: ViewportSize = {"width": 360, "height": 800}
# The five stacked forms made this case 6,589 pixels high at 360 (6,495 with JavaScript).
SHORT_ENOUGH = 4000
REPLY = "Tôi còn giữ biên lai gốc. CANARYACTIONREPLY71"
PROTECTION_NOTE = "Họ theo dõi nhà tôi. CANARYACTIONPROTECT72"
# The entries this case offers, in order: no re-denunciation before a resolution.
ENTRIES = ["reply", "retaliation", "protection-request", "escalate", "withdraw"]


@pytest.fixture
def story(session: Session, world: World, settings: Settings, store: FilesystemBlobStore) -> Story:
    story = new_case(session, world, settings, named=True)
    unit_message(session, store, world, story, QUESTION, (("biên bản.pdf", UNIT_FILE),))
    granted(session, world, story.case)
    return story


@pytest.fixture(params=PATHS, ids=PATH_IDS)
def javascript(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def case_page(
    browser: Browser, recorder: Recorder, javascript: bool, base_url: str, story: Story
) -> Iterator[Page]:
    """The case open in English, with or without JavaScript."""
    page = helpers.new_page(browser, recorder, javascript=javascript)
    with helpers.closed_then_checked(recorder, page):
        open_case(page, base_url, story, javascript)
        yield page


def open_case(page: Page, base_url: str, story: Story, javascript: bool) -> None:
    if javascript:
        helpers.open_case(page, base_url, story.keys.code)
    else:
        page.goto(f"{base_url}/followup")
        helpers.type_code(page, story.code)


def heading_ids(page: Page) -> list[str]:
    """The case's section headings in document order, without the script's prefix."""
    ids = page.locator("main h2:visible").evaluate_all("all => all.map((h) => h.id)")
    return [str(name).removeprefix("followup-js-") for name in ids]


def phone_height(page: Page) -> int:
    """The page's height at 360 pixels; it must not scroll sideways."""
    page.set_viewport_size(NARROW)
    height, wide, seen = page.evaluate(
        "() => { const root = document.documentElement;"
        " return [root.scrollHeight, root.scrollWidth, root.clientWidth]; }"
    )
    assert wide <= seen, f"{wide} pixels wide at {seen}"
    page.set_viewport_size(helpers.DESKTOP)
    return int(height)


def forms_outside_entries(page: Page) -> list[str]:
    """Visible forms that are not behind an entry (the Leave button's form aside)."""
    found = page.locator("main form:visible").evaluate_all(
        "forms => forms.filter((form) => !form.closest('details')"
        " && !form.closest('.session-bar')).map((form) => form.outerHTML.slice(0, 80))"
    )
    return [str(form) for form in found]


def test_status_and_messages_come_first_and_each_action_is_behind_its_entry(
    case_page: Page, javascript: bool
) -> None:
    page = case_page
    order = heading_ids(page)
    messages = "messages-heading" if javascript else "messages"
    assert order[:3] == ["status-heading", messages, "actions-heading"]
    assert order.index("actions-heading") < order.index("deadlines-heading")
    assert forms_outside_entries(page) == []
    summaries = page.locator("main .actions-list summary:visible")
    assert summaries.count() == len(ENTRIES)
    for key in ENTRIES:
        assert not followup_page.is_open(page, key)
    # The newest message is one link away from the top.
    latest = page.locator("main .facts a[href*='message-']:visible")
    assert latest.inner_text().startswith("From the unit, ")
    target = str(latest.get_attribute("href")).removeprefix("#")
    last = page.locator("main .thread article h3:visible").last
    assert last.get_attribute("id") == target
    # What comes next: the overdue triage decision, named in the summary.
    step = page.locator("main .facts dd", has_text="Decision on accepting the report")
    assert "overdue" in step.inner_text().lower()

    closed = phone_height(page)
    print(f"\nfollow-up case at 360 px, {PATH_IDS[PATHS.index(javascript)]}: {closed} px closed")
    assert closed < SHORT_ENOUGH
    page.locator("main details").evaluate_all("all => all.forEach((d) => { d.open = true; })")
    phone_height(page)  # every entry open: still nothing sideways
    page.locator("main details").evaluate_all("all => all.forEach((d) => { d.open = false; })")


@pytest.mark.parametrize("language", ["en", "vi"])
def test_screenshots_of_the_case_page_in_both_languages(
    browser: Browser,
    recorder: Recorder,
    base_url: str,
    story: Story,
    javascript: bool,
    language: str,
) -> None:
    page = helpers.new_page(browser, recorder, javascript=javascript)
    with helpers.closed_then_checked(recorder, page):
        page.goto(f"{base_url}/language/{language}")
        open_case(page, base_url, story, javascript)
        assert page.locator("html").get_attribute("lang") == language
        path = PATH_IDS[PATHS.index(javascript)]
        assert page.locator("main .actions-list summary:visible").count() == len(ENTRIES)
        helpers.screenshots(page, f"followup-actions-{path}-{language}")
        followup_page.open_action(page, "reply")
        helpers.screenshots(page, f"followup-actions-reply-open-{path}-{language}")


def test_each_action_is_reached_and_opened_from_the_keyboard(case_page: Page) -> None:
    page = case_page
    page.locator("main .facts a[href*='message-']:visible").focus()
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.tagName === 'SUMMARY' ? document.activeElement.id : ''"
        )
        key = str(focused).removeprefix("followup-js-").removesuffix("-heading")
        if key:
            reached.append(key)
        if key == ENTRIES[-1]:
            break
    # Closed entries are one Tab each: no field inside them is in the way.
    assert reached[-len(ENTRIES) :] == ENTRIES
    page.keyboard.press("Enter")
    assert followup_page.is_open(page, "withdraw")
    page.keyboard.press("Enter")  # and closes again
    assert not followup_page.is_open(page, "withdraw")


def press(page: Page, button: str, javascript: bool) -> None:
    """Focus a visible button by its name and press Enter, waiting for the server's page
    without JavaScript."""
    target = page.get_by_role("button", name=button, exact=True).locator("visible=true")
    target.focus()
    if javascript:
        page.keyboard.press("Enter")
        return
    with page.expect_navigation():
        page.keyboard.press("Enter")


def said(page: Page, text: str, javascript: bool) -> None:
    if javascript:
        helpers.announced(page, text)
    else:
        assert text in page.get_by_role("status").first.inner_text()


def test_a_reply_and_a_protection_request_are_sent_from_their_entries(
    case_page: Page, javascript: bool, session: Session, story: Story
) -> None:
    page = case_page
    followup_page.open_action(page, "reply")
    page.keyboard.press("Tab")  # into the entry: its first field is the message
    box = "followup-js-reply-text" if javascript else "reply_text"
    assert page.evaluate("document.activeElement.id") == box
    page.keyboard.type(REPLY)
    press(page, "Send message", javascript)
    said(page, "Your message was", javascript)
    mine = page.locator("main li.message-you").first
    mine.wait_for(state="visible")
    assert REPLY in mine.inner_text()
    assert not followup_page.is_open(page, "reply")  # closed again once sent
    assert reload(session, story).messages[-1].author is Party.REPORTER

    followup_page.open_action(page, "protection-request")
    prefix = "#followup-js-protection-" if javascript else "#protection_"
    page.select_option(f"{prefix}person", "spouse")
    page.select_option(f"{prefix}category", "life_health")
    page.fill(f"{prefix}text", PROTECTION_NOTE)
    press(page, "Ask for protection", javascript)
    said(page, "Your request for protection was sent.", javascript)
    listed = page.locator("main li.protection", has_text="My husband or wife: Life and health")
    listed.wait_for(state="visible")
    assert not followup_page.is_open(page, "protection-request")
    assert len(reload(session, story).protections) == 2


def test_a_refused_request_comes_back_in_its_open_entry_with_what_was_typed(
    case_page: Page, javascript: bool, session: Session, story: Story
) -> None:
    page = case_page
    followup_page.open_action(page, "protection-request")
    prefix = "#followup-js-protection-" if javascript else "#protection_"
    page.fill(f"{prefix}text", PROTECTION_NOTE)
    if not javascript:
        # As from a browser that does not check "required" itself: the server refuses.
        page.locator("#protection-form").evaluate("form => { form.noValidate = true; }")
    press(page, "Ask for protection", javascript)
    alert = page.get_by_role("alert").filter(has_text="Choose who needs protection.")
    alert.wait_for(state="visible")
    assert followup_page.is_open(page, "protection-request")
    for key in ("reply", "retaliation", "escalate", "withdraw"):
        assert not followup_page.is_open(page, key)
    assert page.input_value(f"{prefix}text") == PROTECTION_NOTE
    assert page.get_attribute(f"{prefix}person", "aria-invalid") == "true"
    alert.get_by_role("link", name="Choose who needs protection.").click()
    assert page.evaluate("document.activeElement.id") == f"{prefix}person".removeprefix("#")
    helpers.screenshots(page, f"followup-actions-refused-{PATH_IDS[PATHS.index(javascript)]}")
    assert len(reload(session, story).protections) == 1  # nothing was recorded
