"""The legal workflow of a case: transitions, extensions, notifications, forwarding.

``workflow.show`` GET ``/cases/<public_id>/workflow``: the status, every running clock
(overdue and due-soon worked out for today, never stored), the history with each step's
grounds decrypted, and the forms for the steps the unit's profile allows now. The POST
routes take one step each, seal the grounds under the case's unit key (the reporter's code
does not open it), write the optional notice to the reporter as a transcript entry under
the case key, audit it and come back.

Only people of the case's own unit act on it: a unit that forwarded a case and kept read
access (its profile's choice) reads it here but takes no step. The reporter's escalations
and re-denunciations are answered from ``/escalations`` (review.views.escalations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from casework import access, protection, transcript, transfer, workflow
from casework.dates import unit_today
from casework.deadlines import Deadline
from casework.intake import public_reference
from casework.legal_grounds import GroundList
from casework.profiles import UNIT_SIDE, Profile
from casework.records import CaseKeys, Reading, Sealer
from casework.workflow import WorkflowError
from review import auth
from review.auth import current_inspector, current_private_key, login_required
from review.notices import done
from review.views import protection as protection_views
from review.views.cases import OPENED, open_case
from review.views.cases import acting_on as _acting_on
from store.models import Case, CaseEvent, Unit, WrapPurpose
from web.database import db
from web.errors import PublicError
from web.labels import VERIFICATION_MEANS, status_label

blueprint = Blueprint("workflow", __name__)

MAX_GROUNDS = 5000  # characters of a decision's grounds
DUE_SOON_DAYS = 7

STATUS_CHANGED = "status_change"
EXTENDED = "deadline_extension"
RECORDED = "event_record"
FORWARDED = "case_forward"


@dataclass(frozen=True)
class Problem:
    form: str
    message: str
    grounds: str = ""
    notice: str = ""
    chosen: tuple[str, ...] = ()  # the law's grounds that were ticked
    unit: str = ""  # a forward's receiving unit, as chosen
    identity: bool = False  # a forward's "hand over the identity", as ticked


@dataclass(frozen=True)
class ExtensionGrounds:
    """The law's criteria an extension of ``key`` is decided on, and how many it needs."""

    key: str
    grounds: GroundList
    needed: int


@dataclass(frozen=True)
class Clock:
    """A running deadline as the page shows it, judged against today."""

    deadline: Deadline
    overdue: bool
    due_soon: bool


@dataclass(frozen=True)
class HistoryItem:
    kind: str
    from_status: str | None
    to_status: str | None
    who: str
    on: date
    grounds: Reading | None
    detail: str | None
    legal_grounds: tuple[str, ...] = ()  # keys of casework.legal_grounds


# --- pages ------------------------------------------------------------------------------


@blueprint.get("/cases/<public_id>/workflow")
@login_required()
def show(public_id: str) -> ResponseReturnValue:
    return _page(open_case(public_id))


@blueprint.post("/cases/<public_id>/status")
@login_required()
def change_status(public_id: str) -> ResponseReturnValue:
    case, keys = _acting_on(public_id)
    target, text, notice = request.form.get("status", ""), _grounds(), _notice()
    chosen = _legal_grounds()
    if target == transfer.FORWARDED:  # only the forward form moves the keys with the case
        message = _('Use the form "Forward to the competent body" to forward a case.')
        return _page((case, keys), Problem("status", message, text, notice, chosen), 400)
    try:
        event = workflow.transition(
            case,
            target,
            today=unit_today(),
            inspector=current_inspector(),
            now=auth.now(),
            grounds=_sealed(keys, case, text),
            legal_grounds=chosen,
        )
    except WorkflowError as error:
        problem = Problem("status", _step_problem(error), text, notice, chosen)
        return _page((case, keys), problem, 400)
    _send_notice(case, keys, notice)
    auth.audit(STATUS_CHANGED, case_public_id=case.public_id, details=_audited(event, target))
    _end_protection_with(case, keys, target)
    return _done(case)


def _end_protection_with(case: Case, keys: CaseKeys, status: str) -> None:
    """A status that ends protection (the profile's ``ends_protection``) ends each one still
    running, each step recorded and audited as if taken by hand."""
    if not workflow.profile_of(case).statuses[status].ends_protection:
        return
    ground = _("Ended with the case, which is now: %(status)s (Law on Denunciation, Art. 54(2)).",
               status=status_label(status))  # fmt: skip
    me, today, now = current_inspector(), unit_today(), auth.now()
    for record, was in protection.end_with_the_case(db(), case, keys, me, ground, today, now):
        details = {"protection_id": record.id, "from": was.value, "to": record.state.value}
        auth.audit(protection_views.CHANGED, case_public_id=case.public_id, details=details)


@blueprint.post("/cases/<public_id>/extend")
@login_required()
def extend(public_id: str) -> ResponseReturnValue:
    case, keys = _acting_on(public_id)
    key, text, chosen = request.form.get("deadline", ""), _grounds(), _legal_grounds()
    try:
        event = workflow.extend(
            case,
            key,
            inspector=current_inspector(),
            today=unit_today(),
            now=auth.now(),
            grounds=_sealed(keys, case, text) or b"",
            legal_grounds=chosen,
        )
    except WorkflowError as error:
        problem = Problem("extend", _extension_problem(error), text, chosen=chosen)
        return _page((case, keys), problem, 400)
    auth.audit(EXTENDED, case_public_id=case.public_id, details=_audited(event, key))
    return _done(case)


def _audited(event: CaseEvent, what: str) -> dict[str, object]:
    """An audit entry's details: the status or deadline, and the law's grounds ticked
    (categories, not the case's content)."""
    details: dict[str, object] = {"deadline" if event.kind == "extension" else "status": what}
    if workflow.LEGAL_GROUNDS in event.data:
        details[workflow.LEGAL_GROUNDS] = event.data[workflow.LEGAL_GROUNDS]
    return details


def _extension_problem(error: WorkflowError) -> str:
    if error.code == "too_few_grounds":
        return str(
            _(
                "Tick the criteria of a complex case that apply (Decree 31/2019, Art. 3): at"
                " least one for a first extension, at least two for a second."
            )
        )
    if error.code == "unknown_ground":
        return str(_("That deadline is not extended on the law's criteria: leave them unticked."))
    return _step_problem(error)


@blueprint.post("/cases/<public_id>/record")
@login_required()
def record(public_id: str) -> ResponseReturnValue:
    case, keys = _acting_on(public_id)
    kind, text, notice = request.form.get("kind", ""), _grounds(), _notice()
    try:
        workflow.record(
            case,
            kind,
            inspector=current_inspector(),
            today=unit_today(),
            now=auth.now(),
            grounds=_sealed(keys, case, text),
        )
    except WorkflowError as error:
        return _page((case, keys), Problem("record", _step_problem(error), text, notice), 400)
    _send_notice(case, keys, notice)
    auth.audit(RECORDED, case_public_id=case.public_id, details={"kind": kind})
    return _done(case)


@blueprint.post("/cases/<public_id>/partial-withdrawal")
@login_required()
def partial_withdrawal(public_id: str) -> ResponseReturnValue:
    """A written withdrawal of part of the report, recorded by the unit (LTC Art. 33): the
    case and its clocks go on; what was withdrawn is sealed like any grounds."""
    case, keys = _acting_on(public_id)
    text, notice = _grounds(), _notice()
    try:
        workflow.withdraw_in_part(
            case,
            today=unit_today(),
            inspector=current_inspector(),
            now=auth.now(),
            grounds=_sealed(keys, case, text),
        )
    except WorkflowError as error:
        problem = Problem("partial", _step_problem(error), text, notice)
        return _page((case, keys), problem, 400)
    _send_notice(case, keys, notice)
    details = {"kind": workflow.PARTIAL_WITHDRAWAL}
    auth.audit(RECORDED, case_public_id=case.public_id, details=details)
    return _done(case)


@blueprint.post("/cases/<public_id>/identity-verification")
@login_required()
def verify_identity(public_id: str) -> ResponseReturnValue:
    """The unit verified who made a named report (LTC Art. 22-23, 29(1)(a)): from now on
    a formal denunciation, on the named track's steps and clocks."""
    case, keys = _acting_on(public_id)
    means, text = request.form.get("means", ""), _grounds()
    try:
        workflow.verify_identity(
            case,
            means,
            today=unit_today(),
            inspector=current_inspector(),
            now=auth.now(),
            grounds=_sealed(keys, case, text),
        )
    except WorkflowError as error:
        return _page((case, keys), Problem("identity", _step_problem(error), text), 400)
    details = {"kind": workflow.IDENTITY_VERIFICATION, "means": means}
    auth.audit(RECORDED, case_public_id=case.public_id, details=details)
    return _done(case)


@blueprint.get("/cases/<public_id>/forward")
@login_required()
def forward_form(public_id: str) -> ResponseReturnValue:
    """Forwarding cannot be undone by the sender: it is asked on a page of its own, which
    says what follows, and holds the form. Nothing changes on a GET."""
    return _forward_page(_acting_on(public_id))


@blueprint.post("/cases/<public_id>/forward")
@login_required()
def forward(public_id: str) -> ResponseReturnValue:
    case, keys = _acting_on(public_id)
    text, notice = _grounds(), _notice()
    destination = _destination(case)
    hand_over = request.form.get("identity") == "yes"
    unit = request.form.get("unit", "")
    if destination is None or not text.strip():
        message = (
            _("Choose the unit to forward the case to.")
            if destination is None
            else _("Write the grounds for forwarding the case.")
        )
        return _forward_page(
            (case, keys), Problem("forward", message, text, notice, unit=unit, identity=hand_over)
        )
    sender = case.unit
    try:
        transfer.forward(
            db(),
            case,
            to_unit=destination,
            inspector=current_inspector(),
            case_key=keys.case,
            unit_key=keys.unit,
            identity_key=_identity_key(case) if hand_over else None,
            grounds=access.seal_note(keys, case, "grounds", text),
            today=unit_today(),
            now=auth.now(),
        )
    except (WorkflowError, transfer.TransferError) as error:
        problem = Problem(
            "forward", _step_problem(error), text, notice, unit=unit, identity=hand_over
        )
        return _forward_page((case, keys), problem)
    # Written by the sender, who still holds the keys: the reporter learns where it went.
    _send_notice(case, keys, notice)
    auth.audit(
        FORWARDED,
        case_public_id=case.public_id,
        target=destination.slug,
        details={"from_unit": sender.slug, "to_unit": destination.slug},
    )
    db().commit()
    reference = public_reference(case.public_id)
    done(
        _(
            "Case %(reference)s was forwarded to %(unit)s.",
            reference=reference,
            unit=destination.name,
        )
    )
    return redirect(url_for("workflow.forwarded"), 303)


@blueprint.get("/forwarded")
@login_required()
def forwarded() -> str:
    """The sending unit's record of the cases it forwarded."""
    me = current_inspector()
    return render_template(
        "forwarded.html",
        transfers=transfer.sent_by(db(), me.unit),
        reference=public_reference,
    )


# --- helpers ----------------------------------------------------------------------------


def _done(case: Case) -> ResponseReturnValue:
    db().commit()
    return redirect(url_for("workflow.show", public_id=case.public_id), 303)


def _grounds() -> str:
    text = request.form.get("grounds", "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_GROUNDS:
        raise PublicError(
            400,
            "grounds_too_long",
            _("The grounds are too long: at most %(count)d characters.", count=MAX_GROUNDS),
        )
    return text


def _sealed(keys: CaseKeys, case: Case, text: str) -> Sealer | None:
    """The grounds, for the unit only: sealed under the unit key into the step's row
    (docs/crypto.md §13.1, §13.3)."""
    return access.seal_note(keys, case, "grounds", text) if text.strip() else None


def _send_notice(case: Case, keys: CaseKeys, text: str) -> None:
    """The notice the reporter is to read about this step, written apart from the grounds
    (which stay the unit's): its own transcript entry under the case key."""
    if text.strip():
        document = {"schema": 1, "text": text}
        me, today = current_inspector(), unit_today()
        access.write_staff_entry(db(), case, me, keys, "notice", document, today)


def _legal_grounds() -> tuple[str, ...]:
    """The law's grounds ticked on the form (keys; the step checks them)."""
    return tuple(request.form.getlist(workflow.LEGAL_GROUNDS))


def _notice() -> str:
    """The form's notice to the reporter, read (and refused if too long) before the step."""
    text = request.form.get("notice", "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > access.MAX_REPLY_CHARS:
        count = access.MAX_REPLY_CHARS
        message = _("The notice is too long: at most %(count)d characters.", count=count)
        raise PublicError(400, "notice_too_long", message)
    return text


def _destination(case: Case) -> Unit | None:
    wanted = request.form.get("unit", "")
    return next((u for u in transfer.destinations(db(), case) if u.slug == wanted), None)


def _identity_key(case: Case) -> bytes | None:
    """The identity key, if the person forwarding is a custodian who holds it."""
    try:
        return access.open_identity_key(case, current_inspector(), current_private_key())
    except access.NoAccess:
        return None


def _step_problem(error: Exception) -> str:
    code = getattr(error, "code", "")
    messages: dict[str, str] = {
        "transition_not_allowed": _("The case cannot take that step from its present status."),
        "grounds_required": _("This decision needs written grounds."),
        "no_such_deadline": _("That deadline is not running on this case."),
        "no_extension_left": _("That deadline has been extended as often as the law allows."),
        "event_not_allowed": _("That cannot be recorded on this case now."),
        "no_readers": _("Nobody in that unit can read cases yet."),
        "withdrawal_closed": _("The report can no longer be withdrawn, in whole or in part."),
        "unknown_means": _("Choose how the reporter's identity was verified."),
        "verification_not_allowed": _(
            "The identity of this report's reporter cannot be recorded as verified now."
        ),
        "too_few_grounds": _("Tick at least one of the grounds the law gives for this decision."),
        "unknown_ground": _("Tick the law's grounds only for a decision that is taken on them."),
    }
    return messages.get(code) or str(_("That step is not possible."))


def _page(
    opened: tuple[Case, CaseKeys], problem: Problem | None = None, status: int = 200
) -> tuple[str, int]:
    case, keys = opened
    me = current_inspector()
    today = unit_today()
    acting = access.acts_on(case, me)
    profile = workflow.profile_of(case)
    track = workflow.track_of(case)  # a named report awaiting verification: anonymous
    clocks = workflow.current_deadlines(case)
    # The history's grounds are decrypted here: an opening like the case page's.
    auth.audit(OPENED, case_public_id=case.public_id, details={"page": "workflow"})
    page = render_template(
        "workflow.html",
        case=case,
        reference=public_reference(case.public_id),
        profile_title=profile.title(str(get_locale() or "en")),
        acting=acting,
        clocks=[Clock(d, d.overdue(today), d.due_soon(today, DUE_SOON_DAYS)) for d in clocks],
        rules=profile.deadlines,
        next_statuses=profile.next_statuses(case.status, track) if acting else [],
        can_forward=acting and transfer.FORWARDED in profile.next_statuses(case.status, track),
        grounds_required={
            t.target for t in profile.transitions if case.status in t.sources and t.grounds_required
        },
        extendable=[d for d in clocks if d.extendable] if acting else [],
        extension_grounds=_extension_grounds(profile, clocks) if acting else [],
        may_withdraw_in_part=acting and workflow.may_withdraw(case),
        awaits_verification=workflow.awaits_verification(case),
        may_verify=acting and workflow.may_verify_identity(case),
        verification_means=workflow.VERIFICATION_MEANS,
        step_grounds=_step_grounds(profile, case) if acting else {},
        recordable=workflow.recordable(case, me) if acting else [],
        destinations=transfer.destinations(db(), case) if acting else [],
        holds_identity=_holds_identity(case),
        history=_history(case, keys),
        max_notice=access.MAX_REPLY_CHARS,
        problem=problem,
        max_grounds=MAX_GROUNDS,
    )
    db().commit()
    return page, status


def _forward_page(
    opened: tuple[Case, CaseKeys], problem: Problem | None = None
) -> ResponseReturnValue:
    """The forward page, or, for a case whose rules allow no forward now, its decisions
    page saying so."""
    case = opened[0]
    profile, track = workflow.profile_of(case), workflow.track_of(case)
    if transfer.FORWARDED not in profile.next_statuses(case.status, track):
        message = _("The case cannot take that step from its present status.")
        return _page(opened, Problem("forward", message), 400)
    destinations = transfer.destinations(db(), case)
    page = render_template(
        "workflow_forward.html",
        case=case,
        reference=public_reference(case.public_id),
        destinations=destinations,
        holds_identity=_holds_identity(case),
        problem=problem,
        problem_target=_forward_target(problem, destinations),
        max_notice=access.MAX_REPLY_CHARS,
        max_grounds=MAX_GROUNDS,
    )
    db().commit()  # the unit key, if acting on the case made it now
    return page, 200 if problem is None else 400


def _forward_target(problem: Problem | None, destinations: list[Unit]) -> str:
    """Where the error summary's link leads: the unit chooser if no unit was chosen."""
    if problem is not None and all(unit.slug != problem.unit for unit in destinations):
        return "forward-unit"
    return "forward-grounds"


def _step_grounds(profile: Profile, case: Case) -> dict[str, GroundList]:
    """The steps open now that the law allows only on listed grounds, with their list."""
    found = {}
    track = workflow.track_of(case)
    for target in profile.next_statuses(case.status, track):
        step = profile.transition(case.status, target, track, UNIT_SIDE)
        if step is not None and step.legal_grounds is not None:
            found[target] = step.legal_grounds
    return found


def _extension_grounds(profile: Profile, clocks: list[Deadline]) -> list[ExtensionGrounds]:
    found = []
    for clock in clocks:
        rule = profile.deadlines.get(clock.key)
        if clock.extendable and rule is not None and rule.extension_grounds is not None:
            needed = rule.grounds_needed(clock.extensions)
            found.append(ExtensionGrounds(clock.key, rule.extension_grounds, needed))
    return found


def _holds_identity(case: Case) -> bool:
    me = current_inspector()
    return any(
        w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == me.id for w in case.key_wraps
    )


def _history(case: Case, keys: CaseKeys) -> list[HistoryItem]:
    items = []
    for event in reversed(case.events):
        if event.inspector is not None:
            who = event.inspector.display_name
        elif event.actor_kind.value == "reporter":
            who = _("The reporter")
        else:
            who = _("The system")
        detail = None
        if event.kind == "extension":
            detail = str(event.data.get("deadline", ""))
        elif event.to_status == transfer.FORWARDED:
            detail = str(event.data.get("to_unit", ""))
        elif event.kind == workflow.IDENTITY_VERIFICATION:
            means = str(event.data.get("means", ""))
            detail = str(VERIFICATION_MEANS.get(means, means))
        items.append(
            HistoryItem(
                kind=event.kind,
                from_status=event.from_status,
                to_status=event.to_status,
                who=who,
                on=event.occurred_on,
                grounds=_grounds_of(case, keys, event),
                detail=detail,
                legal_grounds=tuple(event.data.get(workflow.LEGAL_GROUNDS, ())),
            )
        )
    return items


def _grounds_of(case: Case, keys: CaseKeys, event: CaseEvent) -> Reading | None:
    """A step's grounds: the unit's NOTE, or the reporter's own entry (a withdrawal)."""
    if event.message_id is not None:
        return transcript.entry_reading(case, keys.case, event.message_id)
    return access.open_note(keys, case, event, "grounds", "grounds")
