"""Registering a report that arrived on paper or in person (blueprint ``registration``).

An inspector types in a letter, a report made at the citizen reception, or one sent in
by the press or an authority, and attaches its scans. The form posts as multipart data
and is read as it streams in (``web.streaming``), never through ``request.form`` or
``request.files``, whose parser would spool the scans to temporary files in plaintext:
each file is encrypted under the new case key as it arrives. The report is sealed in this
request's memory exactly as the public app seals a report sent without JavaScript, and
stored through the one intake path (``casework.registration``).

The answer to the POST is the receipt to print and hand over: the case's reference and
its follow-up code, which is shown this once and kept nowhere. The anti-forgery token is
renewed before the receipt is drawn, so posting again from a reloaded page is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, current_app, render_template, request, session
from flask.blueprints import BlueprintSetupState
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from casework import intake, registration
from casework.access import REPORT_FIELDS
from casework.blobs import blob_store
from casework.custody import IDENTITY_FIELDS
from casework.dates import unit_today
from casework.recipients import UnitRecipients, unit_recipients
from casework.registration import Arrival, Channel, RegistrationError
from casework.sealing import (
    MAX_TEXT_CHARS,
    FileSealer,
    NewCaseKeys,
    identity_document,
    report_document,
    seal_submission,
)
from review import auth
from review.auth import current_inspector, current_private_key, login_required
from review.settings import settings
from store.models import Case, Unit
from web import labels
from web.database import db, retry_commit, runs_once
from web.errors import RETRY_LATER, PublicError, storage_refusal
from web.i18n import current_language
from web.i18n import translate as _
from web.multipart import streams_multipart
from web.streaming import (
    REPORT_TEXT_ALLOWANCE,
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
    report_form_spec,
    token_checker,
    too_long_message,
)

blueprint = Blueprint("registration", __name__, url_prefix="/register")

REGISTERED = "case_registered"  # audit action: the channel and counts, never content
REGISTRARS = tuple(sorted(registration.REGISTRARS))
IDENTITY_NAMES = tuple("identity_" + key for key in IDENTITY_FIELDS)
ARRIVAL_NAMES = ("channel", "sender", "received_on", "signed")
TEXT_FIELDS = frozenset({"category", *REPORT_FIELDS, *IDENTITY_NAMES, *ARRIVAL_NAMES})
FILE_FIELD = "files"
# The order of fields on the page, so that errors are listed in the order they are met.
FIELD_ORDER = (*ARRIVAL_NAMES, "category", *REPORT_FIELDS, *IDENTITY_NAMES, FILE_FIELD)

CHANNELS: Mapping[Channel, LazyString] = {
    Channel.LETTER: _l("A letter"),
    Channel.IN_PERSON: _l("In person, at the citizen reception"),
    Channel.PRESS: _l("Sent in by the press"),
    Channel.AUTHORITY: _l("Sent in by an authority"),
}
MESSAGES: Mapping[str, LazyString] = {
    "channel": _l("Choose how the report arrived."),
    "received_on": _l("Enter the date the report was received, as day, month and year."),
    "received_in_future": _l("The date received cannot be after today."),
    "sender_missing": _l("Name the newspaper or authority that sent the report in."),
    "sender_too_long": _l("Write the sender's name in at most 300 characters."),
    "sender_unexpected": _l(
        "Only a report sent in by the press or an authority has a sender: empty this "
        "field, or choose how the report arrived again."
    ),
    "signed_not_letter": _l('Only a letter is signed: untick this, or choose "A letter".'),
    "category": _l("Choose what the report is about."),
    "what": _l("Write what the report says happened."),
}
# RegistrationError codes -> the field they are about.
ARRIVAL_FIELDS = {
    "received_in_future": "received_on",
    "sender_missing": "sender",
    "sender_too_long": "sender",
    "sender_unexpected": "sender",
    "signed_not_letter": "signed",
}


@blueprint.record_once
def _exempt_from_global_csrf(state: BlueprintSetupState) -> None:
    # CSRFProtect's hook reads request.form, which would spool the scans to temporary
    # files: plaintext on disk. The view checks the token from the first streamed part.
    state.app.extensions["csrf"].exempt(register)


@dataclass
class Entered:
    """What the inspector typed or chose, as the form shows it again."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: ReceivedForm) -> Entered:
        return cls({name: form.get(name) for name in TEXT_FIELDS})

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()


@dataclass(frozen=True)
class ValidReport:
    category: str
    report: dict[str, Any]
    identity: dict[str, Any] | None
    arrival: Arrival


@blueprint.get("")
@login_required(*REGISTRARS)
def form() -> str:
    return _render_form(Entered({"received_on": unit_today().isoformat()}), {})


@blueprint.post("")
@runs_once
@streams_multipart  # scans arrive here and nowhere else in the review app
@login_required(*REGISTRARS)
def register() -> str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    boundary = boundary_of(request.headers.get("Content-Type"))
    if boundary is None:
        raise PublicError(400, "malformed_form", _malformed_message())
    limit_body(settings().max_report_size + REPORT_TEXT_ALLOWANCE, _too_large_message)
    unit = current_inspector().unit
    recipients = unit_recipients(db(), unit)
    db().commit()  # no transaction held open while scans stream in
    keys = NewCaseKeys()
    with FileSealer(blob_store(settings()), keys.case_key, keys.case_id, keys.signer) as sealer:
        try:
            received = read_form(
                request.stream,
                boundary,
                _form_spec(recipients),
                sealer,
                token_checker(_expired_form),
            )
        except FileNotStored as failed:
            drain(request.stream)
            return _not_received(failed.form, failed.error)
        except FileRefused as refused:
            drain(request.stream)
            return _refuse(refused.form, {FILE_FIELD: file_error(refused)}, status=413)
        except FormError as error:
            message = _too_large_message() if error.status == 413 else _malformed_message()
            raise PublicError(error.status, error.code, message) from None
        valid, errors = _validate(received, unit)
        if valid is None:
            return _refuse(received, errors)
        try:
            case = _store_case(keys, recipients, valid, received)
        except Exception as error:
            if not storage_refusal(error):
                raise
            return _not_received(received, error)
        sealer.keep()
    # The receipt is this answer alone: a reload would post again, and is refused.
    session.pop("csrf_token", None)
    return _receipt(keys, unit, case, valid)


def _store_case(
    keys: NewCaseKeys, recipients: UnitRecipients, valid: ValidReport, received: ReceivedForm
) -> Case:
    submission = seal_submission(
        keys,
        recipients,
        category=valid.category,
        report=valid.report,
        identity=valid.identity,
        attachments=received.attachments,
    )
    # The slow hash first, outside any transaction.
    lookup_hash = intake.lookup_hash(submission, settings().code_kdf)
    me, private_key = current_inspector(), current_private_key()
    try:
        intake.validate(submission, me.unit, recipients)
    except intake.IntakeError as error:
        raise PublicError(400, error.code, _not_registered_message()) from None

    def store(session: Session) -> Case:
        case = registration.register(
            session,
            submission,
            valid.arrival,
            lookup_hash,
            inspector=me,
            private_key=private_key,
            today=unit_today(),
            now=auth.now(),
        )
        means = valid.arrival.verified_by(named=valid.identity is not None)
        details = {
            "channel": valid.arrival.channel.value,
            "track": case.track.value,
            "files": len(submission.attachments),
            "identity_verification": None if means is None else means.value,
        }
        auth.audit(REGISTERED, case_public_id=case.public_id, details=details)
        return case

    return retry_commit(store)


def _receipt(keys: NewCaseKeys, unit: Unit, case: Case, valid: ValidReport) -> str:
    """Drawn once, from this request's memory: nothing on it can be asked for again."""
    return render_template(
        "registration_receipt.html",
        code=keys.code.display(),
        reference=intake.public_reference(case.public_id),
        unit=unit,
        received_on=valid.arrival.received_on,
        channel=CHANNELS[valid.arrival.channel],
        named=valid.identity is not None,
        onion=settings().onion_location,
    )


def _validate(received: ReceivedForm, unit: Unit) -> tuple[ValidReport | None, dict[str, str]]:
    """The report to seal, or None and what to correct, by field name."""
    entered = Entered.from_form(received)
    errors = dict.fromkeys(received.overlong, too_long_message(MAX_TEXT_CHARS))
    arrival = _arrival(entered, errors)
    category = entered.text("category")
    if category not in unit.categories:
        errors.setdefault("category", str(MESSAGES["category"]))
    if not entered.text("what"):
        errors.setdefault("what", str(MESSAGES["what"]))
    if errors or arrival is None:
        return None, errors
    report = report_document(category, current_language(), entered.values)
    identity = identity_document(entered.values)
    return ValidReport(category, report, identity, arrival), errors


def _arrival(entered: Entered, errors: dict[str, str]) -> Arrival | None:
    """How and when the report arrived, or None with the reasons in ``errors``."""
    try:
        channel = Channel(entered.text("channel"))
    except ValueError:
        errors["channel"] = str(MESSAGES["channel"])
        return None
    try:
        received_on = date.fromisoformat(entered.text("received_on"))
    except ValueError:
        errors["received_on"] = str(MESSAGES["received_on"])
        return None
    arrival = Arrival(
        channel=channel,
        received_on=received_on,
        sender=entered.text("sender"),
        signed=entered.text("signed") == "yes",
    )
    try:
        registration.check_arrival(arrival, unit_today())
    except RegistrationError as refused:
        errors[ARRIVAL_FIELDS[refused.code]] = str(MESSAGES[refused.code])
        return None
    return arrival


def _form_spec(recipients: UnitRecipients) -> FormSpec:
    config = settings()
    return report_form_spec(
        TEXT_FIELDS,
        FILE_FIELD,
        max_chars=MAX_TEXT_CHARS,
        max_file_size=config.max_file_size,
        max_report_size=config.max_report_size,
    )


def _expired_form() -> str:
    return str(
        _(
            "This form is out of date, for instance because you signed in or out in "
            "another tab. Nothing was kept. Open the registration form again."
        )
    )


def _refuse(
    received: ReceivedForm, errors: dict[str, str], *, status: int = 400
) -> tuple[str, int]:
    """The form again, with what was typed and what to correct (files cannot be refilled)."""
    page = _render_form(Entered.from_form(received), errors, files_dropped=received.files_chosen)
    return page, status


def _not_received(received: ReceivedForm, error: BaseException) -> tuple[str, int, dict[str, str]]:
    """The form again, with what was typed, saying plainly that nothing was registered."""
    current_app.logger.error("a paper report could not be stored: %s", type(error).__name__)
    db().rollback()
    entered = Entered.from_form(received)
    page = _render_form(entered, {}, files_dropped=received.files_chosen, not_received=True)
    return page, 503, RETRY_LATER


def _render_form(
    entered: Entered,
    errors: dict[str, str],
    *,
    files_dropped: int = 0,
    not_received: bool = False,
) -> str:
    unit, config = current_inspector().unit, settings()
    return render_template(
        "registration_form.html",
        unit=unit,
        categories=[(slug, labels.category_label(slug)) for slug in unit.categories],
        channels=[(channel.value, label) for channel, label in CHANNELS.items()],
        entered=entered,
        errors=errors,
        error_list=[(name, errors[name]) for name in FIELD_ORDER if name in errors],
        files_dropped=files_dropped,
        not_received=not_received,
        max_chars=MAX_TEXT_CHARS,
        max_file_size=labels.file_size(config.max_file_size),
        max_report_size=labels.file_size(config.max_report_size),
        today=unit_today().isoformat(),
    )


def _malformed_message() -> str:
    return _(
        "The browser sent the form in a way that cannot be read. Nothing was kept. Open the "
        "registration form again and send it from there."
    )


def _too_large_message() -> str:
    return _(
        "This report is larger than the service accepts: files together may be up to "
        "%(limit)s. Nothing was kept. Go back, choose fewer or smaller files, and register "
        "it again.",
        limit=labels.file_size(settings().max_report_size),
    )


def _not_registered_message() -> str:
    return _("The report could not be registered. Nothing was kept. Please try again.")
