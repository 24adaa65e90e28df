"""Moving a case through its unit's policy profile, and keeping its deadlines current.

Every step is a ``CaseEvent``: who (an inspector, with a time; the reporter or the
system, with a date only), when, from which status to which, and the decision's grounds
sealed under the case key. A step the profile does not allow is refused with the steps it
does allow. After each step the running clocks are replayed from the whole history
(casework.deadlines) and stored on the case for queries; "overdue" is never stored.

Pure Python: no Flask. Callers own the transaction and seal grounds before calling.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from casework import deadlines as clocks
from casework.errors import CaseworkError
from casework.profiles import REPORTER_SIDE, UNIT_SIDE, Profile, load_profile
from casework.records import Sealer, seal_into
from store.models import ActorKind, Case, CaseEvent, Inspector, Message

STATUS_CHANGE = "status_change"
ARRIVAL = "arrival"  # the case reached this unit by a forward: its clocks start afresh
NOTIFICATION = "notification"  # the reporter and parties were notified of a decision
# The reporter's requests to the head of the directly superior unit (casework.escalation),
# each ended by that head's sealed answer: an escalation of an overdue case (LTC Art. 38)
# and a re-denunciation of a resolution believed unlawful (Art. 37).
ESCALATION = "escalation"
ESCALATION_RESPONSE = "escalation_response"
RE_DENUNCIATION = "re_denunciation"
RE_DENUNCIATION_DECISION = "re_denunciation_decision"
ANSWERS = {ESCALATION: ESCALATION_RESPONSE, RE_DENUNCIATION: RE_DENUNCIATION_DECISION}
FEEDBACK = "feedback"  # EU 2019/1937 Art. 9(1)(f): feedback given to the reporter
# LTC Art. 29(3), NĐ31 Art. 9(2): the person accused is told of the acceptance as well.
ACCUSED_NOTIFICATION = "accused_notification"
# LTC Art. 40, NĐ31 Art. 6: the conclusion is made public (the reporter never named).
PUBLICATION = "publication"
# LTC Art. 26(2): the result was sent to the press or authority that sent the report in.
RESULT_TO_SENDER = "result_to_sender"
RECORDED_EVENTS = (
    NOTIFICATION,
    ACCUSED_NOTIFICATION,
    PUBLICATION,
    RESULT_TO_SENDER,
    FEEDBACK,
)


class WorkflowError(CaseworkError):
    """A refused step; ``code`` is stable for the API, the message says what is allowed."""


def profile_of(case: Case) -> Profile:
    return load_profile(case.unit.profile)


def transition(
    case: Case,
    target: str,
    *,
    today: date,
    inspector: Inspector | None = None,
    now: datetime | None = None,
    grounds: bytes | Sealer | None = None,
    data: Mapping[str, Any] | None = None,
    entry: Message | None = None,
) -> CaseEvent:
    """Move ``case`` to ``target``: by ``inspector``, or by the reporter when None.

    A reporter's reasons arrive as a transcript ``entry`` (protocol 2), a unit's as sealed
    ``grounds``; either satisfies a step that needs written grounds."""
    profile = profile_of(case)
    side = REPORTER_SIDE if inspector is None else UNIT_SIDE
    step = profile.transition(case.status, target, case.track, side)
    if step is None:
        raise WorkflowError("transition_not_allowed", _not_allowed(profile, case, target, side))
    if step.grounds_required and not grounds and entry is None:
        raise WorkflowError("grounds_required", f"moving to {target!r} needs written grounds")
    event = _event(
        case, STATUS_CHANGE, today, inspector, now, grounds, data, from_status=case.status
    )
    event.message_id = None if entry is None else entry.id
    event.to_status = target
    case.status = target
    case.status_changed_on = today
    if profile.is_final(target):
        case.closed_on = today
    refresh(case, today)
    return event


def extend(
    case: Case,
    key: str,
    *,
    inspector: Inspector,
    today: date,
    now: datetime,
    grounds: bytes | Sealer,
) -> CaseEvent:
    """Lengthen a running clock by the profile's extension, by a recorded decision."""
    current = {deadline.key: deadline for deadline in current_deadlines(case)}
    deadline = current.get(key)
    if deadline is None:
        raise WorkflowError("no_such_deadline", f"no {key!r} deadline is running on this case")
    if not deadline.extendable:
        raise WorkflowError(
            "no_extension_left",
            f"the {key!r} deadline allows {deadline.max_extensions} extension(s), all used",
        )
    if not grounds:
        raise WorkflowError("grounds_required", "an extension needs written grounds")
    event = _event(case, clocks.EXTENSION, today, inspector, now, grounds, {"deadline": key})
    refresh(case, today)
    return event


def record(
    case: Case,
    kind: str,
    *,
    inspector: Inspector,
    today: date,
    now: datetime,
    grounds: bytes | Sealer | None = None,
) -> CaseEvent:
    """Record a notification, a publication or feedback (an answer to the reporter's
    escalation is sealed to them: casework.escalation)."""
    if kind not in recordable(case, inspector):
        raise WorkflowError("event_not_allowed", f"{kind!r} cannot be recorded on this case now")
    event = _event(case, kind, today, inspector, now, grounds, None)
    refresh(case, today)
    return event


def note(
    case: Case,
    kind: str,
    *,
    on: date,
    inspector: Inspector,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    grounds: bytes | Sealer | None = None,
) -> CaseEvent:
    """Record a fact about the case that is neither a step nor an obligation met, such as
    how a paper report arrived, dated the day it happened (``on``, which may be before
    today): like any event it may start or stop a clock. The caller refreshes the clocks
    once the history is complete (``refresh``)."""
    return _event(case, kind, on, inspector, now, grounds, data)


def recordable(case: Case, inspector: Inspector) -> list[str]:
    """The events that would stop a running clock now, which ``inspector`` may record."""
    rules = profile_of(case).deadlines
    running = {deadline.key for deadline in current_deadlines(case)}
    kinds = {kind for key in running for kind in rules[key].stop_events}
    return [kind for kind in RECORDED_EVENTS if kind in kinds]


def reporter_step(
    case: Case, kind: str, *, today: date, entry: Message, data: Mapping[str, Any]
) -> CaseEvent:
    """Record a step the reporter took with their words in the transcript ``entry``
    (casework.escalation decides whether it may be taken)."""
    event = _event(case, kind, today, None, None, None, data)
    event.message_id = entry.id
    refresh(case, today)
    return event


def unit_step(
    case: Case,
    kind: str,
    *,
    inspector: Inspector,
    today: date,
    now: datetime,
    data: Mapping[str, Any],
    record: Sealer | None = None,
) -> CaseEvent:
    """Record an inspector's step that no profile transition names, with its record
    sealed into the event's row (casework.escalation decides who may take it)."""
    event = _event(case, kind, today, inspector, now, record, data)
    refresh(case, today)
    return event


def open_request(case: Case) -> CaseEvent | None:
    """The reporter's escalation or re-denunciation still waiting for its answer."""
    waiting: CaseEvent | None = None
    for event in case.events:  # in order
        if event.kind in ANSWERS:
            waiting = event
        elif waiting is not None and event.kind == ANSWERS[waiting.kind]:
            waiting = None
    return waiting


def escalation_pending(case: Case) -> bool:
    """Whether the reporter escalated or re-denounced and the answer is still due."""
    return open_request(case) is not None


def arrive(case: Case, *, today: date) -> CaseEvent:
    """The case reached its (new) unit: enter that profile's first status."""
    profile = profile_of(case)
    event = _event(case, ARRIVAL, today, None, None, None, None, from_status=case.status)
    event.to_status = profile.initial_status
    case.status = profile.initial_status
    case.status_changed_on = today
    case.closed_on = None
    refresh(case, today)
    return event


def refresh(case: Case, today: date) -> None:
    """Replay the history and store the running clocks and the next due date."""
    running = clocks.running(profile_of(case), case.track, steps_of(case), today)
    case.deadlines = [deadline.to_json() for deadline in running]
    case.next_due = clocks.next_due(running)


def current_deadlines(case: Case) -> list[clocks.Deadline]:
    return [clocks.Deadline.from_json(item) for item in case.deadlines or []]


def steps_of(case: Case) -> list[clocks.Step]:
    """The case's history at its current unit, as the clocks see it."""
    initial = profile_of(case).initial_status
    steps = [clocks.Step(case.received_on, clocks.STATUS, status=initial)]
    for event in case.events:  # appended in order; ids are unset until a flush
        if event.kind == ARRIVAL:
            steps = [clocks.Step(event.occurred_on, clocks.STATUS, status=event.to_status)]
        elif event.kind == STATUS_CHANGE:
            steps.append(clocks.Step(event.occurred_on, clocks.STATUS, status=event.to_status))
        else:
            deadline = (event.data or {}).get("deadline")
            steps.append(clocks.Step(event.occurred_on, event.kind, deadline=deadline))
    return steps


def _event(
    case: Case,
    kind: str,
    today: date,
    inspector: Inspector | None,
    now: datetime | None,
    grounds: bytes | Sealer | None,
    data: Mapping[str, Any] | None,
    from_status: str | None = None,
) -> CaseEvent:
    if inspector is not None and now is None:
        raise ValueError("an inspector's step carries its time")
    event = CaseEvent(
        kind=kind,
        from_status=from_status,
        actor_kind=ActorKind.SYSTEM if kind == ARRIVAL else _actor(inspector),
        inspector=inspector,
        occurred_on=today,
        occurred_at=now if inspector is not None else None,
        data=dict(data or {}),
    )
    case.events.append(event)
    seal_into(event, "grounds", grounds or None)  # a note names the row it is kept in
    return event


def _actor(inspector: Inspector | None) -> ActorKind:
    return ActorKind.REPORTER if inspector is None else ActorKind.INSPECTOR


def _not_allowed(profile: Profile, case: Case, target: str, side: str) -> str:
    allowed = profile.next_statuses(case.status, case.track, side)
    choices = ", ".join(allowed) if allowed else "none"
    return (
        f"a {case.track.value} case cannot go from {case.status!r} to {target!r}"
        f" under {profile.name}; allowed: {choices}"
    )
