"""Working days on Viet Nam's calendar, with real dates (holidays from the holidays package)."""

from __future__ import annotations

from datetime import date

import pytest

from casework.calendar import Pause, PeriodUnit, WorkingCalendar, add_months

VN = WorkingCalendar("VN")
WORKING = PeriodUnit.WORKING_DAYS


def test_tet_2027_is_not_worked() -> None:
    # Lunar new year 2027 falls on Saturday 6 February; the break runs 4-10 February.
    for day in range(4, 11):
        assert not VN.is_working_day(date(2027, 2, day)), day
    assert VN.is_working_day(date(2027, 2, 3))
    assert VN.is_working_day(date(2027, 2, 11))


def test_a_seven_working_day_period_spanning_tet_2027() -> None:
    # From Monday 1 February: 2 and 3 February count, then nothing until Thursday 11.
    assert VN.due_date(date(2027, 2, 1), 7, WORKING) == date(2027, 2, 17)


def test_a_saturday_worked_in_exchange_for_a_bridge_day_counts() -> None:
    # 2026: Monday 31 August is a day off, made up on Saturday 22 August.
    assert VN.is_working_day(date(2026, 8, 22))
    assert not VN.is_working_day(date(2026, 8, 31))
    assert VN.due_date(date(2026, 8, 21), 1, WORKING) == date(2026, 8, 22)


def test_a_period_in_days_ending_on_a_day_off_ends_on_the_next_working_day() -> None:
    # 8 January + 30 days is Sunday 7 February, in the middle of Tết: Thursday 11 February.
    assert VN.due_date(date(2027, 1, 8), 30, PeriodUnit.DAYS) == date(2027, 2, 11)
    plain = WorkingCalendar("VN", roll_to_working_day=False)
    assert plain.due_date(date(2027, 1, 8), 30, PeriodUnit.DAYS) == date(2027, 2, 7)


def test_a_closed_pause_pushes_the_date_by_the_days_it_covered() -> None:
    pause = Pause(date(2027, 3, 11), date(2027, 3, 20))
    assert VN.due_date(date(2027, 3, 1), 30, PeriodUnit.DAYS) == date(2027, 3, 31)
    # 31 March + 10 days is Saturday 10 April: Monday 12 April.
    assert VN.due_date(date(2027, 3, 1), 30, PeriodUnit.DAYS, [pause]) == date(2027, 4, 12)


def test_paused_working_days_do_not_count() -> None:
    # Tuesday 2 - Friday 5 March 2027 paused: four working days later than without.
    pause = Pause(date(2027, 3, 2), date(2027, 3, 5))
    assert VN.due_date(date(2027, 3, 1), 5, WORKING) == date(2027, 3, 8)
    assert VN.due_date(date(2027, 3, 1), 5, WORKING, [pause]) == date(2027, 3, 12)


def test_an_open_pause_has_no_date_yet_and_counts_what_was_used() -> None:
    assert VN.due_date(date(2027, 3, 1), 30, PeriodUnit.DAYS, [Pause(date(2027, 3, 11))]) is None
    assert VN.elapsed(date(2027, 3, 1), date(2027, 3, 10), PeriodUnit.DAYS, []) == 9
    assert VN.elapsed(date(2027, 2, 1), date(2027, 2, 12), WORKING, []) == 4


def test_months_keep_the_day_or_take_the_last_of_a_short_month() -> None:
    assert add_months(date(2027, 1, 15), 3) == date(2027, 4, 15)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert VN.due_date(date(2027, 1, 15), 3, PeriodUnit.MONTHS) == date(2027, 4, 15)


def test_nonsense_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        VN.due_date(date(2027, 1, 1), -1, PeriodUnit.DAYS)
    with pytest.raises(ValueError, match="five years"):
        VN.due_date(date(2027, 1, 1), 5000, WORKING)
