"""The reporter's escalation (LTC Art. 38) and re-denunciation (Art. 37), answered by the
head of the directly superior unit.

The steps, each a ``CaseEvent`` with its own clock in the case's profile:

1. The reporter escalates an overdue case, or re-denounces a concluded one (or one whose
   resolution deadline passed without a conclusion); their words are a transcript entry
   under the case key. The event names the unit that answers: the case unit's directly
   superior unit, or the case's own unit when it names none (casework.hierarchy).
2. That unit's head demands a report from the resolving unit (``escalation_demand``).
3. The resolving unit reports (``escalation_report``), together with what the reporter
   wrote and the case's decisions, which only it can read.
4. The answering unit's head answers (``escalation_response``, or
   ``re_denunciation_decision``), for the reporter to read.

The answering unit's people hold none of the case's keys. A step's record is therefore a
NOTE sealed under a key of its own, wrapped to exactly the people that step is for
(``event_wraps``, docs/crypto.md §13.8): the report to the answering unit's custodians and
escrow key and to the case's readers; the answer to the same people and to the reporter.
The case key, the unit key and the identity key never leave the resolving unit.

Pure Python: no Flask. Callers own the transaction, audit each step and, after an answer,
recompute the case's urgency (casework.protection.recompute_urgent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

import crypto
from casework import access, workflow
from casework.errors import CaseworkError
from casework.hierarchy import answering_unit
from casework.recipients import Recipient
from casework.records import ALTERED, Reading, Signer, open_record, ref_of, seal
from crypto.envelope import Kind
from crypto.places import Place, staff_author
from store.models import (
    Case,
    CaseEvent,
    EventWrap,
    Inspector,
    InspectorRole,
    Message,
    RecipientKind,
    Unit,
)

ESCALATION = workflow.ESCALATION
RE_DENUNCIATION = workflow.RE_DENUNCIATION
DEMAND = "escalation_demand"
REPORT = "escalation_report"
STEPS = (
    ESCALATION,
    RE_DENUNCIATION,
    DEMAND,
    REPORT,
    workflow.ESCALATION_RESPONSE,
    workflow.RE_DENUNCIATION_DECISION,
)
# Where a re-denunciation may start (Art. 37): a concluded case, or an overdue resolution.
CONCLUDED = "concluded"
RESOLUTION = "resolution"
# The place purpose of every step's record (a NOTE kept in ``case_events.grounds``).
RECORD_PURPOSE = "grounds"
# Who may demand a report: the heads of the answering unit (a supervisor holds no keys but
# needs none for a demand); only a custodian reads the report and answers.
DEMANDING_ROLES = frozenset({InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR})
ANSWERING_ROLES = frozenset({InspectorRole.CUSTODIAN})


class EscalationError(CaseworkError):
    """A refused step; nothing has changed."""


@dataclass(frozen=True)
class Request:
    """A reporter's escalation or re-denunciation still waiting for its answer."""

    case: Case
    event: CaseEvent  # the reporter's step
    to_unit: Unit  # whose head answers
    demand: CaseEvent | None
    report: CaseEvent | None

    @property
    def kind(self) -> str:
        return self.event.kind


# --- the reporter's side ---------------------------------------------------------------------


def may_escalate(case: Case, today: date) -> bool:
    """Art. 38: a deadline set by law is overdue, and no request is waiting."""
    if workflow.escalation_pending(case) or ESCALATION not in workflow.profile_of(case).deadlines:
        return False
    return any(d.statutory and d.overdue(today) for d in workflow.current_deadlines(case))


def may_re_denounce(case: Case, today: date) -> bool:
    """Art. 37: the case was concluded, or its resolution deadline passed without a
    conclusion, and no request is waiting."""
    rules = workflow.profile_of(case).deadlines
    rule = rules.get(RE_DENUNCIATION)
    if rule is None or workflow.escalation_pending(case) or case.track not in rule.tracks:
        return False
    concluded = any(e.to_status == CONCLUDED for e in case.events)
    overdue = any(
        d.key == RESOLUTION and d.overdue(today) for d in workflow.current_deadlines(case)
    )
    return concluded or overdue


def request(session: Session, case: Case, kind: str, *, today: date, entry: Message) -> CaseEvent:
    """Record the reporter's escalation or re-denunciation, addressed to the unit whose head
    answers it; their words are the transcript ``entry``."""
    allowed = may_escalate if kind == ESCALATION else may_re_denounce
    if kind not in workflow.ANSWERS or not allowed(case, today):
        code = "not_overdue" if kind == ESCALATION else "not_concluded"
        raise EscalationError(code, f"this case cannot take a {kind!r} now")
    to_unit = answering_unit(case.unit)
    event = workflow.reporter_step(
        case, kind, today=today, entry=entry, data={"to_unit": to_unit.slug}
    )
    case.urgent = True
    session.flush()
    return event


def answering_unit_of(case: Case) -> Unit | None:
    """The unit whose head answers the waiting request, or None if none waits."""
    waiting = workflow.open_request(case)
    return None if waiting is None else _to_unit(waiting)


def answers(case: Case) -> list[CaseEvent]:
    """Every answer of a head to the reporter's requests, in order."""
    kinds = set(workflow.ANSWERS.values())
    return [event for event in case.events if event.kind in kinds]


# --- the answering unit's and the resolving unit's steps ----------------------------------


def waiting_for(session: Session, unit: Unit) -> list[Request]:
    """Requests whose answer ``unit``'s head owes, oldest case first."""
    requested = select(CaseEvent.case_id).where(CaseEvent.kind.in_(tuple(workflow.ANSWERS)))
    cases = session.scalars(
        select(Case).where(Case.purged_on.is_(None), Case.id.in_(requested)).order_by(Case.id)
    )
    found = (request_of(session, case) for case in cases)
    return [item for item in found if item is not None and item.to_unit.id == unit.id]


def owed_by(session: Session, unit: Unit) -> list[Request]:
    """Requests of ``unit``'s own cases whose report a head demanded and has not had."""
    demanded = select(CaseEvent.case_id).where(CaseEvent.kind == DEMAND)
    cases = session.scalars(
        select(Case)
        .where(Case.unit_id == unit.id, Case.purged_on.is_(None), Case.id.in_(demanded))
        .order_by(Case.id)
    )
    found = (request_of(session, case) for case in cases if workflow.escalation_pending(case))
    return [item for item in found if item is not None and item.demand and not item.report]


def request_of(session: Session, case: Case) -> Request | None:
    waiting = workflow.open_request(case)
    if waiting is None:
        return None
    later = case.events[case.events.index(waiting) + 1 :]
    demand = next((e for e in later if e.kind == DEMAND), None)
    report = next((e for e in later if e.kind == REPORT), None)
    return Request(case, waiting, _to_unit(waiting), demand, report)


def demand(
    session: Session, case: Case, *, inspector: Inspector, today: date, now: datetime
) -> CaseEvent:
    """The answering unit's head demands a report from the resolving unit (NĐ31 Art. 5)."""
    waiting = _addressed_to(session, case, inspector, DEMANDING_ROLES)
    if waiting.demand is not None:
        raise EscalationError("already_demanded", "a report was already demanded")
    return workflow.unit_step(
        case, DEMAND, inspector=inspector, today=today, now=now, data={"from_unit": case.unit.slug}
    )


def report(
    session: Session,
    case: Case,
    *,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    document: Mapping[str, Any],
    today: date,
    now: datetime,
) -> CaseEvent:
    """The resolving unit reports to the answering unit's head, sealed to that head."""
    waiting = request_of(session, case)
    if waiting is None or waiting.demand is None or waiting.report is not None:
        raise EscalationError("no_report_due", "no report is demanded of this case")
    if not access.acts_on(case, inspector):
        raise EscalationError("not_resolving_unit", "only the resolving unit reports")
    people = _answering_people(session, case, waiting.to_unit)
    if not any(person.inspector_id in _head_ids(session, waiting.to_unit) for person in people):
        raise EscalationError(
            "no_heads", f"{waiting.to_unit.name} has no custodian who could read the report"
        )
    return _sealed_step(case, REPORT, inspector, private_key, document, people, today, now)


def answer(
    session: Session,
    case: Case,
    *,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    text: str,
    today: date,
    now: datetime,
) -> CaseEvent:
    """The answering unit's head answers the reporter, sealed so that they can read it."""
    waiting = _addressed_to(session, case, inspector, ANSWERING_ROLES)
    people = _answering_people(session, case, waiting.to_unit)
    people.append(Recipient(RecipientKind.REPORTER, None, case.reporter_public_key))
    kind = workflow.ANSWERS[waiting.kind]
    document = {"schema": 1, "text": text}
    # The caller recomputes the case's urgency (casework.protection.recompute_urgent).
    return _sealed_step(case, kind, inspector, private_key, document, people, today, now)


# --- reading a step's record -------------------------------------------------------------------


def read_as_inspector(
    case: Case, event: CaseEvent, inspector: Inspector, private_key: X25519PrivateKey
) -> Reading | None:
    """The step's record for an inspector it was sealed to; None if it was not."""
    wrap = next((w for w in event.wraps if w.inspector_id == inspector.id), None)
    return None if wrap is None else _open(case, event, wrap, private_key)


def read_as_reporter(case: Case, event: CaseEvent, private_key: X25519PrivateKey) -> Reading | None:
    """An answer, for the reporter (whose key the follow-up code gives)."""
    wrap = next((w for w in event.wraps if w.recipient_kind is RecipientKind.REPORTER), None)
    return None if wrap is None else _open(case, event, wrap, private_key)


def _open(case: Case, event: CaseEvent, wrap: EventWrap, private_key: X25519PrivateKey) -> Reading:
    if event.inspector_id is None:
        return ALTERED
    try:
        key = crypto.unwrap(wrap.wrapped, private_key, crypto.Purpose.RECORD_KEY, case.public_id)
    except crypto.CryptoError:
        return ALTERED
    expected = Place(
        case.public_id, RECORD_PURPOSE, staff_author(event.inspector_id), ref=ref_of(event)
    )
    return open_record(key, Kind.NOTE, case, event.grounds, expected) or ALTERED


# --- helpers ----------------------------------------------------------------------------------


def _to_unit(event: CaseEvent) -> Unit:
    slug = (event.data or {}).get("to_unit")
    session = object_session(event)
    found = (
        None
        if slug is None or session is None
        else session.scalar(select(Unit).where(Unit.slug == slug))
    )
    return found or event.case.unit  # before units had superiors: the case's own head


def _addressed_to(
    session: Session, case: Case, inspector: Inspector, roles: frozenset[InspectorRole]
) -> Request:
    waiting = request_of(session, case)
    if waiting is None:
        raise EscalationError("not_escalated", "nothing is waiting for an answer on this case")
    if waiting.to_unit.id != inspector.unit_id or inspector.role not in roles:
        raise EscalationError("not_addressed", "this request is for another unit's head")
    if inspector.id in {person.id for person in access.excluded(case)}:
        raise EscalationError("excluded", "the reporter excluded this person from the case")
    return waiting


def _heads(session: Session, unit: Unit) -> list[Inspector]:
    """The active custodians of ``unit``: who reads a report and answers."""
    return list(
        session.scalars(
            select(Inspector)
            .where(
                Inspector.unit_id == unit.id,
                Inspector.active.is_(True),
                Inspector.role.in_(sorted(ANSWERING_ROLES)),
            )
            .order_by(Inspector.id)
        )
    )


def _head_ids(session: Session, unit: Unit) -> set[int]:
    return {person.id for person in _heads(session, unit)}


def _answering_people(session: Session, case: Case, to_unit: Unit) -> list[Recipient]:
    """The answering unit's active custodians and escrow key, and the case's readers:
    never anyone the reporter excluded."""
    excluded = {person.id for person in access.excluded(case)}
    heads = _heads(session, to_unit)
    people = {person.id: person for person in [*heads, *access.readers(case)]}
    out = [
        Recipient(RecipientKind.INSPECTOR, person.id, person.public_key)
        for person in people.values()
        if person.active and person.id not in excluded
    ]
    if to_unit.escrow_public_key is not None:
        out.append(Recipient(RecipientKind.ESCROW, None, to_unit.escrow_public_key))
    return out


def _sealed_step(
    case: Case,
    kind: str,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    document: Mapping[str, Any],
    people: Sequence[Recipient],
    today: date,
    now: datetime,
) -> CaseEvent:
    key = crypto.random_key()
    signer = Signer.staff(inspector, private_key)

    def sealer(ref: str) -> bytes:
        place = Place(case.public_id, RECORD_PURPOSE, signer.author, ref=ref)
        return seal(key, Kind.NOTE, place, document, signer)

    event = workflow.unit_step(
        case, kind, inspector=inspector, today=today, now=now, data={}, record=sealer
    )
    for person in people:
        wrapped = crypto.wrap(
            key,
            crypto.load_public_key(person.public_key),
            crypto.Purpose.RECORD_KEY,
            case.public_id,
        )
        event.wraps.append(
            EventWrap(recipient_kind=person.kind, inspector_id=person.inspector_id, wrapped=wrapped)
        )
    return event
