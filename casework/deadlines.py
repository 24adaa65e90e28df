"""Which clocks run on a case, and until when: a pure function of profile and history.

A case's history is a list of ``Step``: the statuses it entered and the events recorded
(an extension, a notification, an escalation...). Replaying it against the profile's
deadline rules gives every running clock with its due date; nothing here reads a database
or the current date except to say how much of a paused clock is used.

A clock that is already running is not restarted by a second start (an unmet obligation
stays late); a stopped clock starts afresh. A clock stands still while the case is in one
of its ``pause_in`` statuses: from the day after the case entered it to the day it left
(docs/workflow.md).

Pure Python: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from casework.calendar import Pause, PeriodUnit
from casework.profiles import DeadlineRule, Profile
from store.models import Track

EXTENSION = "extension"
STATUS = "status"


@dataclass(frozen=True)
class Step:
    """One thing that happened: ``kind`` STATUS with the ``status`` entered, or an event
    kind (with ``deadline`` naming the clock an EXTENSION lengthens)."""

    on: date
    kind: str
    status: str | None = None
    deadline: str | None = None


@dataclass(frozen=True)
class Deadline:
    key: str
    statutory: bool
    started_on: date
    due_on: date | None  # None while the clock stands still
    unit: PeriodUnit
    allowance: int  # units in all, extensions included
    extensions: int
    max_extensions: int
    used: int | None = None  # units used so far, given while paused

    @property
    def paused(self) -> bool:
        return self.due_on is None

    @property
    def extendable(self) -> bool:
        return self.extensions < self.max_extensions

    def overdue(self, today: date) -> bool:
        return self.due_on is not None and self.due_on < today

    def due_soon(self, today: date, days: int) -> bool:
        return self.due_on is not None and today <= self.due_on <= today + timedelta(days=days)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "statutory": self.statutory,
            "started_on": self.started_on.isoformat(),
            "due_on": None if self.due_on is None else self.due_on.isoformat(),
            "unit": self.unit.value,
            "allowance": self.allowance,
            "extensions": self.extensions,
            "max_extensions": self.max_extensions,
            "used": self.used,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deadline:
        due = data.get("due_on")
        return cls(
            key=data["key"],
            statutory=bool(data["statutory"]),
            started_on=date.fromisoformat(data["started_on"]),
            due_on=None if due is None else date.fromisoformat(due),
            unit=PeriodUnit(data["unit"]),
            allowance=int(data["allowance"]),
            extensions=int(data["extensions"]),
            max_extensions=int(data["max_extensions"]),
            used=data.get("used"),
        )


@dataclass
class _Clock:
    started_on: date
    extensions: int = 0
    pauses: list[Pause] = field(default_factory=list)
    paused_since: date | None = None


def running(profile: Profile, track: Track, steps: Sequence[Step], today: date) -> list[Deadline]:
    """Every clock still running after ``steps``, earliest due first, paused ones last."""
    found = []
    for rule in profile.rules_for(track):
        clock = _replay(profile, rule, steps, today)
        if clock is not None:
            found.append(_deadline(profile, rule, clock, today))
    return sorted(found, key=lambda d: (d.due_on is None, d.due_on or date.max, d.key))


def next_due(deadlines: Iterable[Deadline]) -> date | None:
    dates = [d.due_on for d in deadlines if d.due_on is not None]
    return min(dates, default=None)


def _replay(
    profile: Profile, rule: DeadlineRule, steps: Sequence[Step], today: date
) -> _Clock | None:
    clock: _Clock | None = None
    latest: date | None = None  # when a clock not started by then starts by itself
    anchor: date | None = None  # the last entry into a status of rule.count_from
    previous: str | None = None  # the status the case is leaving
    for step in steps:
        if clock is None and latest is not None and step.on > latest:
            clock, latest = _Clock(latest), None
        if step.kind == STATUS and step.status is not None:
            if step.status in rule.count_from:
                anchor = step.on
            clock = _enter(rule, clock, step.on, step.status, anchor)
            if clock is None and _starts_on_leaving(rule, previous, step.status):
                clock = _Clock(step.on)
            previous = step.status
            if clock is None and step.status in rule.stop:
                latest = None
            elif clock is None and latest is None:
                latest = _latest_start(profile, rule, step.on, step.status)
        elif clock is None and step.kind in rule.stop_events:
            latest = None
        elif clock is not None and step.kind in rule.stop_events:
            clock = None
        elif clock is None and _starts_on_event(rule, step):
            clock = _Clock(step.on)
        elif clock is not None and step.kind == EXTENSION and step.deadline == rule.key:
            clock.extensions = min(clock.extensions + 1, rule.max_extensions)
        if clock is not None:  # started: a later stop ends it for good
            latest = None
    if clock is None and latest is not None and today >= latest:
        clock = _Clock(latest)
    return clock


def _starts_on_event(rule: DeadlineRule, step: Step) -> bool:
    """Whether the event ``step`` starts the clock: one of its ``start_events``, or an
    extension of a clock in its ``start_extensions``."""
    if step.kind == EXTENSION:
        return step.deadline in rule.start_extensions
    return step.kind in rule.start_events


def _starts_on_leaving(rule: DeadlineRule, previous: str | None, status: str) -> bool:
    """Whether leaving ``previous`` for ``status`` starts the clock (``start_leaving``):
    only for a status that does not stop it."""
    return previous in rule.start_leaving and status != previous and status not in rule.stop


def _latest_start(profile: Profile, rule: DeadlineRule, on: date, status: str) -> date | None:
    """The day a clock starts by itself if nothing starts it before (``start_at_latest``)."""
    latest = rule.start_at_latest
    if latest is None or status not in latest.after:
        return None
    return profile.calendar.due_date(on, latest.period.length, latest.period.unit)


def _enter(
    rule: DeadlineRule, clock: _Clock | None, on: date, status: str, anchor: date | None
) -> _Clock | None:
    """The clock after the case enters ``status`` on ``on``; a clock it starts counts from
    ``anchor`` when the rule counts from an earlier status (``count_from``)."""
    if clock is not None and status in rule.stop:
        clock = None
    if clock is None:
        return _Clock(anchor or on) if status in rule.start else None
    if status in rule.pause_in and clock.paused_since is None:
        clock.paused_since = on
    elif status not in rule.pause_in and clock.paused_since is not None:
        clock.pauses.append(Pause(clock.paused_since + timedelta(days=1), on))
        clock.paused_since = None
    return clock


def _deadline(profile: Profile, rule: DeadlineRule, clock: _Clock, today: date) -> Deadline:
    extension = 0 if rule.extension is None else rule.extension.length
    allowance = rule.period.length + clock.extensions * extension
    pauses = list(clock.pauses)
    used = None
    if clock.paused_since is not None:
        pauses.append(Pause(clock.paused_since + timedelta(days=1)))
        counting = PeriodUnit.DAYS if rule.period.unit is PeriodUnit.MONTHS else rule.period.unit
        used = profile.calendar.elapsed(
            clock.started_on, min(today, clock.paused_since), counting, clock.pauses
        )
    return Deadline(
        key=rule.key,
        statutory=rule.statutory,
        started_on=clock.started_on,
        due_on=profile.calendar.due_date(clock.started_on, allowance, rule.period.unit, pauses),
        unit=rule.period.unit,
        allowance=allowance,
        extensions=clock.extensions,
        max_extensions=rule.max_extensions,
        used=used,
    )
