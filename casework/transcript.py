"""A case's transcript on the server: appending entries and reading them back checked.

The transcript (docs/crypto.md §13.5) is the report, entry 0, then every message in
``messages.seq`` order. The server needs no key to keep it: links are hashes of the stored
envelopes, and signatures are checked with stored verifying keys. Appending takes the
case's row lock, so two writers never both take the next number; the loser is told the
conversation changed and seals again over the new head.

Pure Python: no Flask. Callers own the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import entry_facts
from casework.errors import CaseworkError
from casework.records import (
    ALTERED,
    REPORTER,
    Reading,
    Signer,
    Trust,
    author_of,
    born_signed,
    file_digests,
    message_files,
    open_record,
    seal,
    verifying_key,
)
from crypto import bound
from crypto.envelope import Kind
from crypto.places import FactValue, Place
from crypto.transcript import Position, Stored, check_order, genesis, next_link
from store.models import Attachment, Case, Message, Party

Facts = Mapping[str, FactValue]


class EntryRefused(CaseworkError):
    """An entry the server will not append: ``code`` is ``conversation_changed`` (sealed
    over an old head: read again and seal again) or ``bad_entry``."""


@dataclass(frozen=True)
class Head:
    entry: int  # the number the next entry takes
    link: bytes  # the link that entry must name as ``prev``


@dataclass(frozen=True)
class EntryReading:
    message: Message | None  # None: the report (entry 0)
    reading: Reading
    position: Position


# --- the head, and numbering the messages of a protocol 1 case ----------------------------


def lock(session: Session, case: Case) -> None:
    """Hold the case row until commit (PostgreSQL); SQLite's write transaction already
    holds the whole database."""
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def entries_of(session: Session, case: Case) -> list[Message]:
    """The case's messages, read afresh (the lock may have waited for another writer)."""
    return list(
        session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id))
    )


def number(session: Session, case: Case) -> list[Message]:
    """Give protocol 1 messages their numbers, in the order they were written, so that the
    next entry links over them (§13.7: they become carried entries)."""
    messages = entries_of(session, case)
    taken = max((m.seq or 0 for m in messages), default=0)
    for message in messages:
        if message.seq is None:
            taken += 1
            message.seq = taken
    session.flush()
    return sorted(messages, key=lambda m: m.seq or 0)


def head(case: Case, messages: Sequence[Message]) -> Head:
    if case.body is None:
        raise EntryRefused("purged", "a purged case takes no entries")
    link = next_link(genesis(case.public_id), case.body)
    for message in messages:
        link = next_link(link, message.body)
    return Head(entry=len(messages) + 1, link=link)


# --- appending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEntry:
    """What the row will say about an entry; its signed place must say the same."""

    purpose: str
    author: Party
    inspector_id: int | None = None
    files: Sequence[Attachment] = ()
    facts: Facts = dataclasses.field(default_factory=dict)

    def place(self, case: Case, at: Head) -> Place:
        return Place(
            case=case.public_id,
            purpose=self.purpose,
            author=author_of(self.author, self.inspector_id),
            entry=at.entry,
            prev=at.link.hex(),
            files=file_digests([item.meta for item in self.files]),
            facts=dict(self.facts),
        )


def seal_entry(
    session: Session,
    case: Case,
    case_key: bytes,
    entry: NewEntry,
    document: Mapping[str, Any],
    signer: Signer,
) -> bytes:
    """Seal an entry on the server (no JavaScript, or the review app) over the current
    head, holding the case's lock so that ``append`` finds the same head."""
    lock(session, case)
    at = head(case, number(session, case))
    return seal(case_key, Kind.MESSAGE, entry.place(case, at), document, signer)


def append(session: Session, case: Case, envelope: bytes, entry: NewEntry, today: date) -> Message:
    """Check a sealed entry against the head and the row it will be, then store it.

    The signature is checked here, before anything acts on the entry: a withdrawal no
    reporter signed never reaches the workflow.
    """
    lock(session, case)
    at = head(case, number(session, case))
    expected = entry.place(case, at)
    try:
        claimed = bound.read_place(Kind.MESSAGE, envelope)
    except crypto.CryptoError:
        raise EntryRefused("bad_entry", "the entry is not a version 2 message") from None
    if (claimed.entry, claimed.prev) != (expected.entry, expected.prev):
        raise EntryRefused("conversation_changed", "the entry was sealed over an older head")
    if claimed != expected:
        raise EntryRefused("bad_entry", "the entry's place is not where it would be stored")
    _check_signature(case, envelope, expected.author)
    message = Message(
        author=entry.author,
        inspector_id=entry.inspector_id,
        body=envelope,
        created_on=today,
        seq=at.entry,
        purpose=entry.purpose,
    )
    case.messages.append(message)
    session.flush()
    for item in entry.files:
        item.message_id = message.id
    session.flush()
    return message


def _check_signature(case: Case, envelope: bytes, author: str) -> None:
    key = verifying_key(case, author)
    if key is None:
        raise EntryRefused("bad_entry", "no verifying key is on record for this author")
    try:
        bound.verify_bound(Kind.MESSAGE, envelope, key)
    except crypto.CryptoError:
        raise EntryRefused("bad_entry", "the entry is not signed by its author") from None


# --- reading ------------------------------------------------------------------------------


def read(
    case: Case, case_key: bytes | None, facts: Mapping[int, Facts], only: int | None = None
) -> list[EntryReading]:
    """Every entry, opened and checked: signed, in its place, in order.

    ``facts`` gives, per message id, the facts its domain row binds (retaliation kind and
    date, ...): ``entry_facts.bound_facts``. Entry 0 is the report, or nothing once purged.
    With ``only`` (a message id), just that entry is opened; every place is still read, as
    its position depends on the entries before it.
    """
    if case.body is None:
        return []
    messages = sorted(case.messages, key=lambda m: (m.seq is None, m.seq or 0, m.id))
    envelopes = [case.body, *(m.body for m in messages)]
    places = [_claimed(kind, blob) for kind, blob in _kinds(envelopes)]
    positions = check_order(
        case.public_id, [Stored(e, p) for e, p in zip(envelopes, places, strict=True)]
    )
    out = []
    if only is None:
        out.append(EntryReading(None, _open_report(case, case_key), positions[0]))
    signed_since = 0 if born_signed(case) else _first_signed(places)
    for number, (message, place, position) in enumerate(
        zip(messages, places[1:], positions[1:], strict=True), start=1
    ):
        if only is not None and message.id != only:
            continue
        if place is None and number >= signed_since:
            # Unsigned entries are carried over from protocol 1 only, and only before the
            # first signed one: anything unsigned after it was written by someone else.
            out.append(EntryReading(message, ALTERED, position))
            continue
        reading = _open_message(case, case_key, message, place, facts.get(message.id, {}))
        out.append(EntryReading(message, reading, position))
    return out


def _first_signed(places: Sequence[Place | None]) -> int:
    """The number of the first entry of protocol 2 (the length if there is none)."""
    return next((i for i, place in enumerate(places) if place is not None), len(places))


def _kinds(envelopes: Sequence[bytes]) -> list[tuple[Kind, bytes]]:
    return [(Kind.REPORT if i == 0 else Kind.MESSAGE, blob) for i, blob in enumerate(envelopes)]


def _claimed(kind: Kind, blob: bytes) -> Place | None:
    """The place an entry claims (checked when it is opened), or None for protocol 1."""
    if not blob or blob[0] != 2:
        return None
    try:
        return bound.read_place(kind, blob)
    except crypto.CryptoError:
        # A damaged place: judged out of order here, and altered when opened.
        return Place(case="-", purpose="report" if kind is Kind.REPORT else "message", author="-")


def report_reading(case: Case, case_key: bytes | None) -> Reading:
    """Entry 0 alone, checked in its place (category, files); no report once purged. The
    messages are neither opened nor verified: a page showing only the report needs none."""
    if case.body is None:
        return Reading(None, Trust.UNSIGNED)
    return _open_report(case, case_key)


def _open_report(case: Case, case_key: bytes | None) -> Reading:
    expected = Place(
        case=case.public_id,
        purpose="report",
        author=REPORTER,
        entry=0,
        prev=genesis(case.public_id).hex(),
        files=file_digests([item.meta for item in message_files(case, None)]),
        facts={"category": case.category},
    )
    return open_record(case_key, Kind.REPORT, case, case.body, expected) or ALTERED


def _open_message(
    case: Case, case_key: bytes | None, message: Message, claimed: Place | None, facts: Facts
) -> Reading:
    if claimed is None:  # protocol 1: as it always was read
        return open_record(case_key, Kind.MESSAGE, case, message.body, None) or ALTERED
    expected = Place(
        case=case.public_id,
        purpose=message.purpose,
        author=author_of(message.author, message.inspector_id),
        entry=message.seq,
        prev=claimed.prev,  # judged by the chain, not by the row
        files=file_digests([item.meta for item in message_files(case, message)]),
        facts=dict(facts),
    )
    reading = open_record(case_key, Kind.MESSAGE, case, message.body, expected)
    return ALTERED if reading is None or reading.trust is not Trust.SIGNED else reading


def read_checked(case: Case, case_key: bytes | None, only: int | None = None) -> list[EntryReading]:
    """``read`` with the facts the case's own rows bind."""
    return read(case, case_key, entry_facts.bound_facts(case), only)


def entry_reading(case: Case, case_key: bytes | None, message_id: int) -> Reading:
    """One message's reading, checked in its place in the transcript (a domain row that
    names it shows its words: a withdrawal's reasons, a retaliation report). Only that
    entry is decrypted and verified, so a page showing many rows does not redo them all."""
    found = read_checked(case, case_key, only=message_id)
    return found[0].reading if found else ALTERED
