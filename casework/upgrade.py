"""Moving a case of protocol 1 to protocol 2 (docs/crypto.md §13.7).

Protocol 1 sealed the unit's own notes under the case key, which the reporter's code also
opens. Upgrading takes them out of the code's reach: each note staff wrote is opened with
the case key and sealed again under a new unit key, signed by whoever upgrades, and marked
as carried over. The messages get their numbers in the transcript; what the reporter
wrote stays as it was (the reporter may read it anyway), unsigned.

Run by a reader of the unit that holds the case when they open it in the review app
(``by_reader``), or by ``minhbach cases upgrade`` with the escrow key (``by_escrow``).
Pure Python: no Flask. The caller commits and audits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from casework import access, transcript
from casework.protection import DOCUMENT
from casework.records import CaseKeys, Signer, seal_into
from crypto.envelope import Kind
from store.models import ActorKind, Case, Inspector, Party, RecipientKind, WrapPurpose

CARRIED = {"carried": True}


def by_reader(
    session: Session, case: Case, inspector: Inspector, private_key: X25519PrivateKey, today: date
) -> bool:
    """Upgrade as this reader (who must act on the case); False if it was already done."""
    if case.protocol >= 2:
        return False
    keys = access.writer_keys(session, case, inspector, private_key, today)
    transcript.lock(session, case)
    session.refresh(case, ["protocol"])
    if case.protocol >= 2:  # another reader upgraded it while this one waited for the lock
        return False
    _carry_notes(case, keys)
    entry = transcript.NewEntry("upgrade", Party.INSPECTOR, inspector_id=inspector.id)
    document = {"schema": 1, "text": ""}
    assert keys.signer is not None  # writer_keys always signs
    envelope = transcript.seal_entry(session, case, keys.case, entry, document, keys.signer)
    transcript.append(session, case, envelope, entry, today)
    case.protocol = 2
    session.flush()
    return True


def by_escrow(session: Session, case: Case, escrow_key: X25519PrivateKey, today: date) -> bool:
    """Upgrade with the unit's escrow key; the carried notes are signed as ``escrow``. No
    upgrade entry is written (entries are a reporter's or a staff member's): the first
    entry after the upgrade covers the carried ones."""
    if case.protocol >= 2:
        return False
    case_key = _escrow_unwrap(case, escrow_key, WrapPurpose.CASE_KEY, crypto.Purpose.CASE_KEY)
    transcript.lock(session, case)
    unit_key = _escrow_unit_key(session, case, escrow_key, today)
    keys = CaseKeys(case=case_key, unit=unit_key, signer=Signer.escrow(case, escrow_key))
    _carry_notes(case, keys)
    transcript.number(session, case)
    case.protocol = 2
    session.flush()
    return True


def _carry_notes(case: Case, keys: CaseKeys) -> None:
    for row, column, purpose in _staff_notes(case):
        blob = getattr(row, column)
        if blob is None or blob[0] != 1:
            continue
        try:
            document: Any = crypto.open_json(keys.case, Kind.NOTE, case.public_id, blob)
        except crypto.CryptoError:
            continue  # altered already: left as found, and shown as altered
        if isinstance(document, dict) and _written_by_staff(purpose, document):
            seal_into(row, column, keys.note(case, purpose, document, CARRIED))


def _staff_notes(case: Case) -> Iterator[tuple[object, str, str]]:
    """Every NOTE the unit wrote, by row, column and protocol 2 purpose."""
    for event in case.events:
        if event.actor_kind is ActorKind.INSPECTOR:
            yield event, "grounds", "grounds"
    for record in case.protections:
        yield record, "details", "protection"
    for incident in case.retaliation_incidents:
        if incident.source is Party.INSPECTOR:
            yield incident, "details", "incident"
        for note in incident.notes:
            if note.source is Party.INSPECTOR:
                yield note, "details", "incident-note"


def _written_by_staff(purpose: str, document: dict[str, Any]) -> bool:
    """A protection record's details are the reporter's request (``{"text"}``) until a
    step by the unit replaces them with the unit's own document, marked by its ``kind``."""
    return purpose != "protection" or document.get("kind") == DOCUMENT


def _escrow_unwrap(
    case: Case, escrow_key: X25519PrivateKey, purpose: WrapPurpose, crypto_purpose: crypto.Purpose
) -> bytes:
    for wrap in case.key_wraps:
        if wrap.recipient_kind is RecipientKind.ESCROW and wrap.purpose is purpose:
            return crypto.unwrap(wrap.wrapped, escrow_key, crypto_purpose, case.public_id)
    raise access.NoAccess()


def _escrow_unit_key(
    session: Session, case: Case, escrow_key: X25519PrivateKey, today: date
) -> bytes:
    if any(wrap.purpose is WrapPurpose.UNIT_KEY for wrap in case.key_wraps):
        return _escrow_unwrap(case, escrow_key, WrapPurpose.UNIT_KEY, crypto.Purpose.UNIT_KEY)
    return access.create_unit_key(session, case, today)
