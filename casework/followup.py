"""A reporter's follow-up: finding a case by code, and what a reporter may do with it.

The public side cannot read anything a reporter sends here: messages, notes and file
descriptions arrive sealed (in the browser, or in the request's memory without
JavaScript). This service checks what it can (envelope kinds and sizes), records the
facts the unit must see before decrypting (a retaliation incident's kind makes the case
urgent) and keeps every reporter-caused fact to a date, never a time.

Pure Python: no Flask. Callers own the transaction: functions add to or flush
``session`` and the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

import crypto
from casework import escalation, scope, transcript, workflow
from casework.deadlines import Deadline
from casework.errors import CaseworkError
from casework.hierarchy import answering_unit
from casework.intake import AttachmentIn, public_reference
from casework.records import REPORTER, CaseKeys
from casework.transcript import NewEntry
from crypto.bound import verify_bound
from crypto.envelope import VERSION_2, Kind, check_header
from crypto.places import Place
from store.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseTransfer,
    Message,
    Party,
    RecipientKind,
    RetaliationIncident,
    RetaliationKind,
    Track,
    Unit,
    WrapPurpose,
)

WITHDRAWN = "withdrawn"
PART = "part"  # a withdrawal of part of the report (LTC Art. 33), as the forms name it


def withdrawal_purpose(in_part: bool) -> str:
    """The transcript purpose of a withdrawal, in whole or in part (docs/crypto.md §13.3)."""
    return "partial-withdrawal" if in_part else "withdrawal"


# The smallest sealed record of protocol 2 (docs/crypto.md §13.4): header, place length,
# salt, a 1 KiB bucket, the tag and the signature (the place comes on top).
MIN_RECORD_SIZE = 4 + 32 + 1024 + 16 + 64
# A message or note of 20,000 characters (docs/submission.md), even if every one of them
# is escaped in the JSON, fits a 128 KiB bucket; twice that leaves room without inviting
# abuse.
MAX_RECORD_SIZE = 256 * 1024
MAX_ATTACHMENTS = 100  # per message, as per report


class FollowUpError(CaseworkError):
    """A refused action; ``code`` is stable for the API, the message is for logs."""


@dataclass(frozen=True)
class AttachmentView:
    id: int
    meta: bytes  # FILE_META envelope
    size: int  # stored (ciphertext) size; the true size is inside ``meta``
    downloadable: bool  # sent by the unit; a reporter's own files are not sent back


@dataclass(frozen=True)
class MessageView:
    id: int
    author: Party
    created_on: date
    envelope: bytes  # MESSAGE envelope
    inspector_id: int | None  # the staff author, whose key signed it
    seq: int | None  # its number in the transcript (docs/crypto.md §13.5); None: protocol 1
    purpose: str
    attachments: tuple[AttachmentView, ...]


@dataclass(frozen=True)
class AnswerView:
    """A head's answer to the reporter's escalation or re-denunciation, still sealed: its
    record (a NOTE) and its key wrapped to the reporter (docs/crypto.md §13.8)."""

    id: int
    kind: str  # escalation_response | re_denunciation_decision
    answered_on: date
    inspector_id: int  # the author, whose key signed it
    record: bytes
    wrap: bytes


@dataclass(frozen=True)
class CaseView:
    """Everything the follow-up page shows, still sealed; the reporter key opens it."""

    public_id: str
    reference: str
    status: str
    track: Track
    received_on: date
    deadlines: tuple[Deadline, ...]
    case_key_wrap: bytes
    identity_key_wrap: bytes | None
    messages: tuple[MessageView, ...]
    # Where the case went (chuyển đơn): the unit that handles it now, if not this one.
    forwarded_to: str | None
    ended: bool  # decided or stopped: nothing left to withdraw
    may_withdraw: bool
    # A named report whose reporter the unit has yet to verify (LTC Art. 22-23): handled
    # like an unsigned one until then; the reporter completes it at the unit's reception.
    awaits_verification: bool
    reception_schedule: str
    may_escalate: bool
    escalated: bool  # the answer to an escalation or re-denunciation is pending
    may_re_denounce: bool
    # The unit whose head answers an escalation or re-denunciation: the one the pending
    # request names, else the case unit's directly superior unit, else the case's own.
    answered_by: str
    answered_by_superior: bool  # False: no superior unit, the unit's own head answers
    answers: tuple[AnswerView, ...]  # the heads' answers, sealed to the reporter

    @property
    def withdrawn(self) -> bool:
        return self.status == WITHDRAWN

    @property
    def forwarded(self) -> bool:
        return self.forwarded_to is not None


# --- finding a case -------------------------------------------------------------------------


def find_case(
    session: Session, unit: Unit, lookup_token: bytes, params: crypto.Argon2Params
) -> Case | None:
    """The unit's case whose stored hash ``lookup_token`` matches, or None.

    Every candidate with the token's 40-bit index is verified (and none at all still
    costs one Argon2id run), so a wrong code and an unknown one take the same time.
    The transaction is ended before that slow run, so that no lock waits on it: call this
    with nothing pending. The candidates stay loaded.
    """
    index = crypto.lookup_index(lookup_token)
    scope.name_lookup(session, index)
    candidates = session.scalars(
        select(Case)
        .where(
            Case.lookup_index == index,
            _followed_from(unit),
            Case.purged_on.is_(None),
        )
        .order_by(Case.id)
    ).all()
    session.commit()
    position = crypto.verify_lookup_token(
        lookup_token, [case.lookup_hash for case in candidates], params
    )
    return None if position is None else candidates[position]


def get_case(session: Session, unit: Unit, public_id: str) -> Case | None:
    """The case a follow-up session names, unless it has since been purged."""
    scope.name_case(session, public_id)
    return session.scalar(
        select(Case).where(
            Case.public_id == public_id, _followed_from(unit), Case.purged_on.is_(None)
        )
    )


def _followed_from(unit: Unit) -> ColumnElement[bool]:
    """Cases a reporter follows from ``unit``'s pages: its own, and those it forwarded,
    so that the same code keeps working after a case moves (chuyển đơn)."""
    forwarded = select(CaseTransfer.case_id).where(CaseTransfer.from_unit_id == unit.id)
    return or_(Case.unit_id == unit.id, Case.id.in_(forwarded))


def reporter_wrap(case: Case, purpose: WrapPurpose) -> bytes | None:
    for wrap in case.key_wraps:
        if wrap.recipient_kind is RecipientKind.REPORTER and wrap.purpose is purpose:
            return wrap.wrapped
    return None


def unit_file(session: Session, case: Case, attachment_id: int) -> Attachment | None:
    """An attachment the unit sent with a message of this case; nothing else is served."""
    return session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.case_id == case.id,
            Attachment.origin == Party.INSPECTOR,
            Attachment.message_id.is_not(None),
        )
    )


# --- what the reporter sees -----------------------------------------------------------------


def case_view(case: Case, today: date, unit: Unit | None = None) -> CaseView:
    """What the reporter sees, from the follow-up page of ``unit`` (the case's own unit
    unless the case was forwarded from there)."""
    profile = workflow.profile_of(case)
    answerer = escalation.answering_unit_of(case) or answering_unit(case.unit)
    wrap = reporter_wrap(case, WrapPurpose.CASE_KEY)
    if wrap is None:  # intake refuses a case without one: a damaged database
        raise FollowUpError("no_reporter_wrap", "the case has no key wrap for the reporter")
    files: dict[int, list[AttachmentView]] = {}
    for item in case.attachments:
        if item.message_id is not None:
            files.setdefault(item.message_id, []).append(
                AttachmentView(
                    id=item.id,
                    meta=item.meta,
                    size=item.stored_size,
                    downloadable=item.origin is Party.INSPECTOR,
                )
            )
    return CaseView(
        public_id=case.public_id,
        reference=public_reference(case.public_id),
        status=case.status,
        track=case.track,
        received_on=case.received_on,
        deadlines=tuple(workflow.current_deadlines(case)),
        case_key_wrap=wrap,
        identity_key_wrap=reporter_wrap(case, WrapPurpose.IDENTITY_KEY),
        messages=tuple(
            MessageView(
                id=message.id,
                author=message.author,
                created_on=message.created_on,
                envelope=message.body,
                inspector_id=message.inspector_id,
                seq=message.seq,
                purpose=message.purpose,
                attachments=tuple(files.get(message.id, ())),
            )
            for message in case.messages
        ),
        forwarded_to=None if unit is None or unit.id == case.unit_id else case.unit.name,
        ended=profile.is_ended(case.status),
        may_withdraw=workflow.may_withdraw(case),
        awaits_verification=workflow.awaits_verification(case),
        reception_schedule=case.unit.reception_schedule or "",
        may_escalate=escalation.may_escalate(case, today),
        escalated=workflow.escalation_pending(case),
        may_re_denounce=escalation.may_re_denounce(case, today),
        answered_by=answerer.name,
        answered_by_superior=answerer.id != case.unit_id,
        answers=tuple(_answer_views(case)),
    )


def _answer_views(case: Case) -> list[AnswerView]:
    views = []
    for event in escalation.answers(case):
        wrap = next((w for w in event.wraps if w.recipient_kind is RecipientKind.REPORTER), None)
        if wrap is None or event.grounds is None or event.inspector_id is None:
            continue  # purged: nothing left to read
        views.append(
            AnswerView(
                id=event.id,
                kind=event.kind,
                answered_on=event.occurred_on,
                inspector_id=event.inspector_id,
                record=event.grounds,
                wrap=wrap.wrapped,
            )
        )
    return views


# --- what the reporter does -----------------------------------------------------------------


def register_signing_key(case: Case, signing_key: bytes) -> None:
    """Record the reporter's verifying key on a case that has none (one of protocol 1,
    before the reporter came back); a key on record is never replaced."""
    if len(signing_key) != 32:
        raise FollowUpError("malformed_key", "a signing key is 32 bytes")
    if case.reporter_signing_key is None:
        case.reporter_signing_key = signing_key


def touch(case: Case, today: date) -> None:
    """Record that the reporter came back: a date only, so the unit knows they follow."""
    case.last_reporter_activity_on = today


def check_message(envelope: bytes) -> None:
    _check_record(envelope, Kind.MESSAGE, "message")


def check_files(metas: Sequence[bytes]) -> None:
    """The FILE_META envelopes of one message's files."""
    if len(metas) > MAX_ATTACHMENTS:
        raise FollowUpError("too_many_files", f"at most {MAX_ATTACHMENTS} files per message")
    for meta in metas:
        _check_record(meta, Kind.FILE_META, "file description")


def add_files(
    session: Session, case: Case, attachments: Sequence[AttachmentIn], today: date
) -> list[Attachment]:
    """Store files (already in the blob store) for a message still to be added.

    Separate from ``add_message`` because a message sealed on the server names its files
    by id, and ids exist only once the rows are flushed.
    """
    check_files([item.meta for item in attachments])
    for item in attachments:
        _check_reporter_file(case, item.meta)
    rows = [item.row(Party.REPORTER, today) for item in attachments]
    case.attachments.extend(rows)
    session.flush()
    return rows


def add_message(
    session: Session,
    case: Case,
    envelope: bytes,
    files: Sequence[Attachment],
    today: date,
) -> Message:
    """The reporter's message (a transcript entry sealed in the browser), with files from
    ``add_files`` of the same case."""
    check_message(envelope)
    entry = NewEntry("message", Party.REPORTER, files=_own_files(case, files))
    message = transcript.append(session, case, envelope, entry, today)
    touch(case, today)
    return message


def write_entry(
    session: Session,
    case: Case,
    keys: CaseKeys,
    entry: NewEntry,
    document: Mapping[str, Any],
    today: date,
) -> Message:
    """Seal and append a reporter's entry on the server (no JavaScript): the reporter's
    signing key was derived from the code in this request's memory."""
    if keys.signer is None:
        raise ValueError("the reporter's entry needs the reporter's signer")
    envelope = transcript.seal_entry(session, case, keys.case, entry, document, keys.signer)
    return transcript.append(session, case, envelope, entry, today)


def record_retaliation(
    session: Session,
    case: Case,
    kind: RetaliationKind,
    entry: Message,
    occurred_on: date | None,
    today: date,
) -> RetaliationIncident:
    """Log an incident, told in the transcript ``entry``, and flag the case urgent,
    whatever its status: retaliation can follow a report long after it is closed."""
    if occurred_on is not None and occurred_on > today:
        raise FollowUpError("date_in_future", "a retaliation incident cannot be in the future")
    incident = RetaliationIncident(
        kind=kind,
        occurred_on=occurred_on,
        reported_on=today,
        source=Party.REPORTER,
        message_id=entry.id,
    )
    case.retaliation_incidents.append(incident)
    case.retaliation_reported = True
    case.urgent = True
    touch(case, today)
    session.flush()
    return incident


def withdraw(
    session: Session, case: Case, entry: Message, today: date, *, in_part: bool = False
) -> CaseEvent:
    """The reporter withdraws the whole report or, ``in_part``, part of it (their words in
    the transcript ``entry``). In whole, the case waits for the unit's decision to end it
    or to go on all the same (LTC Art. 33); in part, it goes on as it was."""
    try:
        if in_part:
            event = workflow.withdraw_in_part(case, today=today, entry=entry)
        else:
            event = workflow.transition(case, WITHDRAWN, today=today, entry=entry)
    except workflow.WorkflowError:
        raise FollowUpError("already_ended", "the case can no longer be withdrawn") from None
    touch(case, today)
    session.flush()
    return event


def escalate(
    session: Session, case: Case, entry: Message, today: date, kind: str = workflow.ESCALATION
) -> CaseEvent:
    """The reporter asks the head of the directly superior unit to act: on an overdue case
    (Art. 38), or, with ``kind`` re_denunciation, on a resolution believed unlawful (37)."""
    try:
        event = escalation.request(session, case, kind, today=today, entry=entry)
    except escalation.EscalationError as error:
        raise FollowUpError(error.code, str(error)) from None
    touch(case, today)
    session.flush()
    return event


def _own_files(case: Case, files: Sequence[Attachment]) -> Sequence[Attachment]:
    if any(item.case_id != case.id or item.message_id is not None for item in files):
        raise FollowUpError("foreign_file", "a file belongs to another case or message")
    return files


def _check_reporter_file(case: Case, meta: bytes) -> None:
    """A file description of the reporter's: signed by them, for this case (§13.4)."""
    key = case.reporter_signing_key
    expected = Place(case.public_id, "file", REPORTER)
    try:
        signed = key is not None and verify_bound(Kind.FILE_META, meta, key) == expected
    except crypto.CryptoError:
        signed = False
    if not signed:
        raise FollowUpError("malformed_envelope", "a file description is not the reporter's")


def _check_record(envelope: bytes, kind: Kind, what: str) -> None:
    if len(envelope) > MAX_RECORD_SIZE:
        raise FollowUpError("too_large", f"the {what} is too large")
    try:
        check_header(envelope, kind, MIN_RECORD_SIZE, version=VERSION_2)
    except crypto.CryptoError:
        raise FollowUpError("malformed_envelope", f"the {what} is not a valid envelope") from None
