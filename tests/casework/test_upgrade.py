"""Moving a case of protocol 1 to protocol 2 (docs/crypto.md §13.7): by a reader of the
unit that holds it, or with the unit's escrow key.

A protocol 1 case is built here as the old code wrote one: every record sealed with
``crypto.seal_json`` under the case key, neither bound to its place nor signed, the unit's
notes included, messages without numbers, no unit key and no reporter verifying key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

import crypto
from casework import access, records, upgrade, workflow
from casework.records import ALTERED, CaseKeys, Trust
from casework.sealing import NewCaseKeys
from crypto import bound, signing
from crypto.places import Place
from crypto.transcript import Position, genesis, next_link
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RecipientKind,
    RetaliationIncident,
    RetaliationKind,
    RetaliationNote,
    WrapPurpose,
)
from tests.casework.test_access import REPORT, SealedCase, seal_case, unit_key_wraps
from tests.worlds import World

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
CARRIED = {"carried": True}


@dataclass
class Sealed:
    """One NOTE of the old case: where it is kept, its protocol 2 purpose, what it says,
    and its protocol 1 ciphertext."""

    row: Any
    column: str
    purpose: str
    document: dict[str, Any]
    old: bytes

    @property
    def blob(self) -> bytes:
        value = getattr(self.row, self.column)
        assert isinstance(value, bytes)
        return value


@dataclass
class OldCase:
    sealed: SealedCase
    staff_notes: list[Sealed] = field(default_factory=list)  # the unit's: to be carried
    reporter_notes: list[Sealed] = field(default_factory=list)  # the reporter's: to stay
    messages: list[Message] = field(default_factory=list)

    @property
    def case(self) -> Case:
        return self.sealed.case

    @property
    def keys(self) -> NewCaseKeys:
        return self.sealed.keys


def v1(keys: NewCaseKeys, kind: crypto.Kind, document: dict[str, Any]) -> bytes:
    return crypto.seal_json(keys.case_key, kind, keys.case_id, document)


def protocol_1_case(session: Session, world: World, params: crypto.Argon2Params) -> OldCase:
    """An anonymous case with the unit's notes and the reporter's of every kind, a
    message each way, as protocol 1 stored them."""
    sealed = seal_case(session, world, params)
    old = OldCase(sealed)
    case, keys, lan = old.case, old.keys, world.people["lan"]
    case.body = v1(keys, crypto.Kind.REPORT, REPORT)
    case.protocol = 1
    case.reporter_signing_key = None

    def note(
        into: list[Sealed], row: Any, column: str, purpose: str, document: dict[str, Any]
    ) -> bytes:
        blob = v1(keys, crypto.Kind.NOTE, document)
        setattr(row, column, blob)
        into.append(Sealed(row, column, purpose, document, blob))
        return blob

    for author, inspector, text in (
        (Party.REPORTER, None, "Tôi có thêm ảnh"),
        (Party.INSPECTOR, lan, "Cảm ơn anh"),
    ):
        body = v1(keys, crypto.Kind.MESSAGE, {"schema": 1, "text": text})
        message = Message(author=author, inspector=inspector, body=body, created_on=TODAY)
        case.messages.append(message)
        session.flush()
        old.messages.append(message)
    # a decision of the unit, with its grounds
    step = workflow.transition(case, "triage", today=TODAY, inspector=lan, now=NOW)
    note(old.staff_notes, step, "grounds", "grounds", {"schema": 1, "text": "Cần phân loại"})
    # a reporter's request nobody has acted on: the record holds their words
    asked = ProtectionRecord(
        person=ProtectedPerson.CHILD,
        category=ProtectionCategory.LIFE_HEALTH,
        state=ProtectionState.REQUESTED,
        requested_by=Party.REPORTER,
        requested_on=TODAY,
    )
    case.protections.append(asked)
    request = {"schema": 1, "text": "Con tôi bị dọa"}
    note(old.reporter_notes, asked, "details", "protection", request)
    event = CaseEvent(kind="protection", actor_kind=ActorKind.REPORTER, occurred_on=TODAY)
    case.events.append(event)
    note(old.reporter_notes, event, "grounds", "grounds", request)
    # one the unit took a step on: the record now holds the unit's document
    reviewed = ProtectionRecord(
        person=ProtectedPerson.REPORTER,
        category=ProtectionCategory.JOB,
        state=ProtectionState.UNDER_REVIEW,
        requested_by=Party.REPORTER,
        requested_on=TODAY,
    )
    case.protections.append(reviewed)
    document = {
        "schema": 1,
        "kind": "protection",
        "state": "under_review",
        "request": "Sợ bị đuổi việc",
        "note": "Đang xem xét",
        "text": "Đang xem xét",
    }
    note(old.staff_notes, reviewed, "details", "protection", document)
    event = CaseEvent(
        kind="protection",
        actor_kind=ActorKind.INSPECTOR,
        inspector=lan,
        occurred_on=TODAY,
        occurred_at=NOW,
    )
    case.events.append(event)
    note(old.staff_notes, event, "grounds", "grounds", {**document, "text": "Đang xem xét"})
    # an incident the reporter told, with an addition of theirs and a note of the unit's
    told = RetaliationIncident(
        kind=RetaliationKind.TRANSFER,
        occurred_on=TODAY,
        reported_on=TODAY,
        source=Party.REPORTER,
    )
    case.retaliation_incidents.append(told)
    telling = {"schema": 1, "text": "Bị điều chuyển", "occurred_on": TODAY.isoformat()}
    note(old.reporter_notes, told, "details", "retaliation", telling)
    added = RetaliationNote(source=Party.REPORTER, added_on=TODAY)
    answered = RetaliationNote(source=Party.INSPECTOR, added_on=TODAY)
    told.notes.extend([added, answered])
    note(old.reporter_notes, added, "details", "retaliation-note", {"schema": 1, "text": "Lại"})
    note(old.staff_notes, answered, "details", "incident-note", {"schema": 1, "text": "Đã gọi"})
    # an incident the unit learned of
    learned = RetaliationIncident(
        kind=RetaliationKind.THREAT_TO_LIFE_OR_HEALTH,
        reported_on=TODAY,
        source=Party.INSPECTOR,
    )
    case.retaliation_incidents.append(learned)
    threat = {"schema": 1, "text": "Bị dọa", "occurred_on": None}
    note(old.staff_notes, learned, "details", "incident", threat)
    session.commit()
    assert unit_key_wraps(case) == []
    return old


@pytest.fixture
def old(session: Session, world: World, fast_argon2: crypto.Argon2Params) -> OldCase:
    return protocol_1_case(session, world, fast_argon2)


def check_carried(old: OldCase, keys: CaseKeys, author: str) -> None:
    """The unit's notes: under the unit key, signed by ``author``, marked as carried over,
    saying what they said; the case key (the follow-up code's) opens none of them."""
    assert len(old.staff_notes) == 5
    verifying = records.verifying_key(old.case, author)
    assert verifying is not None
    for note in old.staff_notes:
        blob = note.blob
        assert blob != note.old  # the old ciphertext is overwritten
        assert bound.read_place(crypto.Kind.NOTE, blob) == Place(
            old.case.public_id, note.purpose, author, facts=CARRIED, ref=records.ref_of(note.row)
        )
        reading = access.open_note(keys, old.case, note.row, note.column, note.purpose)
        assert reading is not None
        assert (reading.document, reading.trust) == (note.document, Trust.SIGNED)
        with pytest.raises(crypto.UnsupportedVersion):
            crypto.open_json(old.keys.case_key, crypto.Kind.NOTE, old.case.public_id, blob)
        with pytest.raises(crypto.DecryptionFailed):
            bound.open_bound_json(old.keys.case_key, crypto.Kind.NOTE, blob, verifying)
        reporter = CaseKeys(case=old.keys.case_key)
        assert access.open_note(reporter, old.case, note.row, note.column, note.purpose) == ALTERED


def check_reporters_stay(old: OldCase, keys: CaseKeys) -> None:
    """The reporter's notes: as they were, under the case key, read as from before."""
    assert len(old.reporter_notes) == 4
    for note in old.reporter_notes:
        assert note.blob == note.old
        opened = crypto.open_json(
            old.keys.case_key, crypto.Kind.NOTE, old.case.public_id, note.blob
        )
        assert opened == note.document
        reading = access.open_note(keys, old.case, note.row, note.column, note.purpose)
        assert reading is not None
        assert (reading.document, reading.trust) == (note.document, Trust.UNSIGNED)


def check_unit_key(old: OldCase, world: World, unit_key: bytes | None) -> None:
    case = old.case
    holders = sorted(w.inspector_id or 0 for w in unit_key_wraps(case, RecipientKind.INSPECTOR))
    assert holders == sorted(person.id for person in access.readers(case))
    assert unit_key is not None
    for person in access.readers(case):
        assert access.open_unit_key(case, person, world.keys[person.id]) == unit_key
    [escrow] = unit_key_wraps(case, RecipientKind.ESCROW)
    opened = crypto.unwrap(escrow.wrapped, world.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert opened == unit_key
    assert unit_key_wraps(case, RecipientKind.REPORTER) == []


def test_a_reader_opening_the_case_moves_it_to_protocol_2(
    session: Session, world: World, old: OldCase
) -> None:
    case, lan = old.case, world.people["lan"]
    assert access.checked_report(old.keys.case_key, case).trust is Trust.UNSIGNED
    assert upgrade.by_reader(session, case, lan, world.key_of("lan"), TODAY)
    session.commit()
    session.expire_all()
    assert case.protocol == 2
    assert lan.signing_key == signing.verifying_bytes(signing.signing_key(world.key_of("lan")))
    keys = world.reader_keys(case, "hoa")
    check_unit_key(old, world, keys.unit)
    check_carried(old, keys, f"staff/{lan.id}")
    check_reporters_stay(old, keys)
    # the messages get their numbers in the order written, then the upgrade entry
    reporters, staffs, upgraded = sorted(case.messages, key=lambda m: m.id)
    assert [m.id for m in (reporters, staffs)] == [m.id for m in old.messages]
    assert [(m.seq, m.purpose) for m in (reporters, staffs, upgraded)] == [
        (1, "message"),
        (2, "message"),
        (3, "upgrade"),
    ]
    assert (upgraded.author, upgraded.inspector_id, upgraded.created_on) == (
        Party.INSPECTOR,
        lan.id,
        TODAY,
    )
    shown = access.open_messages(old.keys.case_key, case)
    assert [(m.text, m.trust, m.position, m.purpose) for m in shown] == [
        ("Tôi có thêm ảnh", Trust.UNSIGNED, Position.CARRIED, "message"),
        ("Cảm ơn anh", Trust.UNSIGNED, Position.CARRIED, "message"),
        ("", Trust.SIGNED, Position.IN_ORDER, "upgrade"),
    ]
    # the upgrade entry's signed link covers the report and the carried entries
    assert case.body is not None
    link = genesis(case.public_id)
    for envelope in (case.body, reporters.body, staffs.body):
        link = next_link(link, envelope)
    place = bound.read_place(crypto.Kind.MESSAGE, upgraded.body)
    assert (place.entry, place.prev, place.author) == (3, link.hex(), f"staff/{lan.id}")
    report = access.checked_report(old.keys.case_key, case)
    assert (report.document, report.trust) == (REPORT, Trust.UNSIGNED)
    # from now on the case is written as protocol 2, after the upgrade entry
    reply = access.reply(
        session, case, lan, world.staff_keys(session, case, "lan", TODAY), "Tiếp", TODAY
    )
    assert reply.seq == 4
    last = access.open_messages(old.keys.case_key, case)[-1]
    assert (last.text, last.trust, last.position) == ("Tiếp", Trust.SIGNED, Position.IN_ORDER)
    # and opening it again changes nothing
    session.commit()
    wraps, messages = len(case.key_wraps), len(case.messages)
    assert not upgrade.by_reader(session, case, lan, world.key_of("lan"), TODAY)
    assert (len(case.key_wraps), len(case.messages)) == (wraps, messages)


@pytest.mark.parametrize("name", ["son", "admin"])
def test_only_a_reader_upgrades_a_case(
    session: Session, world: World, old: OldCase, name: str
) -> None:
    with pytest.raises(access.NoAccess):
        upgrade.by_reader(session, old.case, world.people[name], world.key_of(name), TODAY)
    session.rollback()
    assert old.case.protocol == 1
    assert unit_key_wraps(old.case) == []
    assert all(note.blob == note.old for note in old.staff_notes)
    assert [m.seq for m in old.case.messages] == [None, None]


def test_a_note_that_does_not_open_is_left_as_found(
    session: Session, world: World, old: OldCase
) -> None:
    damaged = old.staff_notes[0]
    other = NewCaseKeys()
    broken = crypto.seal_json(other.case_key, crypto.Kind.NOTE, old.case.public_id, {"text": "?"})
    setattr(damaged.row, damaged.column, broken)
    session.commit()
    assert upgrade.by_reader(session, old.case, world.people["lan"], world.key_of("lan"), TODAY)
    session.commit()
    assert damaged.blob == broken
    keys = world.reader_keys(old.case, "lan")
    assert access.open_note(keys, old.case, damaged.row, damaged.column, damaged.purpose) == ALTERED
    for note in old.staff_notes[1:]:
        reading = access.open_note(keys, old.case, note.row, note.column, note.purpose)
        assert reading is not None
        assert reading.trust is Trust.SIGNED


def test_the_escrow_key_moves_a_case_to_protocol_2(
    session: Session, world: World, old: OldCase
) -> None:
    case = old.case
    assert world.unit.escrow_signing_key is None
    assert upgrade.by_escrow(session, case, world.escrow, TODAY)
    session.commit()
    session.expire_all()
    assert case.protocol == 2
    escrow_signer = signing.signing_key(world.escrow)
    assert world.unit.escrow_signing_key == signing.verifying_bytes(escrow_signer)
    keys = world.reader_keys(case, "lan")
    check_unit_key(old, world, keys.unit)
    check_carried(old, keys, "escrow")
    check_reporters_stay(old, keys)
    # numbered and carried, with no entry of the escrow's: the next entry covers them
    assert [(m.id, m.seq) for m in sorted(case.messages, key=lambda m: m.id)] == [
        (old.messages[0].id, 1),
        (old.messages[1].id, 2),
    ]
    shown = access.open_messages(old.keys.case_key, case)
    assert [(m.trust, m.position) for m in shown] == [(Trust.UNSIGNED, Position.CARRIED)] * 2
    lan = world.people["lan"]
    reply = access.reply(
        session, case, lan, world.staff_keys(session, case, "lan", TODAY), "Tiếp", TODAY
    )
    assert reply.seq == 3
    last = access.open_messages(old.keys.case_key, case)[-1]
    assert (last.trust, last.position) == (Trust.SIGNED, Position.IN_ORDER)
    session.commit()
    assert not upgrade.by_escrow(session, case, world.escrow, TODAY)
    assert not upgrade.by_reader(session, case, lan, world.key_of("lan"), TODAY)
    assert len(case.messages) == 3


def test_the_escrow_keeps_a_unit_key_the_case_already_has(
    session: Session, world: World, old: OldCase
) -> None:
    unit_key = world.staff_keys(session, old.case, "lan", TODAY).unit
    session.commit()
    wraps = len(unit_key_wraps(old.case))
    assert upgrade.by_escrow(session, old.case, world.escrow, TODAY)
    session.commit()
    assert len(unit_key_wraps(old.case)) == wraps
    keys = world.reader_keys(old.case, "hoa")
    assert keys.unit == unit_key
    check_carried(old, keys, "escrow")


def test_another_escrow_key_upgrades_nothing(session: Session, world: World, old: OldCase) -> None:
    with pytest.raises(crypto.CryptoError):
        upgrade.by_escrow(session, old.case, crypto.generate_private_key(), TODAY)
    session.rollback()
    assert old.case.protocol == 1
    assert all(note.blob == note.old for note in old.staff_notes)
    assert old.case.unit.escrow_signing_key is None
    assert {w.purpose for w in old.case.key_wraps} == {WrapPurpose.CASE_KEY}
