"""One way to write a day on every page of both apps, and one way to read one typed.

Vietnamese pages write 6/12/2026 (sentences add "ngày" themselves: "Hạn chót: ngày
6/12/2026"), English pages 6 December 2026: no time of day, no abbreviations, no ISO dates
on a page. The follow-up page's script writes days the same way (submit/static/js/followup/
view.js, ``formatDate``). A typed day is read as the date picker sends it (2026-12-06) or as
people type it where the browser shows a plain box (6/12/2026, also with dots or dashes).
"""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_date
from flask_babel import get_locale

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def written_day(value: date, language: str) -> str:
    """``value`` as a page in ``language`` writes it."""
    if language == "vi":
        return f"{value.day}/{value.month}/{value.year}"
    return format_date(value, "d MMMM y", locale="en")


def shown_day(value: date) -> str:
    """``value`` as the page being drawn writes it (the ``day`` filter of both apps)."""
    locale = get_locale()
    return written_day(value, locale.language if locale is not None else "en")


def read_day(text: str) -> date | None:
    """A day typed or picked, or None when ``text`` is not one."""
    text = text.strip()
    try:
        found = _DAY_MONTH_YEAR.fullmatch(text)
        if found:
            number_of_day, month, year = (int(part) for part in found.groups())
            return date(year, month, number_of_day)
        if _ISO_DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None
