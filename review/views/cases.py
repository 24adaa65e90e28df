"""One case: the report decrypted, its files, the conversation, and who may read it.

``cases.show`` GET ``/cases/<public_id>``; ``cases.download`` GET
``/cases/<public_id>/files/<attachment_id>``; ``cases.reply``, ``cases.grant`` and
``cases.revoke`` POST. Decryption happens here, in the request's memory, with the key
``current_private_key()`` lends this request; nothing decrypted is stored or logged, and
templates autoescape all of it. Whoever holds no wrap of the case key gets 404, whether or
not the case exists. Every opening, download, reply, grant and revoke is audited.

Replies are text only: an inspector's files would need the streaming multipart reader of
the submit app (plaintext must never reach a temporary file), which the review app may
not import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crypto
from casework import access, followup, workflow
from casework.dates import unit_today
from casework.intake import public_reference
from review import auth
from review.auth import current_inspector, current_private_key, login_required
from review.labels import ROLE_LABELS
from review.settings import settings
from store.blobs import BlobNotFound, FilesystemBlobStore
from store.models import Case, Track
from web.database import db
from web.errors import PublicError

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

MAX_FILE_NAME = 120  # characters kept of a decrypted name in Content-Disposition
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;,%]+')


@dataclass(frozen=True)
class Problem:
    """A refused form: which form (``reply``, ``grant``, ``revoke``), the message, and
    what the person typed, shown again."""

    form: str
    message: str
    text: str = ""


# --- pages ------------------------------------------------------------------------------


@blueprint.get("/cases/<public_id>")
@login_required()
def show(public_id: str) -> ResponseReturnValue:
    return _page(open_case(public_id))


@blueprint.get("/cases/<public_id>/files/<int:attachment_id>")
@login_required()
def download(public_id: str, attachment_id: int) -> Response:
    case, case_key = open_case(public_id)
    item = access.case_file(case, attachment_id)
    if item is None:
        raise not_found()
    try:
        meta = crypto.open_file_meta(case_key, case.public_id, item.meta)
    except crypto.CryptoError:
        raise PublicError(
            422, "unreadable_file", _("This file's description cannot be decrypted.")
        ) from None
    store = FilesystemBlobStore(settings().blob_path)
    try:
        reader = store.open_reader(item.blob_id)
    except BlobNotFound:
        raise PublicError(404, "file_missing", _("This file is missing from storage.")) from None
    auth.audit(DOWNLOADED, case_public_id=case.public_id, details={"attachment": item.id})
    db().commit()  # audited before a single byte leaves
    response = Response(
        _stream(case_key, case.public_id, meta, reader), mimetype="application/octet-stream"
    )
    response.headers["Content-Disposition"] = content_disposition(meta.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/cases/<public_id>/reply")
@login_required()
def reply(public_id: str) -> ResponseReturnValue:
    case, case_key = open_case(public_id)
    # Browsers send a textarea's line breaks as CRLF; the reporter's side expects LF.
    text = request.form.get("text", "").replace("\r\n", "\n").replace("\r", "\n")
    try:
        access.reply(db(), case, current_inspector(), case_key, text, unit_today())
    except access.AccessError as error:
        return _page((case, case_key), Problem("reply", _reply_problem(error.code), text), 400)
    auth.audit(REPLIED, case_public_id=case.public_id)
    db().commit()
    return redirect(url_for("cases.show", public_id=case.public_id, _anchor="messages"), 303)


@blueprint.post("/cases/<public_id>/grant")
@login_required()
def grant(public_id: str) -> ResponseReturnValue:
    case, case_key = open_case(public_id)
    person_id = _person_id()
    try:
        wrap = access.grant(
            db(), case, current_inspector(), current_private_key(), person_id, unit_today()
        )
    except access.AccessError as error:
        return _page((case, case_key), Problem("grant", _grant_problem(error.code)), 400)
    grantee = wrap.inspector
    auth.audit(
        GRANTED,
        case_public_id=case.public_id,
        target=grantee.username if grantee else str(person_id),
        details={"inspector_id": person_id},
    )
    db().commit()
    return redirect(url_for("cases.show", public_id=case.public_id, _anchor="readers"), 303)


@blueprint.post("/cases/<public_id>/revoke")
@login_required()
def revoke(public_id: str) -> ResponseReturnValue:
    case, case_key = open_case(public_id)
    person_id = _person_id()
    try:
        person = access.revoke(db(), case, person_id)
    except access.AccessError as error:
        return _page((case, case_key), Problem("revoke", _revoke_problem(error.code)), 400)
    auth.audit(
        REVOKED,
        case_public_id=case.public_id,
        target=person.username,
        details={"inspector_id": person.id},
    )
    db().commit()
    if person.id == current_inspector().id:  # gave up one's own access: nothing to show
        return redirect(url_for("home.index"), 303)
    return redirect(url_for("cases.show", public_id=case.public_id, _anchor="readers"), 303)


# --- helpers ----------------------------------------------------------------------------


def open_case(public_id: str) -> tuple[Case, bytes]:
    """The case and its key for the signed-in inspector, or the one 404 for "no such case"
    and "not yours to open"."""
    inspector = current_inspector()
    case = followup.get_case(db(), inspector.unit, public_id)
    if case is None:
        raise not_found()
    try:
        return case, access.open_case_key(case, inspector, current_private_key())
    except access.NoAccess:
        raise not_found() from None


def not_found() -> PublicError:
    # The same answer for a case that does not exist and one this person cannot open.
    return PublicError(404, "not_found", _("There is no case here that you can open."))


def _page(
    opened: tuple[Case, bytes], problem: Problem | None = None, status: int = 200
) -> tuple[str, int]:
    case, case_key = opened
    inspector = current_inspector()
    auth.audit(OPENED, case_public_id=case.public_id)
    read_up_to = access.unread_since(db(), case, inspector)
    report = access.open_report(case_key, case)
    page = render_template(
        "case.html",
        case=case,
        reference=public_reference(case.public_id),
        named=case.track is Track.NAMED,
        report=report,
        report_fields=_report_fields(report),
        protection=_protection(report),
        protections=case.protections,
        clocks=workflow.current_deadlines(case),
        today=unit_today(),
        incidents=[
            (incident, access.open_note(case_key, case, incident.details))
            for incident in case.retaliation_incidents
        ],
        files=access.report_files(case_key, case),
        messages=access.open_messages(case_key, case),
        read_up_to=read_up_to,
        readers=access.readers(case),
        excluded=access.excluded(case),
        grantable=access.grantable(db(), case),
        role_labels=ROLE_LABELS,
        me=inspector,
        problem=problem,
        max_reply=access.MAX_REPLY_CHARS,
        format_decimal=format_decimal,
    )
    access.mark_read(db(), case, inspector, case.messages, auth.now())
    db().commit()
    return page, status


def _report_fields(report: dict[str, Any] | None) -> list[tuple[str, LazyString, str]]:
    if report is None:
        return []
    fields = []
    for name, label in REPORT_LABELS.items():
        value = report.get(name)
        if isinstance(value, str) and value.strip():
            fields.append((name, label, value))
    return fields


def _protection(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's protection request, with only the values of the expected types."""
    section = report.get("protection") if report else None
    if not isinstance(section, dict):
        return None
    people = [p for p in section.get("people", []) if isinstance(p, str)]
    kinds = [k for k in section.get("kinds", []) if isinstance(k, str)]
    details = section.get("details")
    return {
        "people": people,
        "kinds": kinds,
        "details": details if isinstance(details, str) else "",
    }


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
    return str(_("Write a reply before sending it."))


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
