"""Following up a report without JavaScript: the code form, the case page and its forms.

The code is checked once (``followup.open``); from then on the session cookie carries the
reporter's key sealed under the app's secret (``submit.followup_session``), and
each page unseals it to open the case key and decrypt messages and files in memory.
Nothing decrypted is ever written anywhere, and every page is ``no-store``.

A reply with files streams like ``report.submit``: the multipart body is read as it
arrives, the anti-forgery token first, and files are encrypted on arrival. The other forms
(retaliation and additions to it, protection, escalation, withdrawal) carry text only, go
through the app's CSRF protection, and are sealed here in memory as the browser would.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, TypeVar
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

import crypto
from casework import access, entry_facts, escalation, followup, protection, records, transcript
from casework.blobs import blob_store
from casework.dates import unit_today
from casework.errors import CaseworkError
from casework.records import CaseKeys, Signer
from casework.sealing import FileSealer
from casework.transcript import NewEntry
from crypto.transcript import Position
from store.blobs import BlobNotFound, BlobStore
from store.models import (
    Attachment,
    Case,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    RetaliationIncident,
    RetaliationKind,
    Track,
    WrapPurpose,
)
from submit import followup_session, shown
from submit.followup_session import SessionProblem
from submit.unit import current_unit, reachable_unit, settings
from submit.views.report import MAX_CHARS, too_long_message
from web import labels
from web.database import db, retry_commit, runs_once
from web.dates import read_day, shown_day
from web.errors import RETRY_LATER, PublicError, error_response, storage_refusal
from web.filenames import shown_name
from web.i18n import translate as _
from web.multipart import streams_multipart
from web.streaming import (
    FileNotStored,
    FileRefused,
    FormError,
    FormSpec,
    ReceivedForm,
    boundary_of,
    clean_file_name,
    drain,
    file_error,
    limit_body,
    read_form,
    read_text_only,
    token_checker,
)

blueprint = Blueprint("followup", __name__, url_prefix="/followup")
Choice = TypeVar("Choice", ProtectedPerson, ProtectionCategory)

MAX_CODE_INPUT = 200  # far longer than any spelling of a code; refused unread beyond
REPLY_TEXT, REPLY_FILES = "reply_text", "reply_files"
RETALIATION_FIELDS = ("retaliation_kind", "retaliation_date", "retaliation_text")
WITHDRAW_FIELDS = ("withdraw_reason", "withdraw_confirm", "withdraw_scope")
WITHDRAW_PART = followup.PART  # withdraw_scope: part of the report; otherwise all of it
ESCALATE_FIELDS = ("escalate_text",)
REDENOUNCE_FIELDS = ("redenounce_text",)
PROTECTION_FIELDS = ("protection_person", "protection_category", "protection_urgent")
PROTECTION_TEXT = "protection_text"
INCIDENT_TEXT = "incident_text"
ASK_FIELDS = ("ask_kind", "ask_text")
TEXT_ALLOWANCE = 1024 * 1024  # the text, part headers and boundaries on top of the files
MAX_TEXT_BYTES = 256 * 1024
SPARE_PARTS = 8
FORMS = ("reply", "retaliation", "withdraw", "escalate", "redenounce", "protection")
INCIDENT_FORM = "incident-"  # and the incident's id: one form per incident
ASK_FORM = "ask-"  # and the protection record's id

TRACK_LABELS: Mapping[Track, LazyString] = {
    Track.ANONYMOUS: _l("Anonymous report"),
    Track.NAMED: _l("Named, confidential report"),
}
# Why the code form is shown again; the key travels in the URL, never any detail.
REASONS: Mapping[str, LazyString] = {
    "none": _l("Please enter your follow-up code to see your report."),
    "expired": _l(
        "Your follow-up session ended: 30 minutes passed without activity, or two hours "
        "since you opened it. For your safety, please enter your code again."
    ),
    "invalid": _l("Your follow-up session could not be used. Please enter your code again."),
    "left": _l("You have left your report. To come back to it, enter your code again."),
    "ended": _l(
        "Your follow-up session has ended: it was left, or it is over. For your safety, "
        "please enter your code again."
    ),
    "not_saved": _l(
        "The service could not store what you sent just now, so it was NOT sent. Please "
        "try again in a few minutes."
    ),
}
CODE_ERRORS: Mapping[str, LazyString] = {
    "empty": _l("Enter your follow-up code."),
    "length": _l(
        "A follow-up code has 20 letters and digits, not counting the dashes. Check that "
        "you typed all of it, and nothing more."
    ),
    "character": _l(
        "The code has a character that is not a letter or a digit. Check it and try again."
    ),
    "checksum": _l("This code looks like it has a typo. Check each character and try again."),
    "not_found": _l("We could not find a report with this code. Check it and try again."),
}
SENT_CATEGORY = "followup-sent"
SENT: Mapping[str, LazyString] = {
    "message": _l("Your message was sent. It was encrypted before it was stored."),
    "retaliation": _l(
        "Your report of retaliation was sent. The unit sees it first, as an urgent matter."
    ),
    "withdrawn": _l(
        "Your report has been withdrawn. The unit must now decide whether to end its handling"
        " or to go on all the same, and tell you."
    ),
    "withdrawn_part": _l(
        "The part of your report you named has been withdrawn. The rest is handled as before."
    ),
    "escalated": _l(
        "Your report was escalated. Who now answers is shown below; the dates are under Deadlines."
    ),
    "re_denounced": _l(
        "Your re-denunciation was sent. Who reviews it is shown below; the date is under Deadlines."
    ),
    "protection": _l(
        "Your request for protection was sent. The unit sees it first if you marked it urgent."
    ),
    "incident": _l("What you added was sent. The unit sees it as an urgent matter."),
    "asked": _l("What you asked was sent. The unit must answer it."),
}


@blueprint.record_once
def _exempt_from_global_csrf(state: BlueprintSetupState) -> None:
    # As for report.submit: CSRFProtect would read request.form, and Werkzeug would spool
    # the files to temporary files in plaintext. The reply view checks the token itself,
    # from the first streamed part, before any file.
    state.app.extensions["csrf"].exempt(reply)


@blueprint.errorhandler(CSRFError)
def _csrf_failed(_error: CSRFError) -> tuple[Response | str, int]:
    return error_response(400, "csrf_failed", _csrf_message())


# --- opening a case -----------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """The case of the current session, with its key opened in this request's memory and
    the reporter's signer (derived from the reporter key the session holds)."""

    case: Case
    key: bytes = field(repr=False)
    signer: Signer = field(repr=False)
    private: X25519PrivateKey = field(repr=False)  # opens what is sealed to the reporter

    @property
    def keys(self) -> CaseKeys:
        return CaseKeys(case=self.key, signer=self.signer)


def open_current() -> Opened:
    """The session's case and its key, or a SessionProblem (the session is then ended)."""
    state = followup_session.current(db())
    case = followup.get_case(db(), current_unit(), state.case_id)
    if case is None:
        followup_session.forget()
        raise followup_session.NoSession()
    try:
        private = state.reporter_key(case.reporter_public_key)
        wrap = followup.reporter_wrap(case, WrapPurpose.CASE_KEY)
        if wrap is None:
            raise followup_session.SessionInvalid()
        key = crypto.unwrap(wrap, private, crypto.Purpose.CASE_KEY, case.public_id)
    except (SessionProblem, crypto.CryptoError):
        followup_session.forget()
        raise followup_session.SessionInvalid() from None
    return Opened(case, key, Signer.reporter(private), private)


@blueprint.get("", endpoint="start")
def start() -> str:
    reason = request.args.get("reason", "")
    return _start_page(reason=reason if reason in REASONS else None)


@blueprint.post("", endpoint="open")
def open_code() -> ResponseReturnValue:
    text = request.form.get("code", "")
    try:
        if len(text) > MAX_CODE_INPUT:
            raise crypto.CodeFormatError("length", "too long")
        code = crypto.FollowUpCode.parse(text)
    except crypto.CodeFormatError as error:
        return _start_page(code_error=CODE_ERRORS[error.reason]), 400
    unit = current_unit()
    case = followup.find_case(db(), unit, code.lookup_token(), settings().code_kdf)
    if case is None:
        return _start_page(code_error=CODE_ERRORS["not_found"]), 400
    private = code.reporter_private_key()
    signing_key = Signer.reporter(private).verifying_key
    followup_session.begin(case, unit_today(), private, signing_key)
    return redirect(url_for("followup.case"), code=303)


@blueprint.post("/leave")
def leave() -> ResponseReturnValue:
    retry_commit(followup_session.end)  # the server's record too: a copied cookie dies here
    followup_session.rotate_csrf()
    return redirect(url_for("followup.start", reason="left"), code=303)


# --- the case page ------------------------------------------------------------------------


@blueprint.get("/case", endpoint="case")
def case_page() -> ResponseReturnValue:
    try:
        opened = open_current()
    except SessionProblem as problem:
        return redirect(url_for("followup.start", reason=problem.reason), code=303)
    # Carried in the session, not the URL: a crafted link cannot claim something was sent.
    sent = [str(item) for item in get_flashed_messages(category_filter=[SENT_CATEGORY])]
    return _case_page(opened, sent=sent[-1] if sent else None)


@dataclass(frozen=True)
class ShownFile:
    id: int
    name: str | None  # as shown (web.filenames.shown_name); None: the description did not open
    size: str
    downloadable: bool


@dataclass(frozen=True)
class ShownMessage:
    id: int
    from_unit: bool
    created_on: str
    text: str | None  # None: the message was altered (docs/crypto.md §13.6)
    files: list[ShownFile]
    kind: str | None  # what the entry is, when it is not a plain message
    out_of_order: bool  # an entry before it is missing, or it was moved


@dataclass
class FormState:
    """The form that failed, what was typed in it, and what to correct (by field)."""

    name: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    files_dropped: int = 0


def _case_page(opened: Opened, *, state: FormState | None = None, sent: str | None = None) -> str:
    today = unit_today()
    case = opened.case
    view = followup.case_view(case, today, current_unit())
    deadlines = shown.shown_deadlines(view.deadlines, today)
    config = settings()
    return render_template(
        "followup_case.html",
        view=view,
        status=labels.status_label(view.status),
        track=TRACK_LABELS[view.track],
        received_on=shown_day(view.received_on),
        deadlines=deadlines,
        next_deadline=next_deadline(deadlines),
        escalation_period=shown.escalation_period(case),
        answers=_shown_answers(opened),
        messages=_thread(view, opened),
        protections=[_shown_protection(record) for record in shown.protections(case)],
        incidents=[_shown_incident(incident) for incident in shown.reporter_incidents(case)],
        kinds=[(kind.value, labels.RETALIATION_KINDS[kind]) for kind in RetaliationKind],
        people=[(person.value, labels.PROTECTED_PEOPLE[person]) for person in ProtectedPerson],
        categories=[(kind.value, labels.PROTECTION_KINDS[kind]) for kind in ProtectionCategory],
        asks=list(shown.ASKS.items()),
        today=today.isoformat(),
        forms=_form_states(state),
        no_form=FormState(),
        confirmation_period=shown.confirmation_period(case),
        failed=state if state is not None and state.errors else None,
        sent=SENT.get(sent or ""),
        max_chars=MAX_CHARS,
        max_file_size=labels.file_size(config.max_file_size),
        max_files_size=labels.file_size(config.max_report_size),
    )


def next_deadline(deadlines: list[shown.ShownDeadline]) -> shown.ShownDeadline | None:
    """What falls due first, for the summary at the top of the page; while every clock is
    paused, the first of them (the page says it stands still)."""
    running = [deadline for deadline in deadlines if deadline.due_on is not None]
    if running:
        return min(running, key=lambda deadline: deadline.due_on or date.max)
    return deadlines[0] if deadlines else None


def _form_states(failed: FormState | None) -> dict[str, FormState]:
    states = {name: FormState(name=name) for name in FORMS}
    if failed is not None and failed.name is not None:
        states[failed.name] = failed  # an incident's form too: "incident-<id>"
    return states


@dataclass(frozen=True)
class ShownProtection:
    id: int
    person: str
    category: str
    state: str
    urgent: bool
    requested_by_you: bool
    requested_on: str
    confirmation_due: str | None
    decided_on: str | None
    started_on: str | None
    ended_on: str | None
    may_ask: bool  # measures are in place: they can be changed, added to or ended
    asked_on: list[str]  # asks the unit has not answered yet


@dataclass(frozen=True)
class ShownIncident:
    id: int
    kind: str
    occurred_on: str | None
    reported_on: str
    added_on: list[str]  # the dates the reporter added something


def _shown_protection(record: ProtectionRecord) -> ShownProtection:
    return ShownProtection(
        id=record.id,
        person=str(labels.PROTECTED_PEOPLE.get(record.person, record.person.value)),
        category=str(labels.PROTECTION_KINDS.get(record.category, record.category.value)),
        state=shown.protection_state_label(record.state),
        urgent=record.urgent,
        requested_by_you=record.requested_by is Party.REPORTER,
        requested_on=shown_day(record.requested_on),
        confirmation_due=shown.long_date(record.written_confirmation_due),
        decided_on=shown.long_date(record.decided_on),
        started_on=shown.long_date(record.started_on),
        ended_on=shown.long_date(record.ended_on),
        may_ask=shown.may_ask(record),
        asked_on=[shown_day(day) for day in shown.pending_asks(record)],
    )


def _shown_incident(incident: RetaliationIncident) -> ShownIncident:
    return ShownIncident(
        id=incident.id,
        kind=str(labels.RETALIATION_KINDS.get(incident.kind, incident.kind.value)),
        occurred_on=shown.long_date(incident.occurred_on),
        reported_on=shown_day(incident.reported_on),
        added_on=[shown_day(day) for day in shown.reporter_notes(incident)],
    )


def _thread(view: followup.CaseView, opened: Opened) -> list[ShownMessage]:
    """The messages, each checked against the transcript (signed, in place, in order)."""
    checked = {
        entry.message.id: entry
        for entry in transcript.read_checked(opened.case, opened.key)
        if entry.message is not None
    }
    return [_shown(message, opened, checked.get(message.id)) for message in view.messages]


def _shown(
    message: followup.MessageView, opened: Opened, entry: transcript.EntryReading | None
) -> ShownMessage:
    reading = entry.reading if entry is not None else records.ALTERED
    files = []
    for item in message.attachments:
        meta, _trust = records.open_file_meta(opened.key, opened.case, _row(opened, item.id))
        if meta is not None:
            # Shown inert (bidirectional controls marked); the download keeps the name.
            name, size = shown_name(meta.name), labels.file_size(meta.size)
        else:
            name, size = None, labels.file_size(item.size)
        files.append(ShownFile(item.id, name, size, item.downloadable))
    return ShownMessage(
        id=message.id,
        from_unit=message.author is Party.INSPECTOR,
        created_on=shown_day(message.created_on),
        text=None if reading.altered else (reading.text() or ""),
        files=files,
        kind=None if message.purpose == "message" else labels.entry_label(message.purpose),
        out_of_order=entry is not None and entry.position is Position.OUT_OF_ORDER,
    )


def _row(opened: Opened, attachment_id: int) -> Attachment:
    row = access.case_file(opened.case, attachment_id)
    assert row is not None  # the view lists the case's own attachments
    return row


# --- replying, with files -----------------------------------------------------------------


@blueprint.post("/reply")
@runs_once
@streams_multipart  # a reply's files, read and encrypted as they arrive
def reply() -> ResponseReturnValue:
    boundary = boundary_of(request.headers.get("Content-Type"))
    if boundary is None:
        raise PublicError(400, "malformed_form", _malformed_message())
    config = settings()
    limit_body(config.max_report_size + TEXT_ALLOWANCE, _too_large_message)
    try:
        opened = open_current()
    except SessionProblem as problem:
        received = _read_without_files(boundary)
        return _start_page(reason=problem.reason, unsent=received.get(REPLY_TEXT)), 401
    # Give the database connection back while the body streams in (see report.submit).
    db().commit()
    with FileSealer(_blob_store(), opened.key, opened.case.public_id, opened.signer) as sealer:
        try:
            received = read_form(
                request.stream, boundary, _reply_spec(), sealer, token_checker(_expired_form)
            )
        except FileNotStored as failed:
            drain(request.stream)
            return _not_saved(failed.error, failed.form.get(REPLY_TEXT))
        except FileRefused as refused:
            drain(request.stream)
            state = _reply_state(refused.form, {REPLY_FILES: file_error(refused)})
            return _case_page(opened, state=state), 413
        except FormError as error:
            raise PublicError(error.status, error.code, _form_error(error)) from None
        errors = _reply_errors(received)
        if errors:
            return _case_page(opened, state=_reply_state(received, errors)), 400
        try:
            _store_reply(opened, received)
        except Exception as error:
            if not storage_refusal(error):
                raise
            return _not_saved(error, received.get(REPLY_TEXT))
        sealer.keep()
    return _done("message")


def _done(what: str) -> ResponseReturnValue:
    """Back to the case page (so a reload does not post again), saying what was done."""
    flash(what, SENT_CATEGORY)
    return redirect(url_for("followup.case"), code=303)


def _blob_store() -> BlobStore:
    # Made per request, as report.submit does: this module stays free of the JSON API's
    # package, which imports it for the deadline labels.
    return blob_store(settings())


def _reply_spec() -> FormSpec:
    config = settings()
    return FormSpec(
        token_field="csrf_token",  # noqa: S106 - a field name, not a secret
        text_fields=frozenset({REPLY_TEXT}),
        file_field=REPLY_FILES,
        max_chars=MAX_CHARS,
        max_text_bytes=MAX_TEXT_BYTES,
        max_parts=2 + followup.MAX_ATTACHMENTS + SPARE_PARTS,
        max_files=followup.MAX_ATTACHMENTS,
        max_file_size=config.max_file_size,
        max_files_size=config.max_report_size,
    )


def _reply_errors(received: ReceivedForm) -> dict[str, str]:
    if REPLY_TEXT in received.overlong:
        return {REPLY_TEXT: too_long_message()}
    if not received.get(REPLY_TEXT).strip() and not received.attachments:
        return {REPLY_TEXT: _("Write a message, or choose a file to send.")}
    return {}


def _reply_state(received: ReceivedForm, errors: dict[str, str]) -> FormState:
    return FormState(
        name="reply",
        values={REPLY_TEXT: received.get(REPLY_TEXT)},
        errors=errors,
        files_dropped=received.files_chosen,
    )


def _store_reply(opened: Opened, received: ReceivedForm) -> None:
    case, today = opened.case, unit_today()

    def store(session: Session) -> None:
        files = followup.add_files(session, case, received.attachments, today)
        document = {
            "schema": 1,
            "text": received.get(REPLY_TEXT).strip(),
            "attachments": [item.id for item in files],
        }
        entry = NewEntry("message", Party.REPORTER, files=files)
        followup.write_entry(session, case, opened.keys, entry, document, today)
        followup.touch(case, today)

    try:
        retry_commit(store)
    except CaseworkError:  # a refused file or entry (transcript.EntryRefused) alike
        db().rollback()
        raise PublicError(400, "not_accepted", _not_accepted_message()) from None


def _read_without_files(boundary: bytes) -> ReceivedForm:
    try:
        return read_text_only(request.stream, boundary, _reply_spec(), token_checker(_expired_form))
    except FormError as error:
        raise PublicError(error.status, error.code, _form_error(error)) from None


def _expired_form() -> str:
    return str(_csrf_message())


# --- retaliation and withdrawal (text only) -----------------------------------------------


@blueprint.post("/retaliation")
def retaliation() -> ResponseReturnValue:
    values = {name: request.form.get(name, "") for name in RETALIATION_FIELDS}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values["retaliation_text"]), 401
    today = unit_today()
    errors: dict[str, str] = {}
    kind = _retaliation_kind(values["retaliation_kind"], errors)
    occurred_on = _occurred_on(values["retaliation_date"], today, errors)
    text = _text(values, "retaliation_text", errors)
    if kind is None or errors:
        state = FormState(name="retaliation", values=values, errors=errors)
        return _case_page(opened, state=state), 400
    case = opened.case
    when = None if occurred_on is None else occurred_on.isoformat()
    document = {"schema": 1, "text": text, "occurred_on": when}
    entry = NewEntry(
        "retaliation", Party.REPORTER, facts=entry_facts.retaliation(kind, occurred_on)
    )

    def store() -> object:
        message = followup.write_entry(db(), case, opened.keys, entry, document, today)
        return followup.record_retaliation(db(), case, kind, message, occurred_on, today)

    return _stored(store, "retaliation", text)


@blueprint.post("/withdraw")
def withdraw() -> ResponseReturnValue:
    values = {name: request.form.get(name, "") for name in WITHDRAW_FIELDS}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values["withdraw_reason"]), 401
    errors: dict[str, str] = {}
    reason = _text(values, "withdraw_reason", errors)
    status = 400
    if not followup.case_view(opened.case, unit_today(), current_unit()).may_withdraw:
        errors["withdraw_ended"] = _("This report can no longer be withdrawn.")
        status = 409
    elif values["withdraw_confirm"] != "yes":
        errors["withdraw_confirm"] = _("Tick the box to confirm that you want to withdraw.")
    in_part = values["withdraw_scope"] == WITHDRAW_PART
    if in_part and not reason.strip() and "withdraw_reason" not in errors:
        errors["withdraw_reason"] = _("Say which part of your report you withdraw.")
    if errors:
        state = FormState(name="withdraw", values=values, errors=errors)
        return _case_page(opened, state=state), status
    case, today = opened.case, unit_today()

    def store() -> object:
        message = _write(opened, followup.withdrawal_purpose(in_part), reason, today)
        return followup.withdraw(db(), case, message, today, in_part=in_part)

    return _stored(store, "withdrawn_part" if in_part else "withdrawn", reason, 409)


def _stored(
    action: Callable[[], object], done: str, unsent: str, status: int = 400
) -> ResponseReturnValue:
    """Take the reporter's action and commit it, or roll back and refuse it as a whole.

    If the service cannot store it, the reporter is told so and gets ``unsent`` (what
    they typed) back to copy.
    """
    try:
        retry_commit(lambda _session: action())
    except CaseworkError:
        db().rollback()
        raise PublicError(status, "not_accepted", _not_accepted_message()) from None
    except Exception as error:
        if not storage_refusal(error):
            raise
        return _not_saved(error, unsent)
    return _done(done)


def _not_saved(error: BaseException, unsent: str) -> tuple[str, int, dict[str, str]]:
    current_app.logger.error("a follow-up could not be stored: %s", type(error).__name__)
    db().rollback()
    return _start_page(reason="not_saved", unsent=unsent), 503, RETRY_LATER


def _write(
    opened: Opened, purpose: str, text: str, today: date, facts: entry_facts.Facts | None = None
) -> Message:
    """The reporter's words as a transcript entry, sealed and signed as the browser would."""
    entry = NewEntry(purpose, Party.REPORTER, facts=facts or {})
    document = {"schema": 1, "text": text}
    return followup.write_entry(db(), opened.case, opened.keys, entry, document, today)


# --- escalation (Art. 38) and re-denunciation (Art. 37) -----------------------------------


@dataclass(frozen=True)
class ShownAnswer:
    id: int
    kind: str  # what it answers, in words
    answered_on: str
    text: str | None  # None: the answer was altered (docs/crypto.md §13.8)


@blueprint.post("/escalate")
def escalate() -> ResponseReturnValue:
    refused = _(
        "This report cannot be escalated now: no deadline set by law has passed, or an "
        "answer to an earlier escalation or re-denunciation is still awaited."
    )
    return _reporter_request(escalation.ESCALATION, "escalate", refused, "escalated")


@blueprint.post("/re-denounce")
def re_denounce() -> ResponseReturnValue:
    refused = _(
        "This report cannot be re-denounced now: it has not been concluded and its "
        "resolution deadline has not passed, or an answer is still awaited."
    )
    return _reporter_request(escalation.RE_DENUNCIATION, "redenounce", refused, "re_denounced")


def _reporter_request(kind: str, form: str, refused: str, done: str) -> ResponseReturnValue:
    """The reporter's escalation or re-denunciation, with their optional note, to the head
    of the directly superior unit (casework.escalation)."""
    field_name = f"{form}_text"
    values = {field_name: request.form.get(field_name, "")}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values[field_name]), 401
    today = unit_today()
    errors: dict[str, str] = {}
    text = _text(values, field_name, errors)
    status = 400
    view = followup.case_view(opened.case, today, current_unit())
    if not (view.may_escalate if kind == escalation.ESCALATION else view.may_re_denounce):
        errors[f"{form}_refused"] = refused
        status = 409
    if errors:
        state = FormState(name=form, values=values, errors=errors)
        return _case_page(opened, state=state), status

    def store() -> object:
        message = _write(opened, PURPOSES[kind], text, today)
        return followup.escalate(db(), opened.case, message, today, kind=kind)

    return _stored(store, done, text, 409)


# The transcript purpose of the reporter's words for each request (docs/crypto.md §13.3).
PURPOSES = {escalation.ESCALATION: "escalation", escalation.RE_DENUNCIATION: "re-denunciation"}


def _shown_answers(opened: Opened) -> list[ShownAnswer]:
    """The heads' answers, opened with the reporter's key in this request's memory."""
    shown_answers = []
    for event in escalation.answers(opened.case):
        reading = escalation.read_as_reporter(opened.case, event, opened.private)
        if reading is None:
            continue  # purged: nothing left to read
        shown_answers.append(
            ShownAnswer(
                id=event.id,
                kind=labels.event_label(event.kind),
                answered_on=shown_day(event.occurred_on),
                text=None if reading.altered else (reading.text() or ""),
            )
        )
    return shown_answers


# --- protection, and additions to a retaliation report --------------------------------------


@blueprint.post("/protection")
def request_protection() -> ResponseReturnValue:
    values = {name: request.form.get(name, "") for name in (*PROTECTION_FIELDS, PROTECTION_TEXT)}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values[PROTECTION_TEXT]), 401
    errors: dict[str, str] = {}
    person = _choice(ProtectedPerson, values["protection_person"])
    if person is None:
        errors["protection_person"] = _("Choose who needs protection.")
    category = _choice(ProtectionCategory, values["protection_category"])
    if category is None:
        errors["protection_category"] = _("Choose what needs protecting.")
    text = _text(values, PROTECTION_TEXT, errors)
    if person is None or category is None or errors:
        state = FormState(name="protection", values=values, errors=errors)
        return _case_page(opened, state=state), 400
    today, case = unit_today(), opened.case
    urgent = values["protection_urgent"] == "yes"
    due = shown.confirmation_due(case, today, urgent)
    facts = entry_facts.protection_request(person, category, urgent)

    def store() -> object:
        message = _write(opened, "protection-request", text, today, facts)
        return protection.request_by_reporter(
            db(), case, person, category, urgent, message, today, due
        )

    return _stored(store, "protection", text)


@blueprint.post("/incidents/<int:incident_id>/notes")
def add_to_incident(incident_id: int) -> ResponseReturnValue:
    values = {INCIDENT_TEXT: request.form.get(INCIDENT_TEXT, "")}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values[INCIDENT_TEXT]), 401
    incident = _reported_incident(opened.case, incident_id)
    if incident is None:
        raise PublicError(404, "incident_not_found", _incident_missing_message())
    errors: dict[str, str] = {}
    text = _text(values, INCIDENT_TEXT, errors)
    if not errors and not text:
        errors[INCIDENT_TEXT] = _("Write what you want to add.")
    if errors:
        state = FormState(name=f"{INCIDENT_FORM}{incident.id}", values=values, errors=errors)
        return _case_page(opened, state=state), 400
    today = unit_today()
    facts = entry_facts.retaliation_note(incident.id)

    def store() -> object:
        message = _write(opened, "retaliation-note", text, today, facts)
        return protection.add_reporter_note(db(), incident, message, today)

    return _stored(store, "incident", text)


@blueprint.post("/protection/<int:record_id>/asks")
def ask_about_protection(record_id: int) -> ResponseReturnValue:
    """The protected person asks to change, add to or end the measures in place."""
    values = {name: request.form.get(name, "") for name in ASK_FIELDS}
    try:
        opened = open_current()
    except SessionProblem as problem:
        return _start_page(reason=problem.reason, unsent=values["ask_text"]), 401
    record = shown.protection_record(opened.case, record_id)
    if record is None or not shown.may_ask(record):
        raise PublicError(404, "protection_not_found", _protection_missing_message())
    errors: dict[str, str] = {}
    ask = values["ask_kind"]
    if ask not in shown.ASKS:
        errors["ask_kind"] = _("Choose what you ask for.")
    text = _text(values, "ask_text", errors)
    if errors:
        state = FormState(name=f"{ASK_FORM}{record.id}", values=values, errors=errors)
        return _case_page(opened, state=state), 400
    today = unit_today()
    facts = entry_facts.protection_ask(record.id, ask)

    def store() -> object:
        message = _write(opened, "protection-ask", text, today, facts)
        return protection.reporter_asks(db(), record, ask, message, today)

    return _stored(store, "asked", text)


def _reported_incident(case: Case, incident_id: int) -> RetaliationIncident | None:
    """An incident of this case that its reporter reported; no other can be added to."""
    return next((item for item in shown.reporter_incidents(case) if item.id == incident_id), None)


def _choice(kind: type[Choice], value: str) -> Choice | None:
    try:
        return kind(value)
    except ValueError:
        return None


def _retaliation_kind(value: str, errors: dict[str, str]) -> RetaliationKind | None:
    try:
        return RetaliationKind(value)
    except ValueError:
        errors["retaliation_kind"] = _("Choose what happened from the list.")
        return None


def _occurred_on(value: str, today: date, errors: dict[str, str]) -> date | None:
    """A date as the date picker sends it (2026-03-31), or typed as 31/3/2026 by people
    whose browser shows a plain text box instead (web.dates.read_day)."""
    if not value.strip():
        return None
    when = read_day(value)
    if when is None:
        errors["retaliation_date"] = _("Enter the date as day/month/year, for example 31/3/2026.")
        return None
    if when > today:
        errors["retaliation_date"] = _("This date is in the future. Check it, or leave it empty.")
        return None
    return when


def _text(values: dict[str, str], name: str, errors: dict[str, str]) -> str:
    """A text field, line breaks normalised; one too long is cut for showing back (the
    box's maxlength stops browsers sending more) and refused."""
    text = values[name].replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_CHARS:
        errors[name] = too_long_message()
        values[name] = text[:MAX_CHARS]
    return text.strip()


# --- downloading a file the unit sent -----------------------------------------------------


@blueprint.get("/files/<int:attachment_id>")
def download(attachment_id: int) -> ResponseReturnValue:
    try:
        opened = open_current()
    except SessionProblem as problem:
        return redirect(url_for("followup.start", reason=problem.reason), code=303)
    case = opened.case
    attachment = followup.unit_file(db(), case, attachment_id)
    if attachment is None:
        raise PublicError(404, "file_not_found", _file_missing_message())
    # Either protocol's description, checked: signed by the message's author and in its
    # place (docs/crypto.md §13.6); one that was altered is not served.
    meta, _trust = records.open_file_meta(opened.key, case, attachment)
    if meta is None:
        raise PublicError(404, "file_not_found", _file_missing_message())
    try:
        reader = _blob_store().open_reader(attachment.blob_id)
    except BlobNotFound:
        raise PublicError(404, "file_not_found", _file_missing_message()) from None
    db().commit()  # nothing more to read: free the connection for the stream's duration
    headers = Headers()
    headers.set("Content-Disposition", "attachment", **download_names(meta.name))
    headers["Content-Length"] = str(meta.size)
    headers["X-Content-Type-Options"] = "nosniff"
    plaintext = _decrypted(opened.key, case.public_id, meta, reader, current_app.logger)
    return Response(plaintext, headers=headers, mimetype="application/octet-stream")


def _decrypted(
    key: bytes, case_id: str, meta: crypto.FileMeta, reader: BinaryIO, logger: logging.Logger
) -> Iterator[bytes]:
    """Plaintext, chunk by chunk. A stream that fails to authenticate ends the download
    short of its Content-Length, so the browser reports it failed instead of keeping it.
    (It runs after the view has returned, outside the app context: hence ``logger``.)"""
    try:
        yield from crypto.decrypt_stream(key, case_id, meta, crypto.read_pieces(reader))
    except crypto.CryptoError as error:
        logger.warning("a file of a case failed to decrypt: %s", type(error).__name__)
    finally:
        reader.close()


_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*]')
_ASCII_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})
MAX_DOWNLOAD_NAME = 255


def safe_file_name(name: str) -> str:
    """A name safe to save under on any system: no folders, control or format characters
    (a right-to-left override can disguise "exe.txt"), nor characters Windows refuses."""
    cleaned = "".join(ch for ch in clean_file_name(name) if not _is_format_character(ch))
    cleaned = _UNSAFE_NAME.sub("_", cleaned).strip(" .")
    return cleaned[:MAX_DOWNLOAD_NAME] or "file"


def download_names(name: str) -> dict[str, str]:
    """Content-Disposition parameters: an ASCII ``filename`` for old browsers and, for any
    other name, the UTF-8 ``filename*`` of RFC 6266 / RFC 5987."""
    safe = safe_file_name(name)
    if safe.isascii():
        return {"filename": safe}
    # Accents come off by decomposition; đ has none, so it is mapped first.
    spelled = safe.translate(_ASCII_LETTERS)
    fallback = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    fallback = fallback.strip(" ")
    if not fallback.rstrip(".") or fallback.startswith("."):
        fallback = "file" + fallback  # nothing left of the name but its extension
    return {"filename": fallback, "filename*": "UTF-8''" + quote(safe, safe="!#$&+^`|~")}


def _is_format_character(character: str) -> bool:
    return unicodedata.category(character) in ("Cf", "Cc", "Zl", "Zp")


# --- rendering ----------------------------------------------------------------------------


def _start_page(
    *, reason: str | None = None, code_error: LazyString | None = None, unsent: str = ""
) -> str:
    return render_template(
        "followup_start.html",
        unit=reachable_unit(),  # its citizen reception, for meeting the unit in person
        reason=REASONS.get(reason or ""),
        reason_is_error=reason in ("expired", "invalid", "ended", "not_saved"),
        code_error=code_error,
        unsent=unsent.strip(),
        # For the JavaScript enhancement (followup_js.html), which builds the case view
        # in the browser and needs these labels in the page's language.
        retaliation_kinds={kind.value: label for kind, label in labels.RETALIATION_KINDS.items()},
        protected_people={person.value: label for person, label in labels.PROTECTED_PEOPLE.items()},
        protection_kinds={kind.value: label for kind, label in labels.PROTECTION_KINDS.items()},
        protection_asks=dict(shown.ASKS),
        status_labels=dict(labels.STATUSES),
    )


def _form_error(error: FormError) -> str:
    if error.status == 413:
        return _too_large_message()
    if error.code == "csrf_missing":
        return _csrf_message()
    return _malformed_message()


def _csrf_message() -> str:
    return _(
        "This page has expired, or the form was not sent from this website. For your "
        "safety, nothing was sent. If your browser still shows what you wrote, copy it, "
        "then open the follow-up page again."
    )


def _malformed_message() -> str:
    return _(
        "Your browser sent the form in a way we cannot read. Nothing was sent. Please "
        "open the follow-up page again and send it from there."
    )


def _too_large_message() -> str:
    return _(
        "This is larger than this service accepts: files together may be up to %(limit)s. "
        "Nothing was sent. Please go back, choose fewer or smaller files, and try again.",
        limit=labels.file_size(settings().max_report_size),
    )


def _not_accepted_message() -> str:
    return _("This could not be accepted. Nothing was sent. Please try again.")


def _protection_missing_message() -> str:
    return _("This protection cannot be changed here. Go back to your report and try again.")


def _incident_missing_message() -> str:
    return _("This retaliation report is not available. Go back to your report and try again.")


def _file_missing_message() -> str:
    return _("This file is not available. Go back to your report and try another link.")
