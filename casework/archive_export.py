"""Exporting a case for the archives before its purge (LTC Art. 39(3)): the rules.

The Law on Denunciation sends a resolved case's file to the archives; the unit decides,
with its archives, what goes there. The export is a ZIP built by the review app
(review/views/archive.py) for a person holding the case key: the parts the unit chooses
(``PARTS``), decrypted, with an index in the case's language. The reporter's identity goes
in only when a custodian adds it, with a reason, as an identity opening. Every export is
an audit entry (``ARCHIVE_EXPORTED``), which is also how ``minhbach retention purge``
tells which cases were exported (``last_exports``): the audit log is append-only and
survives the purge.

Pure Python: no Flask.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.dates import unit_today
from casework.errors import CaseworkError
from store.models import AuditEntry

ARCHIVE_EXPORTED = "archive_export"

REPORT = "report"
MESSAGES = "messages"
DECISIONS = "decisions"
FILES = "files"
PARTS = (REPORT, MESSAGES, DECISIONS, FILES)  # in the order the index lists them

LANGUAGES = ("vi", "en")  # the languages a report is written in (docs/submission.md)


class ArchiveExportError(CaseworkError):
    """A refused export; ``code`` names what is wrong with the request."""


def chosen_parts(values: Iterable[str]) -> tuple[str, ...]:
    """The known parts among ``values``, in ``PARTS`` order; refused when none is."""
    wanted = set(values)
    parts = tuple(part for part in PARTS if part in wanted)
    if not parts:
        raise ArchiveExportError("no_parts", "choose at least one part of the case to export")
    return parts


def case_language(report: Mapping[str, Any] | None, default: str) -> str:
    """The language the reporter wrote in (the REPORT's ``language``), else ``default``."""
    language = report.get("language") if report else None
    return language if isinstance(language, str) and language in LANGUAGES else default


def last_exports(session: Session, public_ids: Collection[str]) -> dict[str, date]:
    """The unit's date of the latest archive export of each case that has one."""
    if not public_ids:
        return {}
    query = (
        select(AuditEntry.case_public_id, func.max(AuditEntry.at))
        .where(
            AuditEntry.action == ARCHIVE_EXPORTED,
            AuditEntry.case_public_id.in_(list(public_ids)),
        )
        .group_by(AuditEntry.case_public_id)
    )
    return {public_id: unit_today(at) for public_id, at in session.execute(query) if public_id}
