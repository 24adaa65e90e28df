"""The report form, and its submission without JavaScript.

With JavaScript, the page's script encrypts in the browser and talks to the JSON API. Without
it, the form posts here and the server encrypts on arrival: the body is parsed as it streams
in (``web.streaming``), never through ``request.form`` or ``request.files``,
whose parser would spool the files to temporary files in plaintext. The follow-up code is
shown once, in the answer to the POST, and kept nowhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, current_app, render_template, request, session
from flask.blueprints import BlueprintSetupState
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from casework import intake
from casework.access import REPORT_FIELDS
from casework.blobs import blob_store
from casework.custody import IDENTITY_FIELDS as IDENTITY_KEYS
from casework.dates import unit_today
from casework.recipients import UnitRecipients, unit_recipients
from casework.sealing import (
    MAX_TEXT_CHARS,
    FileSealer,
    NewCaseKeys,
    identity_document,
    protection_document,
    report_document,
    seal_submission,
)
from store.models import ProtectedPerson, ProtectionCategory, Unit
from submit.unit import current_unit, settings
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
    read_text_only,
    report_form_spec,
    token_checker,
)
from web.streaming import too_long_message as streamed_too_long

blueprint = Blueprint("report", __name__)
Choice = TypeVar("Choice", ProtectedPerson, ProtectionCategory)

# Vietnamese law counts days where the unit is, whatever the server's clock says.
MAX_CHARS = MAX_TEXT_CHARS  # docs/submission.md: every text field, both paths
# Field name -> the IDENTITY document's key, as the form names them.
IDENTITY_FIELDS = {"identity_" + key: key for key in IDENTITY_KEYS}
# The answer to "Do you want to give your name?", and the hidden field that says the page
# asked it: a post without that comes from a page opened before the question existed.
CHOICE_FIELD = "identity_choice"
ASKED_FIELD = "identity_asked"
ANONYMOUS, NAMED = "anonymous", "named"
TEXT_FIELDS = frozenset(
    {"category", *REPORT_FIELDS, *IDENTITY_FIELDS, "protection_details", CHOICE_FIELD}
    | {ASKED_FIELD, "protection_people", "protection_kinds", "excluded"}
)
FILE_FIELD = "files"
# The form's steps (report_form.html) and their fields, in the order of the page.
STEPS = (
    ("you", (CHOICE_FIELD, *IDENTITY_FIELDS)),
    ("what", ("category", *REPORT_FIELDS)),
    ("protection", ("protection_people", "protection_kinds", "protection_details", "excluded")),
    ("send", (FILE_FIELD,)),
)
STEP_NAMES = tuple(name for name, _fields in STEPS)
STEP_OF = {field: name for name, fields in STEPS for field in fields}
# The order of fields on the page, so errors are listed in the order they are met.
FIELD_ORDER = tuple(STEP_OF)
# Text, part headers and boundaries on top of the files; far more than the form can send.
TEXT_ALLOWANCE = REPORT_TEXT_ALLOWANCE
# Parts of a form read while the unit's readers are unknown: room for a large unit's.
MAX_PARTS_UNKNOWN_READERS = 500
# What the tipster typed, as the form labels it: shown back to copy when nothing can be
# stored and the form itself cannot be drawn.
TYPED_FIELDS = {
    "what": _l("What happened?"),
    "who": _l("Who is involved?"),
    "where": _l("Where did it happen?"),
    "when": _l("When did it happen?"),
    "how_known": _l("How do you know?"),
    "evidence": _l("What evidence is there, and where is it?"),
    "identity_name": _l("Your full name"),
    "identity_contact": _l("How can the unit contact you?"),
    "identity_address": _l("Your address"),
    "identity_position": _l("Your workplace and position"),
    "identity_notes": _l("Anything else about you or how to reach you safely"),
    "protection_details": _l("Why is protection needed?"),
}


@blueprint.record_once
def _exempt_from_global_csrf(state: BlueprintSetupState) -> None:
    # CSRFProtect's before_request hook reads request.form, which makes Werkzeug spool
    # uploads to temporary files: plaintext on disk. The submit view checks the token
    # itself, from the first streamed part, before any file.
    state.app.extensions["csrf"].exempt(submit)


@dataclass
class ReportInput:
    """What the reporter typed or chose, as the form shows it again."""

    values: dict[str, str] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    asked: bool = True  # the page asked whether the report is named

    @classmethod
    def from_form(cls, form: ReceivedForm) -> ReportInput:
        single = ("category", *REPORT_FIELDS, *IDENTITY_FIELDS, "protection_details")
        return cls(
            values={name: form.get(name) for name in (*single, CHOICE_FIELD)},
            people=form.getlist("protection_people"),
            kinds=form.getlist("protection_kinds"),
            excluded=form.getlist("excluded"),
            asked=bool(form.get(ASKED_FIELD)),
        )

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()

    @property
    def choice(self) -> str:
        """The answer to show again: as given, or for a page that did not ask, what its
        rule made of the identity fields (any filled in: named)."""
        if self.asked:
            return self.text(CHOICE_FIELD)
        return NAMED if identity_document(self.values) is not None else ANONYMOUS


@dataclass(frozen=True)
class ValidReport:
    category: str
    report: dict[str, Any]
    identity: dict[str, Any] | None
    protection: frozenset[tuple[ProtectedPerson, ProtectionCategory]]
    excluded: frozenset[int]


@blueprint.get("/report")
def form() -> str:
    unit = current_unit()
    return _render_form(unit, unit_recipients(db(), unit), ReportInput(), {})


@blueprint.post("/report")
@runs_once
@streams_multipart  # the only way a report's files may arrive without JavaScript
def submit() -> str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    config = settings()
    boundary = boundary_of(request.headers.get("Content-Type"))
    if boundary is None:
        raise PublicError(400, "malformed_form", _malformed_message())
    limit_body(config.max_report_size + TEXT_ALLOWANCE, _too_large_message)
    try:
        unit = current_unit()
        recipients = unit_recipients(db(), unit)
    except Exception as error:
        if not storage_refusal(error):
            raise
        return _unsent(boundary, error)
    spec = _form_spec(recipients)
    # Give the database connection back while the body streams in: over Tor an upload can
    # take many minutes, and a connection held in an open transaction meanwhile would
    # starve the pool. Loaded objects stay usable (expire_on_commit is off).
    db().commit()
    keys = NewCaseKeys()
    store = blob_store(config)
    with FileSealer(store, keys.case_key, keys.case_id, keys.signer) as sealer:
        try:
            received = read_form(
                request.stream, boundary, spec, sealer, token_checker(_expired_form)
            )
        except FileNotStored as failed:
            drain(request.stream)
            return _not_received(unit, recipients, failed.form, failed.error)
        except FileRefused as refused:
            drain(request.stream)
            errors = {FILE_FIELD: file_error(refused)}
            return _refuse(unit, recipients, refused.form, errors, status=413)
        except FormError as error:
            raise PublicError(error.status, error.code, _form_error(error)) from None
        valid, errors = _validate(received, unit, recipients)
        if valid is None:
            return _refuse(unit, recipients, received, errors)
        try:
            submission = _store_case(keys, unit, recipients, valid, received)
        except Exception as error:
            if not storage_refusal(error):
                raise
            return _not_received(unit, recipients, received, error)
        sealer.keep()
    # A reloaded confirmation page would post the report again: the next post needs a new
    # token, and the page below gets one.
    session.pop("csrf_token", None)
    return render_template(
        "confirmation.html",
        code=keys.code.display(),
        reference=intake.public_reference(keys.case_id),
        named=submission.identity is not None,
        protection=bool(submission.protection),
        files=len(submission.attachments),
    )


def _store_case(
    keys: NewCaseKeys,
    unit: Unit,
    recipients: UnitRecipients,
    valid: ValidReport,
    received: ReceivedForm,
) -> intake.Submission:
    """Seal the report and commit it as a case, through the one intake path.

    The slow hash comes first, outside any transaction; the commit is tried again if the
    database refuses for a moment. Raises what ``storage_refusal`` recognises when the
    case cannot be stored at all.
    """
    submission = seal_submission(
        keys,
        recipients,
        category=valid.category,
        report=valid.report,
        identity=valid.identity,
        attachments=received.attachments,
        excluded=valid.excluded,
        protection=valid.protection,
    )
    lookup_hash = intake.lookup_hash(submission, settings().code_kdf)
    try:
        intake.validate(submission, unit, recipients)
        retry_commit(
            lambda session: intake.accept(session, submission, unit, lookup_hash, unit_today())
        )
    except intake.IntakeError as error:
        raise PublicError(400, error.code, _intake_message()) from None
    return submission


def _form_spec(recipients: UnitRecipients | None) -> FormSpec:
    config = settings()
    readers = 0 if recipients is None else len(recipients.excludable())
    choices = len(ProtectedPerson) + len(ProtectionCategory) + readers
    return report_form_spec(
        TEXT_FIELDS,
        FILE_FIELD,
        max_chars=MAX_CHARS,
        max_file_size=config.max_file_size,
        max_report_size=config.max_report_size,
        choices=choices,
    )


def _expired_form() -> str:
    return str(
        _(
            "This form has expired, or it was not sent from this website. For your "
            "safety, nothing was kept. Please open the report form again. If your "
            "browser still shows what you wrote, copy it before you leave the page."
        )
    )


def _validate(
    received: ReceivedForm, unit: Unit, recipients: UnitRecipients
) -> tuple[ValidReport | None, dict[str, str]]:
    """The report to seal, or None and what to correct, by field name."""
    entered = ReportInput.from_form(received)
    errors = dict.fromkeys(received.overlong, too_long_message())
    category = entered.text("category")
    if category not in unit.categories:
        errors.setdefault("category", _("Choose what your report is about."))
    if not entered.text("what"):
        errors.setdefault("what", _("Describe what happened."))
    identity = _identity(entered, errors)
    protection = _protection(entered, errors)
    excluded = _excluded(entered, recipients, identity is not None, errors)
    if errors:
        return None, errors
    report = report_document(category, current_language(), entered.values)
    if protection:
        report["protection"] = protection_document(protection, entered.text("protection_details"))
    valid = ValidReport(
        category=category,
        report=report,
        identity=identity,
        protection=protection,
        excluded=excluded,
    )
    return valid, errors


def _identity(entered: ReportInput, errors: dict[str, str]) -> dict[str, Any] | None:
    """The IDENTITY document of a named report; None for an anonymous one, whose identity
    fields are dropped here, before anything is encrypted, whatever they hold."""
    if not entered.asked:
        return identity_document(entered.values)  # a page from before the question
    choice = entered.text(CHOICE_FIELD)
    if choice == ANONYMOUS:
        for name in IDENTITY_FIELDS:
            errors.pop(name, None)  # too long, but not sent anyway
        return None
    if choice != NAMED:
        errors[CHOICE_FIELD] = _("Choose whether you give your name or report anonymously.")
        return None
    if not entered.text("identity_name"):
        errors.setdefault(
            "identity_name", _("Write your full name, or choose to report anonymously.")
        )
    if not entered.text("identity_contact"):
        errors.setdefault(
            "identity_contact",
            _("Say how the unit can contact you, or choose to report anonymously."),
        )
    return identity_document(entered.values)


def _protection(
    entered: ReportInput, errors: dict[str, str]
) -> frozenset[tuple[ProtectedPerson, ProtectionCategory]]:
    people = _choices(entered.people, ProtectedPerson)
    kinds = _choices(entered.kinds, ProtectionCategory)
    if people is None:
        errors["protection_people"] = _("Choose from the list.")
    if kinds is None:
        errors["protection_kinds"] = _("Choose from the list.")
    if people is None or kinds is None:
        return frozenset()
    if people and not kinds:
        errors["protection_kinds"] = _("Choose what needs protecting, or untick the people.")
    elif kinds and not people:
        errors["protection_people"] = _("Choose who needs protection, or untick the kinds.")
    elif entered.text("protection_details") and not people:
        errors["protection_people"] = _(
            "To ask for protection, choose who needs it and what needs protecting."
        )
    return frozenset((person, kind) for person in people for kind in kinds)


def _choices(values: list[str], enum: type[Choice]) -> list[Choice] | None:
    """The chosen members in the enum's order, or None if one is not in it (a forged form)."""
    allowed = {member.value for member in enum}
    if not set(values) <= allowed:
        return None
    return [member for member in enum if member.value in values]


def _excluded(
    entered: ReportInput, recipients: UnitRecipients, named: bool, errors: dict[str, str]
) -> frozenset[int]:
    readers = {str(person.id): person for person in recipients.excludable()}
    if not set(entered.excluded) <= readers.keys():
        errors["excluded"] = _("Choose from the list.")
        return frozenset()
    excluded = frozenset(readers[value].id for value in entered.excluded)
    # The rule intake enforces for both paths; the form says it in its own words.
    problem = intake.exclusion_problem(excluded, recipients, named=named)
    if problem == intake.EXCLUDES_EVERY_READER:
        errors["excluded"] = _(
            "Someone must be able to read your report: leave at least one person unticked."
        )
    elif problem == intake.EXCLUDES_EVERY_CUSTODIAN:
        # Only custodians receive the identity key: the unit could not open the name.
        errors["excluded"] = _(
            "Only the head of the unit can open your name and contact details: leave them "
            "unticked, or choose to report anonymously in the first step."
        )
    return excluded


def _unsent(boundary: bytes, error: BaseException) -> tuple[str, int, dict[str, str]]:
    """The database is out of reach, so the form cannot be drawn again: what was typed is
    shown to copy, and no file is read into anything."""
    current_app.logger.error("a report could not be stored: %s", type(error).__name__)
    try:
        received = read_text_only(
            request.stream, boundary, _text_only_spec(), token_checker(_expired_form)
        )
    except FormError as failed:
        raise PublicError(failed.status, failed.code, _form_error(failed)) from None
    typed = [(label, received.get(name)) for name, label in TYPED_FIELDS.items()]
    page = render_template(
        "report_unsent.html",
        typed=[(label, text) for label, text in typed if text.strip()],
        files_dropped=received.files_chosen,
    )
    return page, 503, RETRY_LATER


def _text_only_spec() -> FormSpec:
    """The report form, whoever reads the unit's reports (nothing of the database is known)."""
    return dataclasses.replace(_form_spec(None), max_parts=MAX_PARTS_UNKNOWN_READERS)


def _not_received(
    unit: Unit, recipients: UnitRecipients, received: ReceivedForm, error: BaseException
) -> tuple[str, int, dict[str, str]]:
    """The form again, with what was typed, saying plainly that nothing was received."""
    current_app.logger.error("a report could not be stored: %s", type(error).__name__)
    db().rollback()
    entered = ReportInput.from_form(received)
    page = _render_form(
        unit, recipients, entered, {}, files_dropped=received.files_chosen, not_received=True
    )
    return page, 503, RETRY_LATER


def _refuse(
    unit: Unit,
    recipients: UnitRecipients,
    received: ReceivedForm,
    errors: dict[str, str],
    *,
    status: int = 400,
) -> tuple[str, int]:
    """The form again, with what was typed and what to correct (files cannot be refilled)."""
    entered = ReportInput.from_form(received)
    page = _render_form(unit, recipients, entered, errors, files_dropped=received.files_chosen)
    return page, status


def _render_form(
    unit: Unit,
    recipients: UnitRecipients,
    entered: ReportInput,
    errors: dict[str, str],
    *,
    files_dropped: int = 0,
    not_received: bool = False,
) -> str:
    config = settings()
    ordered = [(name, errors[name]) for name in FIELD_ORDER if name in errors]
    # The step a link to no step shows: the one to correct first, or the button to press.
    current = (
        STEP_OF[ordered[0][0]] if ordered else (STEP_NAMES[-1] if not_received else STEP_NAMES[0])
    )
    return render_template(
        "report_form.html",
        unit=unit,
        categories=[(slug, labels.category_label(slug)) for slug in unit.categories],
        people=[(p.value, labels.PROTECTED_PEOPLE[p]) for p in ProtectedPerson],
        kinds=[(k.value, labels.PROTECTION_KINDS[k]) for k in ProtectionCategory],
        readers=[
            (str(p.id), labels.reader_label(p.display_name, p.role))
            for p in recipients.excludable()
        ],
        entered=entered,
        errors=errors,
        error_list=ordered,
        step_names=STEP_NAMES,
        current_step=current,
        files_dropped=files_dropped,
        not_received=not_received,
        max_chars=MAX_CHARS,
        max_chars_text=format_decimal(MAX_CHARS),  # 20,000 or 20.000 by language
        max_file_size=labels.file_size(config.max_file_size),
        max_report_size=labels.file_size(config.max_report_size),
        max_file_bytes=config.max_file_size,  # for the JavaScript enhancement's checks
        max_report_bytes=config.max_report_size,
    )


def _form_error(error: FormError) -> str:
    if error.status == 413:
        return _too_large_message()
    if error.code == "csrf_missing":
        return _(
            "This form was not sent from this website. For your safety, nothing was kept. "
            "Please open the report form again."
        )
    return _malformed_message()


def too_long_message() -> str:
    """Shared with the follow-up forms: the same limit, the same words."""
    return streamed_too_long(MAX_CHARS)


def _malformed_message() -> str:
    return _(
        "Your browser sent the form in a way we cannot read. Nothing was kept. Please open "
        "the report form again and send it from there."
    )


def _too_large_message() -> str:
    return _(
        "This report is larger than this service accepts: files together may be up to "
        "%(limit)s. Nothing was kept. Please go back, choose fewer or smaller files, and "
        "send it again.",
        limit=labels.file_size(settings().max_report_size),
    )


def _intake_message() -> str:
    return _("Your report could not be accepted. Nothing was kept. Please try again.")
