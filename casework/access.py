"""Who may read a case, and what they read: opening, granting, revoking, replying.

A case is readable by exactly the people who hold a wrap of its case key. Opening a case
means unwrapping one's own wrap with one's private key; granting means re-wrapping the
case key to another reader of the unit (docs/crypto.md §3); revoking deletes a person's
wrap of the case key, never of the identity key (docs/identity-custody.md, "Who may take
a case away"). The reporter's conflict-of-interest exclusions bind every grant, not only
the first wraps written at submission. Only the unit that holds a case acts on it: a unit
that forwarded it and kept read access reads it, nothing more (``acts_on``).

Everything decrypted here lives in memory for one request only: callers render it and
let it go. Pure Python: no Flask. Callers own the transaction and commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import records, transcript
from casework.errors import CaseworkError
from casework.intake import MAX_ATTACHMENTS, AttachmentIn
from casework.recipients import CASE_READERS, IDENTITY_READERS
from casework.records import CaseKeys, Reading, Sealer, Trust
from crypto.transcript import Position
from store.models import (
    Attachment,
    Case,
    CaseRead,
    Inspector,
    InspectorRole,
    KeyWrap,
    Message,
    Party,
    RecipientKind,
    WrapPurpose,
)

MAX_REPLY_CHARS = 20_000  # the same limit as every text a reporter writes
REPORT_FIELDS = ("what", "who", "where", "when", "how_known", "evidence")


class AccessError(CaseworkError):
    """A refused grant, revoke or reply; ``code`` is stable, the message is for logs."""


class NoAccess(AccessError):
    """This person holds no usable wrap of the case key (or the case does not exist).

    Views answer 404 for it: whether a case exists is itself not for everyone to know.
    """

    def __init__(self) -> None:
        super().__init__("no_access", "no usable case key wrap for this person")


# --- opening a case (find it with ``followup.get_case``: the same unit, not purged) ------


_PURPOSES = {
    WrapPurpose.CASE_KEY: (crypto.Purpose.CASE_KEY, CASE_READERS),
    WrapPurpose.IDENTITY_KEY: (crypto.Purpose.IDENTITY_KEY, IDENTITY_READERS),
    WrapPurpose.UNIT_KEY: (crypto.Purpose.UNIT_KEY, CASE_READERS),
}


def inspector_wrap(
    case: Case, inspector_id: int, purpose: WrapPurpose = WrapPurpose.CASE_KEY
) -> KeyWrap | None:
    for wrap in case.key_wraps:
        if (
            wrap.recipient_kind is RecipientKind.INSPECTOR
            and wrap.purpose is purpose
            and wrap.inspector_id == inspector_id
        ):
            return wrap
    return None


def identity_wrap(case: Case, inspector_id: int) -> KeyWrap | None:
    return inspector_wrap(case, inspector_id, WrapPurpose.IDENTITY_KEY)


def open_case_key(case: Case, inspector: Inspector, private_key: X25519PrivateKey) -> bytes:
    """This inspector's case key; NoAccess if they hold no wrap, or one that does not open
    (a wrap to an earlier key of theirs, say), or if they may not read cases at all."""
    return _open_key(case, inspector, private_key, WrapPurpose.CASE_KEY)


def open_identity_key(case: Case, inspector: Inspector, private_key: X25519PrivateKey) -> bytes:
    """This custodian's identity key for the case; NoAccess for anyone holding no wrap."""
    return _open_key(case, inspector, private_key, WrapPurpose.IDENTITY_KEY)


def open_unit_key(case: Case, inspector: Inspector, private_key: X25519PrivateKey) -> bytes | None:
    """This reader's unit key (docs/crypto.md §13.1), or None while the case has none."""
    if inspector_wrap(case, inspector.id, WrapPurpose.UNIT_KEY) is None:
        return None
    return _open_key(case, inspector, private_key, WrapPurpose.UNIT_KEY)


def ensure_unit_key(
    session: Session, case: Case, inspector: Inspector, private_key: X25519PrivateKey, today: date
) -> bytes:
    """The case's unit key, made now if the case has none yet: wrapped to everyone who
    holds the case key and to the unit's escrow key, never to the reporter. The case row
    is locked first, so two first notes written at once make one key."""
    open_case_key(case, inspector, private_key)  # only a reader may make or open it
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    session.refresh(case, ["key_wraps"])
    existing = open_unit_key(case, inspector, private_key)
    if existing is not None:
        return existing
    if any(wrap.purpose is WrapPurpose.UNIT_KEY for wrap in case.key_wraps):
        raise NoAccess()  # a unit key exists and this reader was not given it
    return create_unit_key(session, case, today)


def create_unit_key(session: Session, case: Case, today: date) -> bytes:
    """Make the case's unit key and wrap it to every case key holder and the escrow key.
    The caller holds the case's lock and has checked that it has none yet."""
    unit_key = crypto.random_key()
    for person in readers(case):
        _add_wrap(case, WrapPurpose.UNIT_KEY, unit_key, RecipientKind.INSPECTOR, person, today)
    if case.unit.escrow_public_key is not None:
        _add_wrap(case, WrapPurpose.UNIT_KEY, unit_key, RecipientKind.ESCROW, None, today)
    session.flush()
    return unit_key


def _add_wrap(
    case: Case,
    purpose: WrapPurpose,
    key: bytes,
    kind: RecipientKind,
    person: Inspector | None,
    today: date,
) -> KeyWrap:
    public_key = case.unit.escrow_public_key if person is None else person.public_key
    if public_key is None:
        raise AccessError("no_escrow", "the unit has no escrow key")
    crypto_purpose, _roles = _PURPOSES[purpose]
    wrap = KeyWrap(
        purpose=purpose,
        recipient_kind=kind,
        inspector_id=None if person is None else person.id,
        wrapped=crypto.wrap(
            key, crypto.load_public_key(public_key), crypto_purpose, case.public_id
        ),
        created_on=today,
    )
    case.key_wraps.append(wrap)
    return wrap


def _open_key(
    case: Case, inspector: Inspector, private_key: X25519PrivateKey, purpose: WrapPurpose
) -> bytes:
    crypto_purpose, roles = _PURPOSES[purpose]
    wrap = inspector_wrap(case, inspector.id, purpose)
    if wrap is None or not inspector.active or inspector.role not in roles:
        raise NoAccess()
    try:
        return crypto.unwrap(wrap.wrapped, private_key, crypto_purpose, case.public_id)
    except crypto.CryptoError:
        raise NoAccess() from None


def readers(case: Case) -> list[Inspector]:
    """The people holding a case key wrap, in the order they got it."""
    return [
        wrap.inspector
        for wrap in case.key_wraps
        if wrap.recipient_kind is RecipientKind.INSPECTOR
        and wrap.purpose is WrapPurpose.CASE_KEY
        and wrap.inspector is not None
    ]


def excluded(case: Case) -> list[Inspector]:
    """The people the reporter excluded for a conflict of interest."""
    return sorted((item.inspector for item in case.exclusions), key=lambda person: person.id)


def grantable(session: Session, case: Case) -> list[Inspector]:
    """Active inspectors and custodians of the case's unit who could be granted the case:
    not excluded by the reporter, not readers already."""
    taken = {person.id for person in readers(case)} | {p.id for p in excluded(case)}
    candidates = session.scalars(
        select(Inspector)
        .where(
            Inspector.unit_id == case.unit_id,
            Inspector.active.is_(True),
            Inspector.role.in_(sorted(CASE_READERS)),
        )
        .order_by(Inspector.id)
    ).all()
    return [person for person in candidates if person.id not in taken]


# --- granting and revoking --------------------------------------------------------------


def grant(
    session: Session,
    case: Case,
    granter: Inspector,
    private_key: X25519PrivateKey,
    grantee_id: int,
    today: date,
) -> KeyWrap:
    """Wrap the case key to ``grantee_id``, who must be an active reader of the unit, not
    excluded by the reporter, and not a reader already. The granter must hold the key."""
    case_key = open_case_key(case, granter, private_key)
    grantee = session.get(Inspector, grantee_id)
    if grantee is None or grantee.unit_id != case.unit_id:
        raise AccessError("unknown_person", "no such person in this unit")
    if any(person.id == grantee.id for person in excluded(case)):
        raise AccessError("excluded", "the reporter excluded this person from the case")
    if not grantee.active or grantee.role not in CASE_READERS:
        raise AccessError("not_a_reader", "this person cannot read cases")
    if inspector_wrap(case, grantee.id) is not None:
        raise AccessError("already_reader", "this person can already read the case")
    unit_key = open_unit_key(case, granter, private_key)
    wrap = _add_wrap(case, WrapPurpose.CASE_KEY, case_key, RecipientKind.INSPECTOR, grantee, today)
    if unit_key is not None:  # whoever reads the case reads the unit's notes on it
        _add_wrap(case, WrapPurpose.UNIT_KEY, unit_key, RecipientKind.INSPECTOR, grantee, today)
    session.flush()
    return wrap


def revoke(session: Session, case: Case, revoker: Inspector, person_id: int) -> Inspector:
    """Delete ``person_id``'s wrap of the case key, as ``revoker`` asks (check_revoke's
    rules). The identity key's wraps are never touched here: a custodian who is given the
    case again can open the identity again, and the identity is given or taken only on
    the custodian path (``casework.custody``, a forward with the identity)."""
    person = check_revoke(case, revoker, person_id)
    for purpose in (WrapPurpose.CASE_KEY, WrapPurpose.UNIT_KEY):
        wrap = inspector_wrap(case, person.id, purpose)
        if wrap is not None:
            case.key_wraps.remove(wrap)
    session.flush()
    return person


def check_revoke(case: Case, revoker: Inspector, person_id: int) -> Inspector:
    """The reader ``revoker`` may take the case from, or why not (the confirmation page
    asks this before anything changes).

    NoAccess if the revoker reads no case key; AccessError ``not_a_reader`` if the person
    holds none either; ``custodian`` if the person is a custodian and the revoker is not
    (an inspector must not cut the head's custodians off a case, least of all a named
    one); ``last_reader`` if nobody else active could still open the case afterwards: a
    case nobody in the unit can open would be handled by nobody.
    """
    current = readers(case)
    if not any(person.id == revoker.id for person in current):
        raise NoAccess()
    person = next((p for p in current if p.id == person_id), None)
    if person is None:
        raise AccessError("not_a_reader", "this person cannot read the case")
    if not _may_revoke(revoker, person):
        raise AccessError("custodian", "only a custodian can take a custodian off a case")
    if not any(other.active and other.id != person.id for other in current):
        raise AccessError("last_reader", "the last reader of a case cannot be removed")
    return person


def revocable(case: Case, revoker: Inspector) -> list[Inspector]:
    """The readers ``revoker`` may take the case from, in reader order (for the page)."""
    found = []
    for person in readers(case):
        try:
            found.append(check_revoke(case, revoker, person.id))
        except AccessError:
            continue
    return found


def _may_revoke(revoker: Inspector, person: Inspector) -> bool:
    # Custodians may take anyone off a case (themselves included); inspectors only
    # inspectors, themselves included.
    return person.role is not InspectorRole.CUSTODIAN or revoker.role is InspectorRole.CUSTODIAN


def acts_on(case: Case, person: Inspector) -> bool:
    """Whether ``person`` may change the case (reply, grant, revoke, take a workflow
    step, record protection): only people of the unit that holds it now. After a forward
    the sending unit may keep read access (its profile's choice), never more."""
    return case.unit_id == person.unit_id


# --- reading what the case holds --------------------------------------------------------


@dataclass(frozen=True)
class OpenedFile:
    id: int
    name: str | None  # None: the description does not open, or was altered
    type: str | None
    size: int | None
    origin: Party
    trust: Trust = Trust.UNSIGNED


@dataclass(frozen=True)
class OpenedMessage:
    id: int
    author: Party
    inspector: Inspector | None
    created_on: date
    text: str | None  # None: the message was altered (does not open, or not as written)
    files: tuple[OpenedFile, ...]
    purpose: str = "message"
    trust: Trust = Trust.UNSIGNED
    position: Position = Position.CARRIED

    @property
    def altered(self) -> bool:
        return self.trust is Trust.ALTERED

    @property
    def out_of_order(self) -> bool:
        return self.position is Position.OUT_OF_ORDER


def open_report(case_key: bytes, case: Case) -> dict[str, Any] | None:
    """The REPORT document, or None if it is purged or was altered."""
    return checked_report(case_key, case).document


def checked_report(case_key: bytes, case: Case) -> Reading:
    """The REPORT, checked as entry 0 of the transcript (its category, its files)."""
    return transcript.report_reading(case, case_key)


def open_file(case_key: bytes, case: Case, item: Attachment) -> OpenedFile:
    meta, trust = records.open_file_meta(case_key, case, item)
    if meta is None:
        return OpenedFile(item.id, None, None, None, item.origin, Trust.ALTERED)
    return OpenedFile(item.id, meta.name, meta.type, meta.size, item.origin, trust)


def report_files(case_key: bytes, case: Case) -> list[OpenedFile]:
    """The files sent with the report itself (not with a later message)."""
    return [open_file(case_key, case, item) for item in case.attachments if item.message_id is None]


def open_messages(case_key: bytes, case: Case) -> list[OpenedMessage]:
    """Every message, in transcript order, each checked (signed, in its place, in order)."""
    files: dict[int, list[OpenedFile]] = {}
    for item in case.attachments:
        if item.message_id is not None:
            files.setdefault(item.message_id, []).append(open_file(case_key, case, item))
    return [
        OpenedMessage(
            id=entry.message.id,
            author=entry.message.author,
            inspector=entry.message.inspector,
            created_on=entry.message.created_on,
            text=entry.reading.text() if not entry.reading.altered else None,
            files=tuple(files.get(entry.message.id, ())),
            purpose=entry.message.purpose,
            trust=entry.reading.trust,
            position=entry.position,
        )
        for entry in transcript.read_checked(case, case_key)
        if entry.message is not None
    ]


def open_note(keys: CaseKeys, case: Case, row: Any, column: str, purpose: str) -> Reading | None:
    """The NOTE in ``row.column`` (grounds, protection details, an incident's assessment)
    of either protocol version, checked against its row; None if there is none."""
    return keys.open_note(case, row, column, purpose)


def seal_note(keys: CaseKeys, case: Case, purpose: str, text: str, **fields: Any) -> Sealer:
    """Text (a decision's grounds, an inspector's note) as a NOTE ``{"schema": 1, "text",
    ...fields}`` only the unit reads (docs/crypto.md §13.1), sealed into its row when the
    row exists (``records.seal_into``; the workflow does it for grounds)."""
    return keys.note(case, purpose, {"schema": 1, "text": text, **fields})


def case_file(case: Case, attachment_id: int) -> Attachment | None:
    return next((item for item in case.attachments if item.id == attachment_id), None)


# --- replying and read markers ----------------------------------------------------------


def check_reply(text: str, *, with_files: bool = False) -> str:
    """The reply as it will be sealed; refuses an over-long one, and an empty one unless
    it carries files (a file may be the whole answer, as on the reporter's side)."""
    if not text.strip() and not with_files:
        raise AccessError("empty", "the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise AccessError("too_long", f"a reply has at most {MAX_REPLY_CHARS} characters")
    return text


def reply(
    session: Session,
    case: Case,
    author: Inspector,
    keys: CaseKeys,
    text: str,
    today: date,
    files: Sequence[AttachmentIn] = (),
) -> Message:
    """Seal an inspector's MESSAGE ``{"schema": 1, "text", "attachments"}`` as the next
    transcript entry, signed by them; the reporter opens it with the code, every reader
    with their wrap. ``files`` are already encrypted under the case key into the blob
    store (``casework.sealing.FileSealer`` with this author's signer); the message names
    them by id, and its signed place by their descriptions."""
    text = check_reply(text, with_files=bool(files))
    if len(files) > MAX_ATTACHMENTS:
        raise AccessError("too_many_files", f"at most {MAX_ATTACHMENTS} files per message")
    rows = [item.row(Party.INSPECTOR, today) for item in files]
    case.attachments.extend(rows)
    session.flush()  # ids, for the document to name
    document: dict[str, Any] = {"schema": 1, "text": text}
    if rows:
        document["attachments"] = [row.id for row in rows]
    return write_staff_entry(session, case, author, keys, "message", document, today, rows)


def write_staff_entry(
    session: Session,
    case: Case,
    author: Inspector,
    keys: CaseKeys,
    purpose: str,
    document: Mapping[str, Any],
    today: date,
    files: Sequence[Attachment] = (),
) -> Message:
    """A staff member's transcript entry (a message, a notice to the reporter), sealed
    under the case key: the reporter reads it, and downloads its ``files``."""
    if keys.signer is None:
        raise ValueError("a staff entry needs its author's signer")
    entry = transcript.NewEntry(purpose, Party.INSPECTOR, inspector_id=author.id, files=files)
    envelope = transcript.seal_entry(session, case, keys.case, entry, document, keys.signer)
    return transcript.append(session, case, envelope, entry, today)


def unread_since(session: Session, case: Case, inspector: Inspector) -> int | None:
    """The highest message id this person had read before now (None: never opened)."""
    marker = session.get(CaseRead, (inspector.id, case.id))
    return None if marker is None else (marker.last_read_message_id or 0)


def mark_read(
    session: Session, case: Case, inspector: Inspector, messages: Sequence[Message], now: datetime
) -> CaseRead:
    """Record that this person has now seen every message shown to them."""
    marker = session.get(CaseRead, (inspector.id, case.id))
    if marker is None:
        marker = CaseRead(inspector_id=inspector.id, case_id=case.id)
        session.add(marker)
    newest = max((message.id for message in messages), default=None)
    if newest is not None and (marker.last_read_message_id or 0) < newest:
        marker.last_read_message_id = newest
    marker.last_opened_at = now
    session.flush()
    return marker


# --- the keys of one request ------------------------------------------------------------


def reader_keys(case: Case, inspector: Inspector, private_key: X25519PrivateKey) -> CaseKeys:
    """What a reader holds for a case: its case key, its unit key if it has one yet, and
    their own signer (NoAccess without a usable case key wrap)."""
    return CaseKeys(
        case=open_case_key(case, inspector, private_key),
        unit=open_unit_key(case, inspector, private_key),
        signer=records.Signer.staff(inspector, private_key),
    )


def writer_keys(
    session: Session, case: Case, inspector: Inspector, private_key: X25519PrivateKey, today: date
) -> CaseKeys:
    """``reader_keys`` for someone about to write: the case gets its unit key now if it
    has none, so that every note they seal is out of the reporter's reach."""
    keys = reader_keys(case, inspector, private_key)
    if keys.unit is not None:
        return keys
    unit_key = ensure_unit_key(session, case, inspector, private_key, today)
    return CaseKeys(case=keys.case, unit=unit_key, signer=keys.signer)
