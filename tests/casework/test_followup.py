"""The follow-up service: finding a case by code, and what a reporter may do with it."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import access, entry_facts, followup, intake, records, transcript, workflow
from casework.calendar import PeriodUnit
from casework.intake import AttachmentIn
from casework.profiles import load_profile
from casework.recipients import unit_recipients
from casework.records import Signer, Trust
from casework.sealing import NewCaseKeys, seal_submission
from casework.transcript import EntryRefused, NewEntry
from crypto import bound, kdf
from crypto.kdf import Argon2Params
from crypto.places import Place
from crypto.transcript import Position, file_digest
from store.models import (
    ActorKind,
    Attachment,
    Case,
    CaseEvent,
    CaseTransfer,
    Party,
    RetaliationIncident,
    RetaliationKind,
    Track,
    WrapPurpose,
)
from tests.store.factories import add_unit
from tests.worlds import World, reporter_entry, verified_in_person

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
    files: Sequence[str] = (),
) -> tuple[NewCaseKeys, Case]:
    """A case as intake accepts it (protocol 2), with report files of these names."""
    keys = NewCaseKeys()
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"schema": 1, "what": "Nhận hối lộ"},
        identity={"schema": 1, "name": "Nguyễn Văn A"} if identity else None,
        attachments=[
            AttachmentIn(
                blob_id=secrets.token_hex(16), meta=file_meta(keys, name), stored_size=4166
            )
            for name in files
        ],
    )
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, params), received
    )
    if identity:  # the reporter came in: a formal denunciation from its receipt
        verified_in_person(case, world.people["lan"], received)
    session.commit()
    return keys, case


def protocol_1(keys: NewCaseKeys, kind: crypto.Kind, document: dict[str, object]) -> bytes:
    """A record as protocol 1 sealed it: neither bound to its place nor signed."""
    return crypto.seal_json(keys.case_key, kind, keys.case_id, document)


def file_meta(keys: NewCaseKeys, name: str, signer: Signer | None = None) -> bytes:
    """A file description as the reporter's browser (or ``signer``) seals it."""
    meta = crypto.FileMeta(name=name, type="text/plain", size=5, stream=bytes(32))
    return records.seal_file_meta(keys.case_key, keys.case_id, meta, signer or keys.signer)


def browser_entry(
    case: Case, keys: NewCaseKeys, entry: NewEntry, document: dict[str, object]
) -> bytes:
    """An entry sealed and signed in the reporter's browser, over the transcript it read."""
    head = transcript.head(case, sorted(case.messages, key=lambda m: m.seq or 0))
    return records.seal(
        keys.case_key, crypto.Kind.MESSAGE, entry.place(case, head), document, keys.signer
    )


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
    staff = world.staff_keys(session, case, "lan", TODAY)
    assert staff.signer is not None
    reply_file = Attachment(
        blob_id="ab" * 16,
        meta=file_meta(keys, "reply.pdf", staff.signer),
        stored_size=4166,
        origin=Party.INSPECTOR,
        created_on=TODAY,
    )
    case.attachments.append(reply_file)
    session.flush()
    entry = NewEntry("message", Party.INSPECTOR, inspector_id=lan.id, files=[reply_file])
    document = {"schema": 1, "text": "Ai?"}
    envelope = transcript.seal_entry(session, case, staff.case, entry, document, staff.signer)
    question = transcript.append(session, case, envelope, entry, TODAY)
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
    assert (message.id, message.author, message.created_on, message.envelope) == (
        question.id,
        Party.INSPECTOR,
        TODAY,
        question.body,
    )
    # what the page needs to check the entry: its number, purpose and signer
    assert (message.seq, message.purpose, message.inspector_id) == (1, "message", lan.id)
    [attachment] = message.attachments
    assert (attachment.size, attachment.downloadable) == (4166, True)
    place = bound.read_place(crypto.Kind.MESSAGE, message.envelope)
    assert place.files == (file_digest(attachment.meta),)
    meta, trust = records.open_file_meta(opened, case, reply_file)
    assert meta is not None
    assert (meta.name, trust) == ("reply.pdf", Trust.SIGNED)
    [shown] = access.open_messages(opened, case)
    assert (shown.text, shown.trust, [f.name for f in shown.files]) == (
        "Ai?",
        Trust.SIGNED,
        ["reply.pdf"],
    )
    # the unit key made for lan's writing is nowhere in what the reporter is given
    assert followup.reporter_wrap(case, WrapPurpose.UNIT_KEY) is None


def test_report_files_stay_out_of_the_thread_and_no_deadline_shows_once_withdrawn(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, files=["a.txt"])
    # the file is the report's, bound in its place, and signed by the reporter
    assert [(f.name, f.trust) for f in access.report_files(keys.case_key, case)] == [
        ("a.txt", Trust.SIGNED)
    ]
    assert access.checked_report(keys.case_key, case).trust is Trust.SIGNED
    assert followup.case_view(case, TODAY).messages == ()
    assert [d.key for d in followup.case_view(case, TODAY).deadlines] == ["decision"]
    entry = reporter_entry(session, case, keys, "withdrawal", TODAY)
    followup.withdraw(session, case, entry, TODAY)
    view = followup.case_view(case, TODAY)
    assert view.withdrawn
    # Not ended: the unit decides to end it or go on (LTC Art. 33), on its own target.
    assert (view.ended, view.may_withdraw) == (False, False)
    assert [d.key for d in view.deadlines] == ["withdrawal_decision"]
    # the withdrawal is an entry of the thread; the report's file is still not
    [withdrawal] = view.messages
    assert (withdrawal.purpose, withdrawal.attachments) == ("withdrawal", ())


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
    envelope = browser_entry(case, keys, NewEntry("message", Party.REPORTER, files=files), document)
    message = followup.add_message(session, case, envelope, files, TODAY)
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
    assert (kept.seq, kept.purpose) == (1, "message")
    # signed by the reporter, and bound to the two files it carries
    assert stored.reporter_signing_key == keys.signer.verifying_key
    place, opened = bound.open_bound_json(
        keys.case_key, crypto.Kind.MESSAGE, kept.body, stored.reporter_signing_key
    )
    assert opened["text"] == "Đây là biên lai."
    assert [a.message_id for a in stored.attachments] == [message.id, message.id]
    assert opened["attachments"] == [a.id for a in stored.attachments]
    assert place.files == tuple(sorted(file_digest(a.meta) for a in stored.attachments))
    assert (place.entry, place.author) == (1, "reporter")
    assert {a.origin for a in stored.attachments} == {Party.REPORTER}
    [shown] = followup.case_view(stored, TODAY).messages
    assert [a.downloadable for a in shown.attachments] == [False, False]
    [read] = access.open_messages(keys.case_key, stored)
    assert (read.text, read.trust, read.position) == (
        "Đây là biên lai.",
        Trust.SIGNED,
        Position.IN_ORDER,
    )
    assert sorted((f.name, f.trust) for f in read.files) == [
        ("one.txt", Trust.SIGNED),
        ("two.txt", Trust.SIGNED),
    ]


@pytest.mark.parametrize(
    ("envelope", "code"),
    [
        (b"", "malformed_envelope"),
        (b"\x02\x07" + bytes(2000), "malformed_envelope"),  # a NOTE where a MESSAGE belongs
        (b"\x02\x04" + bytes(100), "malformed_envelope"),  # shorter than any sealed record
        (b"\x01\x04" + bytes(2000), "malformed_envelope"),  # a protocol 1 message
        (b"\x02\x04" + bytes(followup.MAX_RECORD_SIZE), "too_large"),
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


def test_a_message_is_appended_only_over_the_thread_its_sender_read_and_as_sealed(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    [mine] = followup.add_files(
        session, case, [AttachmentIn("0a" * 16, file_meta(keys, "a.txt"), 10)], TODAY
    )
    document = {"schema": 1, "text": "Tôi gửi thêm"}
    without_files = browser_entry(case, keys, NewEntry("message", Party.REPORTER), document)
    # the place lists no file, the row would carry one
    with pytest.raises(EntryRefused) as refused:
        followup.add_message(session, case, without_files, [mine], TODAY)
    assert refused.value.code == "bad_entry"
    # sealed with a key other than the reporter's
    other = NewCaseKeys()
    forged = records.seal(
        keys.case_key,
        crypto.Kind.MESSAGE,
        NewEntry("message", Party.REPORTER).place(case, transcript.head(case, [])),
        document,
        other.signer,
    )
    with pytest.raises(EntryRefused) as refused:
        followup.add_message(session, case, forged, [], TODAY)
    assert refused.value.code == "bad_entry"
    assert case.messages == []
    # sealed over a thread that has grown since: the page reads again and seals again
    lan = world.people["lan"]
    access.reply(session, case, lan, world.staff_keys(session, case, "lan", TODAY), "?", TODAY)
    with pytest.raises(EntryRefused) as refused:
        followup.add_message(session, case, without_files, [], TODAY)
    assert refused.value.code == "conversation_changed"
    again = browser_entry(case, keys, NewEntry("message", Party.REPORTER), document)
    assert followup.add_message(session, case, again, [], TODAY).seq == 2


def test_files_are_refused_beyond_the_limit_or_with_a_bad_description(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    meta = file_meta(keys, "x")
    too_many = [AttachmentIn(f"{i:032x}", meta, 10) for i in range(followup.MAX_ATTACHMENTS + 1)]
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_files(session, case, too_many, TODAY)
    assert refused.value.code == "too_many_files"
    note_place = Place(keys.case_id, "note", "reporter")
    note = records.seal(keys.case_key, crypto.Kind.NOTE, note_place, {"schema": 1}, keys.signer)
    old = crypto.seal_file_meta(
        keys.case_key,
        keys.case_id,
        crypto.FileMeta(name="x", type="text/plain", size=5, stream=bytes(32)),
    )
    for bad in (note, old):  # a NOTE; a file description of protocol 1
        with pytest.raises(followup.FollowUpError) as refused:
            followup.add_files(session, case, [AttachmentIn("ef" * 16, bad, 10)], TODAY)
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
    entry = NewEntry("message", Party.REPORTER, files=[foreign])
    body = browser_entry(case, keys, entry, {"schema": 1, "text": "x", "attachments": []})
    with pytest.raises(followup.FollowUpError) as refused:
        followup.add_message(session, case, body, [foreign], TODAY)
    assert refused.value.code == "foreign_file"
    assert foreign.message_id is None
    assert case.messages == []


# --- retaliation ----------------------------------------------------------------------------


def test_retaliation_is_logged_and_makes_the_case_urgent(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    assert not case.urgent
    occurred = date(2026, 11, 20)
    facts = entry_facts.retaliation(RetaliationKind.TRANSFER, occurred)
    assert facts == {"kind": "transfer", "occurred_on": "2026-11-20"}
    entry = reporter_entry(session, case, keys, "retaliation", TODAY, "Bị điều chuyển", facts)
    followup.record_retaliation(session, case, RetaliationKind.TRANSFER, entry, occurred, TODAY)
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
        occurred,
        TODAY,
    )
    # the reporter's words are their signed entry, which binds the kind and the date
    assert (incident.details, incident.message_id) == (None, entry.id)
    reading = transcript.entry_reading(stored, keys.case_key, entry.id)
    assert (reading.text(), reading.trust) == ("Bị điều chuyển", Trust.SIGNED)
    place = bound.read_place(crypto.Kind.MESSAGE, entry.body)
    assert (place.purpose, place.author, dict(place.facts)) == ("retaliation", "reporter", facts)


def test_retaliation_is_accepted_on_a_closed_case_but_not_from_the_future(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    case.status = "closed"
    facts = entry_facts.retaliation(RetaliationKind.OTHER, None)
    entry = reporter_entry(session, case, keys, "retaliation", TODAY, "", facts)
    with pytest.raises(followup.FollowUpError) as refused:
        followup.record_retaliation(
            session, case, RetaliationKind.OTHER, entry, TODAY + timedelta(days=1), TODAY
        )
    assert refused.value.code == "date_in_future"
    assert not case.urgent
    assert case.retaliation_incidents == []
    followup.record_retaliation(session, case, RetaliationKind.OTHER, entry, None, TODAY)
    assert case.urgent
    assert len(case.retaliation_incidents) == 1
    assert not transcript.entry_reading(case, keys.case_key, entry.id).altered
    # an incident pointing at words that are not a report of it reads as altered
    message = reporter_entry(session, case, keys, "message", TODAY, "Xin chào")
    followup.record_retaliation(session, case, RetaliationKind.OTHER, message, None, TODAY)
    assert transcript.entry_reading(case, keys.case_key, message.id).altered


# --- withdrawal -----------------------------------------------------------------------------


def test_withdrawal_changes_the_status_with_a_reporter_event_and_signed_words(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    entry = reporter_entry(session, case, keys, "withdrawal", TODAY, "Tôi sợ bị trả thù.")
    followup.withdraw(session, case, entry, TODAY)
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
    # the reasons are no note anyone holding the case key could have written: the
    # reporter's signed entry, which the event names
    assert (event.grounds, event.message_id) == (None, entry.id)
    [kept] = stored.messages
    assert (kept.id, kept.author, kept.purpose, kept.seq) == (
        entry.id,
        Party.REPORTER,
        "withdrawal",
        1,
    )
    assert stored.reporter_signing_key is not None
    place, document = bound.open_bound_json(
        keys.case_key, crypto.Kind.MESSAGE, kept.body, stored.reporter_signing_key
    )
    assert document == {"schema": 1, "text": "Tôi sợ bị trả thù."}
    assert (place.purpose, place.author, place.entry) == ("withdrawal", "reporter", 1)
    reading = transcript.entry_reading(stored, keys.case_key, entry.id)
    assert (reading.text(), reading.trust) == ("Tôi sợ bị trả thù.", Trust.SIGNED)


@pytest.mark.parametrize("status", ["withdrawn", "closed"])
def test_withdrawal_is_refused_once_the_case_has_ended(
    session: Session, world: World, fast_argon2: Argon2Params, status: str
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    case.status = status
    entry = reporter_entry(session, case, keys, "withdrawal", TODAY)
    with pytest.raises(followup.FollowUpError) as refused:
        followup.withdraw(session, case, entry, TODAY)
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
    assert followup.reporter_wrap(case, WrapPurpose.UNIT_KEY) is None  # never the reporter's


def test_a_reporters_verifying_key_is_recorded_once_and_never_replaced(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2)
    assert case.reporter_signing_key == keys.signer.verifying_key  # from intake
    followup.register_signing_key(case, NewCaseKeys().signer.verifying_key)
    assert case.reporter_signing_key == keys.signer.verifying_key
    case.reporter_signing_key = None  # a protocol 1 case the reporter has not revisited
    followup.register_signing_key(case, keys.signer.verifying_key)
    assert case.reporter_signing_key == keys.signer.verifying_key
    with pytest.raises(followup.FollowUpError) as refused:
        followup.register_signing_key(case, bytes(31))
    assert refused.value.code == "malformed_key"


# --- escalation and forwarding ----------------------------------------------------------------


def test_an_overdue_legal_deadline_may_be_escalated_once(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, case = new_case(session, world, fast_argon2, identity=True, received=date(2026, 10, 1))
    assert followup.case_view(case, TODAY).may_escalate
    entry = reporter_entry(session, case, keys, "escalation", TODAY, "Quá hạn")
    event = followup.escalate(session, case, entry, TODAY)
    session.commit()
    assert (event.kind, event.actor_kind, event.occurred_on, event.occurred_at) == (
        workflow.ESCALATION,
        ActorKind.REPORTER,
        TODAY,
        None,
    )
    assert (event.grounds, event.message_id) == (None, entry.id)
    reading = transcript.entry_reading(case, keys.case_key, entry.id)
    assert (reading.text(), reading.trust) == ("Quá hạn", Trust.SIGNED)
    assert bound.read_place(crypto.Kind.MESSAGE, entry.body).purpose == "escalation"
    assert (case.urgent, case.last_reporter_activity_on) == (True, TODAY)
    view = followup.case_view(case, TODAY)
    assert (view.may_escalate, view.escalated) == (False, True)
    [answer] = [d for d in view.deadlines if d.key == workflow.ESCALATION]
    assert answer.due_on == PROFILE.calendar.due_date(TODAY, 5, PeriodUnit.WORKING_DAYS)
    again = reporter_entry(session, case, keys, "escalation", TODAY, "Quá hạn")
    with pytest.raises(followup.FollowUpError) as refused:
        followup.escalate(session, case, again, TODAY)
    assert refused.value.code == "not_overdue"


def test_a_case_without_an_overdue_legal_deadline_cannot_be_escalated(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    """An anonymous report's dates are the unit's own targets, however late."""
    keys, case = new_case(session, world, fast_argon2, received=date(2026, 10, 1))
    [decision] = followup.case_view(case, TODAY).deadlines
    assert (decision.statutory, decision.overdue(TODAY)) == (False, True)
    assert not followup.case_view(case, TODAY).may_escalate
    entry = reporter_entry(session, case, keys, "escalation", TODAY)
    with pytest.raises(followup.FollowUpError) as refused:
        followup.escalate(session, case, entry, TODAY)
    assert refused.value.code == "not_overdue"
    assert case.events == []
    # what arrives is checked before it becomes an entry
    with pytest.raises(followup.FollowUpError) as malformed:
        followup.check_message(b"not a note")
    assert malformed.value.code == "malformed_envelope"
    with pytest.raises(followup.FollowUpError) as malformed:
        followup.check_message(protocol_1(keys, crypto.Kind.MESSAGE, {"schema": 1}))
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
