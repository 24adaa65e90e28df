"""What the reporter reads about deadlines, protection and retaliation, in words.

Both follow-up paths show the same facts in the same words: the pages without JavaScript
render them, the JSON API sends them for the browser to render. So every sentence that
depends on a count or a date (a period, a paused clock's use, a due date) is made here,
in the request's language, and neither path composes its own.

The facts themselves (status, clocks, protection states) are plaintext in the database:
nothing here opens a sealed record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import LazyString, gettext, ngettext
from flask_babel import lazy_gettext as _l

from casework import protection, workflow
from casework.calendar import PeriodUnit
from casework.deadlines import Deadline
from store.models import (
    Case,
    Party,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
)
from web import labels
from web.dates import shown_day

# A protection record's state as the protected person reads it (DOMAIN.md's states).
PROTECTION_STATES: Mapping[ProtectionState, LazyString] = {
    ProtectionState.REQUESTED: _l("Requested: the unit has not looked at it yet"),
    ProtectionState.UNDER_REVIEW: _l("The unit is considering it"),
    ProtectionState.REJECTED: _l("Refused, with written reasons"),
    ProtectionState.ACTIVE: _l("Granted: protection is in place"),
    ProtectionState.MODIFIED: _l("Granted, with changed measures"),
    ProtectionState.ENDED: _l("Ended"),
}


# What the protected person may ask of running protection (casework.protection.ASKS).
ASKS: Mapping[str, LazyString] = {
    "change": _l("Change the measures"),
    "add": _l("Add to the measures"),
    "end": _l("End the protection"),
}


def period_label(amount: int, unit: PeriodUnit) -> str:
    """A length of time in words, e.g. "5 working days"; none at all is "at once"."""
    if amount == 0:
        return str(gettext("at once"))
    if unit is PeriodUnit.WORKING_DAYS:
        text = ngettext("%(num)d working day", "%(num)d working days", amount)
    elif unit is PeriodUnit.MONTHS:
        text = ngettext("%(num)d month", "%(num)d months", amount)
    else:
        text = ngettext("%(num)d day", "%(num)d days", amount)
    return str(text)


def long_date(day: date | None) -> str | None:
    return None if day is None else str(shown_day(day))


@dataclass(frozen=True)
class ShownDeadline:
    """One running clock, as the reporter reads it."""

    key: str
    label: str
    statutory: bool  # set by law; otherwise the unit's own target
    due_on: date | None  # None while paused
    due_text: str | None  # the due date, long format
    period: str  # the whole allowance, e.g. "30 days"
    used: str | None  # while paused: how much of it is used, e.g. "12 days"
    overdue: bool
    extensions: int = 0  # how often the unit extended it, each by a decision sent to the parties

    @property
    def paused(self) -> bool:
        return self.due_on is None


def shown_deadline(deadline: Deadline, today: date) -> ShownDeadline:
    used = None
    if deadline.paused:
        # A paused period in months reports the days used (casework.deadlines).
        counting = PeriodUnit.DAYS if deadline.unit is PeriodUnit.MONTHS else deadline.unit
        used = period_label(deadline.used or 0, counting)
    return ShownDeadline(
        key=deadline.key,
        label=labels.deadline_label(deadline.key),
        statutory=deadline.statutory,
        due_on=deadline.due_on,
        due_text=long_date(deadline.due_on),
        period=period_label(deadline.allowance, deadline.unit),
        used=used,
        overdue=deadline.overdue(today),
        extensions=deadline.extensions,
    )


def shown_deadlines(deadlines: Sequence[Deadline], today: date) -> list[ShownDeadline]:
    return [shown_deadline(deadline, today) for deadline in deadlines]


def escalation_period(case: Case) -> str | None:
    """How long the head who answers an escalation has to demand a report, by the case's
    profile (casework.escalation)."""
    rule = workflow.profile_of(case).deadlines.get(workflow.ESCALATION)
    return None if rule is None else period_label(rule.period.length, rule.period.unit)


# --- protection and retaliation -------------------------------------------------------------


def confirmation_due(case: Case, today: date, urgent: bool) -> date | None:
    """By when an urgent (oral) request must be confirmed in writing, by the profile;
    None for a request that is not urgent (it is written already)."""
    return protection.confirmation_due(case, today) if urgent else None


def confirmation_period(case: Case) -> str:
    period = workflow.profile_of(case).protection_confirmation
    return period_label(period.length, period.unit)


def protection_state_label(state: ProtectionState) -> str:
    return str(PROTECTION_STATES.get(state, state.value))


def may_ask(record: ProtectionRecord) -> bool:
    """Measures exist, so the protected person may ask to change, add to or end them."""
    return record.state in protection.RUNNING


def pending_asks(record: ProtectionRecord) -> list[date]:
    """The days the reporter asked something of ``record`` that the unit has not answered."""
    return [event.occurred_on for event in protection.pending_asks(record)]


def protection_record(case: Case, record_id: int) -> ProtectionRecord | None:
    return next((record for record in case.protections if record.id == record_id), None)


def reporter_incidents(case: Case) -> list[RetaliationIncident]:
    """The incidents the reporter reported, the newest first: the ones they can add to.
    Incidents the unit logged itself may name people the reporter should not learn of."""
    found = [item for item in case.retaliation_incidents if item.source is Party.REPORTER]
    return sorted(found, key=lambda item: (item.reported_on, item.id), reverse=True)


def protections(case: Case) -> list[ProtectionRecord]:
    """The case's protection records, oldest request first."""
    return sorted(case.protections, key=lambda item: (item.requested_on, item.id))


def reporter_notes(incident: RetaliationIncident) -> list[date]:
    """The dates the reporter added to ``incident``; the unit's own notes are not shown."""
    return [note.added_on for note in incident.notes if note.source is Party.REPORTER]
