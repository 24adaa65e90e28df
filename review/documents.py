"""A reporter's sealed REPORT document, checked for shape before the case page shows it.

The server cannot read what a browser seals, so the document may hold anything: a value
of the wrong type, a key missing, junk nested anywhere (docs/submission.md §1 has the
shape both submission paths write). One malformed part must not break the case page for
every reader, so each part is checked on its own: what is well-formed is shown, what is
not is named in a note, and keys this reader does not know are ignored, as the document's
readers must. Nothing here decides what the report means; it only decides what can be
shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casework import access
from casework.records import Reading
from store.models import Case

REPORT_FIELDS = access.REPORT_FIELDS
REQUIRED = "what"  # both submission paths refuse a report without it
PROTECTION = "protection"


@dataclass(frozen=True)
class Protection:
    """The report's protection request: only the parts of the expected types."""

    people: tuple[str, ...]
    kinds: tuple[str, ...]
    details: str


@dataclass(frozen=True)
class CheckedReport:
    texts: tuple[tuple[str, str], ...]  # (field, text) of the well-formed, non-empty fields
    protection: Protection | None  # None: none was requested (or none could be read)
    malformed: tuple[str, ...]  # fields, and "protection", left out for their shape


def open_report(case_key: bytes, case: Case) -> CheckedReport | None:
    """The case's report checked for shape, or None if it does not open (purged, altered,
    or not a JSON object)."""
    try:
        return checked(access.checked_report(case_key, case))
    except RecursionError:
        # JSON nested deeper than the parser goes: no report anyone could read either.
        return None


def checked(reading: Reading) -> CheckedReport | None:
    return None if reading.document is None else check_report(reading.document)


def check_report(document: dict[str, Any]) -> CheckedReport:
    texts: list[tuple[str, str]] = []
    malformed: list[str] = []
    for name in REPORT_FIELDS:
        value = document.get(name)
        if isinstance(value, str):
            if value.strip():
                texts.append((name, value))
        elif value is not None or name == REQUIRED:
            malformed.append(name)
    protection, whole = _protection(document.get(PROTECTION))
    if not whole:
        malformed.append(PROTECTION)
    return CheckedReport(tuple(texts), protection, tuple(malformed))


def _protection(section: object) -> tuple[Protection | None, bool]:
    """The protection request's well-formed parts, and whether it was well-formed whole."""
    if section is None:
        return None, True  # none requested
    if not isinstance(section, dict):
        return None, False
    people, people_ok = _strings(section.get("people"))
    kinds, kinds_ok = _strings(section.get("kinds"))
    details = section.get("details")
    details_ok = details is None or isinstance(details, str)
    shown = Protection(people, kinds, details if isinstance(details, str) else "")
    return shown, people_ok and kinds_ok and details_ok


def _strings(value: object) -> tuple[tuple[str, ...], bool]:
    """The strings of a list of strings, and whether it was one (absent counts as empty)."""
    if value is None:
        return (), True
    if not isinstance(value, list):
        return (), False
    kept = tuple(item for item in value if isinstance(item, str))
    return kept, len(kept) == len(value)
