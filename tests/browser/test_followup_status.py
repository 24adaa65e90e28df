"""The follow-up page's status, deadlines, escalation and retaliation reports in Chromium.

Both paths, on a named report received two months ago (its legal triage deadline is
overdue): the reporter reads the status and deadlines, escalates the case to the head of
the unit, reports retaliation and adds to it later. With JavaScript every request is
recorded and searched for what the reporter wrote (it must leave the browser sealed);
without it, the forms post and the server seals in memory. Either way the database holds
ciphertext that the unit's keys open.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from casework import workflow
from casework.calendar import PeriodUnit
from casework.dates import unit_today
from casework.profiles import load_profile
from casework.settings import Settings
from store.models import Case, CaseTransfer, Party, RetaliationKind
from submit import create_app
from tests.browser import followup_page, helpers
from tests.browser.helpers import Made, Recorder
from tests.store.factories import add_unit
from tests.submit.test_followup_pages import granted
from tests.worlds import World
from web.dates import written_day

pytestmark = pytest.mark.browser

PROFILE = load_profile("vn-denunciation-2018")
# ASCII canaries: one spelling in UTF-8, JSON and form encoding.
ESCALATION_TEXT = "Two months and no decision. CANARYESCALATE51"
RETALIATION_TEXT = "They cut my pay. CANARYRETALIATE52"
ADDITION_TEXT = "Now they moved me to the archive. CANARYADDITION53"
PROTECTION_TEXT = "My wife is followed home. CANARYPROTECTION54"
ASK_TEXT = "Please also keep my address out of the file. CANARYASK55"
CANARIES = [ESCALATION_TEXT, RETALIATION_TEXT, ADDITION_TEXT, PROTECTION_TEXT, ASK_TEXT]


def triage_due() -> date:
    due = PROFILE.calendar.due_date(unit_today() - timedelta(days=60), 7, PeriodUnit.WORKING_DAYS)
    assert due is not None
    return due


def long_date(day: date) -> str:
    """A date as the English pages write it (web.dates)."""
    return written_day(day, "en")


def case_and_key(session: Session, world: World) -> tuple[Case, bytes]:
    """The case as the server left it, and the case key inspector "minh" unwraps."""
    key = helpers.staff_case_key(session, world, "minh")
    return helpers.the_case(session), key


def check_stored(session: Session, world: World) -> None:
    """What the reporter wrote is in the database as transcript entries, sealed and signed
    with the reporter's key, each bound to the facts the unit acts on; the unit's key opens
    them, and the review app's reader finds every entry in its place."""
    case, key = case_and_key(session, world)
    assert case.urgent
    [escalation] = [e for e in case.events if e.kind == "escalation"]
    [incident] = case.retaliation_incidents
    [addition] = incident.notes
    assert incident.kind is RetaliationKind.PAY_CUT
    assert addition.source is Party.REPORTER
    entries = {
        ESCALATION_TEXT: (escalation.message_id, "escalation", {}),
        RETALIATION_TEXT: (incident.message_id, "retaliation", {"kind": "pay_cut"}),
        ADDITION_TEXT: (addition.message_id, "retaliation-note", {"incident": incident.id}),
    }
    for text, (message_id, purpose, facts) in entries.items():
        [message] = [m for m in case.messages if m.id == message_id]
        assert not any(
            form in message.body for form in [text.encode(), *helpers.b64_spellings(text.encode())]
        )
        place, document = helpers.open_entry(case, key, message_id)
        assert (place.purpose, place.facts, document["text"]) == (purpose, facts, text)
    helpers.assert_transcript_intact(helpers.checked_entries(session, world))


@pytest.fixture
def submit_app(settings: Settings, world: World) -> Flask:
    # Named outright: a test adds a second unit, to which the case is forwarded.
    return create_app(dataclasses.replace(settings, unit=world.unit.slug))


@pytest.fixture
def made(session: Session, world: World, settings: Settings) -> Made:
    """A named report received 60 days ago: its 7-working-day triage is long overdue."""
    received = unit_today() - timedelta(days=60)
    identity = {"schema": 1, "name": "Nguyen Van A"}
    return helpers.accept_case(session, world, settings, received=received, identity=identity)


# --- with JavaScript ----------------------------------------------------------------------


def test_the_page_shows_deadlines_escalates_and_adds_to_retaliation_in_the_browser(
    page: Page, base_url: str, recorder: Recorder, made: Made, session: Session, world: World
) -> None:
    helpers.open_case(page, base_url, made.code)
    app = page.locator("#followup-app")
    assert "Received, not yet read" in app.locator('[data-slot="status"]').inner_text()
    assert "Named, confidential report" in app.inner_text()
    triage = page.locator("#followup-js-deadline-triage")
    assert triage.locator(".deadline-label").inner_text() == "Decision on accepting the report"
    assert triage.locator(".deadline-due").inner_text() == f"Due by {long_date(triage_due())}."
    assert triage.locator(".overdue").inner_text().lower() == "overdue"
    assert triage.locator(".overdue").is_visible()
    assert triage.locator(".deadline-basis").inner_text() == "Set by law: 7 working days."
    assert page.locator('[data-slot="forwarded"]').is_hidden()
    helpers.screenshots(page, "followup-js-overdue")

    # Escalate: the form is there while the legal deadline is overdue, then gone.
    escalate = page.locator('#followup-app [data-slot="form-escalate"]')
    followup_page.open_action(page, "escalate")
    assert "within 5 working days" in page.locator('[data-slot="escalation-intro"]').inner_text()
    page.fill("#followup-js-escalate-text", ESCALATION_TEXT)
    escalate.locator("button[type=submit]").click()
    helpers.announced(page, "Your report was escalated.")
    escalated = page.locator('#followup-app [data-slot="escalated"]')
    escalated.wait_for(state="visible")
    # No superior unit is set up here: the page says the unit's own head answers.
    assert f"Who now answers: {world.unit.name}" in escalated.inner_text()
    assert "so its own head answers you" in escalated.inner_text()
    demand_by = PROFILE.calendar.due_date(unit_today(), 5, PeriodUnit.WORKING_DAYS)
    assert demand_by is not None
    assert escalate.is_hidden()
    head = page.locator("#followup-js-deadline-escalation")
    assert "Demand for a report by the head who answers the escalation" in head.inner_text()
    assert head.locator(".deadline-due").inner_text() == f"Due by {long_date(demand_by)}."
    assert head.locator(".overdue").is_hidden()

    # Report retaliation, then add to it later.
    followup_page.open_action(page, "retaliation")
    page.select_option("#followup-js-retaliation-kind", "pay_cut")
    page.fill("#followup-js-retaliation-text", RETALIATION_TEXT)
    page.click('#followup-app [data-slot="form-retaliation"] button[type=submit]')
    helpers.announced(page, "urgent matter")
    incident = page.locator('#followup-app [data-slot="incidents"] li.incident')
    incident.wait_for(state="visible")
    assert incident.locator("h3").inner_text() == "Pay cut"
    assert f"Reported on {long_date(unit_today())}." in incident.inner_text()
    form = incident.locator("form")
    assert form.is_hidden()  # behind its own entry
    followup_page.open_item_action(page, incident)
    form.locator("button[type=submit]").click()  # nothing written: refused here
    alert = form.locator(".followup-js-alert")
    alert.wait_for(state="visible")
    assert "Write what you want to add." in alert.inner_text()
    assert form.locator("textarea").get_attribute("aria-invalid") == "true"
    form.locator("textarea").fill(ADDITION_TEXT)
    form.locator("button[type=submit]").click()
    helpers.announced(page, "What you added was sent.")
    page.get_by_text(f"You added to it on: {long_date(unit_today())}.").wait_for()
    helpers.screenshots(page, "followup-js-escalated")

    check_stored(session, world)
    [posted] = recorder.api("/followup/escalate", "POST")
    assert b'"envelope"' in posted.body
    assert b'"note"' not in posted.body
    assert len(recorder.api("/followup/retaliation/", "POST")) == 1  # an addition to its incident
    # No canary, as it is or in base64, in any request's body, URL or headers.
    helpers.assert_nothing_leaked(recorder, made.code, CANARIES)


def test_an_unverified_named_report_says_how_to_complete_it_in_the_browser(
    page: Page, base_url: str, session: Session, world: World, settings: Settings
) -> None:
    world.unit.reception_schedule = "Thursdays 8:00-11:00, room 2"
    session.commit()
    identity = {"schema": 1, "name": "Nguyen Van B"}
    made = helpers.accept_case(
        session, world, settings, received=unit_today(), identity=identity, verified=False
    )
    helpers.open_case(page, base_url, made.code)
    notice = page.locator('#followup-app [data-slot="verification"]')
    assert notice.is_visible()
    text = notice.inner_text()
    assert "only once the unit has checked who you are" in text
    assert "MB-" + made.case_id[:8].upper() in text
    assert "The unit receives people: Thursdays 8:00-11:00, room 2" in text
    assert page.locator("#followup-js-deadline-triage").count() == 0  # no statutory clock


def test_a_protection_request_is_checked_sealed_and_listed_in_the_browser(
    page: Page, base_url: str, recorder: Recorder, made: Made, session: Session, world: World
) -> None:
    helpers.open_case(page, base_url, made.code)
    form = page.locator('#followup-app [data-slot="form-protection"]')
    followup_page.open_action(page, "protection-request")
    assert "within 3 working days" in form.inner_text()  # the profile's period
    assert page.locator('[data-slot="no-protections"]').is_visible()
    page.fill("#followup-js-protection-text", PROTECTION_TEXT)
    form.locator("button[type=submit]").click()
    alert = form.locator(".followup-js-alert")
    alert.wait_for(state="visible")
    assert "Choose who needs protection." in alert.inner_text()
    assert "Choose what needs protecting." in alert.inner_text()
    assert recorder.api("/followup/protection", "POST") == []  # refused before anything is sent

    page.select_option("#followup-js-protection-person", "spouse")
    page.select_option("#followup-js-protection-category", "life_health")
    page.check("#followup-js-protection-urgent")
    form.locator("button[type=submit]").click()
    helpers.announced(page, "Your request for protection was sent.")
    listed = page.locator('#followup-app [data-slot="protections"] li.protection')
    listed.wait_for(state="visible")
    assert "My husband or wife: Life and health" in listed.inner_text()
    assert "Requested: the unit has not looked at it yet" in listed.inner_text()
    assert "Urgent." in listed.inner_text()
    assert page.input_value("#followup-js-protection-text") == ""

    case, key = case_and_key(session, world)
    [record] = case.protections
    assert (record.requested_by, record.urgent) == (Party.REPORTER, True)
    assert record.written_confirmation_due is not None
    place, opened = helpers.open_entry(case, key, record.message_id)
    assert opened == {"schema": 1, "text": PROTECTION_TEXT}
    assert place.purpose == "protection-request"
    assert place.facts == {"person": "spouse", "category": "life_health", "urgent": True}
    helpers.assert_transcript_intact(helpers.checked_entries(session, world))
    [posted] = recorder.api("/followup/protection", "POST")
    assert all(
        spelling not in posted.body for spelling in helpers.b64_spellings(PROTECTION_TEXT.encode())
    )
    assert PROTECTION_TEXT.encode() not in posted.body
    helpers.assert_nothing_leaked(recorder, made.code, CANARIES)


def test_the_reporter_asks_about_protection_in_place_from_the_browser(
    page: Page, base_url: str, recorder: Recorder, made: Made, session: Session, world: World
) -> None:
    record = granted(session, world, helpers.the_case(session))
    helpers.open_case(page, base_url, made.code)
    item = page.locator(f"#followup-js-protection-{record.id}")
    assert "Granted: protection is in place" in item.inner_text()
    form = item.locator("form")
    assert form.is_hidden()  # behind its own entry
    followup_page.open_item_action(page, item)
    page.fill(f"#followup-js-protection-{record.id}-text", ASK_TEXT)
    form.locator("button[type=submit]").click()
    alert = form.locator(".followup-js-alert")
    alert.wait_for(state="visible")
    assert "Choose what you ask for." in alert.inner_text()
    page.select_option(f"#followup-js-protection-{record.id}-ask", "add")
    form.locator("button[type=submit]").click()
    helpers.announced(page, "What you asked was sent.")
    item.get_by_text("Its answer is pending.").wait_for()
    assert page.input_value(f"#followup-js-protection-{record.id}-text") == ""

    case, key = case_and_key(session, world)
    [ask] = [e for e in case.events if e.kind == "protection_ask"]
    assert ask.data == {"protection_id": record.id, "ask": "add"}
    place, opened = helpers.open_entry(case, key, ask.message_id)
    assert opened == {"schema": 1, "text": ASK_TEXT}
    assert (place.purpose, place.facts) == (
        "protection-ask",
        {"protection": record.id, "ask": "add"},
    )
    helpers.assert_transcript_intact(helpers.checked_entries(session, world))
    [posted] = recorder.api(f"/followup/protection/{record.id}/asks", "POST")
    assert ASK_TEXT.encode() not in posted.body
    assert all(spelling not in posted.body for spelling in helpers.b64_spellings(ASK_TEXT.encode()))
    helpers.assert_nothing_leaked(recorder, made.code, CANARIES)


def test_a_forwarded_report_says_where_it_went_and_opens_with_the_same_code(
    page: Page, base_url: str, made: Made, session: Session, world: World
) -> None:
    case = helpers.the_case(session)
    other = add_unit(session, "thanh-tra-bo")
    other.name = "Thanh tra Bo Tai nguyen"
    session.add(
        CaseTransfer(
            case=case,
            from_unit_id=world.unit.id,
            to_unit_id=other.id,
            inspector_id=world.people["lan"].id,
            forwarded_on=unit_today(),
            sender_keeps_access=False,
        )
    )
    case.unit = other
    workflow.arrive(case, today=unit_today())
    session.commit()
    helpers.open_case(page, base_url, made.code)
    notice = page.locator('#followup-app [data-slot="forwarded"]')
    assert notice.is_visible()
    assert notice.inner_text().startswith(
        "Your report was forwarded to Thanh tra Bo Tai nguyen, the body competent"
    )
    assert page.locator('#followup-app [data-slot="escalate"]').is_hidden()  # clocks anew
    assert page.locator("#followup-js-deadline-triage .overdue").is_hidden()


# --- without JavaScript -------------------------------------------------------------------


@pytest.mark.no_javascript
def test_without_javascript_the_same_page_shows_deadlines_and_takes_the_same_steps(
    page: Page, base_url: str, made: Made, session: Session, world: World
) -> None:
    page.goto(f"{base_url}/followup")
    page.fill("#code", made.code.display())
    helpers.submit_with(page, "Open my report")
    assert page.url == f"{base_url}/followup/case"
    assert page.locator("#followup-app").is_hidden()
    triage = page.locator("#deadline-triage")
    assert triage.locator(".deadline-due").inner_text() == f"Due by {long_date(triage_due())}."
    assert triage.locator(".overdue").inner_text().lower() == "overdue"
    assert "Set by law: 7 working days." in triage.inner_text()
    helpers.screenshots(page, "followup-overdue")

    followup_page.open_action(page, "escalate")
    page.fill("#escalate_text", ESCALATION_TEXT)
    helpers.submit_with(page, "Escalate my report")
    assert "Your report was escalated." in page.get_by_role("status").first.inner_text()
    assert page.locator("#escalated-notice").is_visible()
    assert "so its own head answers you" in page.locator("#escalated-notice").inner_text()
    assert page.locator("#escalate-form").count() == 0
    escalation = page.locator("#deadline-escalation").inner_text()
    assert "Demand for a report by the head who answers the escalation" in escalation

    followup_page.open_action(page, "retaliation")
    page.select_option("#retaliation_kind", "pay_cut")
    page.fill("#retaliation_text", RETALIATION_TEXT)
    helpers.submit_with(page, "Report retaliation")
    incident = page.locator("li.incident")
    assert incident.locator("h3").inner_text() == "Pay cut"
    followup_page.open_item_action(page, incident)
    incident.locator("textarea").fill(ADDITION_TEXT)
    with page.expect_navigation():
        incident.get_by_role("button", name="Add to this report").click()
    assert "What you added was sent." in page.get_by_role("status").first.inner_text()
    assert f"You added to it on: {long_date(unit_today())}." in incident.inner_text()
    helpers.screenshots(page, "followup-escalated")

    assert page.locator(helpers.CASE_HEADING).count() == 0  # the no-JS page, not the script's
    check_stored(session, world)
