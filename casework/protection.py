"""Protection of the reporter and relatives, and the retaliation incident log (DOMAIN.md).

A protection record (one person, one category) moves through the states
``requested → under_review → rejected | active → modified → ended`` (``modified`` may be
modified again; ``active`` may end directly). Each step needs what the law asks of it:
written reasons for a rejection, measures, the responsible body and a start date for
protection granted, what changed for a modification, the ground for an end.

Everything an inspector writes (measures, body, reasons, which relative) is sealed under
the case key as a NOTE record, never stored in plaintext: the record's ``details`` holds
the current state's document, and every step's own document stays in the ``grounds`` of
its ``CaseEvent`` (kind ``protection``), so the history survives later steps. What the
reporter sends arrives sealed already and is only checked.

The case's ``urgent`` flag is recomputed after each change (``recompute_urgent``): a case
is urgent while an urgent request waits unread, the reporter asked for something nobody
answered, or a reporter's incident has no response yet.

Pure Python: no Flask. Callers own the transaction: functions add to or flush
``session`` and the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from casework import followup, transcript, workflow
from casework.errors import CaseworkError
from casework.legal_grounds import CASE_ENDED, GroundsError
from casework.records import CaseKeys, Reading, Sealer, seal_into
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Inspector,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
    RetaliationNote,
)

State = ProtectionState

# Event kinds on the case timeline (CaseEvent.kind).
STATE_CHANGE = "protection"  # data: {"protection_id", "from", "to"}
ASK = "protection_ask"  # the reporter asks to change, add to or end measures
ANSWER = "protection_answer"  # an inspector answers an ask without changing the state
INCIDENT = "incident"  # data: {"incident_id", "action": "logged" | "note" | "linked"}
PROTECTION_EVENTS = frozenset({STATE_CHANGE, ASK, ANSWER})

ASKS = ("change", "add", "end")
MAX_TEXT = 20_000  # the same limit as every text a reporter or inspector writes
ALTERED = "altered"  # the key of open_document's answer for a record altered in the store
DOCUMENT = "protection"  # marks an inspector-written protection document ("kind" key)

NEXT_STATES: Mapping[State, tuple[State, ...]] = {
    State.REQUESTED: (State.UNDER_REVIEW,),
    State.UNDER_REVIEW: (State.REJECTED, State.ACTIVE),
    State.ACTIVE: (State.MODIFIED, State.ENDED),
    State.MODIFIED: (State.MODIFIED, State.ENDED),
    State.REJECTED: (),
    State.ENDED: (),
}
# Measures exist (and can be asked about) only while protection runs.
RUNNING = frozenset({State.ACTIVE, State.MODIFIED})

# The text fields each target state requires, and those it accepts besides.
REQUIRED: Mapping[State, tuple[str, ...]] = {
    State.UNDER_REVIEW: (),
    State.REJECTED: ("reasons",),
    State.ACTIVE: ("measures", "responsible_body"),
    State.MODIFIED: ("changes",),
    State.ENDED: ("ground",),
}
OPTIONAL: Mapping[State, tuple[str, ...]] = {
    State.UNDER_REVIEW: ("note",),
    State.REJECTED: (),
    State.ACTIVE: ("note",),
    State.MODIFIED: ("measures", "responsible_body"),
    State.ENDED: (),
}
# The field that sums up a step, kept as the document's "text" (access.open_note reads it).
SUMMARY: Mapping[State, str] = {
    State.UNDER_REVIEW: "note",
    State.REJECTED: "reasons",
    State.ACTIVE: "measures",
    State.MODIFIED: "changes",
    State.ENDED: "ground",
}
# What a record's current document carries over from one step to the next.
CARRIED = ("relative", "request", "measures", "responsible_body")
TEXT_FIELDS = (
    "relative",
    "request",
    "note",
    "reasons",
    "measures",
    "responsible_body",
    "changes",
    "ground",
    "text",
)


class ProtectionError(CaseworkError):
    """A refused protection or incident action; ``code`` is stable, the message is for
    logs and never holds what anyone wrote."""


@dataclass(frozen=True)
class StepFields:
    """What an inspector fills in for a transition; which are required depends on the
    target state (``REQUIRED``)."""

    reasons: str = ""
    measures: str = ""
    responsible_body: str = ""
    changes: str = ""
    ground: str = ""
    note: str = ""
    started_on: date | None = None
    # To end a protection: the key of the law's ground (the profile's
    # protection_end_grounds), beside the written ``ground``.
    end_ground: str = ""

    def text(self, name: str) -> str:
        value = getattr(self, name)
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class RequestDetails:
    """An inspector's record of a request: which relative, and what is asked and why."""

    relative: str = ""
    request: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    event: CaseEvent
    details: dict[str, str] = field(default_factory=dict)  # opened grounds, may be empty


# --- opening a record ---------------------------------------------------------------------


def open_by_inspector(
    session: Session,
    case: Case,
    keys: CaseKeys,
    inspector: Inspector,
    person: ProtectedPerson,
    category: ProtectionCategory,
    urgent: bool,
    details: RequestDetails,
    today: date,
    now: datetime,
    confirmation_due: date | None = None,
) -> ProtectionRecord:
    """A request the unit received some other way (in person, by phone): ``requested``.

    ``confirmation_due`` is kept for an urgent (oral) request only: the date by which it
    must be confirmed in writing, computed by the caller from the policy profile.
    """
    document = _document(
        State.REQUESTED,
        {"relative": _checked(details.relative), "request": _checked(details.request)},
        "request",
    )
    record = _new_record(case, person, category, urgent, Party.INSPECTOR, today, confirmation_due)
    seal_into(record, "details", keys.note(case, "protection", document))
    _inspector_event(
        case,
        inspector,
        _state_data(record, None, State.REQUESTED),
        keys.note(case, "grounds", document),
        today,
        now,
    )
    recompute_urgent(case)
    session.flush()
    return record


def request_by_reporter(
    session: Session,
    case: Case,
    person: ProtectedPerson,
    category: ProtectionCategory,
    urgent: bool,
    entry: Message,
    today: date,
    confirmation_due: date | None = None,
) -> ProtectionRecord:
    """A request from the reporter's follow-up page, in their words in the transcript
    ``entry`` (its signed place binds person, category and urgency). Dated, never timed."""
    record = _new_record(case, person, category, urgent, Party.REPORTER, today, confirmation_due)
    record.message_id = entry.id
    session.flush()
    _reporter_event(case, STATE_CHANGE, _state_data(record, None, State.REQUESTED), entry, today)
    followup.touch(case, today)
    recompute_urgent(case)
    session.flush()
    return record


def _new_record(
    case: Case,
    person: ProtectedPerson,
    category: ProtectionCategory,
    urgent: bool,
    by: Party,
    today: date,
    confirmation_due: date | None,
) -> ProtectionRecord:
    if confirmation_due is not None and confirmation_due < today:
        raise ProtectionError("confirmation_in_past", "the confirmation date is in the past")
    record = ProtectionRecord(
        person=person,
        category=category,
        state=State.REQUESTED,
        urgent=urgent,
        requested_by=by,
        requested_on=today,
        written_confirmation_due=confirmation_due if urgent else None,
    )
    case.protections.append(record)
    case.protection_requested = True  # the inbox filter "has protection requests"
    return record


# --- moving a record through its states ---------------------------------------------------


def allowed_next(record: ProtectionRecord) -> tuple[State, ...]:
    return NEXT_STATES[record.state]


def transition(
    session: Session,
    record: ProtectionRecord,
    keys: CaseKeys,
    inspector: Inspector,
    to_state: State,
    fields: StepFields,
    today: date,
    now: datetime,
) -> CaseEvent:
    """Move ``record`` to ``to_state`` with the fields that state requires.

    The decision is dated today; protection granted starts on ``fields.started_on``
    (not before the request). The step's own document goes into the event's grounds,
    the record's ``details`` becomes the current state's document.
    """
    allowed = allowed_next(record)
    if to_state not in allowed:
        names = ", ".join(state.value for state in allowed) or "none (the record is closed)"
        raise ProtectionError(
            "invalid_transition",
            f"a {record.state.value} record cannot become {to_state.value}; allowed: {names}",
        )
    step = _step_values(to_state, fields)
    if to_state is State.ACTIVE:
        _check_start(record, fields.started_on)
    case = record.case
    data = _state_data(record, record.state, to_state)
    if to_state is State.ENDED:
        data.update(_end_ground(case, fields.end_ground))
    current = open_details(keys, record)
    merged = {key: current[key] for key in CARRIED if current.get(key)}
    merged.update({key: value for key, value in step.items() if value})
    step_document = _document(to_state, step, SUMMARY[to_state])
    record.state = to_state
    current_document = _document(to_state, merged, SUMMARY[to_state])
    seal_into(record, "details", keys.note(case, "protection", current_document))
    _apply_dates(record, to_state, fields, today)
    event = _inspector_event(
        case, inspector, data, keys.note(case, "grounds", step_document), today, now
    )
    recompute_urgent(case)
    session.flush()
    return event


def _end_ground(case: Case, key: str) -> dict[str, Any]:
    """The law's ground an end is recorded on, where the case's profile lists them: one
    is needed, and it is kept as a category in the event's data (not sealed)."""
    listed = workflow.profile_of(case).protection_end_grounds
    if listed is None and not key:
        return {}
    if listed is None:
        raise ProtectionError("unknown_ground", "this profile lists no grounds for an end")
    try:
        return {workflow.LEGAL_GROUNDS: listed.chosen([key] if key else [], at_least=1)}
    except GroundsError as error:
        raise ProtectionError(error.code, str(error)) from None


def end_with_the_case(
    session: Session,
    case: Case,
    keys: CaseKeys,
    inspector: Inspector,
    ground: str,
    today: date,
    now: datetime,
) -> list[tuple[ProtectionRecord, State]]:
    """End every protection of ``case`` still running, on ``ground``: the case has entered
    a status that ends protection (LTC Art. 54(2): its conclusion or termination).
    Each is an ordinary step to ``ended``, recorded and sealed like one an inspector takes.
    Returns each record ended with the state it was in."""
    ended = [(record, record.state) for record in case.protections if record.state in RUNNING]
    listed = workflow.profile_of(case).protection_end_grounds is not None
    fields = StepFields(ground=ground, end_ground=CASE_ENDED if listed else "")
    for record, _was in ended:
        transition(session, record, keys, inspector, State.ENDED, fields, today, now)
    return ended


def _step_values(to_state: State, fields: StepFields) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in REQUIRED[to_state]:
        value = _checked(fields.text(name))
        if not value.strip():
            raise ProtectionError(f"missing_{name}", f"{to_state.value} requires {name}")
        values[name] = value
    for name in OPTIONAL[to_state]:
        value = _checked(fields.text(name))
        if value.strip():
            values[name] = value
    return values


def _check_start(record: ProtectionRecord, started_on: date | None) -> None:
    if started_on is None:
        raise ProtectionError("missing_started_on", "active requires a start date")
    if started_on < record.requested_on:
        raise ProtectionError("start_before_request", "protection cannot start before the request")


def _apply_dates(
    record: ProtectionRecord, to_state: State, fields: StepFields, today: date
) -> None:
    if to_state in (State.REJECTED, State.ACTIVE, State.MODIFIED):
        record.decided_on = today
    if to_state is State.ACTIVE:
        record.started_on = fields.started_on
    if to_state is State.ENDED:
        record.ended_on = today


# --- the protected person's asks, and answers to them --------------------------------------


def reporter_asks(
    session: Session, record: ProtectionRecord, ask: str, entry: Message, today: date
) -> CaseEvent:
    """The protected person asks to change, add to or end running measures: an event the
    unit must answer (by a transition or ``answer_ask``); the case is urgent until then."""
    if ask not in ASKS:
        raise ProtectionError("unknown_ask", f"an ask is one of: {', '.join(ASKS)}")
    if record.state not in RUNNING:
        raise ProtectionError("not_running", "only running protection can be changed or ended")
    case = record.case
    event = _reporter_event(case, ASK, {"protection_id": record.id, "ask": ask}, entry, today)
    followup.touch(case, today)
    case.urgent = True
    session.flush()
    return event


def answer_ask(
    session: Session,
    record: ProtectionRecord,
    keys: CaseKeys,
    inspector: Inspector,
    text: str,
    today: date,
    now: datetime,
) -> CaseEvent:
    """An answer to the reporter's ask that changes nothing (say, a change declined)."""
    if not pending_asks(record):
        raise ProtectionError("nothing_asked", "the reporter has asked nothing unanswered")
    text = _required_text(text)
    case = record.case
    grounds = keys.note(case, "grounds", {"schema": 1, "kind": DOCUMENT, "text": text})
    event = _inspector_event(
        case, inspector, {"protection_id": record.id}, grounds, today, now, ANSWER
    )
    recompute_urgent(case)
    session.flush()
    return event


def pending_asks(record: ProtectionRecord) -> list[CaseEvent]:
    """The reporter's asks about ``record`` that no inspector step has followed yet."""
    pending: list[CaseEvent] = []
    for event in record.case.events:
        if event.kind not in PROTECTION_EVENTS or _record_id(event) != record.id:
            continue
        if event.kind == ASK:
            pending.append(event)
        elif event.actor_kind is ActorKind.INSPECTOR:
            pending.clear()
    return pending


# --- retaliation incidents ------------------------------------------------------------------


def log_incident_by_inspector(
    session: Session,
    case: Case,
    keys: CaseKeys,
    inspector: Inspector,
    kind: RetaliationKind,
    occurred_on: date | None,
    text: str,
    today: date,
    now: datetime,
    protection_id: int | None = None,
    request_protection: tuple[ProtectedPerson, ProtectionCategory] | None = None,
    *,
    urgent: bool = False,
) -> RetaliationIncident:
    """An incident the unit learned of; linked to an existing record of the case, or
    opening a new ``requested`` one for a person and category (not both)."""
    if protection_id is not None and request_protection is not None:
        raise ProtectionError("link_or_request", "link to a record or request one, not both")
    _check_occurred(occurred_on, today)
    document = {
        "schema": 1,
        "text": _required_text(text),
        "occurred_on": None if occurred_on is None else occurred_on.isoformat(),
    }
    record = None if protection_id is None else _record_of(case, protection_id)
    incident = RetaliationIncident(
        kind=kind,
        occurred_on=occurred_on,
        reported_on=today,
        source=Party.INSPECTOR,
    )
    case.retaliation_incidents.append(incident)
    seal_into(incident, "details", keys.note(case, "incident", document))
    case.retaliation_reported = True
    if request_protection is not None:
        person, category = request_protection
        record = open_by_inspector(
            session,
            case,
            keys,
            inspector,
            person,
            category,
            urgent,
            RequestDetails(),
            today,
            now,
        )
    session.flush()
    if record is not None:
        incident.protection_id = record.id
    _incident_event(case, inspector, incident, "logged", today, now)
    recompute_urgent(case)
    session.flush()
    return incident


def add_reporter_note(
    session: Session, incident: RetaliationIncident, entry: Message, today: date
) -> RetaliationNote:
    """The reporter adds to an incident they reported, in the transcript ``entry``."""
    note = RetaliationNote(source=Party.REPORTER, added_on=today, message_id=entry.id)
    incident.notes.append(note)
    followup.touch(incident.case, today)
    recompute_urgent(incident.case)
    session.flush()
    return note


def add_inspector_note(
    session: Session,
    incident: RetaliationIncident,
    keys: CaseKeys,
    inspector: Inspector,
    text: str,
    today: date,
    now: datetime,
) -> RetaliationNote:
    """An inspector's note on an incident, sealed here; the event records who and when."""
    case = incident.case
    document = {"schema": 1, "text": _required_text(text)}
    note = RetaliationNote(source=Party.INSPECTOR, added_on=today)
    incident.notes.append(note)
    seal_into(note, "details", keys.note(case, "incident-note", document))
    recompute_urgent(case)
    _incident_event(case, inspector, incident, "note", today, now)
    session.flush()
    return note


def link_incident(incident: RetaliationIncident, record: ProtectionRecord) -> None:
    """The protection an incident triggers: a record of the same case only."""
    # Objects, not ids: an incident not yet flushed has no case_id.
    if record.case is not incident.case:
        raise ProtectionError("other_case", "an incident links to a record of its own case")
    incident.protection_id = record.id
    recompute_urgent(incident.case)


def record_link(
    session: Session,
    incident: RetaliationIncident,
    record: ProtectionRecord,
    inspector: Inspector,
    today: date,
    now: datetime,
) -> None:
    """``link_incident`` by an inspector, with the event that says who linked it."""
    link_incident(incident, record)
    _incident_event(incident.case, inspector, incident, "linked", today, now)
    session.flush()


def _check_occurred(occurred_on: date | None, today: date) -> None:
    if occurred_on is not None and occurred_on > today:
        raise ProtectionError("date_in_future", "a retaliation incident cannot be in the future")


def _record_of(case: Case, protection_id: int) -> ProtectionRecord:
    record = next((item for item in case.protections if item.id == protection_id), None)
    if record is None:
        raise ProtectionError("other_case", "an incident links to a record of its own case")
    return record


def incident_pending(incident: RetaliationIncident) -> bool:
    """Whether the reporter's words on this incident still wait for the unit: a reported
    incident neither linked nor answered by a note, or a reporter's note left last."""
    if incident.notes and incident.notes[-1].source is Party.REPORTER:
        return True
    if incident.source is not Party.REPORTER:
        return False
    answered = any(note.source is Party.INSPECTOR for note in incident.notes)
    return not answered and incident.protection_id is None


# --- urgency ----------------------------------------------------------------------------------


def confirmation_due(case: Case, requested_on: date) -> date:
    """When an urgent (oral) request must be confirmed in writing, by the unit's profile."""
    period = workflow.profile_of(case).protection_confirmation
    due = workflow.profile_of(case).calendar.due_date(requested_on, period.length, period.unit)
    assert due is not None, "no pause applies to a confirmation period"
    return due


def decision_due(case: Case, record: ProtectionRecord) -> date | None:
    """By when the unit means to decide a request still waiting for its decision: the
    profile's ``protection_decision``, the unit's own target (LTC Art. 51(1) asks for a
    prompt decision and sets no period); None once decided, or without a target."""
    period = workflow.profile_of(case).protection_decision
    if period is None or record.state not in (State.REQUESTED, State.UNDER_REVIEW):
        return None
    calendar = workflow.profile_of(case).calendar
    return calendar.due_date(record.requested_on, period.length, period.unit)


def recompute_urgent(case: Case) -> bool:
    """Set and return the case's ``urgent`` flag: an urgent record still ``requested``,
    an unanswered ask, an incident waiting for the unit's response, or an escalation
    waiting for the head's answer (casework.workflow)."""
    case.urgent = (
        workflow.escalation_pending(case)
        or any(record.urgent and record.state is State.REQUESTED for record in case.protections)
        or any(pending_asks(record) for record in case.protections)
        or any(incident_pending(incident) for incident in case.retaliation_incidents)
    )
    return case.urgent


# --- reading ----------------------------------------------------------------------------------


def open_details(keys: CaseKeys, record: ProtectionRecord) -> dict[str, str]:
    """The record's current document as text fields; a reporter's request shows as
    ``request``. Empty if there is none; ``{"altered": "yes"}`` if it was altered."""
    if record.details is None and record.message_id is not None:
        return _request_entry(keys, record.case, record.message_id)
    document = open_document(keys, record.case, record, "details", "protection")
    if document and "kind" not in document and "text" in document:
        return {"request": document["text"]}
    return document


def open_document(
    keys: CaseKeys,
    case: Case,
    row: Any,
    column: str,
    purpose: str,
    entry_id: int | None = None,
) -> dict[str, str]:
    """A sealed NOTE's string fields (details, grounds, notes) from ``row.column``, or a
    reporter's transcript entry (``entry_id``) as ``{"text"}``; empty when absent,
    ``{"altered": "yes"}`` when it does not open as written or not in this row, so one
    damaged record does not hide the rest of a page."""
    if getattr(row, column) is None and entry_id is not None:
        return _fields(transcript.entry_reading(case, keys.case, entry_id))
    return _fields(keys.open_note(case, row, column, purpose))


def _request_entry(keys: CaseKeys, case: Case, message_id: int) -> dict[str, str]:
    fields = _fields(transcript.entry_reading(case, keys.case, message_id))
    return {"request": fields["text"]} if "text" in fields else fields


def _fields(reading: Reading | None) -> dict[str, str]:
    if reading is None:
        return {}
    if reading.document is None:
        return {ALTERED: "yes"}
    values = {name: reading.document.get(name) for name in (*TEXT_FIELDS, "kind", "occurred_on")}
    return {name: value for name, value in values.items() if isinstance(value, str)}


def timeline(keys: CaseKeys, record: ProtectionRecord) -> list[TimelineEntry]:
    """The record's steps and asks, oldest first, each with its opened grounds."""
    return [
        TimelineEntry(
            event, open_document(keys, record.case, event, "grounds", "grounds", event.message_id)
        )
        for event in record.case.events
        if event.kind in PROTECTION_EVENTS and _record_id(event) == record.id
    ]


# --- helpers ----------------------------------------------------------------------------------


def _checked(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ProtectionError("too_long", f"a text has at most {MAX_TEXT} characters")
    return text


def _required_text(text: str) -> str:
    if not text.strip():
        raise ProtectionError("empty", "the text is empty")
    return _checked(text)


def _document(state: State, values: Mapping[str, str], summary: str) -> dict[str, Any]:
    document: dict[str, Any] = {"schema": 1, "kind": DOCUMENT, "state": state.value}
    document.update({name: value for name, value in values.items() if value})
    document["text"] = values.get(summary, "")
    return document


def _state_data(record: ProtectionRecord, old: State | None, new: State) -> dict[str, Any]:
    return {"protection_id": record.id, "from": None if old is None else old.value, "to": new.value}


def _record_id(event: CaseEvent) -> int | None:
    value = (event.data or {}).get("protection_id")
    return value if isinstance(value, int) else None


def _inspector_event(
    case: Case,
    inspector: Inspector,
    data: dict[str, Any],
    grounds: Sealer | None,
    today: date,
    now: datetime,
    kind: str = STATE_CHANGE,
) -> CaseEvent:
    event = CaseEvent(
        kind=kind,
        actor_kind=ActorKind.INSPECTOR,
        inspector_id=inspector.id,
        inspector=inspector,
        occurred_on=today,
        occurred_at=now,
        data=data,
    )
    case.events.append(event)
    seal_into(event, "grounds", grounds)
    return event


def _reporter_event(
    case: Case, kind: str, data: dict[str, Any], entry: Message, today: date
) -> CaseEvent:
    # A date only: a time next to what a reporter did could be matched to network logs.
    event = CaseEvent(
        kind=kind,
        actor_kind=ActorKind.REPORTER,
        occurred_on=today,
        message_id=entry.id,
        data=data,
    )
    case.events.append(event)
    return event


def _incident_event(
    case: Case,
    inspector: Inspector,
    incident: RetaliationIncident,
    action: str,
    today: date,
    now: datetime,
) -> None:
    data = {"incident_id": incident.id, "action": action}
    _inspector_event(case, inspector, data, None, today, now, INCIDENT)
