"""Registering a paper or in-person report: the same case as from the web, its arrival
recorded, and the clock for the result to a sending body (LTC Art. 26(2)) across Tết."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from casework import access, followup, intake, registration, workflow
from casework import deadlines as clocks
from casework.profiles import load_profile
from casework.recipients import unit_recipients
from casework.registration import Arrival, Channel, RegistrationError
from casework.sealing import NewCaseKeys, seal_submission
from crypto.kdf import Argon2Params
from store.models import Case, Track
from tests.worlds import World

TODAY = date(2027, 3, 1)
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
IDENTITY = {"schema": 1, "name": "Nguyễn Văn An", "contact": "0912 345 678"}


def register(
    session: Session,
    world: World,
    arrival: Arrival,
    argon2: Argon2Params,
    *,
    identity: dict[str, Any] | None = None,
    who: str = "lan",
) -> tuple[NewCaseKeys, Case]:
    keys = NewCaseKeys()
    recipients = unit_recipients(session, world.unit)
    report = {"schema": 1, "category": "land", "what": "Thu tiền sai quy định"}
    submission = seal_submission(
        keys, recipients, category="land", report=report, identity=identity
    )
    intake.validate(submission, world.unit, recipients)
    person = world.people[who]
    case = registration.register(
        session,
        submission,
        arrival,
        intake.lookup_hash(submission, argon2),
        inspector=person,
        private_key=world.keys[person.id],
        today=TODAY,
        now=NOW,
    )
    session.commit()
    return keys, case


def events(case: Case) -> list[tuple[str, date, dict[str, Any]]]:
    return [(event.kind, event.occurred_on, event.data) for event in case.events]


def test_a_signed_letter_is_a_named_case_received_the_day_it_arrived(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    arrival = Arrival(Channel.LETTER, date(2027, 2, 1), signed=True)
    keys, case = register(session, world, arrival, fast_argon2, identity=IDENTITY)
    assert (case.track, case.received_on, case.submitted_with_js) == (
        Track.NAMED,
        date(2027, 2, 1),
        False,
    )
    assert events(case) == [
        ("registration", date(2027, 2, 1), {"channel": "letter"}),
        ("identity_verification", date(2027, 2, 1), {"means": "signed_letter"}),
    ]
    # The clocks count from the letter's arrival: triage ended on 17 Feb, across Tết.
    triage = {d.key: d.due_on for d in workflow.current_deadlines(case)}["triage"]
    assert triage == date(2027, 2, 17)
    # The code on the receipt finds the case, as it would a web case.
    found = followup.find_case(session, world.unit, keys.code.lookup_token(), fast_argon2)
    assert found is not None
    assert found.id == case.id


def test_a_report_in_person_verifies_the_identity_in_person(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    arrival = Arrival(Channel.IN_PERSON, TODAY)
    _keys, case = register(session, world, arrival, fast_argon2, identity=IDENTITY)
    assert events(case)[1] == ("identity_verification", TODAY, {"means": "in_person"})


@pytest.mark.parametrize(
    ("arrival", "identity"),
    [
        (Arrival(Channel.LETTER, TODAY), IDENTITY),  # unsigned: not verified
        (Arrival(Channel.IN_PERSON, TODAY), None),  # anonymous: nothing to verify
        (Arrival(Channel.PRESS, TODAY, sender="Báo Thanh Niên"), IDENTITY),
    ],
)
def test_no_verification_without_a_signature_or_a_person_seen(
    session: Session,
    world: World,
    fast_argon2: Argon2Params,
    arrival: Arrival,
    identity: dict[str, Any] | None,
) -> None:
    _keys, case = register(session, world, arrival, fast_argon2, identity=identity)
    assert "identity_verification" not in [kind for kind, _on, _data in events(case)]


def test_a_report_sent_in_by_the_press_starts_the_result_clock_and_seals_the_sender(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    arrival = Arrival(Channel.PRESS, date(2027, 1, 15), sender="Báo Tuổi Trẻ")
    _keys, case = register(session, world, arrival, fast_argon2)
    [event] = case.events
    assert (event.kind, event.data) == ("sent_in", {"channel": "press"})
    assert event.grounds is not None
    assert "Tuổi Trẻ".encode() not in event.grounds
    keys = world.reader_keys(case, "minh")
    grounds = access.open_note(keys, case, event, "grounds", "grounds")
    assert grounds is not None
    assert grounds.text() == "Báo Tuổi Trẻ"
    # 20 days from 15 Jan end on 4 Feb, in the Tết holidays (4-10 Feb): due 11 Feb.
    due = {d.key: d.due_on for d in workflow.current_deadlines(case)}
    assert due["sender_result"] == date(2027, 2, 11)
    assert registration.RESULT_TO_SENDER in workflow.recordable(case, world.people["lan"])
    workflow.record(
        case, registration.RESULT_TO_SENDER, inspector=world.people["lan"], today=TODAY, now=NOW
    )
    assert "sender_result" not in {d.key for d in workflow.current_deadlines(case)}


def test_a_letter_or_a_visit_has_no_result_clock(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    _keys, case = register(session, world, Arrival(Channel.LETTER, TODAY), fast_argon2)
    assert "sender_result" not in {d.key for d in workflow.current_deadlines(case)}


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 1, 15), date(2027, 2, 11)),  # ends in Tết: the next working day
        (date(2027, 1, 22), date(2027, 2, 11)),  # ends on 11 Feb, the first day back
        (date(2027, 1, 27), date(2027, 2, 16)),  # after Tết: 20 calendar days
        (date(2027, 2, 6), date(2027, 2, 26)),  # starts on New Year's Day: it counts
        (date(2027, 3, 1), date(2027, 3, 22)),  # ends on Sunday 21 Mar: Monday
    ],
)
def test_the_result_clock_counts_twenty_days_rolling_off_days_off(
    received: date, due: date
) -> None:
    profile = load_profile("vn-denunciation-2018")
    rule = profile.deadlines["sender_result"]
    assert (rule.source, rule.confidence, rule.statutory) == ("LTC Art. 26(2)", "medium", True)
    steps = [
        clocks.Step(received, clocks.STATUS, status="received"),
        clocks.Step(received, registration.SENT_IN),
    ]
    for track in Track:
        running = clocks.running(profile, track, steps, received)
        assert {d.key: d.due_on for d in running}["sender_result"] == due


@pytest.mark.parametrize(
    ("arrival", "code"),
    [
        (Arrival(Channel.LETTER, date(2027, 3, 2)), "received_in_future"),
        (Arrival(Channel.AUTHORITY, TODAY), "sender_missing"),
        (Arrival(Channel.AUTHORITY, TODAY, sender="x" * 301), "sender_too_long"),
        (Arrival(Channel.LETTER, TODAY, sender="Báo"), "sender_unexpected"),
        (Arrival(Channel.IN_PERSON, TODAY, signed=True), "signed_not_letter"),
    ],
)
def test_an_arrival_that_cannot_be_true_is_refused(arrival: Arrival, code: str) -> None:
    with pytest.raises(RegistrationError) as refused:
        registration.check_arrival(arrival, TODAY)
    assert refused.value.code == code


def test_only_people_who_read_cases_register_and_nothing_is_kept_when_refused(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    with pytest.raises(RegistrationError) as refused:
        register(session, world, Arrival(Channel.LETTER, TODAY), fast_argon2, who="son")
    assert refused.value.code == "not_a_reader"
    session.rollback()
    assert session.query(Case).count() == 0
