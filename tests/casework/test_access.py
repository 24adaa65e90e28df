"""Access to a case: opening with one's own wrap, granting, revoking, replying, read markers.

``seal_case`` makes a realistic case through the one intake path, with attachments
encrypted into a real blob store; the review app's tests use it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import crypto
from casework import access, intake, records
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from store.blobs import FilesystemBlobStore
from store.models import (
    Case,
    CaseRead,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    RecipientKind,
    WrapPurpose,
)
from tests.worlds import World, build_world

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
) -> SealedCase:
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
    with pytest.raises(access.AccessError) as again:
        access.grant(session, sealed.case, world.people["lan"], world.key_of("lan"), minh.id, TODAY)
    assert again.value.code == "already_reader"


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


def test_revoke_deletes_only_that_persons_case_key_wrap_and_keeps_a_reader(
    session: Session, world: World, fast_argon2: crypto.Argon2Params
) -> None:
    sealed = seal_case(session, world, fast_argon2, identity={"schema": 1, "name": "Nguyễn A"})
    hoa, lan = world.people["hoa"], world.people["lan"]
    kinds_before = {(w.recipient_kind, w.purpose) for w in sealed.case.key_wraps}
    removed = access.revoke(session, sealed.case, hoa, hoa.id)  # a custodian steps aside
    session.commit()
    assert removed == hoa
    assert access.inspector_wrap(sealed.case, hoa.id) is None
    with pytest.raises(access.NoAccess):
        access.open_case_key(sealed.case, hoa, world.key_of("hoa"))
    # the identity stays with the custodian: only the custodian path gives or takes it
    assert access.identity_wrap(sealed.case, hoa.id) is not None
    # the reporter's and the escrow's wraps of both keys are still there
    kinds_after = {(w.recipient_kind, w.purpose) for w in sealed.case.key_wraps}
    for kind in (RecipientKind.REPORTER, RecipientKind.ESCROW):
        for purpose in (WrapPurpose.CASE_KEY, WrapPurpose.IDENTITY_KEY):
            assert (kind, purpose) in kinds_before
            assert (kind, purpose) in kinds_after
    access.revoke(session, sealed.case, lan, world.people["minh"].id)
    with pytest.raises(access.AccessError) as last:
        access.revoke(session, sealed.case, lan, lan.id)
    assert last.value.code == "last_reader"
    with pytest.raises(access.AccessError) as nobody:
        access.revoke(session, sealed.case, lan, world.people["son"].id)
    assert nobody.value.code == "not_a_reader"


def test_a_reply_opens_for_the_reporter_and_the_readers(
    session: Session, world: World, sealed: SealedCase
) -> None:
    lan = world.people["lan"]
    key = access.open_case_key(sealed.case, lan, world.key_of("lan"))
    message = access.reply(session, sealed.case, lan, key, "Xin gửi thêm\nbằng chứng.", TODAY)
    session.commit()
    assert message.author is Party.INSPECTOR
    assert message.inspector_id == lan.id
    # the reporter: the code gives the reporter key, which opens the reporter's wrap
    reporter_wrap = next(
        w.wrapped
        for w in sealed.case.key_wraps
        if w.recipient_kind is RecipientKind.REPORTER and w.purpose is WrapPurpose.CASE_KEY
    )
    reporter_key = crypto.unwrap(
        reporter_wrap,
        sealed.keys.code.reporter_private_key(),
        crypto.Purpose.CASE_KEY,
        sealed.case.public_id,
    )
    document = crypto.open_json(
        reporter_key, crypto.Kind.MESSAGE, sealed.case.public_id, message.body
    )
    assert document == {"schema": 1, "text": "Xin gửi thêm\nbằng chứng."}
    hoa_key = access.open_case_key(sealed.case, world.people["hoa"], world.key_of("hoa"))
    [shown] = access.open_messages(hoa_key, sealed.case)
    assert shown.text == "Xin gửi thêm\nbằng chứng."
    assert shown.inspector == lan
    assert b"b\xe1\xba\xb1ng" not in message.body  # no plaintext in the stored row


@pytest.mark.parametrize(("text", "code"), [("   \n", "empty"), ("x" * 20_001, "too_long")])
def test_an_empty_or_overlong_reply_is_refused(
    session: Session, world: World, sealed: SealedCase, text: str, code: str
) -> None:
    key = access.open_case_key(sealed.case, world.people["lan"], world.key_of("lan"))
    with pytest.raises(access.AccessError) as refused:
        access.reply(session, sealed.case, world.people["lan"], key, text, TODAY)
    assert refused.value.code == code
    assert sealed.case.messages == []


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
    key = access.open_case_key(sealed.case, lan, world.key_of("lan"))
    assert access.unread_since(session, sealed.case, lan) is None
    first = access.reply(session, sealed.case, lan, key, "một", TODAY)
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
