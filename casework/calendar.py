"""Counting legal periods: calendar days, working days and months, with paused spans.

Vietnamese law counts some periods in working days (weekends and public holidays skipped,
the lunar new year included) and others in days; a suspension stops the clock. The
``holidays`` package knows each country's holidays and the Saturdays that become working
days when a holiday is moved, so no date list is kept here.

Counting convention (Civil Code 2015, Art. 147-148): a period starts on the day *after*
the event, and when a period in days ends on a day off, it ends on the next working day.
A paused span ``(first, last)`` covers whole days: none of them counts.

Pure Python: no Flask, no database.
"""

from __future__ import annotations

import calendar as _calendar
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import holidays

ONE_DAY = timedelta(days=1)
# A deadline further out than this is a bug in a profile, not a real period.
MAX_SPAN_DAYS = 5 * 366


class PeriodUnit(enum.StrEnum):
    DAYS = "days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"


@dataclass(frozen=True)
class Pause:
    """Days on which a clock stood still: ``first`` to ``last`` inclusive; ``last`` is
    None while the pause lasts."""

    first: date
    last: date | None = None

    def covers(self, day: date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)


@dataclass(frozen=True)
class WorkingCalendar:
    """A country's working days, e.g. ``WorkingCalendar("VN")``."""

    country: str
    roll_to_working_day: bool = True

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country)

    def is_working_day(self, day: date) -> bool:
        return bool(self._holidays.is_working_day(day))

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def due_date(
        self, start: date, amount: int, unit: PeriodUnit, pauses: Sequence[Pause] = ()
    ) -> date | None:
        """The last day of a period of ``amount`` units after ``start``; None while a pause
        is still open (the clock stands, so there is no date yet)."""
        if amount < 0:
            raise ValueError("a period cannot be negative")
        if any(pause.last is None for pause in pauses):
            return None
        if unit is PeriodUnit.MONTHS:
            end = add_months(start, amount) + ONE_DAY * _paused_days(pauses, start)
        else:
            end = self._count_forward(start, amount, unit, pauses)
        return self._roll(end) if unit is not PeriodUnit.WORKING_DAYS else end

    def elapsed(self, start: date, until: date, unit: PeriodUnit, pauses: Sequence[Pause]) -> int:
        """Units of a period used from ``start`` to ``until`` inclusive, pauses excluded
        (months are counted in days: a paused month-long period reports days used)."""
        counted, day = 0, start
        while day < until:
            day += ONE_DAY
            if self._counts(day, unit, pauses):
                counted += 1
        return counted

    def _count_forward(
        self, start: date, amount: int, unit: PeriodUnit, pauses: Sequence[Pause]
    ) -> date:
        day, counted = start, 0
        while counted < amount:
            day += ONE_DAY
            if (day - start).days > MAX_SPAN_DAYS:
                raise ValueError("a period runs past five years: check the profile")
            if self._counts(day, unit, pauses):
                counted += 1
        return day

    def _counts(self, day: date, unit: PeriodUnit, pauses: Sequence[Pause]) -> bool:
        if any(pause.covers(day) for pause in pauses):
            return False
        return unit is not PeriodUnit.WORKING_DAYS or self.is_working_day(day)

    def _roll(self, day: date) -> date:
        if not self.roll_to_working_day:
            return day
        while not self.is_working_day(day):
            day += ONE_DAY
        return day


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def _paused_days(pauses: Sequence[Pause], after: date) -> int:
    total = 0
    for pause in pauses:
        if pause.last is not None and pause.last > after:
            total += (pause.last - max(pause.first, after + ONE_DAY)).days + 1
    return total
