"""Escalation and re-denunciation to the head of the directly superior unit, in Chromium.

The reporter's side with and without JavaScript, in English and Vietnamese: the page says
which unit now answers, the reporter escalates an overdue case or re-denounces a concluded
one, and reads the head's answer, opened on the device (JavaScript) or in the server's
memory (without). The heads' side in the review app: the superior unit's custodian
demands a report, the resolving unit's inspector writes it, the custodian reads it and
answers.

Words are checked as the page shows them in the chosen language: the Vietnamese catalogue's
translation when it has one, else the English text Flask-Babel falls back to.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

import crypto
from casework import access, escalation, followup, workflow
from casework.dates import unit_today
from casework.hierarchy import set_superior
from casework.sealing import NewCaseKeys
from casework.settings import Settings
from store.models import WrapPurpose
from submit import create_app
from tests.browser import followup_page, helpers
from tests.browser.helpers import Made, Recorder
from tests.review.conftest import Account, give_credentials
from tests.worlds import World, build_world, reporter_entry

pytestmark = pytest.mark.browser

VIETNAMESE = Path(__file__).parents[2] / "web" / "translations" / "vi" / "LC_MESSAGES"
SUPERIOR = "Ủy ban nhân dân tỉnh (thử)"
# ASCII canaries: one spelling in UTF-8, JSON and form encoding.
NOTE = "Two months and nothing. CANARYESCALATE61"
REASONS = "The conclusion ignored my evidence. CANARYREDENOUNCE62"
ANSWER = "The unit must decide within three days. Trả lời của thủ trưởng."
REPORT = "Short of staff; the decision comes this week. CANARYREPORT63"


class Say:
    """The page's words in one language, as Flask-Babel picks them."""

    def __init__(self, language: str, catalog: Catalog | None) -> None:
        self.language = language
        self.catalog = catalog

    def __call__(self, msgid: str, **values: str) -> str:
        message = None if self.catalog is None else self.catalog.get(msgid)
        found = message.string if message is not None else None
        text = found if isinstance(found, str) and found else msgid
        return text % values if values else text


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with (VIETNAMESE / "messages.po").open("rb") as file:
        return read_po(file)


@pytest.fixture(params=["en", "vi"])
def say(request: pytest.FixtureRequest, catalog: Catalog) -> Say:
    return Say(request.param, catalog if request.param == "vi" else None)


@pytest.fixture
def submit_app(settings: Settings, world: World) -> Flask:
    # Two units: this app serves the resolving one.
    return create_app(dataclasses.replace(settings, unit=world.unit.slug))


@pytest.fixture
def province(session: Session, world: World) -> World:
    superior = build_world(session, "uy-ban-tinh")
    superior.unit.name = SUPERIOR
    set_superior(world.unit, superior.unit)
    session.commit()
    return superior


@pytest.fixture
def made(session: Session, world: World, settings: Settings, province: World) -> Made:
    """A named report received 60 days ago: its 7-working-day triage is long overdue."""
    received = unit_today() - timedelta(days=60)
    identity = {"schema": 1, "name": "Nguyen Van A"}
    return helpers.accept_case(session, world, settings, received=received, identity=identity)


def now() -> datetime:
    return datetime.now(UTC)


def head_answers(session: Session, province: World) -> None:
    """The superior unit's custodian answers what waits, as the review app does."""
    case = helpers.the_case(session)
    escalation.answer(
        session,
        case,
        inspector=province.people["hoa"],
        private_key=province.key_of("hoa"),
        text=ANSWER,
        today=unit_today(),
        now=now(),
    )
    session.commit()


def conclude(session: Session, world: World) -> None:
    case = helpers.the_case(session)
    lan, today = world.people["lan"], unit_today()
    keys = world.staff_keys(session, case, "lan", today)
    for status in ("accepted", "verifying", "concluded"):
        grounds = access.seal_note(keys, case, "grounds", status)
        workflow.transition(case, status, today=today, inspector=lan, now=now(), grounds=grounds)
    session.commit()


def open_in(page: Page, base_url: str, made: Made, say: Say, javascript: bool) -> None:
    page.goto(f"{base_url}/language/{say.language}")
    if javascript:
        helpers.open_case(page, base_url, made.code)
        return
    page.goto(f"{base_url}/followup")
    helpers.type_code(page, made.code.display())
    assert page.url == f"{base_url}/followup/case"


def sent(page: Page, text: str, javascript: bool) -> None:
    if javascript:
        helpers.announced(page, text)
    else:
        assert text in page.get_by_role("status").first.inner_text()


def submit(page: Page, form: str, javascript: bool) -> None:
    button = page.locator(f"{form} button[type=submit]")
    if javascript:
        button.click()
    else:
        with page.expect_navigation():
            button.click()


# --- the reporter's side, both paths, both languages ------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_reporter_escalates_to_the_superior_and_reads_the_answer(
    browser: Browser,
    recorder: Recorder,
    base_url: str,
    made: Made,
    session: Session,
    province: World,
    say: Say,
    javascript: bool,
) -> None:
    page = helpers.new_page(browser, recorder, javascript=javascript)
    with helpers.closed_then_checked(recorder, page):
        open_in(page, base_url, made, say, javascript)
        prefix = "#followup-app " if javascript else ""
        followup_page.open_action(page, "escalate")
        intro = page.locator("#followup-js-escalate-intro" if javascript else "#escalate-intro")
        assert intro.is_visible()
        assert SUPERIOR in intro.inner_text()  # before escalating, the page says who answers
        page.fill("#followup-js-escalate-text" if javascript else "#escalate_text", NOTE)
        form = '[data-slot="form-escalate"]' if javascript else "#escalate-form"
        submit(page, prefix + form, javascript)
        sent(
            page,
            say(
                "Your report was escalated. Who now answers is shown below; the dates are "
                "under Deadlines."
            ),
            javascript,
        )
        heading = say("Who now answers: %(unit)s", unit=SUPERIOR)
        page.get_by_role("heading", name=heading).wait_for(state="visible")
        helpers.screenshots(page, f"followup-escalated-superior-{say.language}")

        case = helpers.the_case(session)
        assert [e.data for e in case.events if e.kind == "escalation"] == [
            {"to_unit": "uy-ban-tinh"}
        ]
        head_answers(session, province)
        if javascript:
            helpers.open_case(page, base_url, made.code)
        else:
            page.reload()
        answer = page.locator(
            "#followup-app [data-slot='answers'] article"
            if javascript
            else "section[aria-labelledby='answers-heading'] article"
        )
        answer.wait_for(state="visible")
        assert ANSWER in answer.inner_text()
        assert say("Escalation answered") in answer.inner_text()
        helpers.screenshots(page, f"followup-answered-{say.language}")
    if javascript:
        helpers.assert_not_sent(recorder, [NOTE.encode(), ANSWER.encode()])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_reporter_re_denounces_a_concluded_case_and_reads_the_decision(
    browser: Browser,
    recorder: Recorder,
    base_url: str,
    made: Made,
    session: Session,
    world: World,
    province: World,
    say: Say,
    javascript: bool,
) -> None:
    conclude(session, world)
    page = helpers.new_page(browser, recorder, javascript=javascript)
    with helpers.closed_then_checked(recorder, page):
        open_in(page, base_url, made, say, javascript)
        prefix = "#followup-app " if javascript else ""
        text_box = "#followup-js-redenounce-text" if javascript else "#redenounce_text"
        followup_page.open_action(page, "redenounce")
        page.locator(text_box).focus()  # by keyboard: the field is reachable and labelled
        page.keyboard.type(REASONS)
        label = page.locator(f"label[for='{text_box[1:]}']")
        assert say("Why you believe the resolution was unlawful (optional)") in label.inner_text()
        form = '[data-slot="form-redenounce"]' if javascript else "#redenounce-form"
        submit(page, prefix + form, javascript)
        sent(
            page,
            say(
                "Your re-denunciation was sent. Who reviews it is shown below; the date is "
                "under Deadlines."
            ),
            javascript,
        )
        heading = say("Who now answers: %(unit)s", unit=SUPERIOR)
        page.get_by_role("heading", name=heading).wait_for(state="visible")
        if javascript:
            assert page.locator('#followup-app [data-slot="redenounce"]').is_hidden()
        else:
            assert page.locator(form).count() == 0  # one request at a time

        case = helpers.the_case(session)
        [event] = [e for e in case.events if e.kind == "re_denunciation"]
        key = helpers.staff_case_key(session, world, "minh")
        place, document = helpers.open_entry(case, key, event.message_id)
        assert (place.purpose, document["text"]) == ("re-denunciation", REASONS)

        head_answers(session, province)
        if javascript:
            helpers.open_case(page, base_url, made.code)
        else:
            page.reload()
        body = page.inner_text("body")
        assert ANSWER in body
        assert say("Re-denunciation decided") in body
    if javascript:
        helpers.assert_not_sent(recorder, [REASONS.encode(), ANSWER.encode()])


# --- the heads' side, in the review app --------------------------------------------------------


@pytest.fixture
def province_accounts(session: Session, province: World) -> dict[str, Account]:
    return give_credentials(session, province)


def test_the_superiors_head_demands_reads_the_report_and_answers(
    browser: Browser,
    recorder: Recorder,
    review_url: str,
    made: Made,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    province_accounts: dict[str, Account],
) -> None:
    case = helpers.the_case(session)
    keys = followup_keys(session, made)
    entry = reporter_entry(session, case, keys, "escalation", unit_today(), NOTE)
    followup.escalate(session, case, entry, unit_today())
    session.commit()

    head = helpers.new_page(browser, recorder)
    handler = helpers.new_page(browser, recorder)
    with helpers.closed_then_checked(recorder, head, handler):
        helpers.sign_in(head, review_url, province_accounts["hoa"], "/")
        head.click("#escalations-link")
        article = head.locator(f"#escalation-{case.public_id}")
        assert world.unit.name in article.inner_text()
        with head.expect_navigation():
            article.get_by_role("link", name="Demand a report").click()
        assert head.locator("#demand-consequences").is_visible()  # asked first
        helpers.screenshots(head, "review-escalation-demand-confirm")
        with head.expect_navigation():
            head.get_by_role("button", name="Demand the report").click()
        assert "was demanded from" in head.get_by_role("status").inner_text()
        helpers.screenshots(head, "review-escalation-demand-done")

        helpers.sign_in(handler, review_url, accounts["lan"], "/escalations")
        owed = handler.locator(f"#owed-{case.public_id}")
        assert f"report to {SUPERIOR}" in owed.inner_text()
        owed.locator("textarea").fill(REPORT)
        with handler.expect_navigation():
            owed.get_by_role("button", name="Send the report").click()
        assert handler.locator(f"#owed-{case.public_id}").count() == 0

        head.reload()
        article = head.locator(f"#escalation-{case.public_id}")
        assert REPORT in article.inner_text()
        assert NOTE in article.inner_text()  # the reporter's words, passed on sealed
        article.locator("textarea").focus()
        head.keyboard.type(ANSWER)
        with head.expect_navigation():
            article.get_by_role("button", name="Send the answer").click()
        head.locator("#no-escalations").wait_for(state="visible")
        helpers.screenshots(head, "review-escalations-answered")

    case = helpers.the_case(session)
    [answer] = escalation.answers(case)
    reading = escalation.read_as_reporter(case, answer, made.code.reporter_private_key())
    assert reading is not None
    assert reading.text() == ANSWER


def followup_keys(session: Session, made: Made) -> NewCaseKeys:
    """The reporter's keys as the follow-up page derives them from the code: the case key
    from the reporter's wrap."""
    case = helpers.the_case(session)
    wrap = followup.reporter_wrap(case, WrapPurpose.CASE_KEY)
    assert wrap is not None
    private = made.code.reporter_private_key()
    case_key = crypto.unwrap(wrap, private, crypto.Purpose.CASE_KEY, case.public_id)
    return NewCaseKeys(case_id=made.case_id, case_key=case_key, code=made.code)
