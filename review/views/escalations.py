"""The reporter's escalations (LTC Art. 38) and re-denunciations (Art. 37), for both units
that take part (casework.escalation).

``/escalations`` shows the head of the answering unit (the case unit's directly superior
unit, or the case's own unit when it names none) what waits for their answer, with the
plaintext history of each case (statuses, dates, running clocks) and, to a custodian,
the resolving unit's sealed report; it shows the resolving unit the reports demanded of
it. Each POST takes one step and audits it:

- ``/escalations/<id>/demand``: a custodian or supervisor of the answering unit demands a
  report (NĐ31 Art. 5), after a GET on the same address asked whether to;
- ``/escalations/<id>/report``: a reader of the resolving unit reports, with the reporter's
  note and the case's decisions and their grounds, which only that unit can open, sealed
  to the answering unit's custodians and escrow key and to the case's readers;
- ``/escalations/<id>/answer``: a custodian of the answering unit answers, sealed to the
  same people and to the reporter, who reads it on the follow-up page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from casework import access, escalation, protection, transcript, workflow
from casework.dates import unit_today
from casework.deadlines import Deadline
from casework.escalation import EscalationError, Request
from casework.intake import public_reference
from casework.records import CaseKeys, Reading
from review import auth
from review.auth import current_inspector, current_private_key, login_required
from review.confirm import Question, ask
from review.notices import done
from review.views.cases import OPENED, acting_on
from store.models import Case, CaseEvent, InspectorRole
from web.database import db
from web.errors import PublicError
from web.labels import ALTERED_RECORD

blueprint = Blueprint("escalations", __name__)

MAX_TEXT = 5000  # characters of a report or an answer
DEMANDED = "escalation_demand"
REPORTED = "escalation_report"
ANSWERED = "escalation_answer"
CASEWORK_ROLES = (InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)


@dataclass(frozen=True)
class Waiting:
    """A request as the answering unit's page shows it."""

    request: Request
    clocks: list[Deadline]
    history: list[CaseEvent]  # status changes and steps, plaintext: kind and dates
    report: Reading | None  # opened for a custodian it was sealed to


@dataclass(frozen=True)
class Problem:
    public_id: str
    form: str
    message: str
    text: str


@blueprint.get("/escalations")
@login_required(*CASEWORK_ROLES)
def index() -> ResponseReturnValue:
    return _page()


@blueprint.get("/escalations/<public_id>/demand")
@login_required(InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)
def demand_question(public_id: str) -> ResponseReturnValue:
    """A demand starts the other unit's clock and cannot be withdrawn: it is asked first,
    on a page of its own. Nothing changes on a GET."""
    case = _case(public_id)
    waiting = escalation.request_of(db(), case)
    if waiting is not None and waiting.demand is not None:
        raise _refused(EscalationError("already_demanded", "a report was already demanded"))
    reference = public_reference(case.public_id)
    unit = case.unit.name
    return ask(
        Question(
            title=_(
                "Demand a report from %(unit)s on case %(reference)s?",
                unit=unit,
                reference=reference,
            ),
            consequences=(
                _(
                    "%(unit)s, the unit handling the case, is asked to report on how it "
                    "handled it. Where its rules set a period for the report, it starts today.",
                    unit=unit,
                ),
                _("The demand cannot be withdrawn."),
                _("This is recorded in the case's history and in the audit log with your name."),
            ),
            action=url_for("escalations.demand", public_id=case.public_id),
            button=_("Demand the report"),
            back=url_for("escalations.index"),
            back_label=_("Back to the escalations"),
            form_id="demand",
        )
    )


@blueprint.post("/escalations/<public_id>/demand")
@login_required(InspectorRole.CUSTODIAN, InspectorRole.SUPERVISOR)
def demand(public_id: str) -> ResponseReturnValue:
    case = _case(public_id)
    try:
        escalation.demand(
            db(), case, inspector=current_inspector(), today=unit_today(), now=auth.now()
        )
    except EscalationError as error:
        raise _refused(error) from None
    auth.audit(DEMANDED, case_public_id=case.public_id, details={"from_unit": case.unit.slug})
    reference = public_reference(case.public_id)
    unit = case.unit.name
    done(
        _(
            "A report on case %(reference)s was demanded from %(unit)s.",
            reference=reference,
            unit=unit,
        )
    )
    return _done()


@blueprint.post("/escalations/<public_id>/report")
@login_required(InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN)
def report(public_id: str) -> ResponseReturnValue:
    case, keys = acting_on(public_id)
    text = _text()
    if not text.strip():
        return _page(Problem(public_id, "report", _("Write the report."), text), 400)
    try:
        escalation.report(
            db(),
            case,
            inspector=current_inspector(),
            private_key=current_private_key(),
            document=_report_document(case, keys, text),
            today=unit_today(),
            now=auth.now(),
        )
    except EscalationError as error:
        raise _refused(error) from None
    to_unit = escalation.answering_unit_of(case)
    auth.audit(
        REPORTED,
        case_public_id=case.public_id,
        target=to_unit.slug if to_unit else None,
    )
    return _done()


@blueprint.post("/escalations/<public_id>/answer")
@login_required(InspectorRole.CUSTODIAN)
def answer(public_id: str) -> ResponseReturnValue:
    case = _case(public_id)
    text = _text()
    if not text.strip():
        message = _("Write the answer to the reporter.")
        return _page(Problem(public_id, "answer", message, text), 400)
    try:
        event = escalation.answer(
            db(),
            case,
            inspector=current_inspector(),
            private_key=current_private_key(),
            text=text,
            today=unit_today(),
            now=auth.now(),
        )
    except EscalationError as error:
        raise _refused(error) from None
    protection.recompute_urgent(case)  # answered: urgent only for what else is pending
    auth.audit(ANSWERED, case_public_id=case.public_id, details={"kind": event.kind})
    return _done()


# --- helpers ----------------------------------------------------------------------------


def _page(problem: Problem | None = None, status: int = 200) -> tuple[str, int]:
    me = current_inspector()
    waiting = []
    if me.role in escalation.DEMANDING_ROLES:
        waiting = [_waiting(item) for item in escalation.waiting_for(db(), me.unit)]
    owed = []
    if me.role in (InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN):
        owed = escalation.owed_by(db(), me.unit)
    page = render_template(
        "escalations.html",
        waiting=waiting,
        owed=owed,
        problem=problem,
        reference=public_reference,
        today=unit_today(),
        may_answer=me.role in escalation.ANSWERING_ROLES,
        altered=ALTERED_RECORD,
        max_text=MAX_TEXT,
    )
    return page, status


def _waiting(item: Request) -> Waiting:
    me = current_inspector()
    shown = (workflow.STATUS_CHANGE, workflow.ARRIVAL, *escalation.STEPS)
    history = [event for event in item.case.events if event.kind in shown]
    reading = None
    if item.report is not None:
        reading = escalation.read_as_inspector(item.case, item.report, me, current_private_key())
        # The report holds the case's decisions and the reporter's words: an opening.
        auth.audit(OPENED, case_public_id=item.case.public_id, details={"page": "escalations"})
    return Waiting(item, workflow.current_deadlines(item.case), history, reading)


def _case(public_id: str) -> Case:
    """A case whose request waits for the answer of this person's unit; 404 otherwise."""
    me = current_inspector()
    case = db().scalar(select(Case).where(Case.public_id == public_id[:64]))
    waiting = None if case is None else escalation.request_of(db(), case)
    if case is None or waiting is None or waiting.to_unit.id != me.unit_id:
        raise PublicError(404, "not_found", _("No escalation of this case waits for your unit."))
    return case


def _report_document(case: Case, keys: CaseKeys, text: str) -> dict[str, Any]:
    """What the answering unit's head needs and cannot open: the report, the reporter's own
    words, and the case's decisions with their grounds."""
    waiting = escalation.request_of(db(), case)
    note = None
    if waiting is not None and waiting.event.message_id is not None:
        note = transcript.entry_reading(case, keys.case, waiting.event.message_id).text()
    decisions = [
        {
            "on": event.occurred_on.isoformat(),
            "to": event.to_status,
            "grounds": _grounds_text(case, keys, event),
        }
        for event in case.events
        if event.kind == workflow.STATUS_CHANGE
    ]
    return {"schema": 1, "text": text, "reporter_note": note, "decisions": decisions}


def _grounds_text(case: Case, keys: CaseKeys, event: CaseEvent) -> str | None:
    if event.message_id is not None:  # the reporter's own step (a withdrawal)
        return transcript.entry_reading(case, keys.case, event.message_id).text()
    reading = access.open_note(keys, case, event, "grounds", "grounds")
    return None if reading is None else reading.text()


def _text() -> str:
    text = request.form.get("text", "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT:
        raise PublicError(
            400,
            "text_too_long",
            _("The text is too long: at most %(count)d characters.", count=MAX_TEXT),
        )
    return text


def _refused(error: EscalationError) -> PublicError:
    messages = {
        "already_demanded": _("A report was already demanded for this case."),
        "no_report_due": _("No report is demanded of your unit for this case."),
        "not_resolving_unit": _("Only the unit handling the case reports on it."),
        "excluded": _("The reporter excluded you from this case."),
        "no_heads": _(
            "The unit that answers has no custodian who could read the report yet. Ask "
            "its administrator to enrol one, then send the report again."
        ),
    }
    message = messages.get(error.code, _("No escalation of this case waits for your unit."))
    return PublicError(409, error.code, message)


def _done() -> ResponseReturnValue:
    db().commit()
    return redirect(url_for("escalations.index"), 303)
