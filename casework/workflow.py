"""Moving a case through its unit's policy profile, and keeping its deadlines current.

Every step is a ``CaseEvent``: who (an inspector, with a time; the reporter or the
system, with a date only), when, from which status to which, and the decision's grounds
sealed under the case key. A step the profile does not allow is refused with the steps it
does allow. After each step the running clocks are replayed from the whole history
(casework.deadlines) and stored on the case for queries; "overdue" is never stored.

Pure Python: no Flask. Callers own the transaction and seal grounds before calling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from casework import deadlines as clocks
from casework.errors import CaseworkError
from casework.legal_grounds import GroundList, GroundsError
from casework.profiles import REPORTER_SIDE, UNIT_SIDE, Profile, profile_in_force
from casework.records import Sealer, seal_into
from store.models import ActorKind, Case, CaseEvent, Inspector, Message, Track

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
# LTC Art. 30(2): the decision to extend the resolution is sent to the parties.
EXTENSION_NOTIFICATION = "extension_notification"
# LTC Art. 34: the decisions to suspend, and to resume, are sent to the parties.
SUSPENSION_NOTIFICATION = "suspension_notification"
RESUMPTION_NOTIFICATION = "resumption_notification"
# LTC Art. 33: the reporter withdraws part of the denunciation; the rest goes on.
PARTIAL_WITHDRAWAL = "partial_withdrawal"
WITHDRAWN = "withdrawn"
# LTC Art. 22-23, 29(1)(a): the unit verified who made a named report (details
# {"means": one of VERIFICATION_MEANS}); from then on it is a formal denunciation. Paper
# and in-person registration record the same event when the reporter is before the unit.
IDENTITY_VERIFICATION = "identity_verification"
VERIFICATION_MEANS = ("in_person", "signed_letter", "other")
# Which of the law's listed grounds a step or an extension was taken on (keys of a
# casework.legal_grounds list: categories, not content, so kept in the event's data).
LEGAL_GROUNDS = "legal_grounds"
RECORDED_EVENTS = (
    NOTIFICATION,
    ACCUSED_NOTIFICATION,
    EXTENSION_NOTIFICATION,
    SUSPENSION_NOTIFICATION,
    RESUMPTION_NOTIFICATION,
    PUBLICATION,
    RESULT_TO_SENDER,
    FEEDBACK,
)


class WorkflowError(CaseworkError):
    """A refused step; ``code`` is stable for the API, the message says what is allowed."""


def profile_of(case: Case) -> Profile:
    """The rules the case follows: its unit's profile, or the one that profile replaces
    when the case was received before the newer law took effect."""
    return profile_in_force(case.unit.profile, case.received_on)


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
    legal_grounds: Sequence[str] = (),
) -> CaseEvent:
    """Move ``case`` to ``target``: by ``inspector``, or by the reporter when None.

    A reporter's reasons arrive as a transcript ``entry`` (protocol 2), a unit's as sealed
    ``grounds``; either satisfies a step that needs written grounds. A step the law allows
    only on listed grounds (the profile's ``legal_grounds``) needs at least one of them."""
    profile = profile_of(case)
    side = REPORTER_SIDE if inspector is None else UNIT_SIDE
    step = profile.transition(case.status, target, track_of(case), side)
    if step is None:
        raise WorkflowError("transition_not_allowed", _not_allowed(profile, case, target, side))
    if step.grounds_required and not grounds and entry is None:
        raise WorkflowError("grounds_required", f"moving to {target!r} needs written grounds")
    recorded = dict(data or {})
    if step.legal_grounds is not None or legal_grounds:
        recorded[LEGAL_GROUNDS] = _chosen(step.legal_grounds, legal_grounds, at_least=1)
    event = _event(
        case, STATUS_CHANGE, today, inspector, now, grounds, recorded, from_status=case.status
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
    legal_grounds: Sequence[str] = (),
) -> CaseEvent:
    """Lengthen a running clock by the profile's extension, by a recorded decision; where
    the profile ties extensions to the law's criteria (NĐ31 Art. 3), the decision names
    as many of them as that extension needs."""
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
    rule = profile_of(case).deadlines[key]
    data: dict[str, Any] = {"deadline": key}
    if rule.extension_grounds is not None or legal_grounds:
        needed = rule.grounds_needed(deadline.extensions)
        data[LEGAL_GROUNDS] = _chosen(rule.extension_grounds, legal_grounds, at_least=needed)
    event = _event(case, clocks.EXTENSION, today, inspector, now, grounds, data)
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


def withdraw_in_part(
    case: Case,
    *,
    today: date,
    inspector: Inspector | None = None,
    now: datetime | None = None,
    grounds: bytes | Sealer | None = None,
    entry: Message | None = None,
) -> CaseEvent:
    """Part of the denunciation is withdrawn (LTC Art. 33): by the reporter, whose words
    are the transcript ``entry``, or recorded by ``inspector`` from a written withdrawal,
    with what was withdrawn in the sealed ``grounds``. The case and its clocks go on.
    Possible wherever the reporter could withdraw the whole of it."""
    if not may_withdraw(case):
        raise WorkflowError("withdrawal_closed", "this case can no longer be withdrawn")
    if not grounds and entry is None:
        raise WorkflowError("grounds_required", "a partial withdrawal says what is withdrawn")
    event = _event(case, PARTIAL_WITHDRAWAL, today, inspector, now, grounds, None)
    event.message_id = None if entry is None else entry.id
    refresh(case, today)
    return event


def verify_identity(
    case: Case,
    means: str,
    *,
    today: date,
    inspector: Inspector,
    now: datetime,
    grounds: bytes | Sealer | None = None,
) -> CaseEvent:
    """The unit verified who made a named report (LTC Art. 22-23, 29(1)(a)): in person, by
    a signed or fingerprinted letter, or by other means it accepts (``means``, recorded;
    how it was done may go in the sealed ``grounds``). The named track's steps and clocks
    apply from that day."""
    if means not in VERIFICATION_MEANS:
        raise WorkflowError("unknown_means", f"means is one of {', '.join(VERIFICATION_MEANS)}")
    if not may_verify_identity(case):
        raise WorkflowError(
            "verification_not_allowed", "this case has no identity to verify in its status"
        )
    event = _event(case, IDENTITY_VERIFICATION, today, inspector, now, grounds, {"means": means})
    refresh(case, today)
    return event


def may_verify_identity(case: Case) -> bool:
    """Whether the unit can record now that it verified who made this named report."""
    profile = profile_of(case)
    return (
        case.track is Track.NAMED
        and not identity_verified(case)
        and case.status in profile.identity_verification_in
    )


def identity_verified(case: Case) -> bool:
    """Recorded as verified, or already decided on as a denunciation: a case that entered a
    status only the named track reaches (accepted before verification was asked for) was
    handled as a formal one, and keeps that track."""
    named_only = profile_of(case).named_only_statuses
    return any(
        event.kind == IDENTITY_VERIFICATION
        or (event.kind == STATUS_CHANGE and event.to_status in named_only)
        for event in case.events
    )


def awaits_verification(case: Case) -> bool:
    """A named report whose profile wants the reporter's identity verified before it is a
    formal denunciation, and which has not been verified yet."""
    return (
        case.track is Track.NAMED
        and profile_of(case).verifies_identity
        and not identity_verified(case)
    )


def track_of(case: Case) -> Track:
    """The track whose steps and clocks the case follows now: a named report awaiting its
    identity's verification follows the anonymous one (LTC Art. 25(1))."""
    return Track.ANONYMOUS if awaits_verification(case) else case.track


def may_withdraw(case: Case) -> bool:
    """Whether the reporter may still withdraw the denunciation, in whole or in part."""
    return WITHDRAWN in profile_of(case).next_statuses(case.status, track_of(case), REPORTER_SIDE)


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
    running = clocks.running(profile_of(case), track_of(case), steps_of(case), today)
    case.deadlines = [deadline.to_json() for deadline in running]
    case.next_due = clocks.next_due(running)


def current_deadlines(case: Case) -> list[clocks.Deadline]:
    return [clocks.Deadline.from_json(item) for item in case.deadlines or []]


def steps_of(case: Case) -> list[clocks.Step]:
    """The case's history at its current unit, as the clocks see it."""
    initial = profile_of(case).initial_status
    steps = [clocks.Step(case.received_on, clocks.STATUS, status=initial)]
    status = initial
    for event in case.events:  # appended in order; ids are unset until a flush
        if event.kind == ARRIVAL:
            status = event.to_status or initial
            steps = [clocks.Step(event.occurred_on, clocks.STATUS, status=status)]
        elif event.kind == IDENTITY_VERIFICATION:
            # A formal denunciation from that day: the named track's clocks count from it,
            # as if it had been received then and moved on to the status it is in.
            steps = [
                clocks.Step(event.occurred_on, clocks.STATUS, status=name)
                for name in dict.fromkeys((initial, status))
            ]
        elif event.kind == STATUS_CHANGE:
            status = event.to_status or status
            steps.append(clocks.Step(event.occurred_on, clocks.STATUS, status=status))
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


def _chosen(listed: GroundList | None, chosen: Sequence[str], *, at_least: int) -> list[str]:
    """The grounds chosen from the law's list, refused as a WorkflowError."""
    if listed is None:
        raise WorkflowError("unknown_ground", "this step is not taken on listed grounds")
    try:
        return listed.chosen(chosen, at_least=at_least)
    except GroundsError as error:
        raise WorkflowError(error.code, str(error)) from None


def _actor(inspector: Inspector | None) -> ActorKind:
    return ActorKind.REPORTER if inspector is None else ActorKind.INSPECTOR


def _not_allowed(profile: Profile, case: Case, target: str, side: str) -> str:
    allowed = profile.next_statuses(case.status, track_of(case), side)
    choices = ", ".join(allowed) if allowed else "none"
    return (
        f"a case on the {track_of(case).value} track cannot go from {case.status!r} to {target!r}"
        f" under {profile.name}; allowed: {choices}"
    )
