"""Protocol 2 against a database copy and a database writer (docs/crypto.md §13, issue 12).

One case is built through the real paths: a report with a file and an identity, the
unit's reply and a notice, the reporter's message with a file, a retaliation report and a
protection request, and the unit's own notes (grounds, protection measures, an incident
assessment). Then:

- holding only the follow-up code and a copy of the database, every sealed column of the
  case is tried with every key the code yields: exactly the reporter-readable records open;
- each tampering a database writer can do is detected, and reads as altered (or out of
  order) rather than failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from casework import access, entry_facts, followup, protection, transcript, upgrade, workflow
from casework.records import ALTERED, CaseKeys, Signer, Trust, born_signed, ref_of
from casework.transcript import EntryRefused, NewEntry
from crypto import bound
from crypto.envelope import Kind
from crypto.places import Place
from crypto.transcript import Position
from store.blobs import FilesystemBlobStore
from store.models import (
    Case,
    Message,
    Party,
    RecipientKind,
    RetaliationKind,
)
from tests.casework.test_access import SealedCase, encrypt_file, seal_case
from tests.protocol1 import protocol_1_case
from tests.worlds import World, reporter_entry

TODAY = date(2026, 11, 27)
IDENTITY = {"schema": 1, "name": "Nguyễn Văn A", "contact": "", "address": "", "position": ""}


@dataclass(frozen=True)
class Built:
    sealed: SealedCase
    reply: Message
    notice: Message
    reporter_message: Message
    retaliation: Message

    @property
    def case(self) -> Case:
        return self.sealed.case


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def built(
    session: Session, world: World, store: FilesystemBlobStore, fast_argon2: crypto.Argon2Params
) -> Built:
    sealed = seal_case(
        session,
        world,
        fast_argon2,
        files=[("biên lai.pdf", "application/pdf", b"%PDF receipt")],
        store=store,
        identity=IDENTITY,
    )
    case = sealed.case
    lan = world.staff_keys(session, case, "lan", TODAY)
    workflow.transition(
        case,
        "triage",
        today=TODAY,
        inspector=world.people["lan"],
        now=_now(),
        grounds=access.seal_note(lan, case, "grounds", "Nội bộ: sẽ mời ông B lên làm việc."),
    )
    reply = access.reply(session, case, world.people["lan"], lan, "Chúng tôi đã nhận.", TODAY)
    notice = access.write_staff_entry(
        session, case, world.people["lan"], lan, "notice", {"schema": 1, "text": "Thụ lý."}, TODAY
    )
    files = followup.add_files(
        session, case, [encrypt_file(store, sealed.keys, "ảnh.jpg", "image/jpeg", b"jpeg")], TODAY
    )
    reporter = CaseKeys(case=sealed.keys.case_key, signer=sealed.keys.signer)
    entry = NewEntry("message", Party.REPORTER, files=files)
    document = {"schema": 1, "text": "Tôi gửi thêm ảnh.", "attachments": [f.id for f in files]}
    reporter_message = followup.write_entry(session, case, reporter, entry, document, TODAY)
    kind, when = RetaliationKind.TRANSFER, date(2026, 11, 20)
    retaliation = reporter_entry(
        session,
        case,
        sealed.keys,
        "retaliation",
        TODAY,
        "Tôi bị điều chuyển.",
        entry_facts.retaliation(kind, when),
    )
    incident = followup.record_retaliation(session, case, kind, retaliation, when, TODAY)
    protection.add_inspector_note(
        session, incident, lan, world.people["lan"], "Đánh giá: có dấu hiệu trù dập.", TODAY, _now()
    )
    session.commit()
    return Built(sealed, reply, notice, reporter_message, retaliation)


def _now() -> datetime:
    return datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


# --- what the code opens -----------------------------------------------------------------------


def test_the_code_and_a_database_copy_open_exactly_what_the_reporter_may_read(
    session: Session, built: Built
) -> None:
    case = built.case
    code = built.sealed.keys.code
    reporter = code.reporter_private_key()
    keys = _keys_the_code_opens(case, reporter)
    assert set(keys) == {"case-key", "identity-key"}  # never the unit key
    opened: set[str] = set()
    closed: set[str] = set()
    for name, kind, blob in _every_sealed_record(session, case):
        (opened if _opens(kind, blob, keys.values()) else closed).add(name)
    readable = {
        "cases.body",
        "cases.identity",
        *(f"messages.body#{m.id}" for m in case.messages),
        *(f"attachments.meta#{a.id}" for a in case.attachments),
    }
    assert opened == readable
    assert closed  # the unit's notes are there, and do not open
    assert all(name.split("#")[0] in UNIT_COLUMNS for name in closed)
    assert {name.split("#")[0] for name in closed} == UNIT_COLUMNS


UNIT_COLUMNS = {
    "case_events.grounds",
    "retaliation_notes.details",
}


def _keys_the_code_opens(case: Case, reporter: X25519PrivateKey) -> dict[str, bytes]:
    """Every wrap of the case tried with the code's private key, for every purpose."""
    found = {}
    for wrap in case.key_wraps:
        for purpose in crypto.Purpose:
            try:
                found[purpose.value] = crypto.unwrap(
                    wrap.wrapped, reporter, purpose, case.public_id
                )
            except crypto.CryptoError:
                continue
    return found


def _every_sealed_record(session: Session, case: Case) -> list[tuple[str, Kind, bytes]]:
    rows: list[tuple[str, Kind, bytes]] = [("cases.body", Kind.REPORT, case.body or b"")]
    rows.append(("cases.identity", Kind.IDENTITY, case.identity or b""))
    rows += [(f"messages.body#{m.id}", Kind.MESSAGE, m.body) for m in case.messages]
    rows += [(f"attachments.meta#{a.id}", Kind.FILE_META, a.meta) for a in case.attachments]
    notes = [
        ("case_events.grounds", [(e.id, e.grounds) for e in case.events]),
        ("protection_records.details", [(r.id, r.details) for r in case.protections]),
        ("retaliation_incidents.details", [(i.id, i.details) for i in case.retaliation_incidents]),
        (
            "retaliation_notes.details",
            [(n.id, n.details) for i in case.retaliation_incidents for n in i.notes],
        ),
    ]
    for column, values in notes:
        rows += [(f"{column}#{row_id}", Kind.NOTE, blob) for row_id, blob in values if blob]
    return rows


def _opens(kind: Kind, blob: bytes, keys: Iterable[bytes]) -> bool:
    """Whether any of ``keys`` decrypts the record (signature or place aside: a reader of a
    stolen copy only wants the plaintext)."""
    for key in keys:
        try:
            bound.open_bound(key, kind, blob, _author_key(blob, kind))
            return True
        except crypto.BadSignature:
            raise AssertionError("every stored record is signed by its author") from None
        except crypto.CryptoError:
            continue
    return False


def _author_key(blob: bytes, kind: Kind) -> bytes:
    """The verifying key of the record's author, as a database copy gives it."""
    return _AUTHORS[bound.read_place(kind, blob).author]


_AUTHORS: dict[str, bytes] = {}


@pytest.fixture(autouse=True)
def _authors(session: Session, world: World, built: Built) -> None:
    _AUTHORS.clear()
    _AUTHORS["reporter"] = built.case.reporter_signing_key or b""
    for person in world.people.values():
        if person.signing_key is not None:
            _AUTHORS[f"staff/{person.id}"] = person.signing_key


def test_the_unit_key_goes_to_readers_and_escrow_never_to_the_reporter(built: Built) -> None:
    holders = {
        (w.recipient_kind, w.inspector_id)
        for w in built.case.key_wraps
        if w.purpose.value == "unit_key"
    }
    readers = {
        (w.recipient_kind, w.inspector_id)
        for w in built.case.key_wraps
        if w.purpose.value == "case_key" and w.recipient_kind is not RecipientKind.REPORTER
    }
    assert holders == readers
    assert (RecipientKind.ESCROW, None) in holders


# --- tampering ---------------------------------------------------------------------------------


def _trust_of(case: Case, message: Message) -> tuple[Trust, Position]:
    for entry in transcript.read_checked(case, _case_key(case)):
        if entry.message is not None and entry.message.id == message.id:
            return entry.reading.trust, entry.position
    raise AssertionError("the message is not in the transcript")


_CASE_KEYS: dict[str, bytes] = {}


@pytest.fixture(autouse=True)
def _remember_key(built: Built) -> None:
    _CASE_KEYS[built.case.public_id] = built.sealed.keys.case_key


def _case_key(case: Case) -> bytes:
    return _CASE_KEYS[case.public_id]


def test_untouched_everything_is_signed_and_in_order(built: Built) -> None:
    entries = transcript.read_checked(built.case, _case_key(built.case))
    assert [e.reading.trust for e in entries] == [Trust.SIGNED] * len(entries)
    assert [e.position for e in entries] == [Position.IN_ORDER] * len(entries)
    assert len(entries) == 1 + len(built.case.messages)


def test_a_changed_author_is_detected(session: Session, built: Built) -> None:
    built.reply.author, built.reply.inspector_id = Party.REPORTER, None
    session.flush()
    assert _trust_of(built.case, built.reply)[0] is Trust.ALTERED


def test_another_staff_author_is_detected(session: Session, world: World, built: Built) -> None:
    built.reply.inspector_id = world.people["hoa"].id
    session.flush()
    assert _trust_of(built.case, built.reply)[0] is Trust.ALTERED


def test_a_message_moved_to_another_place_in_its_case_is_detected(
    session: Session, built: Built
) -> None:
    built.reply.body, built.notice.body = built.notice.body, built.reply.body
    session.flush()
    assert _trust_of(built.case, built.reply)[0] is Trust.ALTERED
    assert _trust_of(built.case, built.notice)[0] is Trust.ALTERED


def test_a_message_moved_to_another_case_does_not_open(
    session: Session, world: World, built: Built, fast_argon2: crypto.Argon2Params
) -> None:
    other = seal_case(session, world, fast_argon2)
    lan = world.staff_keys(session, other.case, "lan", TODAY)
    target = access.reply(session, other.case, world.people["lan"], lan, "Khác.", TODAY)
    target.body = built.reply.body
    session.flush()
    _CASE_KEYS[other.case.public_id] = other.keys.case_key
    assert _trust_of(other.case, target)[0] is Trust.ALTERED


def test_a_note_moved_to_another_column_is_detected(
    session: Session, world: World, built: Built
) -> None:
    case = built.case
    keys = world.staff_keys(session, case, "lan", TODAY)
    grounds = next(e.grounds for e in case.events if e.grounds is not None)
    note = case.retaliation_incidents[0].notes[0]
    assert keys.open_note(case, note, "details", "incident-note") is not None
    note.details = grounds
    session.flush()
    reading = keys.open_note(case, note, "details", "incident-note")
    assert reading is not None
    assert reading.altered


def test_an_attachment_relinked_to_another_message_is_detected(
    session: Session, built: Built
) -> None:
    item = next(a for a in built.case.attachments if a.message_id == built.reporter_message.id)
    item.message_id = built.reply.id
    session.flush()
    assert _trust_of(built.case, built.reporter_message)[0] is Trust.ALTERED
    assert _trust_of(built.case, built.reply)[0] is Trust.ALTERED


def test_a_report_file_relinked_or_removed_shows_the_report_altered(
    session: Session, built: Built
) -> None:
    item = next(a for a in built.case.attachments if a.message_id is None)
    item.message_id = built.reply.id
    session.flush()
    entries = transcript.read_checked(built.case, _case_key(built.case))
    assert entries[0].reading.trust is Trust.ALTERED


def test_a_deleted_message_marks_the_next_one_out_of_order(session: Session, built: Built) -> None:
    case = built.case
    session.delete(built.notice)
    session.flush()
    session.refresh(case, ["messages"])
    positions = {
        e.message.id: e.position
        for e in transcript.read_checked(case, _case_key(case))
        if e.message is not None
    }
    assert positions[built.reporter_message.id] is Position.OUT_OF_ORDER
    assert positions[built.reply.id] is Position.IN_ORDER
    assert positions[built.retaliation.id] is Position.IN_ORDER


def test_reordered_messages_are_detected(session: Session, built: Built) -> None:
    first, second = built.reply, built.notice
    first.seq, second.seq = None, None
    session.flush()
    first.seq, second.seq = 2, 1
    session.flush()
    assert _trust_of(built.case, first)[0] is Trust.ALTERED
    assert _trust_of(built.case, second)[0] is Trust.ALTERED


def test_a_changed_category_shows_the_report_altered(session: Session, built: Built) -> None:
    built.case.category = "other"
    session.flush()
    assert transcript.read_checked(built.case, _case_key(built.case))[0].reading.altered
    assert access.open_report(_case_key(built.case), built.case) is None


def test_a_changed_fact_shows_the_retaliation_report_altered(
    session: Session, built: Built
) -> None:
    incident = built.case.retaliation_incidents[0]
    incident.kind = RetaliationKind.DISMISSAL
    session.flush()
    assert _trust_of(built.case, built.retaliation)[0] is Trust.ALTERED


def test_a_withdrawal_forged_by_a_key_holder_is_refused_before_it_acts(
    session: Session, world: World, built: Built
) -> None:
    """An inspector holds the case key; they seal a withdrawal as if from the reporter,
    signed with their own key: the server refuses it and the case stays open."""
    case = built.case
    status = case.status
    staff = Signer.staff(world.people["lan"], world.key_of("lan"))
    at = transcript.head(case, transcript.number(session, case))
    place = Place(case.public_id, "withdrawal", "reporter", entry=at.entry, prev=at.link.hex())
    forged = bound.seal_bound_json(
        _case_key(case), Kind.MESSAGE, place, {"schema": 1, "text": "Tôi rút."}, staff.key
    )
    with pytest.raises(EntryRefused) as refused:
        transcript.append(session, case, forged, NewEntry("withdrawal", Party.REPORTER), TODAY)
    assert refused.value.code == "bad_entry"
    assert case.status == status
    assert not any(m.purpose == "withdrawal" for m in case.messages)


def test_a_withdrawal_written_straight_into_the_database_reads_as_altered(
    session: Session, world: World, built: Built
) -> None:
    """The same forgery put in the database by hand, bypassing the server: readers see
    that no reporter signed it."""
    case = built.case
    staff = Signer.staff(world.people["lan"], world.key_of("lan"))
    at = transcript.head(case, transcript.number(session, case))
    place = Place(case.public_id, "withdrawal", "reporter", entry=at.entry, prev=at.link.hex())
    forged = bound.seal_bound_json(
        _case_key(case), Kind.MESSAGE, place, {"schema": 1, "text": "Tôi rút."}, staff.key
    )
    message = Message(
        author=Party.REPORTER,
        body=forged,
        created_on=TODAY,
        seq=at.entry,
        purpose="withdrawal",
    )
    case.messages.append(message)
    session.flush()
    event = followup.withdraw(session, case, message, TODAY)
    session.flush()
    assert event.message_id == message.id
    trust, position = _trust_of(case, message)
    assert trust is Trust.ALTERED
    assert position is Position.IN_ORDER  # in its place, but not the reporter's words


def test_the_unit_notes_stay_readable_to_readers(
    session: Session, world: World, built: Built
) -> None:
    keys = world.staff_keys(session, built.case, "hoa", TODAY)
    event = next(e for e in built.case.events if e.grounds is not None)
    reading = keys.open_note(built.case, event, "grounds", "grounds")
    assert reading is not None
    assert reading.trust is Trust.SIGNED
    assert reading.text() == "Nội bộ: sẽ mời ông B lên làm việc."


# --- notes bound to their row, and nothing unsigned where protocol 2 wrote ---------------------


def test_grounds_swapped_between_two_steps_of_the_case_read_as_altered_in_both(
    session: Session, world: World, built: Built
) -> None:
    """Two decisions of the same case, both by lan, both ``grounds``: only the row each
    note names tells them apart, so swapping them is caught in both places."""
    case = built.case
    lan = world.staff_keys(session, case, "lan", TODAY)
    later = workflow.transition(
        case,
        "accepted",
        today=TODAY,
        inspector=world.people["lan"],
        now=_now(),
        grounds=access.seal_note(lan, case, "grounds", "Đủ điều kiện thụ lý."),
    )
    session.flush()
    first = next(e for e in case.events if e.grounds is not None and e.id != later.id)
    keys = world.reader_keys(case, "hoa")
    for event, text in (
        (first, "Nội bộ: sẽ mời ông B lên làm việc."),
        (later, "Đủ điều kiện thụ lý."),
    ):
        reading = keys.open_note(case, event, "grounds", "grounds")
        assert reading is not None
        assert (reading.text(), reading.trust) == (text, Trust.SIGNED)
        assert event.grounds is not None
        assert bound.read_place(Kind.NOTE, event.grounds).ref == ref_of(event)
    first.grounds, later.grounds = later.grounds, first.grounds
    session.flush()
    for event in (first, later):
        assert keys.open_note(case, event, "grounds", "grounds") == ALTERED
        assert protection.open_document(keys, case, event, "grounds", "grounds") == {
            protection.ALTERED: "yes"
        }


def test_a_protocol_1_message_inserted_into_a_protocol_2_case_reads_as_altered(
    session: Session, built: Built
) -> None:
    """Anyone holding the case key (the reporter's code, a reader) can seal a protocol 1
    message; in a case that arrived under protocol 2 it is nobody's signed words."""
    case = built.case
    assert born_signed(case)
    at = transcript.head(case, transcript.number(session, case))
    forged = Message(
        author=Party.REPORTER,
        body=crypto.seal_json(
            _case_key(case), Kind.MESSAGE, case.public_id, {"schema": 1, "text": "Tôi rút."}
        ),
        created_on=TODAY,
        seq=at.entry,
        purpose="message",
    )
    case.messages.append(forged)
    session.flush()
    trust, _position = _trust_of(case, forged)
    assert trust is Trust.ALTERED
    assert transcript.entry_reading(case, _case_key(case), forged.id) == ALTERED
    # what came before it is untouched
    earlier = [e for e in transcript.read_checked(case, _case_key(case)) if e.message is not forged]
    assert {e.reading.trust for e in earlier} == {Trust.SIGNED}
    assert {e.position for e in earlier} == {Position.IN_ORDER}


def test_a_protocol_1_note_in_a_protocol_2_case_reads_as_altered(
    session: Session, world: World, built: Built
) -> None:
    """A protocol 1 NOTE opens under the case key, which the reporter's code yields: in a
    case that arrived under protocol 2 it is never read as the unit's words."""
    case = built.case
    event = next(e for e in case.events if e.grounds is not None)
    document = {"schema": 1, "text": "Nội bộ: không cần xác minh."}
    old = crypto.seal_json(_case_key(case), Kind.NOTE, case.public_id, document)
    assert crypto.open_json(_case_key(case), Kind.NOTE, case.public_id, old) == document
    event.grounds = old
    session.flush()
    for name in ("lan", "hoa"):
        keys = world.reader_keys(case, name)
        assert keys.open_note(case, event, "grounds", "grounds") == ALTERED
        assert protection.open_document(keys, case, event, "grounds", "grounds") == {
            protection.ALTERED: "yes"
        }
    reporter = CaseKeys(case=_case_key(case))
    assert reporter.open_note(case, event, "grounds", "grounds") == ALTERED


def test_an_unsigned_message_after_the_upgrade_of_a_protocol_1_case_reads_as_altered(
    session: Session, world: World
) -> None:
    """An upgraded case keeps its protocol 1 entries, carried and unsigned; from the
    upgrade entry on, every entry is signed, so an unsigned one after it is a forgery."""
    lan = world.people["lan"]
    old = protocol_1_case(session, world.unit, [lan, world.people["hoa"]])
    session.commit()
    case = old.case
    assert not born_signed(case)
    assert upgrade.by_reader(session, case, lan, world.key_of("lan"), TODAY)
    session.commit()
    [reply, upgraded] = sorted(case.messages, key=lambda m: m.seq or 0)
    assert (reply.seq, upgraded.seq, upgraded.purpose) == (1, 2, "upgrade")
    forged = Message(
        author=Party.REPORTER,
        body=crypto.seal_json(
            old.case_key, Kind.MESSAGE, case.public_id, {"schema": 1, "text": "Tôi rút."}
        ),
        created_on=TODAY,
        seq=3,
        purpose="message",
    )
    case.messages.append(forged)
    session.flush()
    entries = transcript.read_checked(case, old.case_key)
    assert [(e.message, e.reading.trust) for e in entries] == [
        (None, Trust.UNSIGNED),  # the report, as protocol 1 wrote it
        (reply, Trust.UNSIGNED),
        (upgraded, Trust.SIGNED),
        (forged, Trust.ALTERED),
    ]
    assert entries[1].reading.text() == "Đã nhận."
    assert entries[1].position is Position.CARRIED
    assert entries[2].position is Position.IN_ORDER
    shown = access.open_messages(old.case_key, case)
    assert [(m.trust, m.position) for m in shown][:2] == [
        (Trust.UNSIGNED, Position.CARRIED),
        (Trust.SIGNED, Position.IN_ORDER),
    ]
    assert shown[2].trust is Trust.ALTERED


def test_a_signed_report_swapped_for_an_unsigned_one_does_not_pass_for_protocol_1(
    session: Session, world: World, built: Built
) -> None:
    """A key holder puts an unsigned report in place of the signed one, to make the case
    look as if it arrived under protocol 1 (where unsigned records are carried): the first
    signed entry does not link over it, so the report and any unsigned note read altered."""
    case = built.case
    key = _case_key(case)
    case.body = crypto.seal_json(key, Kind.REPORT, case.public_id, {"schema": 1, "what": "giả"})
    event = next(e for e in case.events if e.grounds is not None)
    event.grounds = crypto.seal_json(key, Kind.NOTE, case.public_id, {"schema": 1, "text": "giả"})
    session.flush()
    assert born_signed(case)
    assert transcript.read_checked(case, key)[0].reading.altered
    reading = world.staff_keys(session, case, "lan", TODAY).open_note(
        case, event, "grounds", "grounds"
    )
    assert reading is not None
    assert reading.altered
