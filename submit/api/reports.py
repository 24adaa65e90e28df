"""A browser-encrypted report becomes a case (``api.submit_report``).

The same intake as the no-JavaScript path: ``casework.intake.validate`` then ``accept``.
Uploads are claimed only once everything else is known to be valid, and if anything
fails after that, the transaction is rolled back and the uploads given back, so nothing
partial ever becomes a case and the browser can send the same report again.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, jsonify
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework import intake, scope, uploads
from casework.dates import unit_today
from casework.recipients import unit_recipients
from store.models import Case, Unit
from submit.api import blueprint, json_object
from submit.api.challenges import require_pow
from submit.api.envelope import FIELDS, Envelope, parse_envelope
from submit.api.uploads import store_with_uploads
from submit.pow import Purpose
from submit.unit import current_unit, settings
from web.database import db, runs_once
from web.errors import PublicError

# A report and an identity of up to 4 MiB each (intake's limit) in b64u, with the wraps
# and file descriptions: the body is parsed in memory, so it is bounded first.
MAX_REPORT_JSON_BYTES = 12 * 1024 * 1024

INTAKE_ERRORS: dict[str, tuple[int, LazyString]] = {
    "malformed_case_id": (400, _l("The report's identifier is malformed.")),
    "unknown_category": (400, _l("Please choose one of the listed categories.")),
    "malformed_envelope": (400, _l("A part of the report is not a valid encrypted envelope.")),
    # docs/crypto.md §13.4: a record signed by another key, or placed elsewhere.
    "misplaced_record": (
        400,
        _l(
            "A part of the report does not say where it belongs. "
            "Please reload the page and submit again."
        ),
    ),
    "duplicate_file": (400, _l("The same file description is sent twice.")),
    "too_large": (413, _l("The report is too large.")),
    "malformed_keys": (400, _l("The reporter key or lookup token is malformed.")),
    "unknown_exclusion": (
        409,
        _l(
            "A person you excluded no longer receives reports. "
            "Please reload the page and submit again."
        ),
    ),
    intake.EXCLUDES_EVERY_READER: (
        400,
        _l(
            "Someone must be able to read your report, but you excluded everyone who can. "
            "Leave at least one person not excluded."
        ),
    ),
    intake.EXCLUDES_EVERY_CUSTODIAN: (
        400,
        _l(
            "Only the head of the unit can open your name and contact details, but you "
            "excluded them. Leave them not excluded, or leave your details empty to report "
            "anonymously."
        ),
    ),
    "recipients_changed": (
        409,
        _l("The people who receive reports have changed. Please reload the page and submit again."),
    ),
    "too_many_files": (
        400,
        _l("At most %(count)d files can be sent with one report.", count=intake.MAX_ATTACHMENTS),
    ),
    "duplicate_case": (409, _l("This report was already received.")),
}


@blueprint.post("/reports")
@runs_once  # the proof of work is spent once
def submit_report() -> tuple[Response, int]:
    document = json_object(MAX_REPORT_JSON_BYTES, allowed=FIELDS)
    require_pow(document, Purpose.REPORT)
    envelope = parse_envelope(document)
    # The slow hash before any transaction: no lock waits on it.
    lookup_hash = intake.lookup_hash(envelope.submission, settings().code_kdf)
    session, unit = db(), current_unit()
    _validate(session, envelope, unit)
    session.commit()  # the checks read; what follows writes, in a transaction of its own
    store_with_uploads(
        [ref.upload for ref in envelope.attachments],
        lambda session, claimed: _accept(session, envelope, claimed, unit, lookup_hash),
    )
    return jsonify(reference=intake.public_reference(envelope.submission.case_id)), 201


def _validate(session: Session, envelope: Envelope, unit: Unit) -> None:
    # Counted before intake reads and verifies each record: too many files is the answer,
    # not a complaint about the one record a report cannot name (it names at most 100).
    if len(envelope.attachments) > intake.MAX_ATTACHMENTS:
        raise _refusal("too_many_files")
    try:
        intake.validate(envelope.submission, unit, unit_recipients(session, unit))
    except intake.IntakeError as exc:
        raise _refusal(exc.code) from None
    # Before claiming: a retry of a report whose answer was lost must hear "already
    # received", not that its uploads are gone (the first attempt claimed them).
    if _received(session, envelope.submission.case_id):
        raise _refusal("duplicate_case")


def _accept(
    session: Session,
    envelope: Envelope,
    claimed: Sequence[uploads.Claimed],
    unit: Unit,
    lookup_hash: bytes,
) -> None:
    total = sum(item.size for item in claimed)
    if total > uploads.ciphertext_limit(settings().max_report_size):
        raise PublicError(
            413, "too_large", _("The attached files together are larger than the service accepts.")
        )
    submission = envelope.with_blobs([(item.blob_id, item.size) for item in claimed])
    try:
        intake.accept(session, submission, unit, lookup_hash, unit_today())
        session.flush()
    except intake.IntakeError as exc:
        raise _refusal(exc.code) from None
    except IntegrityError:
        session.rollback()
        if _received(session, submission.case_id):  # the same report, at the same moment
            raise _refusal("duplicate_case") from None
        raise


def _received(session: Session, case_id: str) -> bool:
    scope.name_case(session, case_id)
    return session.scalar(select(Case.id).where(Case.public_id == case_id)) is not None


def _refusal(code: str) -> PublicError:
    status, message = INTAKE_ERRORS.get(code, (400, _l("The report could not be accepted.")))
    return PublicError(status, code, str(message))
