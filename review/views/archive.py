"""The export of a case for the archives, before its purge (LTC Art. 39(3)).

``archive.form`` GET ``/cases/<public_id>/archive`` asks which parts go (report, messages,
decisions, files) and, to a custodian who holds the identity key, whether to add the
reporter's identity, with a reason. ``archive.export`` POST to the same address answers
with a ZIP: the chosen parts decrypted, the files as the reporter and the unit sent them,
and ``index.txt`` in the case's language (the report's own), written last so that it can
give each file's size and SHA-256. Only the case's own unit exports it, by a person who
holds the case key (``acting_on``).

The export is audited (``archive_export``: the parts, whether the identity is in, how many
files) and committed before a byte leaves; an identity added is also an identity opening
(``identity_open``, with the reason), as on the custody page. Decryption happens in this
request's memory, a file's piece at a time: nothing decrypted touches a disk here. What
leaves the encrypted store, and why, is in docs/retention.md.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crypto
from casework import access, archive_export, custody, records
from casework.archive_export import ArchiveExportError
from casework.blobs import blob_store
from casework.dates import unit_today
from casework.intake import public_reference
from casework.records import CaseKeys
from review import auth
from review import labels as review_labels
from review.auth import current_inspector, current_private_key, login_required
from review.settings import settings
from review.views import custody as custody_views
from review.views import workflow as workflow_views
from review.views.cases import acting_on, safe_file_name
from review.zipstream import ZipSink, zip_member
from store.blobs import BlobNotFound, BlobStore
from store.models import Case
from web.database import db
from web.errors import PublicError

blueprint = Blueprint("archive", __name__)

FILES_FOLDER = "files/"
INDEX_TXT = "index.txt"
PART_FILES = {
    archive_export.REPORT: "report.txt",
    archive_export.MESSAGES: "messages.txt",
    archive_export.DECISIONS: "decisions.txt",
    archive_export.FILES: FILES_FOLDER,
}
IDENTITY_TXT = "identity.txt"
# Why a file is not in the ZIP whole, said in the index's language (hence lazy).
ALTERED_DESCRIPTION = _l("its description was altered in storage: left out")
MISSING_FROM_STORAGE = _l("missing from storage: left out")
CUT_SHORT = _l("INCOMPLETE: it stopped decrypting (altered in storage); what is here is cut short")


@dataclass(frozen=True)
class Problem:
    target: str  # the id of the field to fix
    message: str


@dataclass
class ArchivedFile:
    """One file of the case: its name in the ZIP, and what became of it."""

    name: str
    blob_id: str
    meta: crypto.FileMeta | None  # None: its description is altered, it is left out
    sha256: str = ""
    problem: LazyString | None = None  # why it is left out or incomplete


@dataclass
class Export:
    case: Case
    language: str
    parts: tuple[str, ...]
    texts: list[tuple[str, str]] = field(default_factory=list)
    files: list[ArchivedFile] = field(default_factory=list)
    identity_reason: str = ""
    # The index's facts, read before the stream starts: the rows are not read after the
    # commit that audits the export.
    facts: dict[str, object] = field(default_factory=dict)


@blueprint.get("/cases/<public_id>/archive")
@login_required()
def form(public_id: str) -> ResponseReturnValue:
    case, _keys = acting_on(public_id)
    return _form_page(case)


@blueprint.post("/cases/<public_id>/archive")
@login_required()
def export(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    typed = request.form.get("reason", "")[: custody.MAX_REASON * 2]
    try:
        parts = archive_export.chosen_parts(request.form.getlist("part"))
    except ArchiveExportError:
        problem = Problem("part-report", _("Choose at least one part of the case to export."))
        return _form_page(case, problem, typed, 400)
    reading = access.checked_report(keys.case, case)
    default = settings().default_language
    language = archive_export.case_language(reading.document, default)
    prepared = Export(case, language, parts)
    if request.form.get("identity") == "yes":
        refused = _add_identity(prepared, typed)
        if refused is not None:
            return _form_page(case, refused, typed, 400)
    with force_locale(language):
        _add_texts(prepared, keys, reading)
    if archive_export.FILES in parts:
        prepared.files = _files(case, keys.case)
    prepared.facts = _facts(prepared)
    _audit(prepared)
    return _download(prepared, keys.case)


# --- what goes in ----------------------------------------------------------------------


def _add_identity(prepared: Export, typed: str) -> Problem | None:
    """The identity, opened as the custody page opens it: a custodian who holds its key,
    with a reason; None when it is added, else what to fix."""
    case, me = prepared.case, current_inspector()
    if not custody.has_identity(case) or not custody.may_open(case, me):
        raise PublicError(
            403, "no_identity_key", _("Only a custodian who holds its key can add the identity.")
        )
    try:
        reason, opened = custody.open_identity(case, me, current_private_key(), typed)
    except custody.CustodyError as error:
        if error.code == "unreadable":
            return Problem("identity", _("The identity does not open: it cannot be added."))
        return Problem("reason", custody_views.reason_problem(error.code))
    prepared.identity_reason = reason
    with force_locale(prepared.language):
        labelled = [
            (str(custody_views.IDENTITY_LABELS[name]), value) for name, value in opened.fields
        ]
        prepared.texts.append(
            (IDENTITY_TXT, render_template("archive/identity.txt", fields=labelled))
        )
    return None


def _add_texts(prepared: Export, keys: CaseKeys, reading: records.Reading) -> None:
    case = prepared.case
    reference = public_reference(case.public_id)
    if archive_export.REPORT in prepared.parts:
        report = custody_views.report_text(case, reading)
        prepared.texts.append((PART_FILES[archive_export.REPORT], report))
    if archive_export.MESSAGES in prepared.parts:
        messages = access.open_messages(keys.case, case)
        text = render_template("archive/messages.txt", reference=reference, messages=messages)
        prepared.texts.append((PART_FILES[archive_export.MESSAGES], text))
    if archive_export.DECISIONS in prepared.parts:
        # The workflow page's own reading of the history (grounds decrypted), oldest first.
        history = list(reversed(workflow_views._history(case, keys)))
        text = render_template("archive/decisions.txt", reference=reference, history=history)
        prepared.texts.append((PART_FILES[archive_export.DECISIONS], text))


def _files(case: Case, case_key: bytes) -> list[ArchivedFile]:
    """Every file of the case, the report's and the messages', numbered in order; those
    that cannot go in are known before the export is audited."""
    store = blob_store(settings())
    files = []
    for number, item in enumerate(case.attachments, start=1):
        meta, _trust = records.open_file_meta(case_key, case, item)
        name = safe_file_name(meta.name) if meta is not None else "file"
        archived = ArchivedFile(f"{number:03d}-{name}", item.blob_id, meta)
        if meta is None:
            archived.problem = ALTERED_DESCRIPTION
        elif not store.exists(item.blob_id):
            archived.problem = MISSING_FROM_STORAGE
        files.append(archived)
    return files


def _audit(prepared: Export) -> None:
    case = prepared.case
    identity = bool(prepared.identity_reason)
    if identity:
        details = {"reason": prepared.identity_reason, "for": archive_export.ARCHIVE_EXPORTED}
        auth.audit(custody_views.IDENTITY_OPENED, case_public_id=case.public_id, details=details)
    auth.audit(
        archive_export.ARCHIVE_EXPORTED,
        case_public_id=case.public_id,
        details={
            "parts": list(prepared.parts),
            "identity": identity,
            "files": sum(1 for item in prepared.files if item.problem is None),
            "language": prepared.language,
        },
    )
    db().commit()  # audited before a single byte leaves


# --- the ZIP -----------------------------------------------------------------------------


def _download(prepared: Export, case_key: bytes) -> Response:
    # Kept in the request's context, for the index's template and language at the end.
    body = stream_with_context(_zip_stream(prepared, case_key, blob_store(settings())))
    response = Response(body, mimetype="application/zip")
    name = f"archive-{prepared.facts['reference']}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _zip_stream(prepared: Export, case_key: bytes, store: BlobStore) -> Iterator[bytes]:
    sink = ZipSink()
    public_id = str(prepared.facts["public_id"])
    with zipfile.ZipFile(sink, "w") as archive:
        for name, text in prepared.texts:
            data = text.encode("utf-8")
            archive.writestr(zip_member(name, len(data)), data)
        for item in prepared.files:
            if item.problem is None:
                yield from _write_file(archive, sink, item, store, (case_key, public_id))
        index = _index(prepared).encode("utf-8")
        archive.writestr(zip_member(INDEX_TXT, len(index)), index)
    yield sink.take()  # the rest, with the central directory


def _write_file(
    archive: zipfile.ZipFile,
    sink: ZipSink,
    item: ArchivedFile,
    store: BlobStore,
    case: tuple[bytes, str],
) -> Iterator[bytes]:
    """One file decrypted into the ZIP a piece at a time, its SHA-256 taken on the way.
    A file that stops decrypting midway stays in, cut short, and the index says so."""
    assert item.meta is not None
    case_key, public_id = case
    try:
        reader = store.open_reader(item.blob_id)
    except BlobNotFound:
        item.problem = MISSING_FROM_STORAGE  # deleted since it was checked
        return
    digest = hashlib.sha256()
    try:
        with archive.open(zip_member(FILES_FOLDER + item.name, item.meta.size), "w") as member:
            pieces = crypto.decrypt_stream(
                case_key, public_id, item.meta, crypto.read_pieces(reader)
            )
            for piece in pieces:
                digest.update(piece)
                member.write(piece)
                if pending := sink.take():
                    yield pending
    except crypto.CryptoError:
        item.problem = CUT_SHORT
    finally:
        reader.close()
    item.sha256 = digest.hexdigest()


def _facts(prepared: Export) -> dict[str, object]:
    case = prepared.case
    with force_locale(prepared.language):
        return {
            "public_id": case.public_id,
            "reference": public_reference(case.public_id),
            "unit": case.unit.name,
            "track": str(review_labels.TRACK_LABELS[case.track]),
            "status": review_labels.status_label(case.status),
            "received_on": case.received_on,
            "closed_on": case.closed_on,
            "exported_on": unit_today(),
            "exported_by": current_inspector().display_name,
        }


def _index(prepared: Export) -> str:
    with force_locale(prepared.language):
        return render_template(
            "archive/index.txt",
            **prepared.facts,
            parts=prepared.parts,
            part_files=PART_FILES,
            left_out=[
                PART_FILES[part] for part in archive_export.PARTS if part not in prepared.parts
            ],
            identity=bool(prepared.identity_reason),
            identity_file=IDENTITY_TXT,
            identity_reason=prepared.identity_reason,
            files=prepared.files,
            files_folder=FILES_FOLDER,
        )


def _form_page(
    case: Case, problem: Problem | None = None, typed: str = "", status: int = 200
) -> tuple[str, int]:
    me = current_inspector()
    page = render_template(
        "archive.html",
        case=case,
        reference=public_reference(case.public_id),
        parts=archive_export.PARTS,
        may_add_identity=custody.has_identity(case) and custody.may_open(case, me),
        min_reason=custody.MIN_REASON,
        max_reason=custody.MAX_REASON,
        problem=problem,
        typed=typed,
    )
    return page, status
