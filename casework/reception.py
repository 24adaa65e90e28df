"""The unit's citizen reception schedule (``units.reception_schedule``): public text that
tells a tipster when and where to report in person, shown on the public pages.

Set from the review app's admin page or ``minhbach unit set-reception``; both audit the
change as ``RECEPTION_SET`` with the new text (public, never case content).
"""

from __future__ import annotations

import re

from casework.errors import CaseworkError
from store.models import Unit

RECEPTION_SET = "unit_reception_set"  # audit action
MAX_SCHEDULE_CHARS = 2000
_LINE_BREAK = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # all but the line feed


def set_schedule(unit: Unit, text: str) -> str:
    """Store ``text`` (line breaks kept, surrounding space dropped) as the unit's schedule;
    an empty text withdraws it. Returns what was stored; the caller audits and commits."""
    cleaned = _CONTROL.sub("", _LINE_BREAK.sub("\n", text)).strip()
    if len(cleaned) > MAX_SCHEDULE_CHARS:
        raise CaseworkError(
            "schedule_too_long", f"the schedule has at most {MAX_SCHEDULE_CHARS} characters"
        )
    unit.reception_schedule = cleaned
    return cleaned
