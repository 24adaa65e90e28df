"""Intake: a sealed submission becomes a case only when every part is in order."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy.orm import Session

import crypto
from casework import access, intake, records
from casework.recipients import unit_recipients
from casework.records import Trust
from casework.sealing import NewCaseKeys, report_place, seal_submission
from crypto import bound
from crypto.kdf import Argon2Params
from crypto.places import Place
from store.models import (
    Case,
    InspectorRole,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionState,
    RecipientKind,
    WrapPurpose,
)
from tests.store.factories import add_inspector
from tests.worlds import World

TODAY = date(2026, 11, 27)


def submit(
    session: Session,
    world: World,
    *,
    identity: dict[str, str] | None = None,
    excluded: frozenset[int] = frozenset(),
) -> tuple[NewCaseKeys, intake.Submission]:
    keys = NewCaseKeys()
    recipients = unit_recipients(session, world.unit)
    submission = seal_submission(
        keys,
        recipients,
        category="land",
        report={"what": "Nhận hối lộ", "who": "Trưởng phòng"},
        identity=identity,
        excluded=excluded,
    )
    intake.validate(submission, world.unit, recipients)
    return keys, submission


def test_anonymous_report_reaches_inspectors_and_custodian_only(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, submission = submit(session, world)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    session.commit()
    stored = session.get(Case, case.id)
    assert stored is not None
    assert stored.status == "received"
    assert stored.track.value == "anonymous"
    readers = {
        w.inspector_id for w in stored.key_wraps if w.recipient_kind is RecipientKind.INSPECTOR
    }
    assert readers == {world.people[n].id for n in ("lan", "minh", "hoa")}
    for wrap in stored.key_wraps:
        if wrap.recipient_kind is RecipientKind.INSPECTOR:
            assert wrap.inspector_id is not None
            private = world.keys[wrap.inspector_id]
        elif wrap.recipient_kind is RecipientKind.ESCROW:
            private = world.escrow
        else:
            private = keys.code.reporter_private_key()
        case_key = crypto.unwrap(wrap.wrapped, private, crypto.Purpose.CASE_KEY, stored.public_id)
        report = access.checked_report(case_key, stored)
        assert report.trust is Trust.SIGNED
        assert report.document is not None
        assert report.document["what"] == "Nhận hối lộ"
    # protocol 2: signed with the reporter's key, which intake keeps; no unit key yet (the
    # review app makes it with the first note, never the submitter)
    assert (stored.protocol, stored.reporter_signing_key) == (2, keys.signer.verifying_key)
    assert {w.purpose for w in stored.key_wraps} == {WrapPurpose.CASE_KEY}
    assert stored.body is not None
    assert bound.read_place(crypto.Kind.REPORT, stored.body) == report_place(
        stored.public_id, "land", ()
    )


def test_nothing_readable_is_stored(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, submission = submit(session, world, identity={"name": "Trần Thị Bình"})
    intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    session.commit()
    dump = b"".join(
        bytes(str(value), "utf-8") if not isinstance(value, bytes) else value
        for row in session.execute(Case.__table__.select())
        for value in row
    )
    for secret in ("Nhận hối lộ", "Trần Thị Bình", keys.code.display()):
        assert secret.encode() not in dump
    assert keys.code.lookup_token() not in dump
    assert keys.case_key not in dump


def test_identity_key_goes_to_custodians_only(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys, submission = submit(session, world, identity={"name": "Trần Thị Bình"})
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    session.commit()
    identity_readers = {
        w.inspector_id
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.recipient_kind is RecipientKind.INSPECTOR
    }
    assert identity_readers == {world.people["hoa"].id}
    custodian = world.people["hoa"]
    wrap = next(
        w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == custodian.id
    )
    key = crypto.unwrap(
        wrap.wrapped, world.keys[custodian.id], crypto.Purpose.IDENTITY_KEY, case.public_id
    )
    assert case.identity is not None
    place = Place(case.public_id, "identity", records.REPORTER)
    assert bound.open_bound_json(
        key, crypto.Kind.IDENTITY, case.identity, keys.signer.verifying_key
    ) == (place, {"name": "Trần Thị Bình"})
    # the case key does not open it
    with pytest.raises(crypto.DecryptionFailed):
        bound.open_bound_json(
            keys.case_key, crypto.Kind.IDENTITY, case.identity, keys.signer.verifying_key
        )
    assert case.track.value == "named"


def test_excluded_inspector_gets_no_key(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    excluded = frozenset({world.people["minh"].id})
    _, submission = submit(session, world, excluded=excluded)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    assert world.people["minh"].id not in {w.inspector_id for w in case.key_wraps}
    assert [e.inspector_id for e in case.exclusions] == [world.people["minh"].id]


def test_code_finds_the_case(session: Session, world: World, fast_argon2: Argon2Params) -> None:
    keys, submission = submit(session, world)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    token = crypto.FollowUpCode.parse(keys.code.display()).lookup_token()
    assert case.lookup_index == crypto.lookup_index(token)
    assert crypto.verify_lookup_token(token, [case.lookup_hash], fast_argon2) == 0


def refuse(session: Session, world: World, submission: intake.Submission, code: str) -> None:
    with pytest.raises(intake.IntakeError) as caught:
        intake.validate(submission, world.unit, unit_recipients(session, world.unit))
    assert caught.value.code == code


def test_missing_wrap_is_refused(session: Session, world: World) -> None:
    _, submission = submit(session, world)
    refuse(
        session,
        world,
        dataclasses.replace(submission, wraps=submission.wraps[1:]),
        "recipients_changed",
    )


def test_extra_wrap_for_supervisor_is_refused(session: Session, world: World) -> None:
    _, submission = submit(session, world)
    extra = dataclasses.replace(submission.wraps[0], inspector_id=world.people["son"].id)
    refuse(
        session,
        world,
        dataclasses.replace(submission, wraps=[*submission.wraps, extra]),
        "recipients_changed",
    )


def test_duplicate_wrap_is_refused(session: Session, world: World) -> None:
    _, submission = submit(session, world)
    wraps = [*submission.wraps, submission.wraps[0]]
    refuse(session, world, dataclasses.replace(submission, wraps=wraps), "recipients_changed")


def test_new_inspector_since_page_load_is_refused(session: Session, world: World) -> None:
    _, submission = submit(session, world)
    add_inspector(session, world.unit, "newcomer", InspectorRole.INSPECTOR)
    refuse(session, world, submission, "recipients_changed")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"case_id": "not-a-uuid"}, "malformed_case_id"),
        ({"case_id": "3F0C6F1E-8A4B-4C2D-9E7F-1A2B3C4D5E6F"}, "malformed_case_id"),
        ({"category": "weather"}, "unknown_category"),
        ({"report": b"\x01\x02" + bytes(100)}, "malformed_envelope"),
        ({"report": b"\x02\x02" + bytes(2000)}, "malformed_envelope"),
        ({"lookup_token": b"short"}, "malformed_keys"),
        ({"reporter_signing_key": bytes(31)}, "malformed_keys"),
        ({"category": "procurement"}, "misplaced_record"),  # the report says "land"
        ({"excluded": frozenset({99999})}, "unknown_exclusion"),
    ],
)
def test_malformed_parts_are_refused(
    session: Session, world: World, change: dict[str, object], code: str
) -> None:
    _, submission = submit(session, world)
    refuse(session, world, dataclasses.replace(submission, **change), code)  # type: ignore[arg-type]


def test_records_must_be_signed_with_the_reporters_key_and_say_where_they_belong(
    session: Session, world: World
) -> None:
    keys, submission = submit(session, world, identity={"name": "Trần Thị Bình"})
    other = NewCaseKeys()
    # the key on record is not the one that signed
    stranger = dataclasses.replace(submission, reporter_signing_key=other.signer.verifying_key)
    refuse(session, world, stranger, "malformed_envelope")
    # a report sealed as protocol 1 sealed it: unsigned, bound to nothing
    unsigned = crypto.seal_json(keys.case_key, crypto.Kind.REPORT, keys.case_id, {"what": "x"})
    refuse(session, world, dataclasses.replace(submission, report=unsigned), "malformed_envelope")
    # signed by the reporter, but for another case, or not first in this case's transcript
    elsewhere = records.seal(
        keys.case_key,
        crypto.Kind.REPORT,
        report_place(other.case_id, "land", ()),
        {"what": "x"},
        keys.signer,
    )
    refuse(session, world, dataclasses.replace(submission, report=elsewhere), "misplaced_record")
    later = dataclasses.replace(report_place(keys.case_id, "land", ()), prev="00" * 32)
    moved = records.seal(keys.case_key, crypto.Kind.REPORT, later, {"what": "x"}, keys.signer)
    refuse(session, world, dataclasses.replace(submission, report=moved), "misplaced_record")
    # an identity whose place names another author than the reporter who signed it
    assert submission.identity is not None
    staff_place = Place(keys.case_id, "identity", "escrow")
    forged = bound.seal_bound_json(
        keys.identity_key, crypto.Kind.IDENTITY, staff_place, {"name": "x"}, keys.signer.key
    )
    refuse(session, world, dataclasses.replace(submission, identity=forged), "misplaced_record")


def test_report_files_must_be_the_reports_own(session: Session, world: World) -> None:
    keys = NewCaseKeys()
    recipients = unit_recipients(session, world.unit)
    meta = crypto.FileMeta(name="a.txt", type="text/plain", size=5, stream=bytes(32))
    sealed_meta = records.seal_file_meta(keys.case_key, keys.case_id, meta, keys.signer)
    attachment = intake.AttachmentIn("0b" * 16, sealed_meta, 4166)
    submission = seal_submission(
        keys, recipients, category="land", report={"what": "x"}, identity=None,
        attachments=[attachment],
    )  # fmt: skip
    intake.validate(submission, world.unit, recipients)
    # the report's place lists the file it carries: one more, or one fewer, is refused
    extra = intake.AttachmentIn(
        "0c" * 16, records.seal_file_meta(keys.case_key, keys.case_id, meta, keys.signer), 4166
    )
    refuse(session, world, dataclasses.replace(submission, attachments=[attachment, extra]),
           "misplaced_record")  # fmt: skip
    refuse(session, world, dataclasses.replace(submission, attachments=[]), "misplaced_record")
    # a file description of protocol 1 is refused, even where the report lists it
    old = intake.AttachmentIn(
        "0d" * 16, crypto.seal_file_meta(keys.case_key, keys.case_id, meta), 10
    )
    listed = seal_submission(
        keys, recipients, category="land", report={"what": "x"}, identity=None, attachments=[old]
    )
    refuse(session, world, listed, "malformed_envelope")


def test_wrap_of_wrong_size_is_refused(session: Session, world: World) -> None:
    _, submission = submit(session, world)
    bad = dataclasses.replace(submission.wraps[0], envelope=submission.wraps[0].envelope[:-1])
    refuse(
        session,
        world,
        dataclasses.replace(submission, wraps=[bad, *submission.wraps[1:]]),
        "malformed_envelope",
    )


def test_same_case_twice_is_refused(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    _, submission = submit(session, world)
    intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    session.commit()
    with pytest.raises(intake.IntakeError) as caught:
        intake.accept(
            session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
        )
    assert caught.value.code == "duplicate_case"


def test_protection_requests_become_urgent_records(
    session: Session, world: World, fast_argon2: Argon2Params
) -> None:
    keys = NewCaseKeys()
    recipients = unit_recipients(session, world.unit)
    wanted = frozenset(
        {
            (ProtectedPerson.REPORTER, ProtectionCategory.JOB),
            (ProtectedPerson.CHILD, ProtectionCategory.LIFE_HEALTH),
        }
    )
    submission = seal_submission(
        keys, recipients, category="land", report={"what": "x"}, identity=None, protection=wanted
    )
    intake.validate(submission, world.unit, recipients)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, fast_argon2), TODAY
    )
    session.commit()
    assert case.protection_requested
    assert case.urgent
    assert {(p.person, p.category) for p in case.protections} == wanted
    assert {p.state for p in case.protections} == {ProtectionState.REQUESTED}


def test_public_reference_is_short_and_stable() -> None:
    assert intake.public_reference("3f0c6f1e-8a4b-4c2d-9e7f-1a2b3c4d5e6f") == "MB-3F0C6F1E"


# --- exclusions must leave someone to read the report -------------------------------------


def sealed_only(
    session: Session,
    world: World,
    *,
    excluded: frozenset[int],
    identity: dict[str, str] | None = None,
) -> intake.Submission:
    """Sealed as a browser would, for exactly the people not excluded; not validated."""
    return seal_submission(
        NewCaseKeys(),
        unit_recipients(session, world.unit),
        category="land",
        report={"what": "Nhận hối lộ"},
        identity=identity,
        excluded=excluded,
    )


def ids(world: World, *names: str) -> frozenset[int]:
    return frozenset(world.people[name].id for name in names)


@pytest.mark.parametrize("identity", [None, {"name": "Nguyễn Văn A"}])
def test_a_report_that_excludes_every_reader_is_refused(
    session: Session, world: World, identity: dict[str, str] | None
) -> None:
    everyone = ids(world, "lan", "minh", "hoa")
    submission = sealed_only(session, world, excluded=everyone, identity=identity)
    refuse(session, world, submission, intake.EXCLUDES_EVERY_READER)


def test_a_named_report_that_excludes_every_custodian_is_refused(
    session: Session, world: World
) -> None:
    submission = sealed_only(
        session, world, excluded=ids(world, "hoa"), identity={"name": "Nguyễn Văn A"}
    )
    refuse(session, world, submission, intake.EXCLUDES_EVERY_CUSTODIAN)


@pytest.mark.parametrize(
    ("excluded", "identity"),
    [
        (("hoa",), None),  # anonymous: no identity for a custodian to hold
        (("lan", "minh"), {"name": "Nguyễn Văn A"}),  # the custodian is left
        (("lan", "hoa"), None),
    ],
)
def test_exclusions_that_leave_a_reader_are_accepted(
    session: Session, world: World, excluded: tuple[str, ...], identity: dict[str, str] | None
) -> None:
    submission = sealed_only(session, world, excluded=ids(world, *excluded), identity=identity)
    intake.validate(submission, world.unit, unit_recipients(session, world.unit))


def test_a_unit_without_custodians_takes_a_named_report_and_without_readers_any(
    session: Session, world: World
) -> None:
    recipients = unit_recipients(session, world.unit)
    inspectors = dataclasses.replace(
        recipients, readers=tuple(p for p in recipients.readers if p.role.value == "inspector")
    )
    nobody = dataclasses.replace(recipients, readers=())
    assert intake.exclusion_problem(ids(world, "lan"), inspectors, named=True) is None
    assert intake.exclusion_problem(frozenset(), nobody, named=True) is None
    assert intake.exclusion_problem(ids(world, "lan", "minh"), inspectors, named=False) == (
        intake.EXCLUDES_EVERY_READER
    )
