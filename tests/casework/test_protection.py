"""Protection records through their states, retaliation incidents, notes and urgency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import entry_facts, followup, transcript, workflow
from casework import protection as p
from casework.records import CaseKeys, Trust, ref_of
from casework.sealing import NewCaseKeys
from casework.transcript import EntryRefused, NewEntry
from crypto import Argon2Params, bound
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Inspector,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
)
from tests.casework.test_followup import TODAY, browser_entry, new_case
from tests.worlds import World, reporter_entry

S = ProtectionState
NOW = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
SECRET = "Ông Trưởng phòng dọa đuổi việc"
# Every field each target state needs, so a test can leave one out.
FULL = p.StepFields(
    reasons="Không đủ căn cứ",
    measures="Giữ bí mật danh tính; bố trí nơi gặp an toàn",
    responsible_body="Công an tỉnh",
    changes="Thêm bảo vệ tại nhà",
    ground="Hết nguy cơ",
    note="Đang xem xét",
    started_on=TODAY,
    end_ground="grounds_ceased",  # LTC Art. 54(2)
)
# The path to each state from requested.
PATHS: dict[ProtectionState, list[ProtectionState]] = {
    S.REQUESTED: [],
    S.UNDER_REVIEW: [S.UNDER_REVIEW],
    S.REJECTED: [S.UNDER_REVIEW, S.REJECTED],
    S.ACTIVE: [S.UNDER_REVIEW, S.ACTIVE],
    S.MODIFIED: [S.UNDER_REVIEW, S.ACTIVE, S.MODIFIED],
    S.ENDED: [S.UNDER_REVIEW, S.ACTIVE, S.ENDED],
}
ALLOWED = {
    (S.REQUESTED, S.UNDER_REVIEW),
    (S.UNDER_REVIEW, S.REJECTED),
    (S.UNDER_REVIEW, S.ACTIVE),
    (S.ACTIVE, S.MODIFIED),
    (S.ACTIVE, S.ENDED),
    (S.MODIFIED, S.MODIFIED),
    (S.MODIFIED, S.ENDED),
}


@pytest.fixture
def opened(session: Session, world: World, fast_argon2: Argon2Params) -> tuple[NewCaseKeys, Case]:
    return new_case(session, world, fast_argon2)


def lan(world: World) -> Inspector:
    return world.people["lan"]


def staff(session: Session, world: World, case: Case, name: str = "lan") -> CaseKeys:
    """What the review app holds when ``name`` writes on ``case``."""
    return world.staff_keys(session, case, name, TODAY)


def open_record(
    session: Session,
    world: World,
    keys: CaseKeys,
    case: Case,
    *,
    urgent: bool = False,
    person: ProtectedPerson = ProtectedPerson.CHILD,
    category: ProtectionCategory = ProtectionCategory.LIFE_HEALTH,
) -> ProtectionRecord:
    return p.open_by_inspector(
        session,
        case,
        keys,
        lan(world),
        person,
        category,
        urgent,
        p.RequestDetails(relative="Con gái út", request=SECRET),
        TODAY,
        NOW,
        TODAY + timedelta(days=3) if urgent else None,
    )


def walk(
    session: Session,
    world: World,
    keys: CaseKeys,
    record: ProtectionRecord,
    states: list[ProtectionState],
) -> None:
    for state in states:
        p.transition(session, record, keys, lan(world), state, FULL, TODAY, NOW)


def ask_entry(
    session: Session,
    keys: NewCaseKeys,
    record: ProtectionRecord,
    ask: str,
    text: str = "Tôi xin thêm biện pháp",
) -> Message:
    """The protected person's ask, as their follow-up page appends it."""
    facts = entry_facts.protection_ask(record.id, ask)
    return reporter_entry(session, record.case, keys, "protection-ask", TODAY, text, facts)


def incident_entry(
    session: Session,
    keys: NewCaseKeys,
    case: Case,
    kind: RetaliationKind,
    occurred_on: date | None,
    text: str = "Bị gây khó dễ",
) -> Message:
    facts = entry_facts.retaliation(kind, occurred_on)
    return reporter_entry(session, case, keys, "retaliation", TODAY, text, facts)


def author(blob: bytes) -> str:
    """Who signed a sealed NOTE, by its place."""
    return bound.read_place(crypto.Kind.NOTE, blob).author


def only_unit_reads(keys: CaseKeys, case: Case, row: object, column: str, purpose: str) -> None:
    """The NOTE in ``row.column`` names that row, opens with the unit key, and not with
    the case key the reporter holds."""
    blob = getattr(row, column)
    assert isinstance(blob, bytes)
    assert bound.read_place(crypto.Kind.NOTE, blob).ref == ref_of(row)
    opened = keys.open_note(case, row, column, purpose)
    assert opened is not None
    assert opened.trust is Trust.SIGNED
    for other in (CaseKeys(case=keys.case), CaseKeys(case=keys.case, unit=keys.case)):
        assert p.open_document(other, case, row, column, purpose) == {p.ALTERED: "yes"}


def protection_events(case: Case) -> list[CaseEvent]:
    return [event for event in case.events if event.kind in p.PROTECTION_EVENTS]


# --- opening --------------------------------------------------------------------------------


def test_an_inspector_opens_a_sealed_timed_record(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case, urgent=True)
    session.commit()
    assert (record.state, record.requested_by, record.requested_on) == (
        S.REQUESTED,
        Party.INSPECTOR,
        TODAY,
    )
    assert record.written_confirmation_due == TODAY + timedelta(days=3)
    assert case.protection_requested
    assert case.urgent
    assert record.details is not None
    assert SECRET.encode() not in record.details
    assert p.open_details(keys, record)["relative"] == "Con gái út"
    assert p.open_details(keys, record)["request"] == SECRET
    # under the unit key, signed by lan: the reporter's case key opens none of it
    assert author(record.details) == f"staff/{lan(world).id}"
    only_unit_reads(keys, case, record, "details", "protection")
    assert p.open_details(world.reader_keys(case, "hoa"), record)["request"] == SECRET
    [event] = protection_events(case)
    assert (event.actor_kind, event.inspector_id, event.occurred_at) == (
        ActorKind.INSPECTOR,
        lan(world).id,
        NOW,
    )
    assert event.data == {"protection_id": record.id, "from": None, "to": "requested"}
    assert event.grounds is not None
    only_unit_reads(keys, case, event, "grounds", "grounds")


def test_a_non_urgent_record_keeps_no_confirmation_date_and_leaves_the_case_calm(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    record = p.open_by_inspector(
        session,
        case,
        staff(session, world, case),
        lan(world),
        ProtectedPerson.REPORTER,
        ProtectionCategory.JOB,
        False,
        p.RequestDetails(),
        TODAY,
        NOW,
        TODAY + timedelta(days=3),
    )
    assert record.written_confirmation_due is None
    assert case.protection_requested
    assert not case.urgent


def test_a_reporter_request_is_dated_checked_and_urgent(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    sealed, case = opened
    facts = entry_facts.protection_request(ProtectedPerson.SPOUSE, ProtectionCategory.HONOUR, True)
    # the request's signed place must say what the request's fields say
    calm = entry_facts.protection_request(ProtectedPerson.SPOUSE, ProtectionCategory.HONOUR, False)
    document = {"schema": 1, "text": "x"}
    misstated = browser_entry(
        case, sealed, NewEntry("protection-request", Party.REPORTER, facts=calm), document
    )
    with pytest.raises(EntryRefused) as refused:
        transcript.append(
            session,
            case,
            misstated,
            NewEntry("protection-request", Party.REPORTER, facts=facts),
            TODAY,
        )
    assert refused.value.code == "bad_entry"
    assert (case.protections, case.messages) == ([], [])
    entry = reporter_entry(
        session, case, sealed, "protection-request", TODAY, "Vợ tôi bị bôi nhọ", facts
    )
    record = p.request_by_reporter(
        session,
        case,
        ProtectedPerson.SPOUSE,
        ProtectionCategory.HONOUR,
        True,
        entry,
        TODAY,
        TODAY + timedelta(days=5),
    )
    session.commit()
    assert record.requested_by is Party.REPORTER
    assert case.urgent
    assert case.protection_requested
    assert case.last_reporter_activity_on == TODAY
    [event] = protection_events(case)
    assert (event.actor_kind, event.occurred_on, event.occurred_at, event.inspector_id) == (
        ActorKind.REPORTER,
        TODAY,
        None,
        None,
    )
    # the reporter's words are their signed entry, which the record and the event name
    assert (record.details, record.message_id) == (None, entry.id)
    assert (event.grounds, event.message_id) == (None, entry.id)
    assert entry_facts.bound_facts(case)[entry.id] == facts
    keys = world.reader_keys(case, "lan")
    assert p.open_details(keys, record) == {"request": "Vợ tôi bị bôi nhọ"}
    assert p.timeline(keys, record)[0].details == {"text": "Vợ tôi bị bôi nhọ"}
    assert transcript.entry_reading(case, sealed.case_key, entry.id).trust is Trust.SIGNED


# --- transitions ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", [state for state in S if state is not S.REQUESTED])
def test_every_transition_is_allowed_or_refused_naming_the_allowed_ones(
    session: Session,
    world: World,
    opened: tuple[NewCaseKeys, Case],
    source: ProtectionState,
    target: ProtectionState,
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    walk(session, world, keys, record, PATHS[source])
    assert record.state is source
    before = len(case.events)
    if (source, target) in ALLOWED:
        event = p.transition(session, record, keys, lan(world), target, FULL, TODAY, NOW)
        assert record.state is target
        expected: dict[str, object] = {
            "protection_id": record.id,
            "from": source.value,
            "to": target.value,
        }
        if target is S.ENDED:  # with the law's ground it ends on (LTC Art. 54(2))
            expected["legal_grounds"] = ["grounds_ceased"]
        assert event.data == expected
        return
    with pytest.raises(p.ProtectionError) as refused:
        p.transition(session, record, keys, lan(world), target, FULL, TODAY, NOW)
    assert refused.value.code == "invalid_transition"
    allowed = [b.value for a, b in sorted(ALLOWED) if a is source]
    message = str(refused.value)
    assert all(name in message for name in allowed)
    if not allowed:
        assert "none" in message
    assert record.state is source
    assert len(case.events) == before


@pytest.mark.parametrize(
    ("target", "missing"),
    [
        (S.REJECTED, "reasons"),
        (S.ACTIVE, "measures"),
        (S.ACTIVE, "responsible_body"),
        (S.ACTIVE, "started_on"),
        (S.MODIFIED, "changes"),
        (S.ENDED, "ground"),
    ],
)
def test_each_state_requires_its_fields(
    session: Session,
    world: World,
    opened: tuple[NewCaseKeys, Case],
    target: ProtectionState,
    missing: str,
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    walk(session, world, keys, record, PATHS[target][:-1])
    source = record.state
    blank: object = None if missing == "started_on" else "  \n"
    fields = p.StepFields(**{**FULL.__dict__, missing: blank})
    with pytest.raises(p.ProtectionError) as refused:
        p.transition(session, record, keys, lan(world), target, fields, TODAY, NOW)
    assert refused.value.code == f"missing_{missing}"
    assert record.state is source


def test_protection_cannot_start_before_it_was_requested(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    walk(session, world, keys, record, [S.UNDER_REVIEW])
    early = p.StepFields(**{**FULL.__dict__, "started_on": TODAY - timedelta(days=1)})
    with pytest.raises(p.ProtectionError) as refused:
        p.transition(session, record, keys, lan(world), S.ACTIVE, early, TODAY, NOW)
    assert refused.value.code == "start_before_request"


def test_the_life_of_a_record_keeps_every_step_sealed_and_dated(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case, urgent=True)
    assert case.urgent
    walk(session, world, keys, record, [S.UNDER_REVIEW])
    assert not case.urgent  # no longer an urgent request waiting
    start = TODAY + timedelta(days=2)
    fields = p.StepFields(measures="Bảo vệ tại nhà", responsible_body="Công an", started_on=start)
    p.transition(session, record, keys, lan(world), S.ACTIVE, fields, TODAY, NOW)
    assert (record.decided_on, record.started_on) == (TODAY, start)
    later = TODAY + timedelta(days=10)
    change = p.StepFields(changes="Thêm camera", measures="Bảo vệ tại nhà và camera")
    p.transition(session, record, keys, lan(world), S.MODIFIED, change, later, NOW)
    hoa = world.people["hoa"]
    p.transition(
        session,
        record,
        staff(session, world, case, "hoa"),
        hoa,
        S.ENDED,
        p.StepFields(ground="Đã hết nguy cơ", end_ground="grounds_ceased"),
        later,
        NOW,
    )
    session.commit()
    session.expire_all()
    stored = session.get(ProtectionRecord, record.id)
    assert stored is not None
    assert (stored.state, stored.decided_on, stored.ended_on) == (S.ENDED, later, later)
    current = p.open_details(keys, stored)
    assert current["measures"] == "Bảo vệ tại nhà và camera"
    assert current["responsible_body"] == "Công an"
    assert current["relative"] == "Con gái út"
    assert current["text"] == current["ground"] == "Đã hết nguy cơ"
    steps = p.timeline(keys, stored)
    assert steps[-1].event.data["legal_grounds"] == ["grounds_ceased"]  # not sealed: a category
    assert [entry.event.data["to"] for entry in steps] == [
        "requested",
        "under_review",
        "active",
        "modified",
        "ended",
    ]
    assert steps[2].details["measures"] == "Bảo vệ tại nhà"
    assert steps[3].details["changes"] == "Thêm camera"
    assert steps[4].event.inspector_id == hoa.id
    # each step's grounds are signed by whoever took it; the record's current document
    # by the last of them
    assert [author(entry.event.grounds or b"") for entry in steps] == [
        f"staff/{lan(world).id}"
    ] * 4 + [f"staff/{hoa.id}"]
    assert stored.details is not None
    assert author(stored.details) == f"staff/{hoa.id}"
    for event in case.events:
        assert event.grounds is not None
        for text in ("Bảo vệ", "Công an", "camera", "nguy cơ"):
            assert text.encode() not in event.grounds
        only_unit_reads(keys, case, event, "grounds", "grounds")
    # Sealed for the unit: the case key (which the follow-up code opens) opens nothing,
    # and neither does another key.
    assert p.open_details(CaseKeys(case=sealed.case_key), stored) == {p.ALTERED: "yes"}
    other = CaseKeys(case=bytes(32), unit=bytes(32))
    assert p.open_details(other, stored) == {p.ALTERED: "yes"}
    assert all(entry.details == {p.ALTERED: "yes"} for entry in p.timeline(other, stored))


def test_over_long_texts_are_refused(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    walk(session, world, keys, record, [S.UNDER_REVIEW])
    long = p.StepFields(reasons="x" * (p.MAX_TEXT + 1))
    with pytest.raises(p.ProtectionError) as refused:
        p.transition(session, record, keys, lan(world), S.REJECTED, long, TODAY, NOW)
    assert refused.value.code == "too_long"


# --- the reporter's asks ------------------------------------------------------------------


def test_an_ask_makes_the_case_urgent_until_the_unit_answers(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    with pytest.raises(p.ProtectionError) as refused:
        p.reporter_asks(session, record, "end", ask_entry(session, sealed, record, "end"), TODAY)
    assert refused.value.code == "not_running"
    walk(session, world, keys, record, [S.UNDER_REVIEW, S.ACTIVE])
    with pytest.raises(p.ProtectionError) as refused:
        p.reporter_asks(
            session, record, "cancel", ask_entry(session, sealed, record, "cancel"), TODAY
        )
    assert refused.value.code == "unknown_ask"
    assert not case.urgent
    entry = ask_entry(session, sealed, record, "add")
    ask = p.reporter_asks(session, record, "add", entry, TODAY)
    assert (ask.actor_kind, ask.occurred_at, ask.data) == (
        ActorKind.REPORTER,
        None,
        {"protection_id": record.id, "ask": "add"},
    )
    # the ask's words are the signed entry the event names, bound to this record and ask
    assert (ask.grounds, ask.message_id) == (None, entry.id)
    assert entry_facts.bound_facts(case)[entry.id] == {"protection": record.id, "ask": "add"}
    assert p.timeline(keys, record)[-1].details == {"text": "Tôi xin thêm biện pháp"}
    assert case.urgent
    assert p.pending_asks(record) == [ask]
    assert p.recompute_urgent(case)
    walk(session, world, keys, record, [S.MODIFIED])  # a step answers it
    assert not case.urgent
    assert p.pending_asks(record) == []
    p.reporter_asks(session, record, "change", ask_entry(session, sealed, record, "change"), TODAY)
    assert case.urgent
    answer = p.answer_ask(session, record, keys, lan(world), "Không thể", TODAY, NOW)
    assert answer.kind == p.ANSWER
    assert not case.urgent
    assert p.timeline(keys, record)[-1].details["text"] == "Không thể"
    assert answer.grounds is not None
    only_unit_reads(keys, case, answer, "grounds", "grounds")
    with pytest.raises(p.ProtectionError) as refused:
        p.answer_ask(session, record, keys, lan(world), "again", TODAY, NOW)
    assert refused.value.code == "nothing_asked"


# --- incidents ----------------------------------------------------------------------------


def test_an_inspector_logs_an_incident_sealed_and_linked(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    incident = p.log_incident_by_inspector(
        session,
        case,
        keys,
        lan(world),
        RetaliationKind.DEMOTION,
        TODAY - timedelta(days=2),
        SECRET,
        TODAY,
        NOW,
        protection_id=record.id,
    )
    session.commit()
    assert (incident.source, incident.protection_id, incident.reported_on) == (
        Party.INSPECTOR,
        record.id,
        TODAY,
    )
    assert case.retaliation_reported
    assert not case.urgent
    assert incident.details is not None
    assert SECRET.encode() not in incident.details
    assert p.open_document(keys, case, incident, "details", "incident")["text"] == SECRET
    assert author(incident.details) == f"staff/{lan(world).id}"
    only_unit_reads(keys, case, incident, "details", "incident")
    [event] = [event for event in case.events if event.kind == p.INCIDENT]
    assert event.data == {"incident_id": incident.id, "action": "logged"}
    assert event.inspector_id == lan(world).id


def test_an_incident_can_open_a_requested_record(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    incident = p.log_incident_by_inspector(
        session,
        case,
        staff(session, world, case),
        lan(world),
        RetaliationKind.THREAT_TO_LIFE_OR_HEALTH,
        None,
        "Bị đe dọa qua điện thoại",
        TODAY,
        NOW,
        request_protection=(ProtectedPerson.REPORTER, ProtectionCategory.LIFE_HEALTH),
        urgent=True,
    )
    [record] = case.protections
    assert incident.protection_id == record.id
    assert (record.person, record.category, record.state) == (
        ProtectedPerson.REPORTER,
        ProtectionCategory.LIFE_HEALTH,
        S.REQUESTED,
    )
    assert case.urgent
    assert case.protection_requested


def test_incident_dates_in_the_future_empty_texts_and_foreign_records_are_refused(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case], fast_argon2: Argon2Params
) -> None:
    _sealed, case = opened
    keys = staff(session, world, case)
    session.commit()  # the unit key stays through the rollback below
    _other_keys, other = new_case(session, world, fast_argon2)
    foreign = open_record(session, world, staff(session, world, other), other)

    def log(
        occurred_on: date = TODAY, text: str = "Bị hạ bậc lương", protection_id: int | None = None
    ) -> RetaliationIncident:
        return p.log_incident_by_inspector(
            session,
            case,
            keys,
            lan(world),
            RetaliationKind.PAY_CUT,
            occurred_on,
            text,
            TODAY,
            NOW,
            protection_id=protection_id,
        )

    with pytest.raises(p.ProtectionError) as refused:
        log(occurred_on=TODAY + timedelta(days=1))
    assert refused.value.code == "date_in_future"
    with pytest.raises(p.ProtectionError) as refused:
        log(text=" ")
    assert refused.value.code == "empty"
    with pytest.raises(p.ProtectionError) as refused:
        log(protection_id=foreign.id)
    assert refused.value.code == "other_case"
    session.rollback()
    assert session.scalars(select(RetaliationIncident)).all() == []
    assert log().occurred_on == TODAY


def test_linking_works_only_within_a_case(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case], fast_argon2: Argon2Params
) -> None:
    sealed, case = opened
    _other_keys, other = new_case(session, world, fast_argon2)
    foreign = open_record(session, world, staff(session, world, other), other)
    own = open_record(session, world, staff(session, world, case), case)
    entry = incident_entry(session, sealed, case, RetaliationKind.INTIMIDATION, None)
    followup.record_retaliation(session, case, RetaliationKind.INTIMIDATION, entry, None, TODAY)
    [incident] = case.retaliation_incidents
    with pytest.raises(p.ProtectionError) as refused:
        p.link_incident(incident, foreign)
    assert refused.value.code == "other_case"
    assert incident.protection_id is None
    p.record_link(session, incident, own, lan(world), TODAY, NOW)
    session.commit()
    assert incident.protection_id == own.id
    assert case.events[-1].data == {"incident_id": incident.id, "action": "linked"}


def test_notes_by_both_sides_and_the_urgency_they_cause(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    sealed, case = opened
    keys = staff(session, world, case)
    entry = incident_entry(session, sealed, case, RetaliationKind.HARASSMENT, TODAY)
    followup.record_retaliation(session, case, RetaliationKind.HARASSMENT, entry, TODAY, TODAY)
    [incident] = case.retaliation_incidents
    assert case.urgent
    assert p.recompute_urgent(case)
    answer = p.add_inspector_note(session, incident, keys, lan(world), "Đã liên hệ", TODAY, NOW)
    assert answer.source is Party.INSPECTOR
    assert not case.urgent
    assert answer.details is not None
    assert b"\xc4\x90\xc3\xa3 li" not in answer.details
    assert p.open_document(keys, case, answer, "details", "incident-note")["text"] == "Đã liên hệ"
    only_unit_reads(keys, case, answer, "details", "incident-note")
    later = TODAY + timedelta(days=4)
    facts = entry_facts.retaliation_note(incident.id)
    addition = reporter_entry(
        session, case, sealed, "retaliation-note", later, "Lại bị gọi lên", facts
    )
    added = p.add_reporter_note(session, incident, addition, later)
    assert added.added_on == later
    assert (added.source, added.details, added.message_id) == (Party.REPORTER, None, addition.id)
    assert case.last_reporter_activity_on == later
    assert case.urgent  # the reporter's addition waits for the unit
    assert entry_facts.bound_facts(case)[addition.id] == {"incident": incident.id}
    reading = transcript.entry_reading(case, sealed.case_key, addition.id)
    assert (reading.text(), reading.trust) == ("Lại bị gọi lên", Trust.SIGNED)
    # an addition the reporter did not seal and sign is not taken
    with pytest.raises(EntryRefused) as refused:
        transcript.append(
            session,
            case,
            b"plaintext",
            NewEntry("retaliation-note", Party.REPORTER, facts=facts),
            later,
        )
    assert refused.value.code == "bad_entry"
    with pytest.raises(p.ProtectionError):
        p.add_inspector_note(session, incident, keys, lan(world), "", TODAY, NOW)
    p.add_inspector_note(session, incident, keys, lan(world), "Đã xử lý", TODAY, NOW)
    session.commit()
    assert [item.source for item in incident.notes] == [
        Party.INSPECTOR,
        Party.REPORTER,
        Party.INSPECTOR,
    ]
    assert not case.urgent


def test_urgency_counts_every_source(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    sealed, case = opened
    keys = staff(session, world, case)
    calm = open_record(session, world, keys, case)
    assert not p.recompute_urgent(case)
    urgent = open_record(session, world, keys, case, urgent=True)
    assert p.recompute_urgent(case)
    walk(session, world, keys, urgent, [S.UNDER_REVIEW])
    assert not p.recompute_urgent(case)
    walk(session, world, keys, calm, [S.UNDER_REVIEW, S.ACTIVE])
    p.reporter_asks(session, calm, "end", ask_entry(session, sealed, calm, "end"), TODAY)
    assert p.recompute_urgent(case)
    walk(session, world, keys, calm, [S.ENDED])
    assert not p.recompute_urgent(case)


def test_the_case_ending_ends_the_protection_still_running_and_no_other(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    """LTC Art. 54(2): at the conclusion or termination of the case protection ends; a
    request still being decided and one refused are left as they are."""
    _sealed, case = opened
    keys = staff(session, world, case)
    running = open_record(session, world, keys, case)
    walk(session, world, keys, running, [S.UNDER_REVIEW, S.ACTIVE, S.MODIFIED])
    waiting = open_record(session, world, keys, case, person=ProtectedPerson.REPORTER)
    ended = p.end_with_the_case(session, case, keys, lan(world), "Vụ việc đã kết luận", TODAY, NOW)
    assert ended == [(running, S.MODIFIED)]
    assert (running.state, running.ended_on) == (S.ENDED, TODAY)
    assert waiting.state is S.REQUESTED
    assert p.open_details(keys, running)["ground"] == "Vụ việc đã kết luận"
    assert p.end_with_the_case(session, case, keys, lan(world), "again", TODAY, NOW) == []


@pytest.mark.parametrize(
    ("profile", "allowed"),
    [
        ("vn-denunciation-2018", False),
        ("vn-denunciation-2026", True),
    ],
)
def test_from_july_2026_a_protection_also_ends_on_a_deliberate_breach_of_duties(
    session: Session,
    world: World,
    opened: tuple[NewCaseKeys, Case],
    profile: str,
    allowed: bool,
) -> None:
    """Law 136/2025/QH15 adds the ground; a unit on the 2026 law applies it to the cases
    received since it took effect."""
    _sealed, case = opened
    assert case.received_on >= date(2026, 7, 1)
    world.unit.profile = profile
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    walk(session, world, keys, record, [S.UNDER_REVIEW, S.ACTIVE])
    breach = p.StepFields(ground="Cố ý vi phạm nghĩa vụ", end_ground="deliberate_breach")
    if not allowed:
        with pytest.raises(p.ProtectionError) as refused:
            p.transition(session, record, keys, lan(world), S.ENDED, breach, TODAY, NOW)
        assert refused.value.code == "unknown_ground"
        assert record.state is S.ACTIVE
        return
    event = p.transition(session, record, keys, lan(world), S.ENDED, breach, TODAY, NOW)
    assert event.data["legal_grounds"] == ["deliberate_breach"]


def test_a_request_has_a_decision_target_of_the_units_own_until_it_is_decided(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    """LTC Art. 51(1) asks for a prompt decision and sets no period: the profile's
    ``protection_decision`` is the unit's own target, counted in working days."""
    _sealed, case = opened
    keys = staff(session, world, case)
    record = open_record(session, world, keys, case)
    # Requested on Tuesday 2 February 2027, two days before the Tết holiday (4-10 February):
    # 5 working days are 3, 11, 12, 15 and 16 February.
    record.requested_on = date(2027, 2, 2)
    assert workflow.profile_of(case).protection_decision is not None
    assert p.decision_due(case, record) == date(2027, 2, 16)
    # Requested on Friday 27 November 2026: due Friday 4 December, past the weekend.
    record.requested_on = TODAY
    assert p.decision_due(case, record) == date(2026, 12, 4)
    walk(session, world, keys, record, [S.UNDER_REVIEW])
    assert p.decision_due(case, record) == date(2026, 12, 4)  # taken up, not yet decided
    walk(session, world, keys, record, [S.ACTIVE])
    assert p.decision_due(case, record) is None


def test_a_profile_without_a_decision_target_shows_none(
    session: Session, world: World, opened: tuple[NewCaseKeys, Case]
) -> None:
    _sealed, case = opened
    record = open_record(session, world, staff(session, world, case), case)
    case.unit.profile = "eu-2019-1937"
    assert workflow.profile_of(case).protection_decision is None
    assert p.decision_due(case, record) is None
