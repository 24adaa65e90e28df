"""Access to a case: opening with one's own wrap, granting, revoking, replying, read markers.

``seal_case`` makes a realistic case through the one intake path, with attachments
encrypted into a real blob store; the review app's tests use it too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, intake, records, transcript
from casework.intake import MAX_ATTACHMENTS
from casework.recipients import unit_recipients
from casework.records import CaseKeys, Trust
from casework.sealing import FileSealer, NewCaseKeys, seal_submission
from crypto import bound, signing
from crypto.places import Place
from crypto.transcript import Position, genesis, next_link
from store.blobs import FilesystemBlobStore
from store.db import make_engine, session_factory, writing
from store.models import (
    Case,
    CaseRead,
    Inspector,
    KeyWrap,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    RecipientKind,
    WrapPurpose,
)
from tests import postgres
from tests.store.factories import sqlite_url
from tests.worlds import World, build_world, unit_note, verified_in_person

TODAY = date(2026, 11, 27)
REPORT: dict[str, Any] = {
    "schema": 1,
    "language": "vi",
    "category": "land-management",
    "what": "Cán bộ nhận hối lộ\nđể cấp sổ đỏ.",
    "who": "Trưởng phòng địa chính",
    "where": "Phường 3",
    "when": "Tháng 10",
    "how_known": "Tôi đã chứng kiến",
    "evidence": "Ảnh chụp biên lai",
    "protection": {"people": ["reporter"], "kinds": ["job"], "details": "Sợ bị đuổi việc"},
}


@dataclass(frozen=True)
class SealedCase:
    case: Case
    keys: NewCaseKeys


def encrypt_file(
    store: FilesystemBlobStore, keys: NewCaseKeys, name: str, type_: str, data: bytes
) -> intake.AttachmentIn:
    """A file as a browser sends it: streamed ciphertext in the store, sealed description."""
    encryptor = crypto.FileEncryptor(keys.case_key, keys.case_id)
    blob_id = store.new_blob_id()
    with store.open_writer(blob_id) as writer:
        for piece in crypto.encrypt_stream(encryptor, [data]):
            writer.write(piece)
    described = encryptor.metadata(name, type_)
    meta = records.seal_file_meta(keys.case_key, keys.case_id, described, keys.signer)
    return intake.AttachmentIn(blob_id, meta, store.size(blob_id))


def seal_case(
    session: Session,
    world: World,
    params: crypto.Argon2Params,
    *,
    report: dict[str, Any] | None = None,
    files: Sequence[tuple[str, str, bytes]] = (),
    store: FilesystemBlobStore | None = None,
    excluded: frozenset[int] = frozenset(),
    identity: dict[str, Any] | None = None,
    verified: bool = True,
) -> SealedCase:
    """A report sealed and taken in as the web form sends it. A named one (``identity``)
    is ``verified``, by default, the day it arrives (its reporter came in person, LTC Art.
    22-23): a formal denunciation from its receipt. ``verified=False`` leaves it awaiting
    that, on the anonymous track's steps and clocks."""
    keys = NewCaseKeys()
    attachments = []
    if files:
        assert store is not None, "files need a blob store"
        attachments = [encrypt_file(store, keys, *item) for item in files]
    recipients = unit_recipients(session, world.unit)
    submission = seal_submission(
        keys,
        recipients,
        category=world.unit.categories[0],
        report=report or REPORT,
        identity=identity,
        attachments=attachments,
        excluded=excluded,
        protection=frozenset({(ProtectedPerson.REPORTER, ProtectionCategory.JOB)}),
    )
    intake.validate(submission, world.unit, recipients)
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, params), TODAY
    )
    if identity is not None and verified:
        verified_in_person(case, world.people["lan"], TODAY)
    session.commit()
    return SealedCase(case, keys)


@pytest.fixture
def sealed(session: Session, world: World, fast_argon2: crypto.Argon2Params) -> SealedCase:
    return seal_case(session, world, fast_argon2, excluded=frozenset({world.people["minh"].id}))


def test_each_reader_opens_the_report_with_their_own_key(
    session: Session, world: World, sealed: SealedCase
) -> None:
    for name in ("lan", "hoa"):
        key = access.open_case_key(sealed.case, world.people[name], world.key_of(name))
        assert key == sealed.keys.case_key
        assert access.open_report(key, sealed.case) == REPORT


def test_excluded_and_non_reading_roles_and_wrong_keys_get_no_access(
    world: World, sealed: SealedCase
) -> None:
    for name in ("minh", "son", "admin"):
        with pytest.raises(access.NoAccess):
            access.open_case_key(sealed.case, world.people[name], world.key_of(name))
    # lan's wrap opened with someone else's key does not open
    with pytest.raises(access.NoAccess):
        access.open_case_key(sealed.case, world.people["lan"], world.key_of("hoa"))


def test_a_deactivated_reader_cannot_open(
    session: Session, world: World, sealed: SealedCase
) -> None:
    world.people["lan"].active = False
    with pytest.raises(access.NoAccess):
        access.open_case_key(sealed.case, world.people["lan"], world.key_of("lan"))


def test_readers_and_exclusions_are_listed(world: World, sealed: SealedCase) -> None:
    assert [p.username for p in access.readers(sealed.case)] == [
        world.people["lan"].username,
        world.people["hoa"].username,
    ]
    assert access.excluded(sealed.case) == [world.people["minh"]]


def test_an_excluded_person_cannot_be_granted(
    session: Session, world: World, sealed: SealedCase
) -> None:
    assert access.grantable(session, sealed.case) == []
    with pytest.raises(access.AccessError) as refused:
        access.grant(
            session,
            sealed.case,
            world.people["lan"],
            world.key_of("lan"),
            world.people["minh"].id,
            TODAY,
        )
    assert refused.value.code == "excluded"
    assert access.inspector_wrap(sealed.case, world.people["minh"].id) is None


def test_grant_wraps_the_case_key_to_the_grantee_only(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    sealed = seal_case(session, world, fast_argon2, excluded=frozenset({world.people["minh"].id}))
    sealed.case.exclusions.clear()  # as if the reporter had excluded nobody
    session.flush()
    minh = world.people["minh"]
    assert access.grantable(session, sealed.case) == [minh]
    wrap = access.grant(
        session, sealed.case, world.people["lan"], world.key_of("lan"), minh.id, TODAY
    )
    session.commit()
    assert wrap.recipient_kind is RecipientKind.INSPECTOR
    assert wrap.inspector_id == minh.id
    assert access.open_case_key(sealed.case, minh, world.key_of("minh")) == sealed.keys.case_key
    # no unit key yet: nothing of it to give
    assert access.open_unit_key(sealed.case, minh, world.key_of("minh")) is None
    assert unit_key_wraps(sealed.case) == []
    with pytest.raises(access.AccessError) as again:
        access.grant(session, sealed.case, world.people["lan"], world.key_of("lan"), minh.id, TODAY)
    assert again.value.code == "already_reader"
    # the unit key made later reaches the grantee like every other reader
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    assert access.open_unit_key(sealed.case, minh, world.key_of("minh")) == keys.unit


def test_grant_gives_the_grantee_the_unit_key_too(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    sealed = seal_case(session, world, fast_argon2, excluded=frozenset({world.people["minh"].id}))
    lan, minh = world.people["lan"], world.people["minh"]
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    note = unit_note(sealed.case, keys, lan, "note", "Cần xác minh thêm", TODAY)
    sealed.case.exclusions.clear()
    session.commit()
    access.grant(session, sealed.case, lan, world.key_of("lan"), minh.id, TODAY)
    session.commit()
    [wrap] = [w for w in unit_key_wraps(sealed.case) if w.inspector_id == minh.id]
    assert wrap.created_on == TODAY
    assert access.open_unit_key(sealed.case, minh, world.key_of("minh")) == keys.unit
    minh_keys = world.reader_keys(sealed.case, "minh")
    reading = access.open_note(minh_keys, sealed.case, note, "grounds", "note")
    assert reading is not None
    assert (reading.text(), reading.trust) == ("Cần xác minh thêm", Trust.SIGNED)


@pytest.mark.parametrize(("name", "code"), [("son", "not_a_reader"), ("admin", "not_a_reader")])
def test_supervisors_and_admins_cannot_be_granted(
    session: Session, world: World, sealed: SealedCase, name: str, code: str
) -> None:
    with pytest.raises(access.AccessError) as refused:
        access.grant(
            session,
            sealed.case,
            world.people["lan"],
            world.key_of("lan"),
            world.people[name].id,
            TODAY,
        )
    assert refused.value.code == code


def test_someone_without_the_key_cannot_grant(
    session: Session, world: World, sealed: SealedCase
) -> None:
    with pytest.raises(access.NoAccess):
        access.grant(
            session,
            sealed.case,
            world.people["minh"],
            world.key_of("minh"),
            world.people["son"].id,
            TODAY,
        )


def test_revoke_deletes_only_that_persons_case_and_unit_key_wraps_and_keeps_a_reader(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    sealed = seal_case(session, world, fast_argon2, identity={"schema": 1, "name": "Nguyễn A"})
    hoa, lan, minh = world.people["hoa"], world.people["lan"], world.people["minh"]
    world.staff_keys(session, sealed.case, "lan", TODAY)  # the case has its unit key
    assert access.open_unit_key(sealed.case, hoa, world.key_of("hoa")) is not None
    kinds_before = {(w.recipient_kind, w.purpose) for w in sealed.case.key_wraps}
    removed = access.revoke(session, sealed.case, hoa, hoa.id)  # a custodian steps aside
    session.commit()
    assert removed == hoa
    # the case key and the unit key go together
    for purpose in (WrapPurpose.CASE_KEY, WrapPurpose.UNIT_KEY):
        assert access.inspector_wrap(sealed.case, hoa.id, purpose) is None
    with pytest.raises(access.NoAccess):
        access.open_case_key(sealed.case, hoa, world.key_of("hoa"))
    assert access.open_unit_key(sealed.case, hoa, world.key_of("hoa")) is None
    with pytest.raises(access.NoAccess):
        world.reader_keys(sealed.case, "hoa")
    # the identity stays with the custodian: only the custodian path gives or takes it
    assert access.identity_wrap(sealed.case, hoa.id) is not None
    # the reporter's wraps of both keys and the escrow's of all three are still there
    kinds_after = {(w.recipient_kind, w.purpose) for w in sealed.case.key_wraps}
    expected = [
        (RecipientKind.REPORTER, p) for p in (WrapPurpose.CASE_KEY, WrapPurpose.IDENTITY_KEY)
    ]
    expected += [(RecipientKind.ESCROW, p) for p in WrapPurpose]
    for kind_and_purpose in expected:
        assert kind_and_purpose in kinds_before
        assert kind_and_purpose in kinds_after
    assert (RecipientKind.REPORTER, WrapPurpose.UNIT_KEY) not in kinds_after
    access.revoke(session, sealed.case, lan, minh.id)
    assert access.inspector_wrap(sealed.case, minh.id, WrapPurpose.UNIT_KEY) is None
    assert [w.inspector_id for w in unit_key_wraps(sealed.case, RecipientKind.INSPECTOR)] == [
        lan.id
    ]
    with pytest.raises(access.AccessError) as last:
        access.revoke(session, sealed.case, lan, lan.id)
    assert last.value.code == "last_reader"
    with pytest.raises(access.AccessError) as nobody:
        access.revoke(session, sealed.case, lan, world.people["son"].id)
    assert nobody.value.code == "not_a_reader"


def reporter_case_key(sealed: SealedCase) -> bytes:
    """The case key as the reporter gets it: the code gives the reporter key, which opens
    the reporter's wrap."""
    wrap = followup.reporter_wrap(sealed.case, WrapPurpose.CASE_KEY)
    assert wrap is not None
    reporter = sealed.keys.code.reporter_private_key()
    return crypto.unwrap(wrap, reporter, crypto.Purpose.CASE_KEY, sealed.case.public_id)


def test_a_reply_opens_for_the_reporter_and_the_readers(
    session: Session, world: World, sealed: SealedCase
) -> None:
    lan = world.people["lan"]
    assert lan.signing_key is None  # a keyring from before protocol 2
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    # the first write records lan's verifying key, derived from her keyring's key
    assert lan.signing_key == signing.verifying_bytes(signing.signing_key(world.key_of("lan")))
    message = access.reply(session, sealed.case, lan, keys, "Xin gửi thêm\nbằng chứng.", TODAY)
    session.commit()
    assert (message.author, message.inspector_id, message.seq, message.purpose) == (
        Party.INSPECTOR,
        lan.id,
        1,
        "message",
    )
    # the reporter opens it with the case key from the code, and checks lan's signature
    # and the place: this case, entry 1, linked to the report
    assert sealed.case.body is not None
    assert lan.signing_key is not None
    place, document = bound.open_bound_json(
        reporter_case_key(sealed), crypto.Kind.MESSAGE, message.body, lan.signing_key
    )
    assert document == {"schema": 1, "text": "Xin gửi thêm\nbằng chứng."}
    assert place == Place(
        case=sealed.case.public_id,
        purpose="message",
        author=f"staff/{lan.id}",
        entry=1,
        prev=next_link(genesis(sealed.case.public_id), sealed.case.body).hex(),
    )
    # a protocol 1 reader refuses it rather than misreading it
    with pytest.raises(crypto.UnsupportedVersion):
        crypto.open_json(keys.case, crypto.Kind.MESSAGE, sealed.case.public_id, message.body)
    hoa_key = access.open_case_key(sealed.case, world.people["hoa"], world.key_of("hoa"))
    [shown] = access.open_messages(hoa_key, sealed.case)
    assert shown.text == "Xin gửi thêm\nbằng chứng."
    assert shown.inspector == lan
    assert (shown.trust, shown.position, shown.altered) == (Trust.SIGNED, Position.IN_ORDER, False)
    assert b"b\xe1\xba\xb1ng" not in message.body  # no plaintext in the stored row


def test_replies_follow_each_other_in_the_transcript(
    session: Session, world: World, sealed: SealedCase
) -> None:
    lan, hoa = world.people["lan"], world.people["hoa"]
    first = access.reply(
        session, sealed.case, lan, world.staff_keys(session, sealed.case, "lan", TODAY), "1", TODAY
    )
    second = access.reply(
        session, sealed.case, hoa, world.staff_keys(session, sealed.case, "hoa", TODAY), "2", TODAY
    )
    session.commit()
    assert (first.seq, second.seq) == (1, 2)
    shown = access.open_messages(reporter_case_key(sealed), sealed.case)
    assert [(m.text, m.inspector, m.trust, m.position) for m in shown] == [
        ("1", lan, Trust.SIGNED, Position.IN_ORDER),
        ("2", hoa, Trust.SIGNED, Position.IN_ORDER),
    ]
    place = bound.read_place(crypto.Kind.MESSAGE, second.body)
    assert (place.entry, place.author) == (2, f"staff/{hoa.id}")
    assert place.prev == transcript.head(sealed.case, [first]).link.hex()


@pytest.mark.parametrize(("text", "code"), [("   \n", "empty"), ("x" * 20_001, "too_long")])
def test_an_empty_or_overlong_reply_is_refused(
    session: Session, world: World, sealed: SealedCase, text: str, code: str
) -> None:
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    with pytest.raises(access.AccessError) as refused:
        access.reply(session, sealed.case, world.people["lan"], keys, text, TODAY)
    assert refused.value.code == code
    assert sealed.case.messages == []


def test_a_reply_may_be_files_alone_and_carries_at_most_a_hundred(
    session: Session, world: World, sealed: SealedCase, tmp_path: Path
) -> None:
    lan = world.people["lan"]
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    assert keys.signer is not None
    store = FilesystemBlobStore(tmp_path / "blobs")
    with FileSealer(store, keys.case, sealed.case.public_id, keys.signer) as sealer:
        notice = sealer.seal("thông báo.pdf", "application/pdf", [b"%PDF thong bao"])
        sealer.keep()
    too_many = [notice] * (MAX_ATTACHMENTS + 1)
    with pytest.raises(access.AccessError) as refused:
        access.reply(session, sealed.case, lan, keys, "", TODAY, too_many)
    assert refused.value.code == "too_many_files"
    assert sealed.case.messages == []

    message = access.reply(session, sealed.case, lan, keys, "", TODAY, [notice])
    session.commit()
    [row] = [item for item in sealed.case.attachments if item.message_id == message.id]
    assert (row.origin, row.blob_id, row.created_on) == (Party.INSPECTOR, notice.blob_id, TODAY)
    [shown] = access.open_messages(reporter_case_key(sealed), sealed.case)
    assert (shown.text, shown.trust) == ("", Trust.SIGNED)
    [opened] = shown.files
    assert (opened.name, opened.type) == ("thông báo.pdf", "application/pdf")
    place = bound.read_place(crypto.Kind.MESSAGE, message.body)
    assert place.files == records.file_digests([notice.meta])


def test_files_open_with_name_type_and_size(
    session: Session, world: World, fast_argon2: crypto.Argon2Params, tmp_path: Path
) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    sealed = seal_case(
        session,
        world,
        fast_argon2,
        store=store,
        files=[("biên lai.pdf", "application/pdf", b"%PDF")],
    )
    key = access.open_case_key(sealed.case, world.people["lan"], world.key_of("lan"))
    [opened] = access.report_files(key, sealed.case)
    assert (opened.name, opened.type, opened.size, opened.origin) == (
        "biên lai.pdf",
        "application/pdf",
        4,
        Party.REPORTER,
    )
    assert access.case_file(sealed.case, opened.id) is not None
    assert access.case_file(sealed.case, opened.id + 1000) is None
    # another key does not open the description: shown as unreadable, not an error
    [unreadable] = access.report_files(crypto.random_key(), sealed.case)
    assert unreadable.name is None


def test_read_markers_move_forward_only(session: Session, world: World, sealed: SealedCase) -> None:
    lan = world.people["lan"]
    keys = world.staff_keys(session, sealed.case, "lan", TODAY)
    assert access.unread_since(session, sealed.case, lan) is None
    first = access.reply(session, sealed.case, lan, keys, "một", TODAY)
    moment = datetime(2026, 11, 27, 8, tzinfo=UTC)
    access.mark_read(session, sealed.case, lan, sealed.case.messages, moment)
    session.commit()
    assert access.unread_since(session, sealed.case, lan) == first.id
    access.mark_read(session, sealed.case, lan, [], moment)
    marker = session.get(CaseRead, (lan.id, sealed.case.id))
    assert marker is not None
    assert marker.last_read_message_id == first.id


# --- who may revoke whom ------------------------------------------------------------------


@pytest.fixture
def named(session: Session, world: World, fast_argon2: crypto.Argon2Params) -> SealedCase:
    return seal_case(session, world, fast_argon2, identity={"schema": 1, "name": "Nguyễn A"})


def test_an_inspector_cannot_revoke_a_custodian(
    session: Session, world: World, named: SealedCase
) -> None:
    lan, hoa = world.people["lan"], world.people["hoa"]
    with pytest.raises(access.AccessError) as refused:
        access.revoke(session, named.case, lan, hoa.id)
    assert refused.value.code == "custodian"
    session.commit()
    assert access.open_case_key(named.case, hoa, world.key_of("hoa")) == named.keys.case_key
    identity_key = access.open_identity_key(named.case, hoa, world.key_of("hoa"))
    assert identity_key == named.keys.identity_key
    minh = world.people["minh"]
    assert access.revocable(named.case, lan) == [lan, minh]
    assert access.revocable(named.case, hoa) == [lan, minh, hoa]


def test_a_custodian_given_the_case_again_opens_the_identity_again(
    session: Session, world: World, named: SealedCase
) -> None:
    hoa, lan = world.people["hoa"], world.people["lan"]
    access.revoke(session, named.case, hoa, hoa.id)
    session.commit()
    access.grant(session, named.case, lan, world.key_of("lan"), hoa.id, TODAY)
    session.commit()
    assert access.open_case_key(named.case, hoa, world.key_of("hoa")) == named.keys.case_key
    identity_key = access.open_identity_key(named.case, hoa, world.key_of("hoa"))
    assert identity_key == named.keys.identity_key


def test_a_reader_given_the_case_again_gets_the_unit_key_again(
    session: Session, world: World, named: SealedCase
) -> None:
    hoa, lan = world.people["hoa"], world.people["lan"]
    keys = world.staff_keys(session, named.case, "lan", TODAY)
    grounds = unit_note(named.case, keys, lan, "note", "Ghi chú nội bộ", TODAY)
    access.revoke(session, named.case, hoa, hoa.id)
    session.commit()
    assert access.open_unit_key(named.case, hoa, world.key_of("hoa")) is None
    access.grant(session, named.case, lan, world.key_of("lan"), hoa.id, TODAY)
    session.commit()
    assert access.open_unit_key(named.case, hoa, world.key_of("hoa")) == keys.unit
    hoa_keys = world.reader_keys(named.case, "hoa")
    reading = access.open_note(hoa_keys, named.case, grounds, "grounds", "note")
    assert reading is not None
    assert reading.text() == "Ghi chú nội bộ"


def test_only_a_reader_revokes_and_never_the_last_one_who_can_open_it(
    session: Session, world: World, sealed: SealedCase
) -> None:
    lan, hoa, minh = world.people["lan"], world.people["hoa"], world.people["minh"]
    with pytest.raises(access.NoAccess):  # minh was excluded: he holds no wrap
        access.revoke(session, sealed.case, minh, lan.id)
    hoa.active = False  # a deactivated reader opens nothing: lan is the last who can
    session.flush()
    with pytest.raises(access.AccessError) as last:
        access.revoke(session, sealed.case, lan, lan.id)
    assert last.value.code == "last_reader"
    assert access.inspector_wrap(sealed.case, lan.id) is not None


def test_a_case_forwarded_away_is_read_only_for_the_sender(
    session: Session, world: World, sealed: SealedCase
) -> None:
    lan = world.people["lan"]
    assert access.acts_on(sealed.case, lan)
    other = build_world(session, "thanh-tra-huyen")
    sealed.case.unit = other.unit
    session.flush()
    assert not access.acts_on(sealed.case, lan)
    assert access.acts_on(sealed.case, other.people["lan"])


# --- the unit key (docs/crypto.md §13.1) --------------------------------------------------------


def unit_key_wraps(case: Case, kind: RecipientKind | None = None) -> list[KeyWrap]:
    return [
        wrap
        for wrap in case.key_wraps
        if wrap.purpose is WrapPurpose.UNIT_KEY and kind in (None, wrap.recipient_kind)
    ]


def test_the_first_note_makes_one_unit_key_for_every_reader_and_the_escrow_never_the_reporter(
    session: Session, world: World, sealed: SealedCase
) -> None:
    case, lan, hoa = sealed.case, world.people["lan"], world.people["hoa"]
    assert unit_key_wraps(case) == []  # the submitter never makes one
    unit_key = access.ensure_unit_key(session, case, lan, world.key_of("lan"), TODAY)
    session.commit()
    assert len(unit_key) == 32
    assert unit_key not in (sealed.keys.case_key, sealed.keys.identity_key)
    # exactly the case key's readers (minh was excluded) and the escrow, once each
    holders = [w.inspector_id or 0 for w in unit_key_wraps(case, RecipientKind.INSPECTOR)]
    assert sorted(holders) == sorted(person.id for person in access.readers(case))
    assert sorted(holders) == sorted([lan.id, hoa.id])
    [escrow] = unit_key_wraps(case, RecipientKind.ESCROW)
    assert unit_key_wraps(case, RecipientKind.REPORTER) == []
    assert {w.created_on for w in unit_key_wraps(case)} == {TODAY}
    assert access.open_unit_key(case, hoa, world.key_of("hoa")) == unit_key
    opened = crypto.unwrap(escrow.wrapped, world.escrow, crypto.Purpose.UNIT_KEY, case.public_id)
    assert opened == unit_key
    # the follow-up code opens none of them
    reporter = sealed.keys.code.reporter_private_key()
    for wrap in unit_key_wraps(case):
        with pytest.raises(crypto.CryptoError):
            crypto.unwrap(wrap.wrapped, reporter, crypto.Purpose.UNIT_KEY, case.public_id)
    # a second call, by anyone holding it, finds the same key and makes nothing
    count = len(case.key_wraps)
    assert access.ensure_unit_key(session, case, hoa, world.key_of("hoa"), TODAY) == unit_key
    assert world.staff_keys(session, case, "lan", TODAY).unit == unit_key
    assert len(case.key_wraps) == count


@pytest.mark.parametrize("name", ["minh", "son", "admin"])
def test_only_a_reader_of_the_case_makes_or_opens_the_unit_key(
    session: Session, world: World, sealed: SealedCase, name: str
) -> None:
    with pytest.raises(access.NoAccess):
        access.ensure_unit_key(session, sealed.case, world.people[name], world.key_of(name), TODAY)
    assert unit_key_wraps(sealed.case) == []
    world.staff_keys(session, sealed.case, "lan", TODAY)
    with pytest.raises(access.NoAccess):
        access.ensure_unit_key(session, sealed.case, world.people[name], world.key_of(name), TODAY)
    assert access.open_unit_key(sealed.case, world.people[name], world.key_of(name)) is None


def test_a_reader_left_without_the_unit_key_gets_no_second_one(
    session: Session, world: World, sealed: SealedCase
) -> None:
    hoa = world.people["hoa"]
    unit_key = world.staff_keys(session, sealed.case, "lan", TODAY).unit
    wrap = access.inspector_wrap(sealed.case, hoa.id, WrapPurpose.UNIT_KEY)
    assert wrap is not None
    sealed.case.key_wraps.remove(wrap)
    session.commit()
    count = len(unit_key_wraps(sealed.case))
    with pytest.raises(access.NoAccess):
        access.ensure_unit_key(session, sealed.case, hoa, world.key_of("hoa"), TODAY)
    with pytest.raises(access.NoAccess):
        world.staff_keys(session, sealed.case, "hoa", TODAY)
    assert len(unit_key_wraps(sealed.case)) == count
    assert world.staff_keys(session, sealed.case, "lan", TODAY).unit == unit_key


def test_a_note_is_sealed_under_the_unit_key_and_does_not_open_with_the_case_key(
    session: Session, world: World, sealed: SealedCase
) -> None:
    case, lan = sealed.case, world.people["lan"]
    keys = world.staff_keys(session, case, "lan", TODAY)
    row = unit_note(case, keys, lan, "grounds", "Người tố cáo có thể bị lộ", TODAY)
    note = row.grounds
    assert note is not None
    assert "Người tố cáo".encode() not in note
    assert bound.read_place(crypto.Kind.NOTE, note) == Place(
        case.public_id, "grounds", f"staff/{lan.id}", ref=records.ref_of(row)
    )
    assert records.ref_of(row) == f"case_events/{row.id}"
    for reader in ("lan", "hoa"):
        reading = access.open_note(world.reader_keys(case, reader), case, row, "grounds", "grounds")
        assert reading is not None
        assert (reading.text(), reading.trust) == ("Người tố cáo có thể bị lộ", Trust.SIGNED)
        assert reading.document == {"schema": 1, "text": "Người tố cáo có thể bị lộ"}
    # the case key, which the follow-up code opens, opens no note
    assert lan.signing_key is not None
    with pytest.raises(crypto.DecryptionFailed):
        bound.open_bound_json(sealed.keys.case_key, crypto.Kind.NOTE, note, lan.signing_key)
    with pytest.raises(crypto.UnsupportedVersion):
        crypto.open_json(sealed.keys.case_key, crypto.Kind.NOTE, case.public_id, note)
    reporter = CaseKeys(case=reporter_case_key(sealed), signer=sealed.keys.signer)
    assert access.open_note(reporter, case, row, "grounds", "grounds") == records.ALTERED
    as_if = CaseKeys(case=sealed.keys.case_key, unit=sealed.keys.case_key)
    assert access.open_note(as_if, case, row, "grounds", "grounds") == records.ALTERED
    # nor is a note read where another purpose belongs, nor in another row, and none at
    # all is None
    assert access.open_note(keys, case, row, "grounds", "protection") == records.ALTERED
    other = unit_note(case, keys, lan, "grounds", "Khác", TODAY)
    other.grounds = note
    assert access.open_note(keys, case, other, "grounds", "grounds") == records.ALTERED
    other.grounds = None
    assert access.open_note(keys, case, other, "grounds", "grounds") is None
    # the reporter cannot write one: no unit key
    with pytest.raises(ValueError, match="unit key"):
        access.seal_note(reporter, case, "note", "x")


DATABASES = ("sqlite", "postgresql")


@contextlib.contextmanager
def database(kind: str, template: Path, folder: Path) -> Iterator[Engine]:
    """A migrated database of the test's own: a copy of the SQLite template, or a fresh
    PostgreSQL database on the suite's server."""
    if kind == "sqlite":
        path = folder / "race.sqlite3"
        shutil.copyfile(template, path)
        engine = make_engine(sqlite_url(path))
        try:
            yield engine
        finally:
            engine.dispose()
        return
    server = postgres.server_url()
    if server is None:
        pytest.skip(postgres.NOT_SET)
    with postgres.migrated_engine(server) as engine:
        yield engine


@pytest.mark.parametrize("kind", DATABASES)
def test_two_first_notes_at_once_make_one_unit_key(
    kind: str,
    migrated_template: Path,
    tmp_path: Path,
    fast_argon2: crypto.Argon2Params,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two readers write the first note of a case at the same moment, each in a writing
    transaction of their own, as the review app's workers do: the case row's lock makes
    the second wait and find the first one's key, never make another."""
    with database(kind, migrated_template, tmp_path) as engine:
        with session_factory(engine)() as setup:
            world = build_world(setup)
            case_id = seal_case(setup, world, fast_argon2).case.id
        made: list[bytes] = []
        real = access.create_unit_key

        def slow_create(session: Session, case: Case, today: date) -> bytes:
            key = real(session, case, today)
            made.append(key)
            time.sleep(0.3)  # hold the lock while the other writer arrives
            return key

        monkeypatch.setattr(access, "create_unit_key", slow_create)
        start = threading.Barrier(2)

        def first_note(name: str) -> bytes:
            start.wait()
            with session_factory(writing(engine))() as session:
                case = session.get_one(Case, case_id)
                person = session.get_one(Inspector, world.people[name].id)
                key = access.ensure_unit_key(session, case, person, world.key_of(name), TODAY)
                session.commit()
                return key

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            keys = list(pool.map(first_note, ["lan", "hoa"]))
        assert len(made) == 1
        assert keys == [made[0], made[0]]
        with session_factory(engine)() as check:
            case = check.get_one(Case, case_id)
            holders = sorted(
                (w.recipient_kind.value, w.inspector_id or 0) for w in unit_key_wraps(case)
            )
            readers = sorted(("inspector", person.id) for person in access.readers(case))
            assert holders == sorted([("escrow", 0), *readers])
