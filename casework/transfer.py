"""Forwarding a case to the competent body (*chuyển đơn*).

The case key, and the unit key once the case has one (docs/crypto.md §13.1), are wrapped
afresh to the receiving unit's readers and escrow key; the case
row moves there and enters that unit's first status, so its clocks follow the receiving
unit's profile from the day of arrival. The sending unit keeps a ``CaseTransfer`` record
and, only if its own profile says so, its readers' key wraps (read access, no more).
The reporter's wrap never changes: the same code keeps opening the case, and the follow-up
page of the sending unit still finds it (casework.followup).

The identity key goes along only when a custodian forwards (only custodians can open it);
otherwise the receiving unit works without the reporter's identity, which stays with the
sending unit's custodians, and the record says so.

Pure Python: no Flask. The caller owns the transaction and seals the grounds.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import workflow
from casework.errors import CaseworkError
from casework.recipients import Recipient, unit_recipients
from casework.records import Sealer
from casework.sealing import CRYPTO_PURPOSE
from store.models import (
    Case,
    CaseTransfer,
    Inspector,
    KeyWrap,
    RecipientKind,
    Unit,
    WrapPurpose,
)

FORWARDED = "forwarded"


class TransferError(CaseworkError):
    """A forward that cannot be made; nothing has changed."""


def destinations(session: Session, case: Case) -> list[Unit]:
    """Units a case can be forwarded to: every other unit with someone to read it."""
    units = session.scalars(select(Unit).where(Unit.id != case.unit_id).order_by(Unit.name))
    return [unit for unit in units if unit_recipients(session, unit).readers]


def forward(
    session: Session,
    case: Case,
    *,
    to_unit: Unit,
    inspector: Inspector,
    case_key: bytes,
    unit_key: bytes | None,
    identity_key: bytes | None,
    grounds: bytes | Sealer,
    today: date,
    now: datetime,
) -> CaseTransfer:
    """Forward ``case`` to ``to_unit`` (the sending inspector holds ``case_key``)."""
    sender = case.unit
    if to_unit.id == sender.id:
        raise TransferError("same_unit", "a case cannot be forwarded to its own unit")
    recipients = unit_recipients(session, to_unit)
    if not recipients.readers:
        raise TransferError("no_readers", f"{to_unit.name} has nobody who can read cases yet")
    keeps_access = workflow.profile_of(case).forward_keeps_read_access
    workflow.transition(
        case,
        FORWARDED,
        today=today,
        inspector=inspector,
        now=now,
        grounds=grounds,
        data={"to_unit": to_unit.slug, "identity_forwarded": identity_key is not None},
    )
    _drop_sender_wraps(case, keeps_access, identity_moves=identity_key is not None)
    session.flush()  # one escrow wrap per key: the old one must be gone before the new
    reporter_key = _reporter_key(case)
    _wrap_all(
        case,
        WrapPurpose.CASE_KEY,
        case_key,
        recipients.expected(WrapPurpose.CASE_KEY, (), reporter_key),
        today,
    )
    if unit_key is not None:
        for_unit_key = recipients.expected(WrapPurpose.CASE_KEY, (), reporter_key)
        _wrap_all(case, WrapPurpose.UNIT_KEY, unit_key, for_unit_key, today)
    if identity_key is not None:
        identity_recipients = recipients.expected(WrapPurpose.IDENTITY_KEY, (), reporter_key)
        _wrap_all(case, WrapPurpose.IDENTITY_KEY, identity_key, identity_recipients, today)
    record = CaseTransfer(
        from_unit=sender,
        to_unit=to_unit,
        inspector=inspector,
        forwarded_on=today,
        sender_keeps_access=keeps_access,
    )
    case.transfers.append(record)
    case.unit = to_unit
    session.flush()
    workflow.arrive(case, today=today)
    session.flush()
    return record


def sent_by(session: Session, unit: Unit) -> list[CaseTransfer]:
    """The sending unit's record of what it forwarded, newest first."""
    return list(
        session.scalars(
            select(CaseTransfer)
            .where(CaseTransfer.from_unit_id == unit.id)
            .order_by(CaseTransfer.id.desc())
        )
    )


def _drop_sender_wraps(case: Case, keeps_access: bool, identity_moves: bool) -> None:
    """Make room for the receiving unit's wraps.

    A case has one escrow wrap per key, so the sender's goes wherever the key moves; its
    readers' wraps go unless the profile lets them keep read access. When the identity
    does not move, its wraps stay with the sender's custodians and escrow. The reporter's
    wraps always stay.
    """
    for wrap in list(case.key_wraps):
        if wrap.purpose is WrapPurpose.IDENTITY_KEY and not identity_moves:
            continue
        escrow = wrap.recipient_kind is RecipientKind.ESCROW
        reader = wrap.recipient_kind is RecipientKind.INSPECTOR
        if escrow or (reader and not keeps_access):
            case.key_wraps.remove(wrap)


def _wrap_all(
    case: Case, purpose: WrapPurpose, key: bytes, recipients: list[Recipient], today: date
) -> None:
    crypto_purpose = CRYPTO_PURPOSE[purpose]
    for recipient in recipients:
        if recipient.kind is RecipientKind.REPORTER:
            continue  # the reporter's wrap is the same key: it never changes
        envelope = crypto.wrap(
            key, crypto.load_public_key(recipient.public_key), crypto_purpose, case.public_id
        )
        case.key_wraps.append(
            KeyWrap(
                purpose=purpose,
                recipient_kind=recipient.kind,
                inspector_id=recipient.inspector_id,
                wrapped=envelope,
                created_on=today,
            )
        )


def _reporter_key(case: Case) -> bytes:
    return case.reporter_public_key
