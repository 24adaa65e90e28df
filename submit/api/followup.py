"""The follow-up API for the page's JavaScript (``api.followup_*``, docs/submission.md §3).

The browser derives the lookup token and the reporter key from the code; the server sees
the token only, checks it against the case's Argon2id hash, and starts a session without
any key. Everything it hands back is sealed (wraps, messages, file descriptions) and opens
with the reporter key in the browser; everything it receives is sealed the same way.

A session start and its end change the anti-forgery token; the new one is in the
``X-CSRFToken`` response header, for the page to send from then on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO, TypeVar

from flask import Response, jsonify
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casework import entry_facts, escalation, followup, protection, records, transcript, uploads
from casework.dates import unit_today
from casework.intake import AttachmentIn
from casework.transcript import EntryRefused, NewEntry
from crypto.encoding import b64u_encode
from crypto.files import read_pieces
from crypto.places import staff_author
from store.blobs import BlobNotFound
from store.models import (
    Case,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    RetaliationIncident,
    RetaliationKind,
)
from submit import followup_session, shown
from submit.api import binary_field, blob_store, blueprint, field, json_object
from submit.api.challenges import require_pow
from submit.api.uploads import store_with_uploads
from submit.followup_session import SessionProblem
from submit.pow import Purpose
from submit.unit import current_unit, settings
from web import labels
from web.database import db, retry_commit, runs_once
from web.errors import PublicError

CSRF_HEADER = "X-CSRFToken"
# A MESSAGE of up to 256 KiB and up to 100 file descriptions, all in b64u: the body is
# parsed in memory, so it is bounded first.
MAX_MESSAGE_JSON_BYTES = 1024 * 1024
# A NOTE of up to 256 KiB in b64u, and the other fields.
MAX_NOTE_JSON_BYTES = 384 * 1024
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Choice = TypeVar("Choice", ProtectedPerson, ProtectionCategory)

REFUSALS: dict[str, tuple[int, LazyString]] = {
    "malformed_envelope": (400, _l("An envelope is not a valid encrypted envelope of its kind.")),
    "too_large": (413, _l("An envelope is too large.")),
    "too_many_files": (
        400,
        _l("At most %(count)d files can be sent with one message.", count=followup.MAX_ATTACHMENTS),
    ),
    "date_in_future": (400, _l("The date is in the future.")),
    "already_ended": (409, _l("This report can no longer be withdrawn.")),
    "not_overdue": (
        409,
        _l(
            "This report cannot be escalated now: no deadline set by law has passed, or an "
            "answer to an earlier escalation or re-denunciation is still awaited."
        ),
    ),
    "not_concluded": (
        409,
        _l(
            "This report cannot be re-denounced now: it has not been concluded and its "
            "resolution deadline has not passed, or an answer is still awaited."
        ),
    ),
    "confirmation_in_past": (400, _l("The request could not be accepted.")),
    # docs/crypto.md §13.5: sealed over an older head; the page reads the case and seals again.
    "conversation_changed": (
        409,
        _l("Something new arrived in this conversation. Read it, then send yours again."),
    ),
    "bad_entry": (
        400,
        _l("The entry does not say where it belongs, or is not signed with your code's key."),
    ),
}


@dataclass(frozen=True)
class FileRef:
    upload: str
    meta: bytes


@blueprint.post("/followup/session", endpoint="followup_session")
@runs_once  # the proof of work is spent once
def open_session() -> Response:
    document = json_object(allowed={"lookup_token", "pow", "signing_key"})
    token = binary_field(document, "lookup_token", size=32)
    assert token is not None  # not optional
    signing_key = binary_field(document, "signing_key", size=32, optional=True)
    require_pow(document, Purpose.FOLLOWUP)
    session = db()
    case = followup.find_case(session, current_unit(), token, settings().code_kdf)
    if case is None:
        raise PublicError(
            404,
            "unknown_code",
            _("We could not find a report with this code. Check it and try again."),
        )
    csrf = followup_session.begin(case, unit_today(), signing_key=signing_key)
    response = jsonify(case_document(case))
    response.headers[CSRF_HEADER] = csrf
    return response


@blueprint.get("/followup/case", endpoint="followup_case")
def get_case() -> Response:
    return jsonify(case_document(_current_case()))


@blueprint.post("/followup/messages", endpoint="followup_message")
def post_message() -> tuple[Response, int]:
    case = _current_case()  # before reading a body: no session, nothing read
    document = json_object(MAX_MESSAGE_JSON_BYTES, allowed={"envelope", "attachments"})
    envelope = _required_binary(document, "envelope")
    refs = _file_refs(document)
    with _refusing():
        followup.check_message(envelope)
        followup.check_files([ref.meta for ref in refs])
    # Inside: a refused entry (sealed over an older head, not the reporter's) is refused
    # with its code, after the uploads are given back, not answered as a server error.
    with _refusing():
        message_id = store_with_uploads(
            [ref.upload for ref in refs],
            lambda session, claimed: _store_message(session, case, envelope, refs, claimed),
        )
    return jsonify(id=message_id), 201


@blueprint.post("/followup/retaliation", endpoint="followup_retaliation")
def post_retaliation() -> tuple[Response, int]:
    case = _current_case()
    document = json_object(MAX_NOTE_JSON_BYTES, allowed={"kind", "envelope", "occurred_on"})
    kind = _retaliation_kind(field(document, "kind", str))
    occurred_on = _date(field(document, "occurred_on", str, optional=True))
    session, today = db(), unit_today()
    facts = entry_facts.retaliation(kind, occurred_on)
    with _refusing():
        entry = _append(session, case, document, "retaliation", facts)
        incident = followup.record_retaliation(session, case, kind, entry, occurred_on, today)
    session.commit()
    return jsonify(id=incident.id), 201


@blueprint.post("/followup/withdraw", endpoint="followup_withdraw")
def post_withdraw() -> Response:
    """The reporter withdraws the whole report, or part of it (``"scope": "part"``, the
    entry's purpose then ``partial-withdrawal`` and its words saying which part)."""
    case = _current_case()
    document = json_object(MAX_NOTE_JSON_BYTES, allowed={"envelope", "scope"})
    scope = field(document, "scope", str, optional=True) or "all"
    if scope not in ("all", followup.PART):
        raise _malformed("scope")
    in_part = scope == followup.PART
    session = db()
    with _refusing():
        entry = _append(session, case, document, followup.withdrawal_purpose(in_part))
        followup.withdraw(session, case, entry, unit_today(), in_part=in_part)
    session.commit()
    return jsonify(case_document(case))


@blueprint.post("/followup/escalate", endpoint="followup_escalate")
def post_escalate() -> Response:
    """Art. 38: an overdue case goes to the head of the directly superior unit, with the
    reporter's note (entry ``escalation``)."""
    return _reporter_request(escalation.ESCALATION, "escalation")


@blueprint.post("/followup/re-denounce", endpoint="followup_re_denounce")
def post_re_denounce() -> Response:
    """Art. 37: a resolution the reporter believes unlawful goes to the same head, with the
    reporter's reasons (entry ``re-denunciation``)."""
    return _reporter_request(escalation.RE_DENUNCIATION, "re-denunciation")


def _reporter_request(kind: str, purpose: str) -> Response:
    case = _current_case()
    document = json_object(MAX_NOTE_JSON_BYTES, allowed={"envelope"})
    session = db()
    with _refusing():
        entry = _append(session, case, document, purpose)
        followup.escalate(session, case, entry, unit_today(), kind=kind)
    session.commit()
    return jsonify(case_document(case))


@blueprint.post("/followup/protection", endpoint="followup_protection")
def post_protection() -> tuple[Response, int]:
    case = _current_case()
    allowed = {"person", "category", "urgent", "envelope"}
    document = json_object(MAX_NOTE_JSON_BYTES, allowed=allowed)
    person = _enum_field(document, "person", ProtectedPerson)
    category = _enum_field(document, "category", ProtectionCategory)
    urgent: bool = field(document, "urgent", bool)
    session, today = db(), unit_today()
    facts = entry_facts.protection_request(person, category, urgent)
    due = shown.confirmation_due(case, today, urgent)
    with _refusing():
        entry = _append(session, case, document, "protection-request", facts)
        record = protection.request_by_reporter(
            session, case, person, category, urgent, entry, today, due
        )
    session.commit()
    return jsonify(id=record.id), 201


@blueprint.post("/followup/protection/<int:record_id>/asks", endpoint="followup_protection_ask")
def post_protection_ask(record_id: int) -> tuple[Response, int]:
    """The protected person asks to change, add to or end the measures in place."""
    case = _current_case()
    document = json_object(MAX_NOTE_JSON_BYTES, allowed={"ask", "envelope"})
    ask = field(document, "ask", str)
    if ask not in shown.ASKS:
        raise PublicError(
            400,
            "malformed_field",
            _("Field 'ask' must be one of: %(names)s.", names=", ".join(shown.ASKS)),
        )
    record = shown.protection_record(case, record_id)
    if record is None or not shown.may_ask(record):
        raise PublicError(
            404,
            "protection_not_found",
            _("No protection of this report can be changed with this request."),
        )
    session, today = db(), unit_today()
    facts = entry_facts.protection_ask(record.id, ask)
    with _refusing():
        entry = _append(session, case, document, "protection-ask", facts)
        event = protection.reporter_asks(session, record, ask, entry, today)
    session.commit()
    return jsonify(id=event.id), 201


@blueprint.post(
    "/followup/retaliation/<int:incident_id>/notes", endpoint="followup_retaliation_note"
)
def post_retaliation_note(incident_id: int) -> tuple[Response, int]:
    """Something added to a retaliation report the reporter made earlier."""
    case = _current_case()
    document = json_object(MAX_NOTE_JSON_BYTES, allowed={"envelope"})
    incident = next(
        (item for item in shown.reporter_incidents(case) if item.id == incident_id), None
    )
    if incident is None:
        raise PublicError(
            404, "incident_not_found", _("This retaliation report does not exist here.")
        )
    session, today = db(), unit_today()
    with _refusing():
        facts = entry_facts.retaliation_note(incident.id)
        entry = _append(session, case, document, "retaliation-note", facts)
        added = protection.add_reporter_note(session, incident, entry, today)
    session.commit()
    return jsonify(id=added.id), 201


@blueprint.get("/followup/files/<int:attachment_id>", endpoint="followup_file")
def get_file(attachment_id: int) -> Response:
    """A file the unit sent, as stored: its ciphertext, which the browser decrypts."""
    case = _current_case()
    attachment = followup.unit_file(db(), case, attachment_id)
    store = blob_store()
    try:
        if attachment is None:
            raise BlobNotFound("not a file the unit sent with this case")
        size = store.size(attachment.blob_id)
        reader = store.open_reader(attachment.blob_id)
    except BlobNotFound:
        raise PublicError(
            404, "file_not_found", _("This file does not exist or is not available.")
        ) from None
    db().commit()  # nothing more to read: free the connection for the stream's duration
    response = Response(_pieces(reader), mimetype="application/octet-stream")
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = "attachment"
    return response


@blueprint.post("/followup/leave", endpoint="followup_leave")
def leave() -> Response:
    retry_commit(followup_session.end)  # the server's record too: a copied cookie dies here
    response = Response(status=204)
    response.headers[CSRF_HEADER] = followup_session.rotate_csrf()
    return response


# --- the case view --------------------------------------------------------------------------


def case_document(case: Case) -> dict[str, Any]:
    """The case view of docs/submission.md §3; labels in the session's language."""
    today = unit_today()
    view = followup.case_view(case, today, current_unit())
    identity = view.identity_key_wrap
    return {
        "case_id": case.public_id,  # the context of every envelope the browser opens
        "reference": view.reference,
        "status": view.status,
        "status_label": labels.status_label(view.status),
        "track": view.track.value,
        "received_on": view.received_on.isoformat(),
        "deadlines": [
            _deadline_document(deadline)
            for deadline in shown.shown_deadlines(view.deadlines, today)
        ],
        "wraps": {
            "case_key": b64u_encode(view.case_key_wrap),
            "identity_key": None if identity is None else b64u_encode(identity),
        },
        # docs/crypto.md §13.5: entry 0, so that the page can check every link itself.
        "protocol": case.protocol,
        "report": None if case.body is None else b64u_encode(case.body),
        "report_files": [b64u_encode(item.meta) for item in records.message_files(case, None)],
        "signing_keys": _signing_keys(case),
        "messages": [
            {
                "id": message.id,
                "author": message.author.value,
                "inspector": message.inspector_id,
                "seq": message.seq,
                "purpose": message.purpose,
                "created_on": message.created_on.isoformat(),
                "envelope": b64u_encode(message.envelope),
                "attachments": [
                    {
                        "id": item.id,
                        "meta": b64u_encode(item.meta),
                        "size": item.size,
                        "downloadable": item.downloadable,
                    }
                    for item in message.attachments
                ],
            }
            for message in view.messages
        ],
        "withdrawn": view.withdrawn,
        "forwarded": view.forwarded,
        "forwarded_to": view.forwarded_to,
        "ended": view.ended,
        "may_withdraw": view.may_withdraw,
        "awaits_verification": view.awaits_verification,
        "reception_schedule": view.reception_schedule,
        "may_escalate": view.may_escalate,
        "escalated": view.escalated,
        "escalation_period": shown.escalation_period(case),
        "may_re_denounce": view.may_re_denounce,
        "answered_by": view.answered_by,
        "answered_by_superior": view.answered_by_superior,
        # Sealed to the reporter (docs/crypto.md §13.8): the page unwraps and opens them.
        "answers": [
            {
                "id": answer.id,
                "kind": answer.kind,
                "label": labels.event_label(answer.kind),
                "answered_on": answer.answered_on.isoformat(),
                "inspector": answer.inspector_id,
                "record": b64u_encode(answer.record),
                "wrap": b64u_encode(answer.wrap),
            }
            for answer in view.answers
        ],
        "protection_confirmation": shown.confirmation_period(case),
        "protections": [_protection_document(record) for record in shown.protections(case)],
        "incidents": [_incident_document(item) for item in shown.reporter_incidents(case)],
    }


def _signing_keys(case: Case) -> dict[str, str]:
    """The verifying key of every staff author of the thread, by place ``author``. The
    page derives the reporter's own key from the code and trusts no copy of it."""
    authors = {
        records.author_of(message.author, message.inspector_id)
        for message in case.messages
        if message.author is Party.INSPECTOR
    } | {
        staff_author(event.inspector_id) for event in escalation.answers(case) if event.inspector_id
    }
    keys = {author: records.verifying_key(case, author) for author in sorted(authors)}
    return {author: b64u_encode(key) for author, key in keys.items() if key is not None}


def _deadline_document(deadline: shown.ShownDeadline) -> dict[str, Any]:
    return {
        "key": deadline.key,
        "label": deadline.label,
        "statutory": deadline.statutory,
        "due_on": _iso(deadline.due_on),
        "period": deadline.period,
        "used": deadline.used,
        "overdue": deadline.overdue,
    }


def _protection_document(record: ProtectionRecord) -> dict[str, Any]:
    """Facts only: the sealed details may hold what an inspector wrote."""
    return {
        "id": record.id,
        "person": record.person.value,
        "person_label": str(labels.PROTECTED_PEOPLE.get(record.person, record.person.value)),
        "category": record.category.value,
        "category_label": str(labels.PROTECTION_KINDS.get(record.category, record.category.value)),
        "state": record.state.value,
        "state_label": shown.protection_state_label(record.state),
        "urgent": record.urgent,
        "requested_by": record.requested_by.value,
        "requested_on": record.requested_on.isoformat(),
        "confirmation_due": _iso(record.written_confirmation_due),
        "decided_on": _iso(record.decided_on),
        "started_on": _iso(record.started_on),
        "ended_on": _iso(record.ended_on),
        "may_ask": shown.may_ask(record),
        "asked_on": [day.isoformat() for day in shown.pending_asks(record)],
    }


def _incident_document(incident: RetaliationIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "kind": incident.kind.value,
        "kind_label": str(labels.RETALIATION_KINDS.get(incident.kind, incident.kind.value)),
        "occurred_on": _iso(incident.occurred_on),
        "reported_on": incident.reported_on.isoformat(),
        "added_on": [day.isoformat() for day in shown.reporter_notes(incident)],
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- helpers ------------------------------------------------------------------------------


def _current_case() -> Case:
    try:
        state = followup_session.current(db())
    except SessionProblem:
        raise _no_session() from None
    case = followup.get_case(db(), current_unit(), state.case_id)
    if case is None:
        followup_session.forget()
        raise _no_session()
    return case


def _no_session() -> PublicError:
    return PublicError(
        401,
        "no_session",
        _("Your follow-up session has ended. Please enter your code again."),
    )


def _append(
    session: Session,
    case: Case,
    document: dict[str, Any],
    purpose: str,
    facts: entry_facts.Facts | None = None,
) -> Message:
    """The reporter's entry, sealed and signed in the browser, appended once its place
    says exactly this purpose and these facts and its signature is the reporter's."""
    envelope = _required_binary(document, "envelope")
    followup.check_message(envelope)
    entry = NewEntry(purpose, Party.REPORTER, facts=facts or {})
    message = transcript.append(session, case, envelope, entry, unit_today())
    followup.touch(case, unit_today())
    return message


def _required_binary(document: dict[str, Any], name: str) -> bytes:
    value = binary_field(document, name)
    assert value is not None  # not optional
    return value


def _file_refs(document: dict[str, Any]) -> list[FileRef]:
    items = field(document, "attachments", list, optional=True) or []
    if len(items) > followup.MAX_ATTACHMENTS:
        raise _refusal("too_many_files")
    refs = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"upload", "meta"}:
            raise _malformed("attachments")
        upload = field(item, "upload", str)
        meta = _required_binary(item, "meta")
        refs.append(FileRef(upload, meta))
    return refs


def _store_message(
    session: Session,
    case: Case,
    envelope: bytes,
    refs: list[FileRef],
    claimed: list[uploads.Claimed],
) -> int:
    if sum(item.size for item in claimed) > uploads.ciphertext_limit(settings().max_report_size):
        raise PublicError(
            413, "too_large", _("The attached files together are larger than the service accepts.")
        )
    today = unit_today()
    files = followup.add_files(
        session,
        case,
        [
            AttachmentIn(blob_id=item.blob_id, meta=ref.meta, stored_size=item.size)
            for ref, item in zip(refs, claimed, strict=True)
        ],
        today,
    )
    message = followup.add_message(session, case, envelope, files, today)
    session.flush()
    return message.id


def _retaliation_kind(value: str) -> RetaliationKind:
    try:
        return RetaliationKind(value)
    except ValueError:
        raise PublicError(
            400,
            "malformed_field",
            _("Field 'kind' must be one of: %(names)s.", names=", ".join(RetaliationKind)),
        ) from None


def _enum_field(document: dict[str, Any], name: str, kind: type[Choice]) -> Choice:
    value = field(document, name, str)
    try:
        return kind(value)
    except ValueError:
        raise PublicError(
            400,
            "malformed_field",
            _(
                "Field '%(name)s' must be one of: %(names)s.",
                name=name,
                names=", ".join(item.value for item in kind),
            ),
        ) from None


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PublicError(
            400, "malformed_field", _("Field 'occurred_on' must be a date: YYYY-MM-DD.")
        ) from None


@contextmanager
def _refusing() -> Iterator[None]:
    """Answer a refusal of the follow-up service with its status and a clear message."""
    try:
        yield
    except (followup.FollowUpError, protection.ProtectionError, EntryRefused) as error:
        raise _refusal(error.code) from None


def _refusal(code: str) -> PublicError:
    status, message = REFUSALS.get(code, (400, _l("The request could not be accepted.")))
    return PublicError(status, code, str(message))


def _malformed(name: str) -> PublicError:
    return PublicError(
        400, "malformed_field", _("Field '%(name)s' is missing or of the wrong type.", name=name)
    )


def _pieces(reader: BinaryIO) -> Iterator[bytes]:
    try:
        yield from read_pieces(reader)
    finally:
        reader.close()
