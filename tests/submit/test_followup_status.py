"""The follow-up page's status, deadlines, escalation, protection and retaliation additions.

Both paths: the pages without JavaScript (forms posted, sealed on the server in memory)
and the JSON API (sealed by the "browser", played here in Python). Deadlines come from
the case's history through casework.workflow, as the review app records it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import crypto
from casework import access, protection, records, workflow
from casework.calendar import PeriodUnit
from casework.dates import unit_today
from casework.profiles import load_profile
from casework.settings import Settings
from crypto.encoding import b64u_encode
from crypto.places import FactValue, Place
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    CaseTransfer,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
    RetaliationNote,
)
from submit import create_app
from tests.store.factories import add_unit
from tests.submit.conftest import TEST_ENV
from tests.submit.test_api_followup import (
    case_key_from,
    current_view,
    open_session,
    reporter,
    sealed,
)
from tests.submit.test_api_support import Api, api, openapi_checked
from tests.submit.test_followup_pages import (
    Story,
    entry_document,
    form_token,
    granted,
    inspector_key,
    new_case,
    open_case,
    reload,
)
from tests.submit.test_report_form import parse
from tests.worlds import World, verified_in_person
from web.dates import written_day

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")

PROFILE = load_profile("vn-denunciation-2018")
TODAY = unit_today()
LONG_AGO = TODAY - timedelta(days=60)  # a named case's triage (7 working days) is overdue
ESCALATION_NOTE = "Đã quá hạn hai tháng mà chưa có quyết định thụ lý."
PROTECTION_NOTE = "Trưởng phòng dọa điều chuyển tôi lên vùng núi."
ADDED_NOTE = "Hôm nay tôi nhận quyết định điều chuyển chính thức."


def long_date(day: date) -> str:
    """A date as the English pages write it (web.dates)."""
    return written_day(day, "en")


def page_of(client: FlaskClient, story: Story) -> str:
    assert open_case(client, story.code).status_code == 303
    response = client.get("/followup/case")
    assert response.status_code == 200
    return response.text


def section(page: str, heading: str) -> str:
    """The part of the page in the section labelled by ``heading``."""
    start = page.index(f'<section aria-labelledby="{heading}">')
    return page[start : page.index("</section>", start)]


def action(page: str, key: str) -> str:
    """The entry of one action under "What you can do" (followup_actions.html); fails when
    the page does not offer it."""
    start = page.index(f'<details id="{key}-entry"')
    return page[start : page.index("</details>", start)]


def attributes(page: str, element_id: str) -> dict[str, str]:
    [found] = [attrs for _tag, attrs in parse(page).tags if attrs.get("id") == element_id]
    return found


@pytest.fixture
def named(session: Session, world: World, settings: Settings) -> Story:
    """A named report received two months ago: its legal triage deadline has passed."""
    return new_case(session, world, settings, named=True, received=LONG_AGO)


@pytest.fixture
def anonymous(session: Session, world: World, settings: Settings) -> Story:
    return new_case(session, world, settings, received=LONG_AGO)


# The steps the law allows only on listed grounds, taken here on one of them.
LEGAL_GROUNDS = {"suspended": ("awaiting_expert_result",)}


def decide(session: Session, world: World, story: Story, *steps: tuple[str, date]) -> Case:
    """Inspector "lan" moves the case through ``steps`` (status, day), as the review app
    would; the grounds are sealed, as it seals them."""
    case = reload(session, story)
    lan = world.people["lan"]
    keys = world.staff_keys(session, case, "lan", steps[0][1])
    for status, day in steps:
        grounds = access.seal_note(keys, case, "grounds", status)
        moment = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
        workflow.transition(
            case,
            status,
            today=day,
            inspector=lan,
            now=moment,
            grounds=grounds,
            legal_grounds=LEGAL_GROUNDS.get(status, ()),
        )
    session.commit()
    return case


# --- status and deadlines, without JavaScript ---------------------------------------------


def test_an_overdue_legal_deadline_is_marked_in_words_and_may_be_escalated(
    client: FlaskClient, named: Story
) -> None:
    page = page_of(client, named)
    due = PROFILE.calendar.due_date(LONG_AGO, 7, PeriodUnit.WORKING_DAYS)
    assert due is not None
    triage = page[page.index('id="deadline-triage"') :]
    triage = triage[: triage.index("</li>")]
    assert "Decision on accepting the report" in triage
    assert f"Due by {long_date(due)}." in triage
    assert ">Overdue</strong>" in triage  # a word, not only a colour
    assert "Set by law: 7 working days." in triage
    assert "deadline-overdue" in attributes(page, "deadline-triage")["class"]
    assert "Named, confidential report" in page
    assert 'id="escalate-form"' in page
    # No superior unit is set up: the unit's own head answers, and the page says so.
    assert "No superior unit is set up for Thanh tra tỉnh, so its own head answers" in page
    assert 'id="withdraw-form"' in page  # received: the reporter may still withdraw


def test_a_notice_due_at_once_says_so(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    decide(session, world, named, ("not_accepted", LONG_AGO + timedelta(days=3)))
    page = page_of(client, named)
    notice = page[page.index('id="deadline-non_acceptance_notice"') :]
    notice = notice[: notice.index("</li>")]
    assert "Notice that the report is not accepted" in notice
    assert "Set by law: at once." in notice
    assert ">Overdue</strong>" in notice


def test_a_target_date_of_the_unit_is_not_a_legal_deadline_and_gives_no_escalation(
    client: FlaskClient, session: Session, anonymous: Story
) -> None:
    page = page_of(client, anonymous)
    decision = page[page.index('id="deadline-decision"') :]
    decision = decision[: decision.index("</li>")]
    assert ">Overdue</strong>" in decision
    assert "own target: 10 working days." in decision
    assert 'id="escalate-form"' not in page
    refused = client.post(
        "/followup/escalate", data={"csrf_token": form_token(client), "escalate_text": "x"}
    )
    assert refused.status_code == 409
    assert "cannot be escalated now" in refused.text
    assert 'href="#deadlines-heading"' in refused.text  # where the reason can be read
    assert [e for e in reload(session, anonymous).events if e.kind == "escalation"] == []


def test_a_paused_deadline_shows_how_much_is_used_and_no_date(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    accepted, suspended = TODAY - timedelta(days=40), TODAY - timedelta(days=15)
    decide(
        session,
        world,
        named,
        ("accepted", accepted),
        ("verifying", accepted + timedelta(days=1)),
        ("suspended", suspended),
    )
    page = page_of(client, named)
    resolution = page[page.index('id="deadline-resolution"') :]
    resolution = resolution[: resolution.index("</li>")]
    assert "Paused: the clock stands still. Used so far: 25 days of 30 days." in resolution
    assert "Due by" not in resolution
    assert "Overdue" not in resolution
    assert "Paused" in page  # the status itself (suspended) reads as paused too
    notice = section(page, "status-heading")
    assert "the only two reasons the law allows" in notice
    assert "must resume as soon as the reason ends, and send you both decisions" in notice


def test_an_unverified_named_report_says_how_to_complete_it(
    client: FlaskClient, session: Session, world: World, settings: Settings
) -> None:
    world.unit.reception_schedule = "Thứ Năm hằng tuần, 8:00-11:00, phòng 2"
    story = new_case(session, world, settings, named=True, received=TODAY, verified=False)
    page = page_of(client, story)
    notice = page[page.index('id="verification-notice"') :]
    notice = notice[: notice.index("</div>")]
    assert "only once the unit has checked who you are" in notice
    assert "come to the unit in person" in notice
    assert "signed or fingerprinted" in notice
    assert "MB-" + story.case.public_id[:8].upper() in notice  # the report's reference
    assert "Thứ Năm hằng tuần, 8:00-11:00, phòng 2" in notice
    assert "Set by law" not in section(page, "deadlines-heading")
    # Once the unit has met the reporter, the notice is gone and the law's clocks run.
    verified_in_person(reload(session, story), world.people["lan"], TODAY)
    session.commit()
    page = page_of(client, story)
    assert 'id="verification-notice"' not in page
    assert "Set by law" in section(page, "deadlines-heading")


def test_an_extended_deadline_says_so_and_that_the_decision_is_sent_to_the_reporter(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    accepted = TODAY - timedelta(days=20)
    case = decide(session, world, named, ("accepted", accepted), ("verifying", accepted))
    moment = datetime(TODAY.year, TODAY.month, TODAY.day, 3, tzinfo=UTC)
    lan = world.people["lan"]
    keys = world.staff_keys(session, case, "lan", TODAY)
    workflow.extend(
        case, "resolution", inspector=lan, today=TODAY, now=moment,
        grounds=access.seal_note(keys, case, "grounds", "phức tạp"),
        legal_grounds=["several_places"],
    )  # fmt: skip
    session.commit()
    page = page_of(client, named)
    resolution = page[page.index('id="deadline-resolution"') :]
    resolution = resolution[: resolution.index("</li>")]
    assert "Extended 1 time by a decision of the unit, which it must send you." in resolution
    assert "60 days" in resolution
    assert 'id="deadline-extension_notice"' in page
    assert "Notice of the extension to the parties" in page


def test_no_withdrawal_once_the_unit_has_concluded(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    start = TODAY - timedelta(days=20)
    decide(
        session,
        world,
        named,
        ("accepted", start),
        ("verifying", start),
        ("concluded", TODAY - timedelta(days=1)),
    )
    page = page_of(client, named)
    assert 'id="withdraw-form"' not in page
    assert "can no longer be withdrawn" in page
    assert "Notice of the decision" in page  # the notice owed to the reporter still runs
    refused = client.post(
        "/followup/withdraw",
        data={"csrf_token": form_token(client), "withdraw_confirm": "yes"},
    )
    assert refused.status_code == 409
    assert reload(session, named).status == "concluded"


def test_a_forwarded_report_says_where_it_went_and_the_same_code_still_opens_it(
    engine: Engine, tmp_path: Path, session: Session, world: World, named: Story
) -> None:
    other = add_unit(session, "thanh-tra-bo")
    other.name = "Thanh tra Bộ Tài nguyên"
    case = reload(session, named)
    session.add(
        CaseTransfer(
            case=case,
            from_unit_id=world.unit.id,
            to_unit_id=other.id,
            inspector_id=world.people["lan"].id,
            forwarded_on=TODAY,
            sender_keeps_access=False,
        )
    )
    case.unit = other
    workflow.arrive(case, today=TODAY)
    session.commit()
    settings = Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
            "MINHBACH_UNIT": world.unit.slug,  # two units now: this app serves the first
        }
    )
    client = create_app(settings).test_client()
    page = page_of(client, named)
    notice = page[page.index('id="forwarded-notice"') :]
    assert "Your report was forwarded to Thanh tra Bộ Tài nguyên" in notice
    assert "with the same code" in notice
    assert "Received, not yet read" in page  # its status at the new unit
    assert 'id="escalate-form"' not in page  # the new unit's clocks started afresh


# --- escalation, without JavaScript -------------------------------------------------------


def test_escalation_is_sealed_recorded_and_then_shows_the_heads_deadline(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    page_of(client, named)
    response = client.post(
        "/followup/escalate",
        data={"csrf_token": form_token(client), "escalate_text": ESCALATION_NOTE},
    )
    assert response.status_code == 303
    case = reload(session, named)
    assert case.urgent
    [event] = [e for e in case.events if e.kind == workflow.ESCALATION]
    assert (event.actor_kind, event.occurred_on, event.occurred_at) == (
        ActorKind.REPORTER,
        TODAY,
        None,
    )
    assert event.grounds is None  # the reporter's words are their signed entry
    [entry] = case.messages
    assert (entry.id, entry.purpose, entry.author) == (
        event.message_id,
        "escalation",
        Party.REPORTER,
    )
    assert ESCALATION_NOTE.encode() not in entry.body
    opened = entry_document(world, case, event.message_id)
    assert opened == {"schema": 1, "text": ESCALATION_NOTE}

    page = client.get("/followup/case").text
    assert "Your report was escalated. Who now answers is shown below" in page  # said once
    assert "Who now answers: Thanh tra tỉnh" in page
    assert "so its own head answers you" in page
    demand_by = PROFILE.calendar.due_date(TODAY, 5, PeriodUnit.WORKING_DAYS)
    assert demand_by is not None
    escalation = page[page.index('id="deadline-escalation"') :]
    assert f"Due by {long_date(demand_by)}." in escalation[: escalation.index("</li>")]
    assert "Demand for a report by the head who answers the escalation" in page
    assert 'id="escalate-form"' not in page
    again = client.post(
        "/followup/escalate", data={"csrf_token": form_token(client), "escalate_text": ""}
    )
    assert again.status_code == 409
    assert len([e for e in reload(session, named).events if e.kind == "escalation"]) == 1


# --- protection and additions to retaliation, without JavaScript --------------------------


def test_an_urgent_protection_request_is_sealed_dated_and_listed(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    page = page_of(client, named)
    assert "No protection has been asked for" in page
    assert "within 3 working days" in page  # the profile's confirmation period
    response = client.post(
        "/followup/protection",
        data={
            "csrf_token": form_token(client),
            "protection_person": "reporter",
            "protection_category": "job",
            "protection_urgent": "yes",
            "protection_text": PROTECTION_NOTE,
        },
    )
    assert response.status_code == 303
    case = reload(session, named)
    [record] = case.protections
    confirm_by = PROFILE.calendar.due_date(TODAY, 3, PeriodUnit.WORKING_DAYS)
    assert (record.person, record.category, record.state, record.urgent) == (
        ProtectedPerson.REPORTER,
        ProtectionCategory.JOB,
        ProtectionState.REQUESTED,
        True,
    )
    assert (record.requested_by, record.requested_on, record.written_confirmation_due) == (
        Party.REPORTER,
        TODAY,
        confirm_by,
    )
    assert case.urgent
    assert case.protection_requested
    assert record.details is None  # the reporter's words are their signed entry
    [entry] = case.messages
    assert (entry.id, entry.purpose) == (record.message_id, "protection-request")
    assert PROTECTION_NOTE.encode() not in entry.body
    opened = entry_document(world, case, record.message_id)
    assert opened == {"schema": 1, "text": PROTECTION_NOTE}

    page = client.get("/followup/case").text
    assert "Your request for protection was sent." in page
    assert "Me, the person reporting: Job and position at work" in page
    assert "Requested: the unit has not looked at it yet" in page
    assert f"You asked for it on {long_date(TODAY)}." in page
    assert "Urgent." in page
    listed = section(page, "protection-heading")
    assert "Me, the person reporting: Job and position at work" in listed
    assert PROTECTION_NOTE not in listed  # listed by its facts, not its words
    # The words are the reporter's own entry in the conversation, which they may read.
    thread = section(page, "messages")
    assert "Request for protection" in thread
    assert PROTECTION_NOTE in thread


def test_a_protection_request_without_a_person_comes_back_as_typed(
    client: FlaskClient, session: Session, named: Story
) -> None:
    page_of(client, named)
    response = client.post(
        "/followup/protection",
        data={
            "csrf_token": form_token(client),
            "protection_person": "neighbour",
            "protection_category": "property",
            "protection_text": PROTECTION_NOTE,
        },
    )
    assert response.status_code == 400
    assert "Choose who needs protection." in response.text
    assert 'href="#protection_person"' in response.text
    assert attributes(response.text, "protection_person")["aria-invalid"] == "true"
    assert 'value="property" selected' in response.text
    assert PROTECTION_NOTE in response.text
    assert reload(session, named).protections == []


def test_the_reporter_adds_to_a_retaliation_report_and_sees_when(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    page_of(client, named)
    reported = client.post(
        "/followup/retaliation",
        data={
            "csrf_token": form_token(client),
            "retaliation_kind": "transfer",
            "retaliation_date": (TODAY - timedelta(days=3)).isoformat(),
        },
    )
    assert reported.status_code == 303
    [incident] = reload(session, named).retaliation_incidents
    page = client.get("/followup/case").text
    assert "Transfer against my will" in page
    assert f"Happened on {long_date(TODAY - timedelta(days=3))}." in page
    action = f"/followup/incidents/{incident.id}/notes"
    assert f'action="{action}"' in page

    empty = client.post(action, data={"csrf_token": form_token(client), "incident_text": " "})
    assert empty.status_code == 400
    assert "Write what you want to add." in empty.text
    box = attributes(empty.text, f"incident-{incident.id}-text")
    assert box["aria-invalid"] == "true"
    assert f"incident-{incident.id}-error" in box["aria-describedby"].split()
    assert f'href="#incident-{incident.id}-text"' in empty.text

    case = reload(session, named)
    case.urgent = False  # as if the unit had answered the report itself
    session.commit()
    added = client.post(
        action, data={"csrf_token": form_token(client), "incident_text": ADDED_NOTE}
    )
    assert added.status_code == 303
    case = reload(session, named)
    [note] = case.retaliation_incidents[0].notes
    assert (note.source, note.added_on) == (Party.REPORTER, TODAY)
    assert note.details is None
    assert case.messages[-1].id == note.message_id
    assert case.messages[-1].purpose == "retaliation-note"
    opened = entry_document(world, case, note.message_id)
    assert opened == {"schema": 1, "text": ADDED_NOTE}
    assert case.urgent  # the reporter's words wait for the unit
    page = client.get("/followup/case").text
    assert "What you added was sent." in page
    assert f"You added to it on: {long_date(TODAY)}." in page


def test_the_reporter_asks_to_change_protection_in_place(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    record = granted(session, world, reload(session, named))
    page = page_of(client, named)
    assert "Me, the person reporting: Keeping identity and personal information secret" in page
    assert "Granted: protection is in place" in page
    assert f"Recorded by the unit on {long_date(TODAY)}." in page
    assert f"In place since {long_date(TODAY)}." in page
    assert "Hồ sơ tách phần danh tính" not in page  # the unit's sealed words stay sealed
    action = f"/followup/protection/{record.id}/asks"
    assert f'action="{action}"' in page

    unchosen = client.post(
        action, data={"csrf_token": form_token(client), "ask_text": PROTECTION_NOTE}
    )
    assert unchosen.status_code == 400
    assert "Choose what you ask for." in unchosen.text
    assert "What you asked has not been sent yet" in unchosen.text
    assert attributes(unchosen.text, f"ask-{record.id}-kind")["aria-invalid"] == "true"
    assert PROTECTION_NOTE in unchosen.text

    response = client.post(
        action,
        data={"csrf_token": form_token(client), "ask_kind": "add", "ask_text": PROTECTION_NOTE},
    )
    assert response.status_code == 303
    case = reload(session, named)
    [ask] = [e for e in case.events if e.kind == protection.ASK]
    assert (ask.actor_kind, ask.occurred_on, ask.occurred_at, ask.data) == (
        ActorKind.REPORTER,
        TODAY,
        None,
        {"protection_id": record.id, "ask": "add"},
    )
    assert ask.grounds is None
    [entry] = case.messages
    assert (entry.id, entry.purpose) == (ask.message_id, "protection-ask")
    opened = entry_document(world, case, ask.message_id)
    assert opened == {"schema": 1, "text": PROTECTION_NOTE}
    assert case.urgent
    page = client.get("/followup/case").text
    assert "What you asked was sent." in page
    assert f"You asked the unit on: {long_date(TODAY)}. Its answer is pending." in page


def test_protection_not_in_place_cannot_be_asked_about(
    client: FlaskClient, session: Session, world: World, named: Story
) -> None:
    page_of(client, named)
    client.post(
        "/followup/protection",
        data={
            "csrf_token": form_token(client),
            "protection_person": "reporter",
            "protection_category": "job",
        },
    )
    [record] = reload(session, named).protections
    assert f"/followup/protection/{record.id}/asks" not in client.get("/followup/case").text
    refused = client.post(
        f"/followup/protection/{record.id}/asks",
        data={"csrf_token": form_token(client), "ask_kind": "end"},
    )
    assert refused.status_code == 404
    assert [e for e in reload(session, named).events if e.kind == protection.ASK] == []


def test_only_the_reporters_own_incidents_of_this_case_can_be_added_to(
    client: FlaskClient, session: Session, world: World, named: Story, anonymous: Story
) -> None:
    note = crypto.seal_json(
        inspector_key(world, reload(session, anonymous)),
        crypto.Kind.NOTE,
        anonymous.case.public_id,
        {"schema": 1, "text": "x"},
    )
    foreign = RetaliationIncident(
        kind=RetaliationKind.OTHER, reported_on=TODAY, source=Party.REPORTER, details=note
    )
    reload(session, anonymous).retaliation_incidents.append(foreign)
    logged = RetaliationIncident(
        kind=RetaliationKind.OTHER, reported_on=TODAY, source=Party.INSPECTOR, details=note
    )
    reload(session, named).retaliation_incidents.append(logged)
    session.commit()
    page = page_of(client, named)
    assert "You have not reported retaliation." in page  # the unit's own log stays unseen
    for incident in (foreign, logged):
        response = client.post(
            f"/followup/incidents/{incident.id}/notes",
            data={"csrf_token": form_token(client), "incident_text": "y"},
        )
        assert response.status_code == 404
    assert session.scalars(select(RetaliationNote)).all() == []


def test_the_new_forms_are_refused_without_their_anti_forgery_token(
    client: FlaskClient, session: Session, named: Story
) -> None:
    page_of(client, named)
    incident = RetaliationIncident(
        kind=RetaliationKind.OTHER, reported_on=TODAY, source=Party.REPORTER, details=b"x"
    )
    reload(session, named).retaliation_incidents.append(incident)
    session.commit()
    for path, data in (
        ("/followup/escalate", {"escalate_text": "x"}),
        ("/followup/protection", {"protection_person": "child", "protection_category": "job"}),
        (f"/followup/incidents/{incident.id}/notes", {"incident_text": "x"}),
    ):
        assert client.post(path, data=data).status_code == 400, path
    case = reload(session, named)
    assert (case.protections, case.urgent) == ([], False)
    assert [e for e in case.events if e.kind == "escalation"] == []


# --- the same through the JSON API --------------------------------------------------------


def test_the_api_case_view_carries_deadlines_and_what_the_reporter_may_do(
    api: Api, named: Story
) -> None:
    view = open_session(api, named).get_json()
    [triage] = [d for d in view["deadlines"] if d["key"] == "triage"]
    due = PROFILE.calendar.due_date(LONG_AGO, 7, PeriodUnit.WORKING_DAYS)
    assert due is not None
    assert triage == {
        "key": "triage",
        "label": "Decision on accepting the report",
        "statutory": True,
        "due_on": due.isoformat(),
        "period": "7 working days",
        "used": None,
        "overdue": True,
    }
    assert (view["may_escalate"], view["escalated"], view["may_withdraw"]) == (True, False, True)
    assert (view["escalation_period"], view["protection_confirmation"]) == (
        "5 working days",
        "3 working days",
    )


def test_the_api_escalates_an_overdue_case_once(
    api: Api, session: Session, world: World, named: Story
) -> None:
    open_session(api, named)
    envelope = sealed(api, named, "escalation", ESCALATION_NOTE)
    response = api.post("/followup/escalate", {"envelope": envelope})
    assert response.status_code == 200
    after = response.get_json()
    assert (after["escalated"], after["may_escalate"]) == (True, False)
    [pending] = [d for d in after["deadlines"] if d["key"] == "escalation"]
    assert (pending["label"], pending["period"], pending["statutory"]) == (
        "Demand for a report by the head who answers the escalation",
        "5 working days",
        True,
    )
    assert (after["answered_by"], after["answered_by_superior"]) == ("Thanh tra tỉnh", False)
    case = reload(session, named)
    [event] = [e for e in case.events if e.kind == "escalation"]
    assert event.grounds is None
    assert entry_document(world, case, event.message_id)["text"] == ESCALATION_NOTE
    again = api.post("/followup/escalate", {"envelope": sealed(api, named, "escalation")})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "not_overdue")
    assert len(reload(session, named).messages) == 1


def test_the_api_refuses_escalating_a_case_without_an_overdue_legal_deadline(
    api: Api, session: Session, anonymous: Story
) -> None:
    view = open_session(api, anonymous).get_json()
    assert view["may_escalate"] is False
    envelope = sealed(api, anonymous, "escalation")
    refused = api.post("/followup/escalate", {"envelope": envelope})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "not_overdue")
    assert session.scalars(select(CaseEvent)).all() == []
    assert reload(session, anonymous).messages == []


def test_the_api_records_a_protection_request_and_lists_its_facts(
    api: Api, session: Session, world: World, named: Story
) -> None:
    open_session(api, named)
    facts: dict[str, FactValue] = {"person": "child", "category": "life_health", "urgent": False}
    envelope = sealed(api, named, "protection-request", PROTECTION_NOTE, facts=facts)
    request = {"person": "child", "category": "life_health", "urgent": False, "envelope": envelope}
    response = api.post("/followup/protection", request)
    assert response.status_code == 201
    record = session.get(ProtectionRecord, response.get_json()["id"])
    assert record is not None
    assert (record.person, record.category, record.urgent, record.written_confirmation_due) == (
        ProtectedPerson.CHILD,
        ProtectionCategory.LIFE_HEALTH,
        False,
        None,
    )
    [listed] = api.client.get("/api/v1/followup/case").get_json()["protections"]
    assert listed == {
        "id": record.id,
        "person": "child",
        "person_label": "My child",
        "category": "life_health",
        "category_label": "Life and health",
        "state": "requested",
        "state_label": "Requested: the unit has not looked at it yet",
        "urgent": False,
        "requested_by": "reporter",
        "requested_on": TODAY.isoformat(),
        "confirmation_due": None,
        "decided_on": None,
        "started_on": None,
        "ended_on": None,
        "may_ask": False,
        "asked_on": [],
    }
    assert entry_document(world, reload(session, named), record.message_id) == {
        "schema": 1,
        "text": PROTECTION_NOTE,
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"person": "neighbour"}, "malformed_field"),
        ({"category": "pension"}, "malformed_field"),
        ({"urgent": "yes"}, "malformed_field"),
        ({"envelope": "AAAA"}, "malformed_envelope"),
        ({"extra": 1}, "unknown_field"),
    ],
)
def test_the_api_refuses_a_malformed_protection_request(
    api: Api, session: Session, named: Story, change: dict[str, Any], code: str
) -> None:
    open_session(api, named)
    facts: dict[str, FactValue] = {"person": "reporter", "category": "job", "urgent": True}
    envelope = sealed(api, named, "protection-request", facts=facts)
    request = {
        "person": "reporter",
        "category": "job",
        "urgent": True,
        "envelope": envelope,
        **change,
    }
    response = api.post("/followup/protection", request)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, code)
    case = reload(session, named)
    assert (case.protections, case.messages) == ([], [])


def test_the_api_asks_about_protection_in_place_only(
    api: Api, session: Session, world: World, named: Story, anonymous: Story
) -> None:
    record = granted(session, world, reload(session, named))
    other = granted(session, world, reload(session, anonymous))
    view = open_session(api, named).get_json()
    [listed] = view["protections"]
    assert (listed["state"], listed["may_ask"], listed["asked_on"]) == ("active", True, [])
    assert listed["state_label"] == "Granted: protection is in place"
    facts: dict[str, FactValue] = {"protection": record.id, "ask": "end"}
    envelope = sealed(api, named, "protection-ask", PROTECTION_NOTE, facts=facts)
    response = api.post(
        f"/followup/protection/{record.id}/asks", {"ask": "end", "envelope": envelope}
    )
    assert response.status_code == 201
    reload(session, named)  # a new transaction: the app's write is then visible
    event = session.get(CaseEvent, response.get_json()["id"])
    assert event is not None
    assert (event.kind, event.data) == (protection.ASK, {"protection_id": record.id, "ask": "end"})
    [listed] = api.client.get("/api/v1/followup/case").get_json()["protections"]
    assert listed["asked_on"] == [TODAY.isoformat()]
    foreign_facts: dict[str, FactValue] = {"protection": other.id, "ask": "end"}
    foreign_entry = sealed(api, named, "protection-ask", facts=foreign_facts)
    foreign = api.post(
        f"/followup/protection/{other.id}/asks", {"ask": "end", "envelope": foreign_entry}
    )
    assert (foreign.status_code, foreign.get_json()["error"]["code"]) == (
        404,
        "protection_not_found",
    )
    odd_entry = sealed(api, named, "protection-ask", facts={"protection": record.id, "ask": "x"})
    odd = api.post(
        f"/followup/protection/{record.id}/asks", {"ask": "cancel", "envelope": odd_entry}
    )
    assert (odd.status_code, odd.get_json()["error"]["code"]) == (400, "malformed_field")
    assert len([e for e in reload(session, named).events if e.kind == protection.ASK]) == 1


def test_the_api_adds_to_the_reporters_own_incident_only(
    api: Api, session: Session, world: World, named: Story, anonymous: Story
) -> None:
    open_session(api, named)
    report = sealed(api, named, "retaliation", facts={"kind": "pay_cut"}, occurred_on=None)
    created = api.post("/followup/retaliation", {"kind": "pay_cut", "envelope": report})
    incident_id = created.get_json()["id"]
    facts = {"incident": incident_id}
    note = sealed(api, named, "retaliation-note", ADDED_NOTE, facts=facts)
    response = api.post(f"/followup/retaliation/{incident_id}/notes", {"envelope": note})
    assert response.status_code == 201
    stored = session.get(RetaliationNote, response.get_json()["id"])
    assert stored is not None
    assert (stored.incident_id, stored.source, stored.added_on) == (
        incident_id,
        Party.REPORTER,
        TODAY,
    )
    [incident] = api.client.get("/api/v1/followup/case").get_json()["incidents"]
    assert incident == {
        "id": incident_id,
        "kind": "pay_cut",
        "kind_label": "Pay cut",
        "occurred_on": None,
        "reported_on": TODAY.isoformat(),
        "added_on": [TODAY.isoformat()],
    }
    other = RetaliationIncident(
        kind=RetaliationKind.OTHER, reported_on=TODAY, source=Party.REPORTER, details=b"x"
    )
    reload(session, anonymous).retaliation_incidents.append(other)
    session.commit()
    elsewhere = sealed(api, named, "retaliation-note", facts={"incident": other.id})
    missing = api.post(f"/followup/retaliation/{other.id}/notes", {"envelope": elsewhere})
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (
        404,
        "incident_not_found",
    )
    key = case_key_from(current_view(api), named)
    place = Place(named.case.public_id, "incident-note", "reporter")
    not_a_message = records.seal(key, crypto.Kind.NOTE, place, {"schema": 1}, reporter(named))
    wrong = api.post(
        f"/followup/retaliation/{incident_id}/notes", {"envelope": b64u_encode(not_a_message)}
    )
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (400, "malformed_envelope")
    assert len(session.scalars(select(RetaliationNote)).all()) == 1
    assert entry_document(world, reload(session, named), stored.message_id) == {
        "schema": 1,
        "text": ADDED_NOTE,
    }
