"""One case: the report decrypted, its files, the conversation, and who may read it.

``cases.show`` GET ``/cases/<public_id>``; ``cases.download`` GET
``/cases/<public_id>/files/<attachment_id>``; ``cases.reply`` and ``cases.grant`` POST;
``cases.revoke`` GET ``/cases/<public_id>/readers/<person_id>/revoke`` asks first, on a
page of its own, and ``cases.revoke_submit`` POST to the same address does it. Decryption
happens here, in the request's memory, with the key ``current_private_key()`` lends this
request; nothing decrypted is stored or logged, and templates autoescape all of it.
Whoever holds no wrap of the case key gets 404, whether or not the case exists. Every
opening, download, reply, grant and revoke is audited.

Every view of the review app that changes a case opens it with ``acting_on`` rather than
``open_case``: a case forwarded to another unit is read only for the unit that sent it.

A reply may carry files. Its form posts as multipart data and is read as it streams in
(``web.streaming``, shared with the public app), never through ``request.form``, whose
parser would spool the files to temporary files in plaintext: each file is encrypted
under the case key as it arrives, its description signed by the inspector, and the blobs
are deleted again if the reply is refused or cannot be stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, records, transcript, upgrade, workflow
from casework.blobs import blob_store
from casework.dates import unit_today
from casework.intake import MAX_ATTACHMENTS, public_reference
from casework.records import CaseKeys, Reading, Trust
from casework.sealing import FileSealer
from review import auth, documents
from review.auth import current_inspector, current_private_key, login_required
from review.labels import ROLE_LABELS
from review.notices import done
from review.settings import settings
from store.blobs import BlobNotFound
from store.models import Case, Inspector, InspectorRole, RetaliationIncident, Track
from web import labels
from web.database import db, retry_commit, runs_once
from web.errors import RETRY_LATER, PublicError, storage_refusal
from web.filenames import isolated_name
from web.multipart import streams_multipart
from web.streaming import (
    BYTES_PER_CHAR,
    FileNotStored,
    FileRefused,
    FormError,
    FormSpec,
    ReceivedForm,
    boundary_of,
    drain,
    file_error,
    limit_body,
    read_form,
    token_checker,
)

blueprint = Blueprint("cases", __name__)

# The REPORT document's text fields (docs/submission.md §1), labelled as the form asks.
REPORT_LABELS: Mapping[str, LazyString] = {
    "what": _l("What happened"),
    "who": _l("Who is involved"),
    "where": _l("Where"),
    "when": _l("When"),
    "how_known": _l("How the reporter knows"),
    "evidence": _l("Evidence, and where it is"),
}

OPENED = "case_open"
DOWNLOADED = "file_download"
REPLIED = "reply"
GRANTED = "grant"
REVOKED = "revoke"
REPLY_TEXT = "text"
REPLY_FILES = "files"
# Part headers, boundaries and the token on top of the files; a browser may add parts
# such as a named submit button.
REPLY_TEXT_ALLOWANCE = 1024 * 1024
SPARE_PARTS = 16
UPGRADED = "case_upgraded"  # protocol 1 to 2, on opening (docs/crypto.md §13.7)
ALTERED_FILE = _l(
    "This file's description was altered in storage: it does not open as it was written."
)

MAX_CASE_ID = 36  # the length of a case's public id (a UUID)
MAX_FILE_NAME = 120  # characters kept of a decrypted name in Content-Disposition
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;,%]+')


@dataclass(frozen=True)
class Problem:
    """A refused form: which form (``reply``, ``grant``, ``revoke``), the message, and
    what the person typed, shown again; ``field`` is the id of the field to correct
    (``<form>-field`` unless said), ``files_dropped`` how many chosen files were not kept."""

    form: str
    message: str
    text: str = ""
    field: str = ""
    files_dropped: int = 0

    @property
    def field_id(self) -> str:
        return self.field or f"{self.form}-field"


# --- pages ------------------------------------------------------------------------------


@blueprint.get("/cases/<public_id>")
@login_required()
def show(public_id: str) -> ResponseReturnValue:
    return _page(open_case(public_id))


@blueprint.get("/cases/<public_id>/files/<int:attachment_id>")
@login_required()
def download(public_id: str, attachment_id: int) -> Response:
    case, keys = open_case(public_id)
    item = access.case_file(case, attachment_id)
    if item is None:
        raise not_found()
    meta, _trust = records.open_file_meta(keys.case, case, item)
    if meta is None:
        raise PublicError(422, "altered_file", ALTERED_FILE)
    store = blob_store(settings())
    try:
        reader = store.open_reader(item.blob_id)
    except BlobNotFound:
        raise PublicError(404, "file_missing", _("This file is missing from storage.")) from None
    auth.audit(DOWNLOADED, case_public_id=case.public_id, details={"attachment": item.id})
    db().commit()  # audited before a single byte leaves
    response = Response(
        _stream(keys.case, case.public_id, meta, reader), mimetype="application/octet-stream"
    )
    response.headers["Content-Disposition"] = content_disposition(meta.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.record_once
def _exempt_from_global_csrf(state: BlueprintSetupState) -> None:
    # CSRFProtect's hook reads request.form, which would spool a reply's files to
    # temporary files: plaintext on disk. The view checks the token from the first part.
    state.app.extensions["csrf"].exempt(reply)


@blueprint.post("/cases/<public_id>/reply")
@runs_once
@streams_multipart  # a reply's files, read and encrypted under the case key as they arrive
@login_required()
def reply(public_id: str) -> ResponseReturnValue:
    boundary = boundary_of(request.headers.get("Content-Type"))
    if boundary is None:
        raise PublicError(400, "malformed_form", _reply_unreadable())
    limit_body(settings().max_report_size + REPLY_TEXT_ALLOWANCE, _reply_too_large)
    case, keys = acting_on(public_id)
    if keys.signer is None:  # reader_keys gives every reader theirs
        raise ValueError("a reply needs its author's signer")
    db().commit()  # no transaction held open while files stream in
    with FileSealer(blob_store(settings()), keys.case, case.public_id, keys.signer) as sealer:
        try:
            received = read_form(
                request.stream, boundary, _reply_spec(), sealer, token_checker(_expired_form)
            )
        except FileNotStored as failed:
            drain(request.stream)
            return _reply_not_stored((case, keys), failed.form, failed.error)
        except FileRefused as refused:
            drain(request.stream)
            problem = _reply_refused(refused.form, file_error(refused), "reply-files")
            return _page((case, keys), problem, 413)
        except FormError as error:
            message = _reply_too_large() if error.status == 413 else _reply_unreadable()
            raise PublicError(error.status, error.code, message) from None
        if REPLY_TEXT in received.overlong:
            return _page((case, keys), _reply_refused(received, _reply_problem("too_long")), 400)
        try:
            _store_reply((case, keys), received)
        except access.AccessError as error:
            db().rollback()
            return _page((case, keys), _reply_refused(received, _reply_problem(error.code)), 400)
        except Exception as error:
            if not storage_refusal(error):
                raise
            return _reply_not_stored((case, keys), received, error)
        sealer.keep()
    return redirect(url_for("cases.show", public_id=case.public_id, _anchor="messages"), 303)


@blueprint.post("/cases/<public_id>/grant")
@login_required()
def grant(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    person_id = _person_id()
    try:
        wrap = access.grant(
            db(), case, current_inspector(), current_private_key(), person_id, unit_today()
        )
    except access.AccessError as error:
        return _page((case, keys), Problem("grant", _grant_problem(error.code)), 400)
    grantee = wrap.inspector
    auth.audit(
        GRANTED,
        case_public_id=case.public_id,
        target=grantee.username if grantee else str(person_id),
        details={"inspector_id": person_id},
    )
    db().commit()
    return redirect(url_for("cases.show", public_id=case.public_id, _anchor="readers"), 303)


@blueprint.get("/cases/<public_id>/readers/<int:person_id>/revoke")
@login_required()
def revoke(public_id: str, person_id: int) -> ResponseReturnValue:
    """Ask first: who loses what, and a button that posts. Nothing changes on a GET."""
    case, keys = acting_on(public_id)
    try:
        person = access.check_revoke(case, current_inspector(), person_id)
    except access.AccessError as error:
        return _revoke_refused((case, keys), error)
    return render_template(
        "case_revoke.html",
        case=case,
        reference=public_reference(case.public_id),
        person=person,
        role=ROLE_LABELS[person.role],
        custodian=person.role is InspectorRole.CUSTODIAN,
        is_self=person.id == current_inspector().id,
    )


@blueprint.post("/cases/<public_id>/readers/<int:person_id>/revoke")
@login_required()
def revoke_submit(public_id: str, person_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    try:
        person = access.revoke(db(), case, current_inspector(), person_id)
    except access.AccessError as error:
        return _revoke_refused((case, keys), error)
    auth.audit(
        REVOKED,
        case_public_id=case.public_id,
        target=person.username,
        details={"inspector_id": person.id},
    )
    db().commit()
    if person.id == current_inspector().id:  # gave up one's own access: nothing to show
        reference = public_reference(case.public_id)
        done(_("You can no longer read case %(reference)s.", reference=reference))
        return redirect(url_for("home.index"), 303)
    back = url_for("cases.show", public_id=case.public_id, revoked=person.id, _anchor="readers")
    return redirect(back, 303)


# --- a reply, with files -----------------------------------------------------------------


def _store_reply(opened: tuple[Case, CaseKeys], received: ReceivedForm) -> None:
    case, keys = opened
    me, today = current_inspector(), unit_today()

    def store(session: Session) -> None:
        files = received.attachments
        access.reply(session, case, me, keys, received.get(REPLY_TEXT), today, files)
        auth.audit(REPLIED, case_public_id=case.public_id, details={"files": len(files)})

    retry_commit(store)


def _reply_spec() -> FormSpec:
    """The limits of the reporter's own reply (submit.views.followup), on the unit's side."""
    config = settings()
    return FormSpec(
        token_field="csrf_token",  # noqa: S106 - a field name, not a secret
        text_fields=frozenset({REPLY_TEXT}),
        file_field=REPLY_FILES,
        max_chars=access.MAX_REPLY_CHARS,
        max_text_bytes=access.MAX_REPLY_CHARS * BYTES_PER_CHAR,
        max_parts=2 + MAX_ATTACHMENTS + SPARE_PARTS,
        max_files=MAX_ATTACHMENTS,
        max_file_size=config.max_file_size,
        max_files_size=config.max_report_size,
    )


def _expired_form() -> str:
    return str(
        _(
            "This form is out of date, for instance because you signed in or out in "
            "another tab. Nothing was sent. Open the case again and reply from there."
        )
    )


def _reply_refused(received: ReceivedForm, message: str, field: str = "") -> Problem:
    """The reply form again with what was typed (files cannot be refilled)."""
    return Problem(
        "reply",
        message,
        received.get(REPLY_TEXT),
        field=field,
        files_dropped=received.files_chosen,
    )


def _reply_not_stored(
    opened: tuple[Case, CaseKeys], received: ReceivedForm, error: BaseException
) -> ResponseReturnValue:
    """The case again, with what was typed, saying plainly that nothing was sent."""
    current_app.logger.error("a reply could not be stored: %s", type(error).__name__)
    db().rollback()
    message = _("The reply could not be saved, so nothing was sent. Please try again later.")
    page, status = _page(opened, _reply_refused(received, str(message)), 503)
    return page, status, RETRY_LATER


def _reply_unreadable() -> str:
    return str(
        _(
            "The browser sent the reply in a way that cannot be read. Nothing was sent. Open "
            "the case again and reply from there."
        )
    )


def _reply_too_large() -> str:
    return str(
        _(
            "This reply is larger than the service accepts: files together may be up to "
            "%(limit)s. Nothing was sent. Go back, choose fewer or smaller files, and send it "
            "again.",
            limit=labels.file_size(settings().max_report_size),
        )
    )


# --- helpers ----------------------------------------------------------------------------


def acting_on(public_id: str) -> tuple[Case, CaseKeys]:
    """``open_case`` for a view that changes the case: 403 for a reader of a unit that
    forwarded it away (``access.acts_on``). The one check every writing view shares. The
    keys hold the case's unit key, made now if the case had none."""
    case, keys = open_case(public_id)
    inspector = current_inspector()
    if not access.acts_on(case, inspector):
        raise PublicError(
            403,
            "forwarded_away",
            _("This case was forwarded to another unit: you can read it, not act on it."),
        )
    if keys.unit is None:
        keys = access.writer_keys(db(), case, inspector, current_private_key(), unit_today())
    return case, keys


def open_case(public_id: str) -> tuple[Case, CaseKeys]:
    """The case and this inspector's keys for it, or the one 404 for "no such case" and
    "not yours to open". A case of protocol 1 opened by a reader of the unit that holds
    it is upgraded first (docs/crypto.md §13.7)."""
    inspector = current_inspector()
    if len(public_id) > MAX_CASE_ID or "\x00" in public_id:
        raise not_found()  # PostgreSQL refuses a NUL in text: a server error, not a 404
    case = followup.get_case(db(), inspector.unit, public_id)
    if case is None:
        raise not_found()
    try:
        if case.protocol < 2 and access.acts_on(case, inspector):
            _upgrade(case, inspector)
        return case, access.reader_keys(case, inspector, current_private_key())
    except access.NoAccess:
        raise not_found() from None


def _upgrade(case: Case, inspector: Inspector) -> None:
    if upgrade.by_reader(db(), case, inspector, current_private_key(), unit_today()):
        auth.audit(UPGRADED, case_public_id=case.public_id, details={"protocol": 2})


def not_found() -> PublicError:
    # The same answer for a case that does not exist and one this person cannot open.
    return PublicError(404, "not_found", _("There is no case here that you can open."))


def _page(
    opened: tuple[Case, CaseKeys], problem: Problem | None = None, status: int = 200
) -> tuple[str, int]:
    case, keys = opened
    case_key = keys.case
    inspector = current_inspector()
    acting = access.acts_on(case, inspector)
    auth.audit(OPENED, case_public_id=case.public_id)
    read_up_to = access.unread_since(db(), case, inspector)
    reading = access.checked_report(case_key, case)
    report = documents.checked(reading)
    page = render_template(
        "case.html",
        case=case,
        reference=public_reference(case.public_id),
        named=case.track is Track.NAMED,
        report=report,
        report_fields=_report_fields(report),
        report_malformed=_malformed_parts(report),
        protection=report.protection if report else None,
        protections=case.protections,
        clocks=workflow.current_deadlines(case),
        today=unit_today(),
        report_altered=reading.altered,
        report_unsigned=reading.trust is Trust.UNSIGNED,  # of protocol 1 (§13.7)
        protocol_1=case.protocol < 2,
        incidents=[
            (incident, _incident_text(keys, case, incident))
            for incident in case.retaliation_incidents
        ],
        files=access.report_files(case_key, case),
        file_label=isolated_name,  # a sender's name for a file, shown inert (web.filenames)
        messages=access.open_messages(case_key, case),
        read_up_to=read_up_to,
        readers=access.readers(case),
        excluded=access.excluded(case),
        acting=acting,
        grantable=access.grantable(db(), case) if acting else [],
        revocable={person.id for person in access.revocable(case, inspector)} if acting else set(),
        revoked=_just_revoked(case),
        role_labels=ROLE_LABELS,
        me=inspector,
        problem=problem,
        max_reply=access.MAX_REPLY_CHARS,
        max_file_size=labels.file_size(settings().max_file_size),
        max_report_size=labels.file_size(settings().max_report_size),
        format_decimal=format_decimal,
    )
    access.mark_read(db(), case, inspector, case.messages, auth.now())
    db().commit()
    return page, status


def _incident_text(keys: CaseKeys, case: Case, incident: RetaliationIncident) -> Reading | None:
    """The words of an incident: the reporter's transcript entry, or the unit's NOTE."""
    if incident.message_id is not None:
        return transcript.entry_reading(case, keys.case, incident.message_id)
    return access.open_note(keys, case, incident, "details", "incident")


def _revoke_refused(
    opened: tuple[Case, CaseKeys], error: access.AccessError
) -> ResponseReturnValue:
    if isinstance(error, access.NoAccess):
        raise not_found()
    # Refused for the role is a matter of rights (403); the rest are a form's mistakes.
    status = 403 if error.code == "custodian" else 400
    return _page(opened, Problem("revoke", _revoke_problem(error.code)), status)


def _just_revoked(case: Case) -> Inspector | None:
    """The person whose access the last revoke took (``?revoked=<id>``), for the page to
    say so; None unless that person is of the unit and no longer reads the case, so a
    link cannot make the page claim what did not happen."""
    raw = request.args.get("revoked", "")
    if not raw.isdigit() or len(raw) > 18:
        return None
    person = db().get(Inspector, int(raw))
    if person is None or person.unit_id != current_inspector().unit_id:
        return None
    if any(reader.id == person.id for reader in access.readers(case)):
        return None
    return person


def _report_fields(report: documents.CheckedReport | None) -> list[tuple[str, LazyString, str]]:
    if report is None:
        return []
    return [(name, REPORT_LABELS[name], text) for name, text in report.texts]


def _malformed_parts(report: documents.CheckedReport | None) -> str:
    """The parts of the report left out for their shape, by their labels ("" if none)."""
    if report is None:
        return ""
    labels = {**REPORT_LABELS, documents.PROTECTION: _l("Protection requested")}
    return ", ".join(str(labels[name]) for name in report.malformed)


def _person_id() -> int:
    raw = request.form.get("person", "")
    if not raw.isdigit() or len(raw) > 18:
        raise PublicError(400, "bad_person", _("Choose a person from the list."))
    return int(raw)


def _reply_problem(code: str) -> str:
    if code == "too_long":
        return str(
            _("The reply is too long: at most %(count)d characters.", count=access.MAX_REPLY_CHARS)
        )
    if code == "too_many_files":  # the form reader refuses them first; the same words
        return str(_("Choose at most %(count)s files.", count=MAX_ATTACHMENTS))
    return str(_("Write a reply, or choose a file to send."))


def _grant_problem(code: str) -> str:
    messages: dict[str, str] = {
        "excluded": _(
            "The reporter excluded this person for a conflict of interest. They cannot be "
            "given this case."
        ),
        "already_reader": _("This person can already read the case."),
        "not_a_reader": _("Only active inspectors and custodians can read cases."),
    }
    return messages.get(code) or str(_("Choose a person from the list."))


def _revoke_problem(code: str) -> str:
    if code == "last_reader":
        return str(
            _("This is the last person who can read the case. Give it to someone else first.")
        )
    if code == "custodian":
        return str(_("Only a custodian can remove a custodian's access to a case."))
    return str(_("This person cannot read the case."))


def _stream(case_key: bytes, case_id: str, meta: crypto.FileMeta, reader: Any) -> Iterator[bytes]:
    """Plaintext, one chunk at a time: memory stays flat whatever the file's size."""
    try:
        yield from crypto.decrypt_stream(case_key, case_id, meta, crypto.read_pieces(reader))
    finally:
        reader.close()


def content_disposition(name: str) -> str:
    """``attachment`` with a sanitised name: an ASCII fallback and the UTF-8 form (RFC 6266,
    RFC 5987). Path parts, control characters and quoting characters never pass."""
    cleaned = safe_file_name(name)
    ascii_name = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_IN_NAME.sub("_", ascii_name).strip(" .") or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def safe_file_name(name: str) -> str:
    base = re.split(r"[/\\]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE_IN_NAME.sub("_", base).strip(" .")
    return base[:MAX_FILE_NAME] or "attachment"
