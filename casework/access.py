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
from casework.errors import CaseworkError
from casework.recipients import CASE_READERS, IDENTITY_READERS
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
    envelope = crypto.wrap(
        case_key,
        crypto.load_public_key(grantee.public_key),
        crypto.Purpose.CASE_KEY,
        case.public_id,
    )
    wrap = KeyWrap(
        purpose=WrapPurpose.CASE_KEY,
        recipient_kind=RecipientKind.INSPECTOR,
        inspector_id=grantee.id,
        wrapped=envelope,
        created_on=today,
    )
    case.key_wraps.append(wrap)
    session.flush()
    return wrap


def revoke(session: Session, case: Case, revoker: Inspector, person_id: int) -> Inspector:
    """Delete ``person_id``'s wrap of the case key, as ``revoker`` asks (check_revoke's
    rules). The identity key's wraps are never touched here: a custodian who is given the
    case again can open the identity again, and the identity is given or taken only on
    the custodian path (``casework.custody``, a forward with the identity)."""
    person = check_revoke(case, revoker, person_id)
    wrap = inspector_wrap(case, person.id)
    assert wrap is not None  # check_revoke found them among the readers
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
    name: str | None  # None: the description does not open
    type: str | None
    size: int | None
    origin: Party


@dataclass(frozen=True)
class OpenedMessage:
    id: int
    author: Party
    inspector: Inspector | None
    created_on: date
    text: str | None  # None: the message does not open
    files: tuple[OpenedFile, ...]


def open_report(case_key: bytes, case: Case) -> dict[str, Any] | None:
    """The REPORT document, or None if it is purged or does not open."""
    if case.body is None:
        return None
    try:
        document = crypto.open_json(case_key, crypto.Kind.REPORT, case.public_id, case.body)
    except crypto.CryptoError:
        return None
    return document if isinstance(document, dict) else None


def open_file(case_key: bytes, case: Case, item: Attachment) -> OpenedFile:
    try:
        meta = crypto.open_file_meta(case_key, case.public_id, item.meta)
    except crypto.CryptoError:
        return OpenedFile(item.id, None, None, None, item.origin)
    return OpenedFile(item.id, meta.name, meta.type, meta.size, item.origin)


def report_files(case_key: bytes, case: Case) -> list[OpenedFile]:
    """The files sent with the report itself (not with a later message)."""
    return [open_file(case_key, case, item) for item in case.attachments if item.message_id is None]


def open_messages(case_key: bytes, case: Case) -> list[OpenedMessage]:
    files: dict[int, list[OpenedFile]] = {}
    for item in case.attachments:
        if item.message_id is not None:
            files.setdefault(item.message_id, []).append(open_file(case_key, case, item))
    return [
        OpenedMessage(
            id=message.id,
            author=message.author,
            inspector=message.inspector,
            created_on=message.created_on,
            text=_text_of(case_key, crypto.Kind.MESSAGE, case.public_id, message.body),
            files=tuple(files.get(message.id, ())),
        )
        for message in case.messages
    ]


def open_note(case_key: bytes, case: Case, blob: bytes | None) -> str | None:
    """A NOTE's text (retaliation details, protection details); None if absent or unreadable."""
    if blob is None:
        return None
    return _text_of(case_key, crypto.Kind.NOTE, case.public_id, blob)


def seal_note(case_key: bytes, case: Case, text: str, **fields: Any) -> bytes:
    """Seal text (a decision's grounds, a reporter's note) as a NOTE ``{"schema": 1,
    "text", ...fields}``: the shape ``open_note`` and the reporter's browser read."""
    return seal_document(case_key, case, {"schema": 1, "text": text, **fields})


def seal_document(case_key: bytes, case: Case, document: Mapping[str, Any]) -> bytes:
    """Seal a NOTE document of any shape under the case key."""
    return crypto.seal_json(case_key, crypto.Kind.NOTE, case.public_id, dict(document))


def _text_of(case_key: bytes, kind: crypto.Kind, case_id: str, blob: bytes) -> str | None:
    try:
        document = crypto.open_json(case_key, kind, case_id, blob)
    except crypto.CryptoError:
        return None
    text = document.get("text") if isinstance(document, dict) else None
    return text if isinstance(text, str) else None


def case_file(case: Case, attachment_id: int) -> Attachment | None:
    return next((item for item in case.attachments if item.id == attachment_id), None)


# --- replying and read markers ----------------------------------------------------------


def check_reply(text: str) -> str:
    """The reply as it will be sealed; refuses an empty or over-long one."""
    if not text.strip():
        raise AccessError("empty", "the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise AccessError("too_long", f"a reply has at most {MAX_REPLY_CHARS} characters")
    return text


def reply(
    session: Session, case: Case, author: Inspector, case_key: bytes, text: str, today: date
) -> Message:
    """Seal an inspector's MESSAGE ``{"schema": 1, "text"}``; the reporter opens it with
    the code, every reader of the case with their own wrap."""
    document = {"schema": 1, "text": check_reply(text)}
    body = crypto.seal_json(case_key, crypto.Kind.MESSAGE, case.public_id, document)
    message = Message(author=Party.INSPECTOR, inspector_id=author.id, body=body, created_on=today)
    case.messages.append(message)
    session.flush()
    return message


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
