"""The follow-up service: finding a case by code, and what a reporter may do with it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import followup, intake, workflow
from casework.calendar import PeriodUnit
from casework.intake import AttachmentIn
from casework.profiles import load_profile
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from crypto import kdf
from crypto.kdf import Argon2Params
from store.models import (
    ActorKind,
    Attachment,
    Case,
    CaseEvent,
    CaseTransfer,
    Message,
    Party,
    RetaliationIncident,
    RetaliationKind,
    Track,
    WrapPurpose,
)
from tests.store.factories import add_unit
from tests.worlds import World

TODAY = date(2026, 11, 27)
RECEIVED = TODAY - timedelta(days=3)
PROFILE = load_profile("vn-denunciation-2018")


def new_case(
    session: Session,
    world: World,
    params: Argon2Params,
    *,
    identity: bool = False,
    received: date = RECEIVED,
) -> tuple[NewCaseKeys, Case]:
    keys = NewCaseKeys()
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"schema": 1, "what": "Nhận hối lộ"},
        identity={"schema": 1, "name": "Nguyễn Văn A"} if identity else None,
    )
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, params), received
    )
    session.commit()
    return keys, case


def sealed(keys: NewCaseKeys, kind: crypto.Kind, document: dict[str, object]) -> bytes:
    return crypto.seal_json(keys.case_key, kind, keys.case_id, document)


def file_meta(keys: NewCaseKeys, name: str) -> bytes:
    meta = crypto.FileMeta(name=name, type="text/plain", size=5, stream=bytes(32))
    return crypto.seal_file_meta(keys.case_key, keys.case_id, meta)


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every Argon2id verification, by the hash it was run against."""
    runs: list[bytes] = []
    real = kdf.verify_hash

    def counting(encoded: bytes, secret: bytes) -> bool:
        runs.append(encoded)
        return real(encoded, secret)

    monkeypatch.setattr(crypto.code, "verify_hash", counting)
    return runs


# --- finding a case -------------------------------------------------------------------------


def test_the_right_code_finds_its_case_with_one_argon2_run(
    session: Session, world: World, fast_argon2: Argon2Params, argon2_runs: list[bytes]
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    found = followup.find_case(session, world.unit, keys.code.lookup_token(), fast_argon2)
    assert found is not None
    assert found.id == case.id
    assert argon2_runs == [case.lookup_hash]


def test_an_unknown_code_costs_one_argon2_run_against_the_dummy_hash(
    session: Session, world: World, fast_argon2: Argon2Params, argon2_runs: list[bytes]
) -> None:
    _keys, case = new_case(session, world, fast_argon2)
    unknown = crypto.FollowUpCode.generate().lookup_token()
    assert followup.find_case(session, world.unit, unknown, fast_argon2) is None
    assert len(argon2_runs) == 1
    assert argon2_runs[0] != case.lookup_hash


def test_a_wrong_code_with_the_same_index_costs_the_same_one_run(
    session: Session, world: World, fast_argon2: Argon2Params, argon2_runs: list[bytes]
) -> None:
    _keys, case = new_case(session, world, fast_argon2)
    wrong = crypto.FollowUpCode.generate().lookup_token()
    case.lookup_index = crypto.lookup_index(wrong)  # as if the 40-bit index collided
    session.commit()
    assert followup.find_case(session, world.unit, wrong, fast_argon2) is None
    assert argon2_runs == [case.lookup_hash]


def test_an_index_collision_checks_every_candidate_and_finds_the_right_one(
    session: Session, world: World, fast_argon2: Argon2Params, argon2_runs: list[bytes]
) -> None:
    """Cases before and after the right one share its 40-bit index: all are verified."""
    _first_keys, first = new_case(session, world, fast_argon2)
    keys, case = new_case(session, world, fast_argon2)
    _third_keys, third = new_case(session, world, fast_argon2)
    first.lookup_index = third.lookup_index = case.lookup_index
    session.commit()
    found = followup.find_case(session, world.unit, keys.code.lookup_token(), fast_argon2)
    assert found is not None
    assert found.id == case.id
    assert argon2_runs == [first.lookup_hash, case.lookup_hash, third.lookup_hash]


def test_a_case_of_another_unit_or_purged_is_not_found(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    other = add_unit(session, "other-unit")
    session.commit()
    token = keys.code.lookup_token()
    assert followup.find_case(session, other, token, fast_argon2) is None
    assert followup.get_case(session, other, case.public_id) is None
    case.purged_on, case.body = TODAY, None
    session.commit()
    assert followup.find_case(session, world.unit, token, fast_argon2) is None
    assert followup.get_case(session, world.unit, case.public_id) is None


# --- the case view --------------------------------------------------------------------------


def test_the_view_carries_the_reporter_wraps_deadlines_and_the_thread(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, identity=True)
    lan = world.people["lan"]
    question = Message(
        author=Party.INSPECTOR,
        inspector_id=lan.id,
        body=sealed(keys, crypto.Kind.MESSAGE, {"schema": 1, "text": "Ai?"}),
        created_on=TODAY,
    )
    case.messages.append(question)
    session.flush()
    case.attachments.append(
        Attachment(
            blob_id="ab" * 16,
            meta=file_meta(keys, "reply.pdf"),
            stored_size=4166,
            origin=Party.INSPECTOR,
            message_id=question.id,
            created_on=TODAY,
        )
    )
    session.commit()
    view = followup.case_view(case, TODAY, world.unit)
    assert view.reference == intake.public_reference(case.public_id)
    assert (view.status, view.track, view.withdrawn, view.forwarded) == (
        "received",
        Track.NAMED,
        False,
        False,
    )
    triage_due = PROFILE.calendar.due_date(RECEIVED, 7, PeriodUnit.WORKING_DAYS)
    assert [(d.key, d.statutory, d.due_on) for d in view.deadlines] == [
        ("triage", True, triage_due)
    ]
    assert (view.forwarded_to, view.ended, view.may_withdraw) == (None, False, True)
    assert (view.may_escalate, view.escalated) == (False, False)  # not overdue yet
    reporter = keys.code.reporter_private_key()
    opened = crypto.unwrap(view.case_key_wrap, reporter, crypto.Purpose.CASE_KEY, case.public_id)
    assert opened == keys.case_key
    assert view.identity_key_wrap is not None
    identity = crypto.unwrap(
        view.identity_key_wrap, reporter, crypto.Purpose.IDENTITY_KEY, case.public_id
    )
    assert identity == keys.identity_key
    [message] = view.messages
    assert (message.author, message.created_on) == (Party.INSPECTOR, TODAY)
    [attachment] = message.attachments
    assert (attachment.size, attachment.downloadable) == (4166, True)
    assert crypto.open_file_meta(keys.case_key, keys.case_id, attachment.meta).name == "reply.pdf"


def test_report_files_stay_out_of_the_thread_and_no_deadline_shows_once_withdrawn(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    case.attachments.append(
        Attachment(
            blob_id="cd" * 16,
            meta=file_meta(keys, "a.txt"),
            stored_size=4166,
            origin=Party.REPORTER,
            created_on=TODAY,
        )
    )
    session.commit()
    assert followup.case_view(case, TODAY).messages == ()
    assert [d.key for d in followup.case_view(case, TODAY).deadlines] == ["decision"]
    followup.withdraw(session, case, sealed(keys, crypto.Kind.NOTE, {"schema": 1}), TODAY)
    view = followup.case_view(case, TODAY)
    assert view.withdrawn
    assert (view.ended, view.may_withdraw) == (True, False)
    assert view.deadlines == ()  # an anonymous report owes no notice of the withdrawal


# --- messages -------------------------------------------------------------------------------


def test_a_message_with_files_is_stored_in_order_and_dated(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    files = followup.add_files(
        session,
        case,
        [
            AttachmentIn(blob_id="01" * 16, meta=file_meta(keys, "one.txt"), stored_size=4166),
            AttachmentIn(blob_id="02" * 16, meta=file_meta(keys, "two.txt"), stored_size=4166),
        ],
        TODAY,
    )
    document = {"schema": 1, "text": "Đây là biên lai.", "attachments": [f.id for f in files]}
    message = followup.add_message(
        session, case, sealed(keys, crypto.Kind.MESSAGE, document), files, TODAY
    )
    session.commit()
    session.expire_all()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert stored.last_reporter_activity_on == TODAY
    [kept] = stored.messages
    assert (kept.id, kept.author, kept.inspector_id, kept.created_on) == (
        message.id,
        Party.REPORTER,
        None,
        TODAY,
    )
    opened = crypto.open_json(keys.case_key, crypto.Kind.MESSAGE, keys.case_id, kept.body)
    assert opened["text"] == "Đây là biên lai."
    assert [a.message_id for a in stored.attachments] == [message.id, message.id]
    assert opened["attachments"] == [a.id for a in stored.attachments]
    assert {a.origin for a in stored.attachments} == {Party.REPORTER}
    [shown] = followup.case_view(stored, TODAY).messages
    assert [a.downloadable for a in shown.attachments] == [False, False]


@pytest.mark.parametrize(
    ("envelope", "code"),
    [
        (b"", "malformed_envelope"),
        (b"\x01\x07" + bytes(2000), "malformed_envelope"),  # a NOTE where a MESSAGE belongs
        (b"\x01\x04" + bytes(100), "malformed_envelope"),  # shorter than any sealed record
        (b"\x01\x04" + bytes(followup.MAX_RECORD_SIZE), "too_large"),
    ],
)
def test_a_message_that_is_not_a_message_envelope_is_refused(
    session: Session, world: World, fast_argon2: Argon2Params, envelope: bytes, code: str
) -> None:
    _keys, case = new_case(session, world, fast_argon2)
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_message(session, case, envelope, [], TODAY)
    assert refused.value.code == code
    assert case.messages == []


def test_files_are_refused_beyond_the_limit_or_with_a_bad_description(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    meta = file_meta(keys, "x")
    too_many = [AttachmentIn(f"{i:032x}", meta, 10) for i in range(followup.MAX_ATTACHMENTS + 1)]
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_files(session, case, too_many, TODAY)
    assert refused.value.code == "too_many_files"
    note = sealed(keys, crypto.Kind.NOTE, {"schema": 1})
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_files(session, case, [AttachmentIn("ef" * 16, note, 10)], TODAY)
    assert refused.value.code == "malformed_envelope"
    assert case.attachments == []


def test_a_message_cannot_take_files_of_another_case(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    other_keys, other = new_case(session, world, fast_argon2)
    [foreign] = followup.add_files(
        session, other, [AttachmentIn("aa" * 16, file_meta(other_keys, "f"), 10)], TODAY
    )
    body = sealed(keys, crypto.Kind.MESSAGE, {"schema": 1, "text": "x", "attachments": []})
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_message(session, case, body, [foreign], TODAY)
    assert refused.value.code == "foreign_file"
    assert foreign.message_id is None


# --- retaliation ----------------------------------------------------------------------------


def test_retaliation_is_logged_and_makes_the_case_urgent(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    assert not case.urgent
    document = {"schema": 1, "text": "Bị điều chuyển", "occurred_on": "2026-11-20"}
    followup.record_retaliation(
        session,
        case,
        RetaliationKind.TRANSFER,
        sealed(keys, crypto.Kind.NOTE, document),
        date(2026, 11, 20),
        TODAY,
    )
    session.commit()
    session.expire_all()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert stored.urgent
    assert stored.retaliation_reported
    assert stored.last_reporter_activity_on == TODAY
    [incident] = session.scalars(select(RetaliationIncident)).all()
    assert (incident.kind, incident.source, incident.occurred_on, incident.reported_on) == (
        RetaliationKind.TRANSFER,
        Party.REPORTER,
        date(2026, 11, 20),
        TODAY,
    )
    assert incident.details is not None
    opened = crypto.open_json(keys.case_key, crypto.Kind.NOTE, keys.case_id, incident.details)
    assert opened == document


def test_retaliation_is_accepted_on_a_closed_case_but_not_from_the_future(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    case.status = "closed"
    note = sealed(keys, crypto.Kind.NOTE, {"schema": 1, "text": ""})
    with pytest.raises(followup.FollowUpError) as refused:
        followup.record_retaliation(
            session, case, RetaliationKind.OTHER, note, TODAY + timedelta(days=1), TODAY
        )
    assert refused.value.code == "date_in_future"
    assert not case.urgent
    followup.record_retaliation(session, case, RetaliationKind.OTHER, note, None, TODAY)
    assert case.urgent
    assert len(case.retaliation_incidents) == 1
    message = sealed(keys, crypto.Kind.MESSAGE, {"schema": 1})
    with pytest.raises(followup.FollowUpError):
        followup.record_retaliation(session, case, RetaliationKind.OTHER, message, None, TODAY)


# --- withdrawal -----------------------------------------------------------------------------


def test_withdrawal_changes_the_status_with_a_reporter_event_and_sealed_grounds(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    document = {"schema": 1, "text": "Tôi sợ bị trả thù."}
    followup.withdraw(session, case, sealed(keys, crypto.Kind.NOTE, document), TODAY)
    session.commit()
    session.expire_all()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert (stored.status, stored.status_changed_on, stored.last_reporter_activity_on) == (
        "withdrawn",
        TODAY,
        TODAY,
    )
    [event] = session.scalars(select(CaseEvent)).all()
    assert (event.kind, event.from_status, event.to_status) == (
        "status_change",
        "received",
        "withdrawn",
    )
    assert (event.actor_kind, event.inspector_id, event.occurred_at, event.occurred_on) == (
        ActorKind.REPORTER,
        None,
        None,
        TODAY,
    )
    assert event.grounds is not None
    opened = crypto.open_json(keys.case_key, crypto.Kind.NOTE, keys.case_id, event.grounds)
    assert opened == document


@pytest.mark.parametrize("status", ["withdrawn", "closed"])
def test_withdrawal_is_refused_once_the_case_has_ended(
    session: Session, world: World, fast_argon2: Argon2Params, status: str
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    case.status = status
    with pytest.raises(followup.FollowUpError) as refused:
        followup.withdraw(session, case, sealed(keys, crypto.Kind.NOTE, {"schema": 1}), TODAY)
    assert refused.value.code == "already_ended"
    assert case.status == status
    assert case.events == []


def test_the_reporter_wrap_is_found_by_purpose(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    wrap = followup.reporter_wrap(case, WrapPurpose.CASE_KEY)
    assert wrap is not None
    reporter = keys.code.reporter_private_key()
    assert crypto.unwrap(wrap, reporter, crypto.Purpose.CASE_KEY, case.public_id) == keys.case_key
    assert followup.reporter_wrap(case, WrapPurpose.IDENTITY_KEY) is None  # anonymous


# --- escalation and forwarding ----------------------------------------------------------------


def test_an_overdue_legal_deadline_may_be_escalated_once(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, identity=True, received=date(2026, 10, 1))
    assert followup.case_view(case, TODAY).may_escalate
    note = sealed(keys, crypto.Kind.NOTE, {"schema": 1, "text": "Quá hạn"})
    event = followup.escalate(session, case, note, TODAY)
    session.commit()
    assert (event.kind, event.actor_kind, event.occurred_on, event.occurred_at) == (
        workflow.ESCALATION,
        ActorKind.REPORTER,
        TODAY,
        None,
    )
    assert event.grounds == note
    assert (case.urgent, case.last_reporter_activity_on) == (True, TODAY)
    view = followup.case_view(case, TODAY)
    assert (view.may_escalate, view.escalated) == (False, True)
    [answer] = [d for d in view.deadlines if d.key == workflow.ESCALATION]
    assert answer.due_on == PROFILE.calendar.due_date(TODAY, 5, PeriodUnit.WORKING_DAYS)
    with pytest.raises(followup.FollowUpError) as refused:
        followup.escalate(session, case, note, TODAY)
    assert refused.value.code == "not_overdue"


def test_a_case_without_an_overdue_legal_deadline_cannot_be_escalated(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    """An anonymous report's dates are the unit's own targets, however late."""
    keys, case = new_case(session, world, fast_argon2, received=date(2026, 10, 1))
    [decision] = followup.case_view(case, TODAY).deadlines
    assert (decision.statutory, decision.overdue(TODAY)) == (False, True)
    assert not followup.case_view(case, TODAY).may_escalate
    with pytest.raises(followup.FollowUpError) as refused:
        followup.escalate(session, case, sealed(keys, crypto.Kind.NOTE, {"schema": 1}), TODAY)
    assert refused.value.code == "not_overdue"
    assert case.events == []
    with pytest.raises(followup.FollowUpError) as malformed:
        followup.escalate(session, case, b"not a note", TODAY)
    assert malformed.value.code == "malformed_envelope"


def test_a_forwarded_case_is_still_found_from_the_first_unit_and_names_the_new_one(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    other = add_unit(session, "thanh-tra-bo")
    other.name = "Thanh tra Bộ"
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
    token = keys.code.lookup_token()
    for unit in (world.unit, other):
        found = followup.find_case(session, unit, token, fast_argon2)
        assert found is not None
        assert followup.get_case(session, unit, case.public_id) is found
    assert followup.case_view(case, TODAY, world.unit).forwarded_to == "Thanh tra Bộ"
    assert followup.case_view(case, TODAY, other).forwarded_to is None
    third = add_unit(session, "thanh-tra-huyen")
    session.commit()
    assert followup.find_case(session, third, token, fast_argon2) is None
