"""Which day it is for a unit: deadlines are counted in local days, not UTC days.

A report sent at 06:00 in Hà Nội is still the previous day in UTC; counting from the UTC
date would shift every legal deadline by a day. Units are Vietnamese bodies, so their
time zone is Asia/Ho_Chi_Minh; a profile for another jurisdiction would name its own.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

UNIT_TIME_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def unit_today(now: datetime | None = None) -> date:
    """Today's date in the unit's time zone (``now`` must be aware, for tests)."""
    return (now or datetime.now(UNIT_TIME_ZONE)).astimezone(UNIT_TIME_ZONE).date()
