from datetime import UTC, date, datetime

from casework.dates import unit_today


def test_early_morning_in_hanoi_is_already_the_next_day() -> None:
    # 23:30 UTC on 27 Nov is 06:30 on 28 Nov in Hà Nội (UTC+7).
    assert unit_today(datetime(2026, 11, 27, 23, 30, tzinfo=UTC)) == date(2026, 11, 28)


def test_late_evening_utc_afternoon() -> None:
    assert unit_today(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) == date(2026, 11, 27)
