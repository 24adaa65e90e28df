"""The case page and protocol 2 (docs/crypto.md §13): a protocol 1 case is upgraded when a
reader of the unit that holds it opens it, and a record changed in the database is shown
as altered, or out of order, while the rest of the page stands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from casework import access
from casework.records import CaseKeys, Trust, ref_of
from casework.settings import Settings
from crypto import bound
from crypto.envelope import Kind
from store.blobs import FilesystemBlobStore
from store.models import (
    Attachment,
    AuditEntry,
    Case,
    Inspector,
    Message,
    Party,
    RecipientKind,
    WrapPurpose,
)
from tests.casework.test_access import REPORT, SealedCase, seal_case
from tests.protocol1 import GROUNDS, REPORTER_NOTE, OldCase, protocol_1_case
from tests.review.conftest import FAST, Account, forward_keeping_access, give_credentials
from tests.review.test_case_view import ALTERED, MISSING, signed_in
from tests.worlds import World, reporter_entry

UPGRADE_LABEL = "Records signed from here on (the case moved to protocol version 2)"
PROTOCOL_1 = 'id="protocol-1"'
UNSIGNED = "From before version 2: written before records were signed."
REPLY = "Đã nhận."  # the staff reply protocol_1_case writes


def fresh(session: Session) -> None:
    """See what the app committed: a new snapshot, no cached rows."""
    session.rollback()
    session.expire_all()


def stored(session: Session, public_id: str) -> Case:
    fresh(session)
    case = session.scalar(select(Case).where(Case.public_id == public_id))
    assert case is not None
    return case


def actions(session: Session, public_id: str) -> list[tuple[str, str]]:
    fresh(session)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.case_public_id == public_id).order_by(AuditEntry.seq)
    )
    return [(entry.actor, entry.action) for entry in entries]


def page(client: FlaskClient, public_id: str, tail: str = "") -> str:
    response = client.get(f"/cases/{public_id}{tail}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def message_items(html: str) -> list[str]:
    """Each message of the case page, as its own piece of HTML, in the order shown."""
    return re.findall(r'<li class="case-message">(.*?)</li>', html, re.S)


def signing_key(session: Session, person: Inspector) -> bytes:
    key = session.get_one(Inspector, person.id).signing_key
    assert key is not None
    return key


# --- upgrading a protocol 1 case on opening ---------------------------------------------------


@pytest.fixture
def old(session: Session, world: World) -> OldCase:
    """A protocol 1 case of the unit, read by lan and hoa."""
    case = protocol_1_case(session, world.unit, [world.people["lan"], world.people["hoa"]])
    session.commit()
    return case


def test_a_reader_of_the_unit_opening_a_protocol_1_case_upgrades_it_once(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    old: OldCase,
) -> None:
    public_id = old.case.public_id
    [reply_id] = [message.id for message in old.case.messages]
    # Nobody without a wrap upgrades it, not even on the way to the 404.
    for name in ("son", "minh"):
        other = signed_in(client.application.test_client(), accounts[name])
        assert other.get(f"/cases/{public_id}").status_code == 404
    assert stored(session, public_id).protocol == 1
    assert actions(session, public_id) == []

    lan = world.people["lan"]
    html = page(signed_in(client, accounts["lan"]), public_id)
    assert PROTOCOL_1 not in html  # shown as the version 2 case it now is
    assert REPLY in html  # the old reply, carried into the transcript
    assert REPORTER_NOTE in html  # the reporter's retaliation report, still theirs
    assert UPGRADE_LABEL in html
    assert ALTERED not in html
    assert MISSING not in html
    # What protocol 1 wrote stays unsigned, and says so: the report, the old reply and
    # the reporter's retaliation report.
    assert 'id="report-unsigned"' in html
    assert f'id="message-{reply_id}-unsigned"' in html
    [incident_id] = [incident.id for incident in stored(session, public_id).retaliation_incidents]
    assert f'id="incident-{incident_id}-unsigned"' in html
    assert html.count(UNSIGNED) == 3
    assert actions(session, public_id) == [
        (lan.username, "case_upgraded"),
        (lan.username, "case_open"),
    ]
    case = stored(session, public_id)
    assert case.protocol == 2
    assert [(m.seq, m.purpose, m.inspector_id) for m in case.messages] == [
        (1, "message", lan.id),
        (2, "upgrade", lan.id),
    ]

    # The staff grounds left the code's reach: the case key no longer opens them, the
    # unit key (wrapped to the readers, never to the reporter) does, signed by lan.
    [event] = case.events
    assert event.grounds is not None
    with pytest.raises(crypto.CryptoError):
        crypto.open_json(old.case_key, Kind.NOTE, public_id, event.grounds)
    with pytest.raises(crypto.DecryptionFailed):
        bound.open_bound(old.case_key, Kind.NOTE, event.grounds, signing_key(session, lan))
    as_reporter = CaseKeys(case=old.case_key).open_note(case, event, "grounds", "grounds")
    assert as_reporter is not None
    assert as_reporter.altered
    reader = access.reader_keys(case, lan, world.key_of("lan"))
    reading = reader.open_note(case, event, "grounds", "grounds")
    assert reading is not None
    assert (reading.text(), reading.trust) == (GROUNDS, Trust.SIGNED)
    place = bound.read_place(Kind.NOTE, event.grounds)
    assert (place.facts, place.ref) == ({"carried": True}, ref_of(event))
    unit_wraps = [w for w in case.key_wraps if w.purpose is WrapPurpose.UNIT_KEY]
    kinds = {RecipientKind.INSPECTOR, RecipientKind.ESCROW}  # never the reporter
    assert {w.recipient_kind for w in unit_wraps} == kinds
    assert {w.inspector_id for w in unit_wraps} == {lan.id, world.people["hoa"].id, None}
    # What the reporter wrote stays under the case key: the reporter may read it.
    [incident] = case.retaliation_incidents
    assert incident.details is not None
    document = crypto.open_json(old.case_key, Kind.NOTE, public_id, incident.details)
    assert document["text"] == REPORTER_NOTE
    history = page(client, public_id, "/workflow")
    assert GROUNDS in history  # the unit still reads them, now signed
    assert UNSIGNED not in history

    # Opened again, by lan and by hoa: nothing more is upgraded.
    hoa = signed_in(client.application.test_client(), accounts["hoa"])
    assert GROUNDS in page(hoa, public_id, "/workflow")
    assert REPLY in page(hoa, public_id)
    assert UPGRADE_LABEL in page(client, public_id)
    done = [action for _, action in actions(session, public_id)]
    assert done.count("case_upgraded") == 1
    assert len(stored(session, public_id).messages) == 2


def test_a_reader_of_a_unit_that_forwarded_a_protocol_1_case_does_not_upgrade_it(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    old: OldCase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    public_id = old.case.public_id
    grounds = crypto.seal_json(
        old.case_key, Kind.NOTE, public_id, {"schema": 1, "text": "Thuộc thẩm quyền"}
    )
    district = forward_keeping_access(
        session, world, old.case, old.case_key, None, grounds, monkeypatch
    )
    html = page(signed_in(client, accounts["lan"]), public_id)
    assert PROTOCOL_1 in html
    assert 'id="forwarded-away"' in html
    assert REPLY in html
    history = page(client, public_id, "/workflow")
    assert GROUNDS in history  # read with the case key, as before
    assert UNSIGNED in history
    case = stored(session, public_id)
    assert case.protocol == 1
    assert [m.seq for m in case.messages] == [None]
    assert not any(w.purpose is WrapPurpose.UNIT_KEY for w in case.key_wraps)
    assert all(event.grounds is None or event.grounds[0] == 1 for event in case.events)
    assert "case_upgraded" not in {action for _, action in actions(session, public_id)}

    # A reader of the unit that holds it now does upgrade it.
    receiver = give_credentials(session, district)["lan"]
    html = page(signed_in(client.application.test_client(), receiver), public_id)
    assert PROTOCOL_1 not in html
    assert UPGRADE_LABEL in html
    case = stored(session, public_id)
    assert case.protocol == 2
    assert (receiver.username, "case_upgraded") in actions(session, public_id)
    assert {m.purpose for m in case.messages} == {"message", "upgrade"}


# --- records altered in the database ----------------------------------------------------------

STAFF_REPLY = "Chúng tôi đã nhận đơn."
REPORTER_WORDS = "Tôi gửi thêm thông tin."
NOTICE = "Đơn được thụ lý."
LAST_WORDS = "Xin cảm ơn."
TEXTS = [STAFF_REPLY, REPORTER_WORDS, NOTICE, LAST_WORDS]


@dataclass(frozen=True)
class Conversation:
    sealed: SealedCase
    messages: list[Message]  # lan's reply, the reporter's, lan's notice, the reporter's

    @property
    def public_id(self) -> str:
        return self.sealed.case.public_id


@pytest.fixture
def conversation(session: Session, world: World) -> Conversation:
    sealed = seal_case(session, world, FAST)
    case, lan, today = sealed.case, world.people["lan"], date(2026, 11, 27)
    keys = world.staff_keys(session, case, "lan", today)
    messages = [
        access.reply(session, case, lan, keys, STAFF_REPLY, today),
        reporter_entry(session, case, sealed.keys, "message", today, REPORTER_WORDS),
        access.write_staff_entry(
            session, case, lan, keys, "notice", {"schema": 1, "text": NOTICE}, today
        ),
        reporter_entry(session, case, sealed.keys, "message", today, LAST_WORDS),
    ]
    session.commit()
    return Conversation(sealed, messages)


def test_an_untouched_conversation_reads_in_order_with_its_purposes(
    client: FlaskClient, accounts: dict[str, Account], conversation: Conversation
) -> None:
    html = page(signed_in(client, accounts["lan"]), conversation.public_id)
    items = message_items(html)
    assert len(items) == 4
    for item, text in zip(items, TEXTS, strict=True):
        assert text in item
    assert "Notice to the reporter" in items[2]
    assert ALTERED not in html
    assert MISSING not in html
    assert UNSIGNED not in html  # every record of a protocol 2 case is signed


def change_message(session: Session, message: Message, **values: object) -> None:
    row = session.get_one(Message, message.id)
    for name, value in values.items():
        setattr(row, name, value)
    session.commit()


def flip_a_byte(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :]


@pytest.mark.parametrize("tampering", ["body-altered", "body-replaced", "inspector", "author"])
def test_a_message_changed_in_the_database_is_shown_altered_and_the_page_stands(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    conversation: Conversation,
    tampering: str,
) -> None:
    reply, reporters, notice, last = conversation.messages
    if tampering == "body-altered":  # a byte of the reporter's message's ciphertext
        target, text = reporters, REPORTER_WORDS
        change_message(session, target, body=flip_a_byte(target.body, len(target.body) - 100))
    elif tampering == "body-replaced":  # the reporter's later words, signed, put in its place
        target, text = reporters, REPORTER_WORDS
        change_message(session, target, body=last.body)
    elif tampering == "inspector":  # lan's notice attributed to hoa
        target, text = notice, NOTICE
        change_message(session, target, inspector_id=world.people["hoa"].id)
    else:  # lan's reply passed off as the reporter's
        target, text = reply, STAFF_REPLY
        change_message(session, target, author=Party.REPORTER, inspector_id=None)
    index = conversation.messages.index(target)
    response = signed_in(client, accounts["lan"]).get(f"/cases/{conversation.public_id}")
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    items = message_items(html)
    assert len(items) == 4
    assert ALTERED in items[index]
    assert text not in html
    assert html.count(ALTERED) == 1
    for i, (item, other) in enumerate(zip(items, TEXTS, strict=True)):
        if i != index:
            assert other in item
            assert ALTERED not in item
    # A changed envelope changes the link the next entry names, and a moved one names
    # another link itself; a changed row leaves the links as they were.
    out_of_order = {
        "body-altered": {index + 1},
        "body-replaced": {index, index + 1},
    }.get(tampering, set())
    assert {i for i, item in enumerate(items) if MISSING in item} == out_of_order
    assert html.count(MISSING) == len(out_of_order)
    assert f'id="report-{"what"}">{REPORT["what"]}</dd>' in html  # the report still reads
    assert 'id="reply"' in html


def test_a_deleted_message_marks_the_next_one_missing_or_moved(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    conversation: Conversation,
) -> None:
    session.execute(delete(Message).where(Message.id == conversation.messages[1].id))
    session.commit()
    html = page(signed_in(client, accounts["lan"]), conversation.public_id)
    items = message_items(html)
    assert len(items) == 3
    for item, text in zip(items, [STAFF_REPLY, NOTICE, LAST_WORDS], strict=True):
        assert text in item
    assert MISSING not in items[0]
    assert MISSING in items[1]  # the one after the gap, and only that one
    assert MISSING not in items[2]
    assert ALTERED not in html
    assert REPORTER_WORDS not in html


def test_a_changed_category_shows_the_report_altered(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    conversation: Conversation,
) -> None:
    case = session.get_one(Case, conversation.sealed.case.id)
    other = next(slug for slug in world.unit.categories if slug != case.category)
    case.category = other
    session.commit()
    html = page(signed_in(client, accounts["lan"]), conversation.public_id)
    assert f'<p class="notice notice-error" id="report-altered">{ALTERED}' in html
    assert REPORT["what"] not in html
    items = message_items(html)  # the conversation still reads, in order
    for item, text in zip(items, TEXTS, strict=True):
        assert text in item
    assert MISSING not in html
    assert html.count(ALTERED) == 1


def test_a_file_description_changed_in_the_database_is_shown_altered(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    settings: Settings,
) -> None:
    store = FilesystemBlobStore(settings.blob_path)
    files = [("biên lai.pdf", "application/pdf", b"%PDF-1.4"), ("ảnh.jpg", "image/jpeg", b"jpg")]
    sealed = seal_case(session, world, FAST, store=store, files=files)
    first, second = sealed.case.attachments
    row = session.get_one(Attachment, first.id)
    row.meta = flip_a_byte(row.meta, len(row.meta) - 100)
    session.commit()
    signed_in(client, accounts["lan"])
    response = client.get(f"/cases/{sealed.case.public_id}")
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    assert "A file whose description was altered in storage" in html
    assert "biên lai.pdf" not in html
    assert "Download <bdi>ảnh.jpg</bdi>" in html  # the other file still reads
    # The report names the files it carries: one changed, the report reads as altered.
    assert f'<p class="notice notice-error" id="report-altered">{ALTERED}' in html
    altered = client.get(f"/cases/{sealed.case.public_id}/files/{first.id}")
    assert altered.status_code == 422
    assert "was altered in storage" in altered.get_data(as_text=True)
    assert client.get(f"/cases/{sealed.case.public_id}/files/{second.id}").get_data() == b"jpg"
