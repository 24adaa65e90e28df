"""A case's sealed records in either protocol version: who signs, and what a reader trusts.

Protocol 2 (docs/crypto.md §13) binds every record to its place and signs it. This module
is the one place that turns a database row into the place a record must carry, finds the
key that verifies its author, and opens a record of either version into a ``Reading``:
the document, or the plain fact that the record was altered. Callers never see a
CryptoError for a stored record: a record that fails is shown as altered, never as an
error page (§13.6).

Pure Python: no Flask.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import load_only, object_session

import crypto
from crypto import bound, signing
from crypto.envelope import VERSION_2, Kind
from crypto.files import FileMeta
from crypto.places import FactValue, Place, staff_author
from crypto.transcript import file_digest, genesis, next_link
from store.models import Attachment, Case, Inspector, Message, Party

REPORTER = "reporter"
ESCROW = "escrow"


class Trust(enum.StrEnum):
    """What a reader may say about a record it found."""

    SIGNED = "signed"  # protocol 2: opened, signed by its author, in its place
    UNSIGNED = "unsigned"  # protocol 1: opened; neither signed nor bound to its place
    ALTERED = "altered"  # does not open, is not its author's, or sits in another place


@dataclass(frozen=True)
class Reading:
    document: dict[str, Any] | None  # None when altered
    trust: Trust

    @property
    def altered(self) -> bool:
        return self.trust is Trust.ALTERED

    def text(self) -> str | None:
        value = None if self.document is None else self.document.get("text")
        return value if isinstance(value, str) else None


ALTERED = Reading(None, Trust.ALTERED)


@dataclass(frozen=True)
class Signer:
    """An author and their Ed25519 key, alive for one request."""

    author: str
    key: Ed25519PrivateKey

    @classmethod
    def reporter(cls, private_key: X25519PrivateKey) -> Signer:
        """From the reporter's X25519 key, which only the follow-up code gives."""
        return cls(REPORTER, signing.signing_key(private_key))

    @classmethod
    def staff(cls, inspector: Inspector, private_key: X25519PrivateKey) -> Signer:
        """The inspector's signer; records their verifying key the first time (a keyring
        made before protocol 2), and refuses a stored key that is not theirs."""
        key = signing.signing_key(private_key)
        register_signing_key(inspector, key)
        return cls(staff_author(inspector.id), key)

    @classmethod
    def escrow(cls, case: Case, private_key: X25519PrivateKey) -> Signer:
        key = signing.signing_key(private_key)
        unit = case.unit
        expected = signing.verifying_bytes(key)
        if unit.escrow_signing_key is None:
            unit.escrow_signing_key = expected
        elif not crypto.kdf.constant_time_equal(unit.escrow_signing_key, expected):
            raise crypto.KeyMismatch("the escrow signing key on record is not this key's")
        return cls(ESCROW, key)

    @property
    def verifying_key(self) -> bytes:
        return signing.verifying_bytes(self.key)


def register_signing_key(inspector: Inspector, key: Ed25519PrivateKey) -> None:
    expected = signing.verifying_bytes(key)
    if inspector.signing_key is None:
        inspector.signing_key = expected
    elif not crypto.kdf.constant_time_equal(inspector.signing_key, expected):
        raise crypto.KeyMismatch("the signing key on record is not this inspector's")


def author_of(party: Party, inspector_id: int | None) -> str:
    """The place's ``author`` for a row's side and account."""
    if party is Party.REPORTER:
        return REPORTER
    if inspector_id is None:
        raise ValueError("a staff record names its author")
    return staff_author(inspector_id)


def verifying_key(case: Case, author: str) -> bytes | None:
    """The stored key that checks ``author``'s signature, or None if there is none."""
    if author == REPORTER:
        return case.reporter_signing_key
    if author == ESCROW:
        return case.unit.escrow_signing_key
    if author.startswith("staff/"):
        session = object_session(case)
        # The verifying key only: the submit app's role may not read sealed keyrings.
        only_key = [load_only(Inspector.signing_key)]
        person = (
            None if session is None else session.get(Inspector, int(author[6:]), options=only_key)
        )
        return None if person is None else person.signing_key
    return None


def is_v2(blob: bytes | None) -> bool:
    return bool(blob) and blob is not None and blob[0] == VERSION_2


# --- sealing ----------------------------------------------------------------------------


def seal(
    key: bytes, kind: Kind, place: Place, document: Mapping[str, Any], signer: Signer
) -> bytes:
    if place.author != signer.author:
        raise ValueError("a record is signed by the author its place names")
    return bound.seal_bound_json(key, kind, place, dict(document), signer.key)


def seal_file_meta(case_key: bytes, case_id: str, meta: FileMeta, signer: Signer) -> bytes:
    place = Place(case=case_id, purpose="file", author=signer.author)
    return seal(case_key, Kind.FILE_META, place, meta.to_json(), signer)


def file_digests(metas: Sequence[bytes]) -> tuple[str, ...]:
    """How a report or message names the files it carries (§13.3 ``files``): sorted, so
    that the order rows come back in does not matter."""
    return tuple(sorted(file_digest(meta) for meta in metas))


# --- opening ------------------------------------------------------------------------------


def open_record(
    key: bytes | None, kind: Kind, case: Case, blob: bytes | None, expected: Place | None
) -> Reading | None:
    """Open one stored record of either version; None if there is none (purged, absent).

    ``expected`` is the place the row says the record holds, author included; a protocol
    2 record is trusted only if it is signed by that author, opens, and carries exactly
    that place. A protocol 1 record is opened as before and marked unsigned.
    """
    if blob is None:
        return None
    if key is None:
        return ALTERED
    try:
        if not is_v2(blob):
            if born_signed(case):
                return ALTERED  # nothing in a case written under protocol 2 is unsigned
            document = crypto.open_json(key, kind, case.public_id, blob)
            return _reading(document, Trust.UNSIGNED)
        if expected is None:
            return ALTERED
        author_key = verifying_key(case, expected.author)
        if author_key is None:
            return ALTERED
        place, document = bound.open_bound_json(key, kind, blob, author_key)
    except crypto.CryptoError:
        return ALTERED
    return _reading(document, Trust.SIGNED) if place == expected else ALTERED


def open_file_meta(case_key: bytes, case: Case, item: Attachment) -> tuple[FileMeta | None, Trust]:
    """A file's description, or None and ALTERED."""
    expected = Place(case=case.public_id, purpose="file", author=_attachment_author(case, item))
    reading = open_record(case_key, Kind.FILE_META, case, item.meta, expected)
    if reading is None or reading.document is None:
        return None, Trust.ALTERED
    try:
        return FileMeta.from_json(reading.document), reading.trust
    except crypto.CryptoError:
        return None, Trust.ALTERED


def _attachment_author(case: Case, item: Attachment) -> str:
    """A file's author is the author of the message (or report) that carries it."""
    if item.origin is Party.REPORTER or item.message_id is None:
        return REPORTER
    message = next((m for m in case.messages if m.id == item.message_id), None)
    return REPORTER if message is None else author_of(message.author, message.inspector_id)


def _reading(document: Any, trust: Trust) -> Reading:
    return Reading(document, trust) if isinstance(document, dict) else ALTERED


def message_files(case: Case, message: Message | None) -> list[Attachment]:
    """The attachments a row links to a message (None: to the report itself)."""
    message_id = None if message is None else message.id
    return [item for item in case.attachments if item.message_id == message_id]


# --- the unit's notes, bound to their row ---------------------------------------------------

# A NOTE sealed once its row exists: its place names the row (``ref``, docs/crypto.md §13.3).
Sealer = Callable[[str], bytes]


def ref_of(row: Any) -> str:
    """``<table>/<id>``: the row a note is kept in (flushed, so that it has its id)."""
    return f"{row.__tablename__}/{row.id}"


def seal_into(row: Any, column: str, note: Sealer | bytes | None) -> None:
    """Put a note into ``row.column``: a ``Sealer`` is sealed now, with the row's own ref
    (the row is flushed first, for its id); bytes or None are stored as they are."""
    if callable(note):
        session = object_session(row)
        if session is None:
            raise ValueError("a note is sealed into a row of a session")
        session.flush()
        note = note(ref_of(row))
    setattr(row, column, note)


def born_signed(case: Case) -> bool:
    """Whether the case was written with protocol 2 from its report on. Only a case that
    arrived under protocol 1 may hold unsigned records, and only from before its upgrade.

    A report of protocol 1 is not proof enough: anyone holding the case key could put
    one in place of a signed report. So the case counts as one of protocol 1 only if its
    first signed entry, when it has one, links over that very report and the unsigned
    entries before it (docs/crypto.md §13.5)."""
    if case.body is None:
        return case.protocol >= 2
    if is_v2(case.body):
        return True
    link = next_link(genesis(case.public_id), case.body)
    for message in sorted(case.messages, key=lambda m: (m.seq is None, m.seq or 0, m.id)):
        if not is_v2(message.body):
            link = next_link(link, message.body)
            continue
        try:
            return bound.read_place(Kind.MESSAGE, message.body).prev != link.hex()
        except crypto.CryptoError:
            return True
    return False


# --- the keys a reader holds -----------------------------------------------------------------


@dataclass(frozen=True)
class CaseKeys:
    """The keys one request holds for one case: the case key always; the unit key once the
    case has one and the holder is a reader (never on the public side); the signer of
    whoever is writing."""

    case: bytes = dataclasses.field(repr=False)
    unit: bytes | None = dataclasses.field(default=None, repr=False)
    signer: Signer | None = dataclasses.field(default=None, repr=False)

    def note(
        self,
        case: Case,
        purpose: str,
        document: Mapping[str, Any],
        facts: Mapping[str, FactValue] | None = None,
    ) -> Sealer:
        """A NOTE only the unit reads, to be sealed into its row by ``seal_into``: under
        the unit key, signed by the writer, bound to the row."""
        if self.unit is None or self.signer is None:
            raise ValueError("a note is sealed by a reader holding the unit key")
        unit, signer, case_id = self.unit, self.signer, case.public_id

        def sealer(ref: str) -> bytes:
            place = Place(case_id, purpose, signer.author, facts=dict(facts or {}), ref=ref)
            return seal(unit, Kind.NOTE, place, document, signer)

        return sealer

    def open_note(self, case: Case, row: Any, column: str, purpose: str) -> Reading | None:
        """The NOTE in ``row.column``, checked: protocol 2 under the unit key, with this
        purpose and this row, signed by the staff member (or escrow) its place names. A
        protocol 1 note opens under the case key only in a case that arrived under
        protocol 1; anywhere else it is altered."""
        blob = getattr(row, column)
        if blob is None:
            return None
        if not is_v2(blob):
            return open_record(self.case, Kind.NOTE, case, blob, None)
        try:
            claimed = bound.read_place(Kind.NOTE, blob)
        except crypto.CryptoError:
            return ALTERED
        if claimed.author == REPORTER:
            return ALTERED  # a reporter's words are transcript entries, never notes
        expected = Place(
            case=case.public_id,
            purpose=purpose,
            author=claimed.author,
            facts=claimed.facts,
            ref=ref_of(row),
        )
        return open_record(self.unit, Kind.NOTE, case, blob, expected)
