"""Identity custody and the export for verifiers (blueprint ``custody``).

``custody.identity`` GET/POST ``/cases/<public_id>/identity``
    Custodians only. GET asks for a reason; POST (with the anti-forgery token) records
    the reason in the audit log ("identity_open", readable by supervisors by design) and
    shows the reporter's identity, decrypted for this response only. Without a proper
    reason nothing is decrypted. Whoever holds no wrap of the case key gets the same 404
    as for a case that does not exist, as on the case page.
``custody.openings`` GET ``/audit/identity-openings``
    Supervisors and custodians: every identity opening by a person of their unit, newest
    first, with the reason given.
``custody.export`` POST ``/cases/<public_id>/export``
    Any reader of the case: a ZIP for verifiers (DOMAIN.md, Art. 56), streamed to the
    person who asked and audited ("verifier_export") before the first byte leaves. It
    holds ``report.txt`` (the report's text fields, never the identity section nor the
    protection request), the report's files cleaned of metadata by mat2
    (``casework.metadata``), and ``MANIFEST.txt`` listing every file and whether it was
    cleaned or left out. A file mat2 cannot clean is left out, never included raw.

Decrypted files touch only a RAM-backed scratch directory (``MINHBACH_SCRATCH_DIR``,
tmpfs), removed when the download ends or is abandoned. Every file is cleaned before the
response starts, so that the audit entry states how many files went out; the cleaned
copies wait in that RAM directory and each is removed as soon as it is in the ZIP.
"""

from __future__ import annotations

import mimetypes
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crypto
from casework import access, custody, metadata, records
from casework.blobs import blob_store
from casework.intake import public_reference
from casework.records import Reading
from review import auth
from review.auth import current_inspector, current_private_key, login_required
from review.settings import settings
from review.views.audit import page_of, unit_entries
from review.views.cases import REPORT_LABELS, open_case, safe_file_name
from review.zipstream import ZipSink, zip_member
from store.blobs import BlobNotFound, BlobStore
from store.models import Attachment, AuditEntry, Case, InspectorRole
from web import labels
from web.database import db
from web.errors import PublicError

blueprint = Blueprint("custody", __name__)

IDENTITY_OPENED = "identity_open"
EXPORTED = "verifier_export"
OPENINGS_READERS = (InspectorRole.SUPERVISOR, InspectorRole.CUSTODIAN)

# The IDENTITY document's fields, labelled as the report form asks for them.
IDENTITY_LABELS: Mapping[str, LazyString] = {
    "name": _l("Full name"),
    "contact": _l("How to contact them"),
    "address": _l("Address"),
    "position": _l("Workplace and position"),
    "notes": _l("Anything else about them or how to reach them safely"),
}

FILES_FOLDER = "files/"
REPORT_TXT = "report.txt"
MANIFEST_TXT = "MANIFEST.txt"


# --- opening the identity ----------------------------------------------------------------


@blueprint.get("/cases/<public_id>/identity")
@login_required(InspectorRole.CUSTODIAN)
def identity(public_id: str) -> ResponseReturnValue:
    case = _identity_case(public_id)
    return _reason_page(case)


@blueprint.post("/cases/<public_id>/identity")
@login_required(InspectorRole.CUSTODIAN)
def open_identity(public_id: str) -> ResponseReturnValue:
    case = _identity_case(public_id)
    typed = request.form.get("reason", "")[: custody.MAX_REASON * 2]
    try:
        reason, opened = custody.open_identity(
            case, current_inspector(), current_private_key(), typed
        )
    except custody.NoIdentityAccess:
        raise _no_identity_key() from None
    except custody.CustodyError as error:
        if error.code == "unreadable":
            raise PublicError(422, "unreadable_identity", str(labels.ALTERED_RECORD)) from None
        return _reason_page(case, reason_problem(error.code), typed, 400)
    auth.audit(IDENTITY_OPENED, case_public_id=case.public_id, details={"reason": reason})
    db().commit()  # recorded before anything of the identity is sent
    return render_template(
        "custody_identity.html",
        case=case,
        reference=public_reference(case.public_id),
        fields=[(name, IDENTITY_LABELS[name], value) for name, value in opened.fields],
        reason=reason,
    )


def _identity_case(public_id: str) -> Case:
    """The case if this custodian reads it and it has an identity they hold a key to."""
    case, _keys = open_case(public_id)
    if not custody.has_identity(case):
        raise PublicError(
            404,
            "no_identity",
            _("This report is anonymous: it has no identity section to open."),
        )
    if not custody.may_open(case, current_inspector()):
        raise _no_identity_key()
    return case


def _no_identity_key() -> PublicError:
    return PublicError(
        403,
        "no_identity_key",
        _(
            "You hold no key to this identity: it was encrypted before you became a "
            "custodian, or the reporter excluded you."
        ),
    )


def _reason_page(
    case: Case, problem: str | None = None, typed: str = "", status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "custody_reason.html",
        case=case,
        reference=public_reference(case.public_id),
        problem=problem,
        typed=typed,
        min_reason=custody.MIN_REASON,
        max_reason=custody.MAX_REASON,
    )
    return page, status


def reason_problem(code: str) -> str:
    if code == "long_reason":
        return str(
            _("The reason is too long: at most %(count)d characters.", count=custody.MAX_REASON)
        )
    return str(
        _(
            "Write why the identity must be opened, in at least %(count)d characters.",
            count=custody.MIN_REASON,
        )
    )


# --- who opened identities ---------------------------------------------------------------


@blueprint.get("/audit/identity-openings")
@login_required(*OPENINGS_READERS)
def openings() -> ResponseReturnValue:
    # Openings by the unit's own custodians only (audit.unit_entries): after a forward the
    # other unit's openings of the same case, and their reasons, are not this unit's.
    own = unit_entries(current_inspector().unit_id)
    page = page_of((AuditEntry.action == IDENTITY_OPENED) & own)
    rows = [
        Opening(
            entry=item.entry,
            actor=item.actor,
            reference=public_reference(item.entry.case_public_id or ""),
            reason=_text_detail(item.entry.details, "reason"),
        )
        for item in page.entries
    ]
    return render_template("custody_openings.html", page=page, rows=rows)


@dataclass(frozen=True)
class Opening:
    entry: AuditEntry
    actor: str  # the person's name
    reference: str
    reason: str


def _text_detail(details: Mapping[str, Any] | None, key: str) -> str:
    value = (details or {}).get(key)
    return value if isinstance(value, str) else ""


# --- the export for verifiers ------------------------------------------------------------


@dataclass(frozen=True)
class ExportedFile:
    """One of the report's files: its name in the ZIP and the cleaning's outcome (None
    when the file could not even be decrypted or found)."""

    name: str
    outcome: metadata.Outcome | None
    problem: str  # why it was left out, for the manifest; "" when it is included

    @property
    def included(self) -> bool:
        return self.outcome is not None and self.outcome.cleaned is not None


@blueprint.post("/cases/<public_id>/export")
@login_required()
def export(public_id: str) -> Response:
    case, keys = open_case(public_id)
    scratch = _scratch()
    try:
        texts, files = _prepare_export(scratch, case, keys.case)
    except BaseException:
        scratch.close()  # nothing decrypted outlives a failed export
        raise
    response = Response(_zip_stream(scratch, texts, files), mimetype="application/zip")
    # Also when the download is abandoned before the stream starts.
    response.call_on_close(scratch.close)
    name = f"verifiers-{public_reference(case.public_id)}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _prepare_export(
    scratch: metadata.Scratch, case: Case, case_key: bytes
) -> tuple[list[tuple[str, str]], list[ExportedFile]]:
    """Clean every file, write the texts, and audit (committed) what will go out."""
    try:
        files = _clean_files(scratch, case, case_key)
    except metadata.MetadataError as error:
        raise _unavailable(error) from None
    except OSError as error:  # typically the RAM-backed scratch filesystem is full
        current_app.logger.error("export for verifiers failed: %s", error.strerror)
        raise PublicError(
            503,
            "export_failed",
            _(
                "The files could not be cleaned on this server, for example because the "
                "memory set aside for it is full. Tell the administrator."
            ),
        ) from None
    texts = [
        (MANIFEST_TXT, _manifest(case, files)),
        (REPORT_TXT, report_text(case, access.checked_report(case_key, case))),
    ]
    included = sum(1 for item in files if item.included)
    auth.audit(
        EXPORTED,
        case_public_id=case.public_id,
        details={"files": included, "excluded": len(files) - included},
    )
    db().commit()  # audited before a single byte leaves
    return texts, files


def _scratch() -> metadata.Scratch:
    try:
        return metadata.Scratch(settings().scratch_dir)
    except metadata.MetadataError as error:
        raise _unavailable(error) from None


def _unavailable(error: metadata.MetadataError) -> PublicError:
    # The message names a directory or a tool, never anything of a case.
    current_app.logger.error("export for verifiers refused: %s: %s", error.code, error)
    return PublicError(
        503,
        "export_unavailable",
        _(
            "The export cannot run on this server: it needs mat2 and a directory in "
            "memory (tmpfs) to clean files. Tell the administrator."
        ),
    )


def _clean_files(scratch: metadata.Scratch, case: Case, case_key: bytes) -> list[ExportedFile]:
    store = blob_store(settings())
    taken: set[str] = set()
    files = []
    for item in case.attachments:
        if item.message_id is None:  # the report's own files, as the case page lists them
            files.append(_clean_one(scratch, store, case, case_key, item, taken))
    return files


def _clean_one(
    scratch: metadata.Scratch,
    store: BlobStore,
    case: Case,
    case_key: bytes,
    item: Attachment,
    taken: set[str],
) -> ExportedFile:
    meta, _trust = records.open_file_meta(case_key, case, item)
    if meta is None:
        return ExportedFile(_unique(f"file-{item.id}", taken), None, _("altered in storage"))
    name = safe_file_name(meta.name)
    try:
        reader = store.open_reader(item.blob_id)
    except BlobNotFound:
        return ExportedFile(_unique(name, taken), None, _("missing from storage"))
    try:
        outcome = scratch.clean(
            crypto.decrypt_stream(case_key, case.public_id, meta, crypto.read_pieces(reader))
        )
    except crypto.CryptoError:
        return ExportedFile(_unique(name, taken), None, _("cannot be decrypted"))
    finally:
        reader.close()
    if outcome.cleaned is None:
        return ExportedFile(_unique(name, taken), outcome, _left_out_text(outcome))
    return ExportedFile(_unique(_with_extension(name, outcome), taken), outcome, "")


def _with_extension(name: str, outcome: metadata.Outcome) -> str:
    """The name, with the extension of what the file really is if the name says otherwise
    (a verifier's computer picks the program to open it by the extension)."""
    guessed, _encoding = mimetypes.guess_type(name)
    if guessed == outcome.content_type or not outcome.extension:
        return name
    return name + outcome.extension


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken or candidate in (REPORT_TXT, MANIFEST_TXT):
        number += 1
        candidate = f"{stem} ({number}).{extension}" if extension else f"{stem} ({number})"
    taken.add(candidate.casefold())
    return candidate


def _left_out_text(outcome: metadata.Outcome) -> str:
    if outcome.left_out is metadata.LeftOut.UNSUPPORTED:
        return str(
            _(
                "mat2 cannot remove metadata from this type of file (%(type)s)",
                type=outcome.content_type,
            )
        )
    if outcome.left_out is metadata.LeftOut.TIMEOUT:
        return str(_("cleaning took too long and was stopped"))
    return str(_("mat2 could not clean this file (it may be damaged)"))


def report_text(case: Case, reading: Reading) -> str:
    lines = [_("Report of case %(reference)s", reference=public_reference(case.public_id)), ""]
    report = reading.document
    if reading.altered:  # as the case page says it (docs/crypto.md §13.6)
        lines.append(str(labels.ALTERED_RECORD))
    elif report is None:
        lines.append(
            _("The report cannot be decrypted, or was deleted after the retention period.")
        )
    for name, label in REPORT_LABELS.items():
        value = report.get(name) if report else None
        if isinstance(value, str) and value.strip():
            lines += [f"{label}:", value.replace("\r\n", "\n"), ""]
    return "\n".join(lines) + "\n"


def _manifest(case: Case, files: list[ExportedFile]) -> str:
    lines = [
        _("Export for verifiers of case %(reference)s", reference=public_reference(case.public_id)),
        "",
        _(
            "The reporter's identity is not in this export. Metadata (for example GPS "
            "positions, camera details, document authors) was removed from the files with "
            "mat2. The content itself was not changed: read it before passing it on, as a "
            "face, a name or a signature in a file can still identify someone."
        ),
        "",
        _("%(file)s: the text of the report", file=REPORT_TXT),
    ]
    for item in files:
        if item.included:
            lines.append(_("%(file)s: cleaned with mat2", file=f"{FILES_FOLDER}{item.name}"))
        else:
            lines.append(_("LEFT OUT: %(name)s: %(why)s", name=item.name, why=item.problem))
    return "\n".join(lines) + "\n"


def _zip_stream(
    scratch: metadata.Scratch, texts: list[tuple[str, str]], files: list[ExportedFile]
) -> Iterator[bytes]:
    sink = ZipSink()
    try:
        with zipfile.ZipFile(sink, "w") as archive:
            for name, text in texts:
                data = text.encode("utf-8")
                archive.writestr(zip_member(name, len(data)), data)
            for item in files:
                if item.outcome is None or item.outcome.cleaned is None:
                    continue
                size = item.outcome.cleaned.stat().st_size
                with archive.open(zip_member(FILES_FOLDER + item.name, size), "w") as member:
                    for piece in item.outcome.read():
                        member.write(piece)
                        if pending := sink.take():
                            yield pending
                scratch.discard(item.outcome)  # in the ZIP: no longer needed in memory
        yield sink.take()  # the rest, with the central directory
    finally:
        scratch.close()


# --- helpers -----------------------------------------------------------------------------
