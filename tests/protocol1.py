"""A case as protocol 1 left it (docs/crypto.md §5, before §13): every record unsigned and
unbound, the unit's notes under the case key. For tests of the upgrade to protocol 2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

import crypto
from crypto.envelope import Kind
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Inspector,
    KeyWrap,
    Message,
    Party,
    RecipientKind,
    RetaliationIncident,
    RetaliationKind,
    Unit,
    WrapPurpose,
)
from tests.store.factories import add_case

ON = date(2025, 6, 2)
GROUNDS = "Nội bộ: sẽ mời ông B lên làm việc."
REPORTER_NOTE = "Tôi bị điều chuyển."


@dataclass(frozen=True)
class OldCase:
    case: Case
    case_key: bytes
    code: crypto.FollowUpCode


def protocol_1_case(session: Session, unit: Unit, readers: list[Inspector]) -> OldCase:
    """A report, a staff reply, a staff decision with grounds and a reporter's retaliation
    report, all sealed with protocol 1 and wrapped to ``readers``, the escrow key and the
    reporter, as the code before version 2 wrote them."""
    code, case_key = crypto.FollowUpCode.generate(), crypto.random_key()
    reporter = code.reporter_private_key()
    case = add_case(session, unit, reporter_public_key=crypto.public_bytes(reporter), protocol=1)
    case_id = case.public_id
    case.body = crypto.seal_json(case_key, Kind.REPORT, case_id, {"schema": 1, "what": "x"})
    recipients: list[tuple[RecipientKind, int | None, bytes]] = [
        (RecipientKind.INSPECTOR, p.id, p.public_key) for p in readers
    ]
    recipients.append((RecipientKind.REPORTER, None, case.reporter_public_key))
    if unit.escrow_public_key is not None:
        recipients.append((RecipientKind.ESCROW, None, unit.escrow_public_key))
    for kind, person, public in recipients:
        wrapped = crypto.wrap(
            case_key, crypto.load_public_key(public), crypto.Purpose.CASE_KEY, case_id
        )
        case.key_wraps.append(
            KeyWrap(
                purpose=WrapPurpose.CASE_KEY,
                recipient_kind=kind,
                inspector_id=person,
                wrapped=wrapped,
                created_on=ON,
            )
        )
    staff = readers[0]
    reply = {"schema": 1, "text": "Đã nhận."}
    case.messages.append(
        Message(
            author=Party.INSPECTOR,
            inspector_id=staff.id,
            body=crypto.seal_json(case_key, Kind.MESSAGE, case_id, reply),
            created_on=ON,
        )
    )
    grounds = crypto.seal_json(case_key, Kind.NOTE, case_id, {"schema": 1, "text": GROUNDS})
    case.events.append(
        CaseEvent(
            kind="status_change",
            from_status=case.status,
            to_status=case.status,
            actor_kind=ActorKind.INSPECTOR,
            inspector_id=staff.id,
            occurred_on=ON,
            occurred_at=datetime(2025, 6, 2, 3, tzinfo=UTC),
            grounds=grounds,
        )
    )
    note = {"schema": 1, "text": REPORTER_NOTE}
    case.retaliation_incidents.append(
        RetaliationIncident(
            kind=RetaliationKind.TRANSFER,
            reported_on=ON,
            source=Party.REPORTER,
            details=crypto.seal_json(case_key, Kind.NOTE, case_id, note),
        )
    )
    session.flush()
    return OldCase(case, case_key, code)
