"""Protection of the reporter and relatives, and retaliation incidents, on the review side.

``protection.show`` GET ``/cases/<public_id>/protection``: every protection record with
its decrypted details and timeline, every retaliation incident with its notes, and the
forms that act on them (plain POST forms with the anti-forgery token; no JavaScript):

- ``protection.open_record`` POST ``.../protection/open``: a request received in person;
- ``protection.change`` POST ``.../protection/<record_id>/state``: the next state, with
  the fields that state needs (one form per allowed next state);
- ``protection.answer`` POST ``.../protection/<record_id>/answer``: answer a reporter's
  ask without changing the state;
- ``protection.log_incident`` POST ``.../incidents``; ``protection.add_note`` POST
  ``.../incidents/<incident_id>/notes``; ``protection.link`` POST
  ``.../incidents/<incident_id>/link``.

The same 404 as the case page for anyone without a wrap of the case key, and the same 403
for every form of a case forwarded to another unit (``cases.acting_on``): the sender may
read it there, not act on it. Decryption
happens in the request's memory; every page view and every change is audited, with ids
and states only, never what anyone wrote. A refused form comes back with what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework import access, workflow
from casework import protection as casework
from casework.dates import unit_today
from casework.intake import public_reference
from casework.records import CaseKeys
from review import auth
from review.auth import current_inspector, login_required
from review.views.cases import acting_on, open_case
from store.models import (
    Case,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
    RetaliationNote,
)
from web import labels
from web.database import db
from web.dates import read_day
from web.errors import PublicError

blueprint = Blueprint("protection", __name__)

ALTERED_RECORD = labels.ALTERED_RECORD
VIEWED = "protection_view"
OPENED = "protection_open"
CHANGED = "protection_change"
ANSWERED = "protection_answer"
LOGGED = "incident_log"
NOTED = "incident_note"
LINKED = "incident_link"

NEW_RECORD = "new"  # the incident form's choice "request protection for a person"
_ID = re.compile(r"[0-9]{1,18}")
E = TypeVar("E", bound=StrEnum)

# What the button of each transition says.
ACTIONS: Mapping[ProtectionState, LazyString] = {
    ProtectionState.UNDER_REVIEW: _l("Start reviewing the request"),
    ProtectionState.REJECTED: _l("Reject the request"),
    ProtectionState.ACTIVE: _l("Grant protection"),
    ProtectionState.MODIFIED: _l("Record a change of measures"),
    ProtectionState.ENDED: _l("End the protection"),
}
# The text fields of protection documents, in the order they are shown.
FIELDS: Mapping[str, LazyString] = {
    "relative": _l("Which relative"),
    "request": _l("What is asked, and why"),
    "note": _l("Note"),
    "measures": _l("Measures"),
    "responsible_body": _l("Body responsible for the measures"),
    "reasons": _l("Written reasons for the rejection"),
    "changes": _l("What changed"),
    "ground": _l("Ground for ending the protection"),
}
# What the fields of a transition form are called, when they differ from FIELDS.
HINTS: Mapping[str, LazyString] = {
    "note": _l("Optional."),
    "measures": _l(
        "For example: identity kept secret, safe meeting places, a harmful decision "
        "suspended, position restored, police protection."
    ),
    "started_on": _l("Year-month-day, for example 2026-11-27. Not before the request."),
}


@dataclass(frozen=True)
class Problem:
    """A refused form: its id, the field at fault, the message, and what was typed."""

    form: str
    field: str
    message: str
    values: Mapping[str, str]


class Refused(Exception):
    """A form value this view cannot use (a date, a choice), before casework sees it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class StepForm:
    """One allowed next state of a record, as a form: which fields, which required."""

    state: ProtectionState
    form_id: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    needs_start: bool


# --- the page -----------------------------------------------------------------------------


@blueprint.get("/cases/<public_id>/protection")
@login_required()
def show(public_id: str) -> ResponseReturnValue:
    return _page(*open_case(public_id))


# --- protection records -------------------------------------------------------------------


@blueprint.post("/cases/<public_id>/protection/open")
@login_required()
def open_record(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    values = _typed("person", "category", "relative", "request", "urgent", "confirmation_due")
    try:
        urgent = values["urgent"] == "1"
        record = casework.open_by_inspector(
            db(),
            case,
            keys,
            current_inspector(),
            _choice(ProtectedPerson, values["person"], "person"),
            _choice(ProtectionCategory, values["category"], "category"),
            urgent,
            casework.RequestDetails(relative=values["relative"], request=values["request"]),
            unit_today(),
            auth.now(),
            _confirmation_due(case, values["confirmation_due"]) if urgent else None,
        )
    except (casework.ProtectionError, Refused) as error:
        return _refused(case, keys, "open", error, values)
    auth.audit(
        OPENED,
        case_public_id=case.public_id,
        details={
            "protection_id": record.id,
            "person": record.person.value,
            "category": record.category.value,
            "urgent": record.urgent,
        },
    )
    db().commit()
    return _back(case, f"record-{record.id}")


@blueprint.post("/cases/<public_id>/protection/<int:record_id>/state")
@login_required()
def change(public_id: str, record_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    record = _record(case, record_id)
    values = _typed("to", *FIELDS, "started_on", "end_ground")
    target = values["to"]
    form_id = f"state-{record.id}-{target}"
    try:
        state = _choice(ProtectionState, target, "to")
        # An empty date is casework's to refuse, after the texts it checks first.
        typed_start = values["started_on"].strip()
        active = state is ProtectionState.ACTIVE
        started = _date(typed_start, "started_on") if active and typed_start else None
        fields = casework.StepFields(
            reasons=values["reasons"],
            measures=values["measures"],
            responsible_body=values["responsible_body"],
            changes=values["changes"],
            ground=values["ground"],
            note=values["note"],
            started_on=started,
            end_ground=values["end_ground"],
        )
        from_state = record.state
        casework.transition(
            db(), record, keys, current_inspector(), state, fields, unit_today(), auth.now()
        )
    except (casework.ProtectionError, Refused) as error:
        return _refused(case, keys, form_id, error, values)
    auth.audit(
        CHANGED,
        case_public_id=case.public_id,
        details={"protection_id": record.id, "from": from_state.value, "to": state.value},
    )
    db().commit()
    return _back(case, f"record-{record.id}")


@blueprint.post("/cases/<public_id>/protection/<int:record_id>/answer")
@login_required()
def answer(public_id: str, record_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    record = _record(case, record_id)
    values = _typed("text")
    try:
        casework.answer_ask(
            db(), record, keys, current_inspector(), values["text"], unit_today(), auth.now()
        )
    except casework.ProtectionError as error:
        return _refused(case, keys, f"answer-{record.id}", error, values)
    auth.audit(ANSWERED, case_public_id=case.public_id, details={"protection_id": record.id})
    db().commit()
    return _back(case, f"record-{record.id}")


# --- retaliation incidents ----------------------------------------------------------------


@blueprint.post("/cases/<public_id>/incidents")
@login_required()
def log_incident(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    values = _typed("kind", "occurred_on", "text", "protection", "person", "category", "urgent")
    try:
        kind = _choice(RetaliationKind, values["kind"], "kind")
        occurred = _date(values["occurred_on"], "occurred_on") if values["occurred_on"] else None
        link, new = _incident_protection(values)
        incident = casework.log_incident_by_inspector(
            db(),
            case,
            keys,
            current_inspector(),
            kind,
            occurred,
            values["text"],
            unit_today(),
            auth.now(),
            link,
            new,
            urgent=values["urgent"] == "1",
        )
    except (casework.ProtectionError, Refused) as error:
        return _refused(case, keys, "incident", error, values)
    auth.audit(
        LOGGED,
        case_public_id=case.public_id,
        details={
            "incident_id": incident.id,
            "kind": incident.kind.value,
            "protection_id": incident.protection_id,
        },
    )
    db().commit()
    return _back(case, f"incident-{incident.id}")


@blueprint.post("/cases/<public_id>/incidents/<int:incident_id>/notes")
@login_required()
def add_note(public_id: str, incident_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    incident = _incident(case, incident_id)
    values = _typed("text")
    try:
        casework.add_inspector_note(
            db(),
            incident,
            keys,
            current_inspector(),
            values["text"],
            unit_today(),
            auth.now(),
        )
    except casework.ProtectionError as error:
        return _refused(case, keys, f"note-{incident.id}", error, values)
    auth.audit(NOTED, case_public_id=case.public_id, details={"incident_id": incident.id})
    db().commit()
    return _back(case, f"incident-{incident.id}")


@blueprint.post("/cases/<public_id>/incidents/<int:incident_id>/link")
@login_required()
def link(public_id: str, incident_id: int) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    incident = _incident(case, incident_id)
    values = _typed("protection")
    try:
        record = _linked_record(case, values["protection"])
        casework.record_link(db(), incident, record, current_inspector(), unit_today(), auth.now())
    except (casework.ProtectionError, Refused) as error:
        return _refused(case, keys, f"link-{incident.id}", error, values)
    auth.audit(
        LINKED,
        case_public_id=case.public_id,
        details={"incident_id": incident.id, "protection_id": record.id},
    )
    db().commit()
    return _back(case, f"incident-{incident.id}")


# --- reading the forms ----------------------------------------------------------------------


def _typed(*names: str) -> dict[str, str]:
    """The posted values, line breaks as LF (browsers send CRLF), absent ones empty."""
    return {
        name: request.form.get(name, "").replace("\r\n", "\n").replace("\r", "\n") for name in names
    }


def _choice(enum: type[E], value: str, name: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise Refused(name, _("Choose one of the listed options.")) from None


def _confirmation_due(case: Case, typed: str) -> date:
    """The date typed, or by default the profile's period for confirming in writing."""
    if not typed.strip():
        return casework.confirmation_due(case, unit_today())
    return _date(typed, "confirmation_due")


def _date(value: str, name: str) -> date:
    found = read_day(value)
    if found is None:
        raise Refused(name, _("Enter the date as day/month/year, for example 31/3/2026."))
    return found


def _incident_protection(
    values: Mapping[str, str],
) -> tuple[int | None, tuple[ProtectedPerson, ProtectionCategory] | None]:
    """The incident form's protection choice: none, an existing record, or a new one."""
    choice = values["protection"]
    if not choice:
        return None, None
    if choice == NEW_RECORD:
        person = _choice(ProtectedPerson, values["person"], "person")
        return None, (person, _choice(ProtectionCategory, values["category"], "category"))
    if not _ID.fullmatch(choice):
        raise Refused("protection", _("Choose one of the listed options."))
    return int(choice), None


def _linked_record(case: Case, choice: str) -> ProtectionRecord:
    record = None
    if _ID.fullmatch(choice):
        record = next((item for item in case.protections if item.id == int(choice)), None)
    if record is None:
        raise Refused("protection", _("Choose a protection record of this case."))
    return record


# --- opening the case and answering -----------------------------------------------------------


def _record(case: Case, record_id: int) -> ProtectionRecord:
    record = next((item for item in case.protections if item.id == record_id), None)
    if record is None:
        raise PublicError(404, "not_found", _("This case has no such protection record."))
    return record


def _incident(case: Case, incident_id: int) -> RetaliationIncident:
    incident = next((item for item in case.retaliation_incidents if item.id == incident_id), None)
    if incident is None:
        raise PublicError(404, "not_found", _("This case has no such incident."))
    return incident


def _back(case: Case, anchor: str) -> ResponseReturnValue:
    return redirect(url_for("protection.show", public_id=case.public_id, _anchor=anchor), 303)


def _refused(
    case: Case,
    keys: CaseKeys,
    form_id: str,
    error: casework.ProtectionError | Refused,
    values: Mapping[str, str],
) -> ResponseReturnValue:
    # Nothing of the refused action may be committed with the page's audit entry.
    db().rollback()
    if isinstance(error, Refused):
        problem = Problem(form_id, error.field, error.message, values)
    else:
        name, message = _explain(error.code)
        problem = Problem(form_id, name, message, values)
    return _page(case, keys, problem, 400)


def _explain(code: str) -> tuple[str, str]:
    """The field at fault and a message for a casework refusal code."""
    if code.startswith("missing_"):
        name = code.removeprefix("missing_")
        label = FIELDS.get(name) or _("Protection starts on")
        return name, _("Fill in: %(field)s.", field=label)
    messages: dict[str, tuple[str, str]] = {
        "too_long": (
            "text",
            _("A text has at most %(count)d characters.", count=casework.MAX_TEXT),
        ),
        "empty": ("text", _("Write something before sending it.")),
        "date_in_future": ("occurred_on", _("An incident cannot be in the future.")),
        "start_before_request": (
            "started_on",
            _("Protection cannot start before it was requested."),
        ),
        "confirmation_in_past": (
            "confirmation_due",
            _("The date for the written confirmation cannot be in the past."),
        ),
        "other_case": ("protection", _("Choose a protection record of this case.")),
        "invalid_transition": (
            "to",
            _("This record cannot move to that state now. Reload the page and try again."),
        ),
        "nothing_asked": ("text", _("The reporter has no request waiting for an answer.")),
        "too_few_grounds": ("end_ground", _("Choose the ground in law for ending it.")),
        "unknown_ground": ("end_ground", _("Choose the ground in law for ending it.")),
    }
    return messages.get(code, ("text", _("This could not be saved.")))


# --- rendering ---------------------------------------------------------------------------------


def _end_grounds(case: Case) -> list[tuple[str, str]]:
    """The law's grounds for ending a protection under the case's profile, as choices."""
    listed = workflow.profile_of(case).protection_end_grounds
    if listed is None:
        return []
    return [(g.key, f"{labels.legal_ground_label(g.key)} ({g.article})") for g in listed.grounds]


def _page(
    case: Case, keys: CaseKeys, problem: Problem | None = None, status: int = 200
) -> tuple[str, int]:
    auth.audit(VIEWED, case_public_id=case.public_id)
    records = {record.id: record for record in case.protections}
    page = render_template(
        "protection.html",
        case=case,
        acting=access.acts_on(case, current_inspector()),
        reference=public_reference(case.public_id),
        records=[_record_view(keys, record) for record in case.protections],
        incidents=[_incident_view(keys, case, item) for item in case.retaliation_incidents],
        records_by_id=records,
        record_choices=[(str(record.id), _record_name(record)) for record in case.protections],
        problem=problem,
        typed=_typed_for(problem),
        people=_options(labels.PROTECTED_PEOPLE_STAFF),
        categories=_options(labels.PROTECTION_KINDS),
        kinds=_options(labels.RETALIATION_KINDS),
        field_labels=FIELDS,
        hints=HINTS,
        actions=ACTIONS,
        end_grounds=_end_grounds(case),
        staff_person=lambda value: _label(labels.PROTECTED_PEOPLE_STAFF, value),
        party_label=lambda value: _label(labels.PARTIES, value),
        ask_label=lambda value: _label(labels.PROTECTION_ASKS, value),
        new_record=NEW_RECORD,
        max_text=casework.MAX_TEXT,
        today=unit_today(),
    )
    db().commit()
    return page, status


def _record_view(keys: CaseKeys, record: ProtectionRecord) -> dict[str, Any]:
    return {
        "record": record,
        "details": _shown(casework.open_details(keys, record)),
        "timeline": [
            (entry.event, _shown(entry.details)) for entry in casework.timeline(keys, record)
        ],
        "steps": [_step_form(record, state) for state in casework.allowed_next(record)],
        "pending": casework.pending_asks(record),
        "decision_due": casework.decision_due(record.case, record),
    }


def _step_form(record: ProtectionRecord, state: ProtectionState) -> StepForm:
    return StepForm(
        state=state,
        form_id=f"state-{record.id}-{state.value}",
        required=casework.REQUIRED[state],
        optional=casework.OPTIONAL[state],
        needs_start=state is ProtectionState.ACTIVE,
    )


def _incident_view(keys: CaseKeys, case: Case, incident: RetaliationIncident) -> dict[str, Any]:
    logged_by = next(
        (
            event.inspector
            for event in case.events
            if event.kind == casework.INCIDENT
            and (event.data or {}).get("incident_id") == incident.id
            and (event.data or {}).get("action") == "logged"
        ),
        None,
    )
    return {
        "incident": incident,
        "text": _text(
            casework.open_document(keys, case, incident, "details", "incident", incident.message_id)
        ),
        "logged_by": logged_by,
        "notes": [(note, _text(_note_document(keys, case, note))) for note in incident.notes],
        "pending": casework.incident_pending(incident),
    }


def _shown(details: Mapping[str, str]) -> list[tuple[LazyString | str, str]]:
    """The fields worth showing, labelled; a bare ``text`` (a reporter's note, an answer)
    only when nothing more specific is there."""
    if details.get(casework.ALTERED):
        return [(_l("Record"), str(ALTERED_RECORD))]
    shown: list[tuple[LazyString | str, str]] = [
        (label, details[name]) for name, label in FIELDS.items() if details.get(name)
    ]
    if not shown and details.get("text"):
        shown.append((_l("Note"), details["text"]))
    return shown


def _record_name(record: ProtectionRecord) -> str:
    return str(
        _(
            "%(person)s: %(kind)s",
            person=_label(labels.PROTECTED_PEOPLE_STAFF, record.person),
            kind=_label(labels.PROTECTION_KINDS, record.category),
        )
    )


def _options(table: Mapping[Any, LazyString]) -> list[tuple[str, str]]:
    return [(str(getattr(key, "value", key)), str(label)) for key, label in table.items()]


def _label(table: Mapping[Any, LazyString], value: Any) -> str:
    label = table.get(value)
    return str(label) if label is not None else str(getattr(value, "value", value))


def _typed_for(problem: Problem | None) -> Callable[[str, str], str]:
    """For templates: what was typed into field ``name`` of form ``form_id``, if that
    form was just refused; otherwise empty."""

    def typed(form_id: str, name: str) -> str:
        if problem is None or problem.form != form_id:
            return ""
        return problem.values.get(name, "")

    return typed


def _note_document(keys: CaseKeys, case: Case, note: RetaliationNote) -> Mapping[str, str]:
    return casework.open_document(keys, case, note, "details", "incident-note", note.message_id)


def _text(details: Mapping[str, str]) -> str | None:
    """The text to show; the altered notice for a record altered in storage."""
    if details.get(casework.ALTERED):
        return str(ALTERED_RECORD)
    return details.get("text")
