"""The published conclusion of a case (LTC Art. 40, NĐ31 Art. 6): post, correct, take down.

``publication.show`` GET ``/cases/<public_id>/publication``: the conclusion's day, the
publication clock, the summary posted (if any) and the forms. ``publication.publish`` POST
to the same address posts a summary and records the ``publication`` step;
``publication.correct`` and ``publication.take_down`` POST
``/cases/<public_id>/publication/<id>/correct`` and ``.../take-down``; a take-down is
asked first by GET on the same address (``publication.take_down_question``).

Only people who hold the case key reach these pages (``open_case``), and only the case's
own unit acts (``acting_on``). The summary itself is public and stored in the clear
(casework.publication); nothing here decrypts the case, so opening the page is not
audited, while every posting, correction and take-down is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework import access, publication, workflow
from casework.dates import unit_today
from casework.intake import public_reference
from casework.publication import Draft, PublicationError
from casework.records import CaseKeys
from review import auth
from review.auth import current_inspector, login_required
from review.confirm import Question, ask
from review.notices import done
from review.views.cases import acting_on, not_found, open_case
from store.models import Case, PublishedConclusion
from store.types import MAX_ID
from web.database import db

blueprint = Blueprint("publication", __name__)

PUBLISHED = "conclusion_publish"
CORRECTED = "conclusion_correct"
TAKEN_DOWN = "conclusion_take_down"

FORM_FIELDS = ("title", "summary", "posted_where", "posted_on", "earliest_removal_on")

LIMITS = {
    "title": publication.MAX_TITLE,
    "summary": publication.MAX_SUMMARY,
    "posted_where": publication.MAX_WHERE,
}

# A refusal's code: the field to fix (its id within the form) and what to say.
REFUSALS: Mapping[str, tuple[str, LazyString]] = {
    "title_missing": ("title", _l("Write the title of the conclusion.")),
    "title_too_long": (
        "title",
        _l("The title is too long: at most %(count)d characters.", count=publication.MAX_TITLE),
    ),
    "summary_missing": ("summary", _l("Write the summary of the conclusion.")),
    "summary_too_long": (
        "summary",
        _l(
            "The summary is too long: at most %(count)d characters.",
            count=publication.MAX_SUMMARY,
        ),
    ),
    "posted_where_missing": ("posted_where", _l("Say where the conclusion is posted.")),
    "posted_where_too_long": (
        "posted_where",
        _l(
            "Where it is posted is too long: at most %(count)d characters.",
            count=publication.MAX_WHERE,
        ),
    ),
    "posted_on_invalid": ("posted_on", _l("Give the day it was posted as a date.")),
    "earliest_removal_on_invalid": (
        "earliest_removal_on",
        _l("Give the earliest day to take it down as a date."),
    ),
    "posted_later": (
        "posted_on",
        _l("Record a posting once it is up: the day it was posted cannot be after today."),
    ),
    "posted_before_conclusion": (
        "posted_on",
        _l("The day it was posted cannot be before the conclusion."),
    ),
    "too_short": (
        "earliest_removal_on",
        _l(
            "A conclusion stays posted for at least %(days)d consecutive days: the earliest"
            " day to take it down is %(days)d days after the posting day or later.",
            days=publication.MIN_DAYS_POSTED,
        ),
    ),
    "not_concluded": (
        "title",
        _l("Only a concluded case on the named track has a conclusion to publish."),
    ),
    "already_posted": (
        "title",
        _l("This conclusion is already posted: correct it or take it down below."),
    ),
    "unchanged": ("title", _l("The correction changes nothing.")),
    "taken_down": ("error", _l("This summary has been taken down.")),
    "too_early": (
        "error",
        _l("This summary must stay posted until the earliest day to take it down."),
    ),
}


@dataclass(frozen=True)
class Problem:
    """A refused form: which form, the field to fix (its id), the message, and what the
    person typed, shown again."""

    form: str
    target: str
    message: str
    values: dict[str, str] = field(default_factory=dict)


@blueprint.get("/cases/<public_id>/publication")
@login_required()
def show(public_id: str) -> ResponseReturnValue:
    return _page(open_case(public_id))


@blueprint.post("/cases/<public_id>/publication")
@login_required()
def publish(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    recorded_before = len(case.events)
    try:
        row = publication.publish(
            db(), case, current_inspector(), _draft(values), today=unit_today(), now=auth.now()
        )
    except PublicationError as error:
        return _page((case, keys), _problem("publish", error, values), 400)
    db().flush()
    details = {
        "publication_id": row.id,
        "posted_on": row.posted_on.isoformat(),
        "earliest_removal_on": row.earliest_removal_on.isoformat(),
        "event_recorded": len(case.events) > recorded_before,
    }
    auth.audit(PUBLISHED, case_public_id=case.public_id, details=details)
    return _done(case)


@blueprint.post("/cases/<public_id>/publication/<int:publication_id>/correct")
@login_required()
def correct(public_id: str, publication_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    row = _posting(case, publication_id)
    values = {name: request.form.get(name, "") for name in ("title", "summary")}
    try:
        changed = publication.correct(row, values["title"], values["summary"])
    except PublicationError as error:
        return _page((case, keys), _problem("correct", error, values), 400)
    details = {"publication_id": row.id, "changed": changed}
    auth.audit(CORRECTED, case_public_id=case.public_id, details=details)
    return _done(case)


@blueprint.get("/cases/<public_id>/publication/<int:publication_id>/take-down")
@login_required()
def take_down_question(public_id: str, publication_id: int) -> ResponseReturnValue:
    """A take-down is asked first, on a page of its own; nothing changes on a GET."""
    case, keys = acting_on(public_id)
    row = _posting(case, publication_id)
    refusal = publication.take_down_refusal(row, unit_today())
    if refusal is not None:
        return _page((case, keys), _problem("take-down", refusal), 400)
    reference = public_reference(case.public_id)
    back = url_for("publication.show", public_id=case.public_id)
    return ask(
        Question(
            title=_("Take down the conclusion of case %(reference)s?", reference=reference),
            consequences=(
                _("The public page no longer shows “%(title)s”.", title=row.title),
                _(
                    "It stays in this case's record of postings, and a new summary can be "
                    "posted later; this one cannot be put back."
                ),
                _("This is recorded in the audit log with your name."),
            ),
            action=url_for(
                "publication.take_down", public_id=case.public_id, publication_id=row.id
            ),
            button=_("Take the conclusion down"),
            back=back,
            back_label=_("Back to the published conclusion"),
            form_id="take-down",
        )
    )


@blueprint.post("/cases/<public_id>/publication/<int:publication_id>/take-down")
@login_required()
def take_down(public_id: str, publication_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    row = _posting(case, publication_id)
    try:
        publication.take_down(row, current_inspector(), unit_today())
    except PublicationError as error:
        return _page((case, keys), _problem("take-down", error), 400)
    details = {"publication_id": row.id, "removed_on": unit_today().isoformat()}
    auth.audit(TAKEN_DOWN, case_public_id=case.public_id, details=details)
    reference = public_reference(case.public_id)
    done(_("The conclusion of case %(reference)s was taken down.", reference=reference))
    return _done(case)


# --- helpers ----------------------------------------------------------------------------


def _done(case: Case) -> ResponseReturnValue:
    db().commit()
    return redirect(url_for("publication.show", public_id=case.public_id), 303)


def _posting(case: Case, publication_id: int) -> PublishedConclusion:
    row = db().get(PublishedConclusion, publication_id) if publication_id <= MAX_ID else None
    if row is None or row.case_id != case.id:
        raise not_found()
    return row


def _draft(values: dict[str, str]) -> Draft:
    return Draft(
        title=values["title"],
        summary=values["summary"],
        posted_where=values["posted_where"],
        posted_on=_day(values["posted_on"], "posted_on"),
        earliest_removal_on=_day(values["earliest_removal_on"], "earliest_removal_on"),
    )


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PublicationError(f"{name}_invalid", f"{name} is not a date") from None


def _problem(form: str, error: PublicationError, values: dict[str, str] | None = None) -> Problem:
    field_id, message = _explained(form, error.code)
    return Problem(form, field_id, message, values or {})


def _explained(form: str, code: str) -> tuple[str, str]:
    """The id of the field to fix and what to tell the person, for a refusal's code."""
    field_id, message = REFUSALS.get(code, ("title", _l("That is not possible.")))
    return f"{form}-{field_id}", str(message)


def _page(
    opened: tuple[Case, CaseKeys], problem: Problem | None = None, status: int = 200
) -> tuple[str, int]:
    case, _keys = opened
    today = unit_today()
    concluded = publication.concluded_on(case)
    postings = publication.posted(db(), case)
    up = next((row for row in postings if row.removed_on is None), None)
    acting = access.acts_on(case, current_inspector())
    page = render_template(
        "publication.html",
        case=case,
        reference=public_reference(case.public_id),
        concluded_on=concluded,
        clock=next((d for d in workflow.current_deadlines(case) if d.key == "publication"), None),
        up=up,
        earlier=[row for row in postings if row is not up],
        acting=acting,
        can_publish=acting and concluded is not None and up is None,
        can_take_down=up is not None and today >= up.earliest_removal_on,
        today=today,
        default_removal=publication.earliest_removal(today),
        min_days=publication.MIN_DAYS_POSTED,
        limits=LIMITS,
        problem=problem,
    )
    return page, status
