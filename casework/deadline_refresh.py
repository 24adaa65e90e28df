"""Recomputing stored deadlines for many cases at once.

Deadlines are stored only as a replay of each case's history against its unit's profile
(casework.workflow). After an upgrade, a corrected profile file or a unit's move to another
profile, that replay is run again here, in batches so memory stays flat.

Pure Python: no Flask. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import workflow
from casework.profiles import load_profile, profile_in_force
from store.models import Case, Unit

BATCH = 500


def refresh_all(session: Session, today: date, unit: Unit | None = None) -> int:
    """Replay every case not purged (of ``unit``, or of all units); returns how many."""
    count = 0
    for case in _cases(session, unit):
        workflow.refresh(case, today)
        count += 1
        if count % BATCH == 0:
            session.flush()
            session.expunge_all()
    session.flush()
    return count


def statuses_unknown_to(session: Session, unit: Unit, name: str) -> list[str]:
    """Statuses of the unit's cases that profile ``name`` does not have, for each case the
    profile in force the day it was received (``profile_in_force``): a unit cannot move to
    a profile that would strand its cases."""
    used = session.execute(
        select(Case.status, Case.received_on)
        .where(Case.unit_id == unit.id, Case.purged_on.is_(None))
        .distinct()
    )
    return sorted(
        {
            status
            for status, received_on in used
            if status not in profile_in_force(name, received_on).statuses
        }
    )


def change_profile(session: Session, unit: Unit, name: str, today: date) -> int:
    """Move ``unit`` to profile ``name`` and recompute its cases; returns how many."""
    load_profile(name)  # an unknown name is refused before anything is checked
    stranded = statuses_unknown_to(session, unit, name)
    if stranded:
        raise ValueError(
            f"profile {name} has no status {', '.join(stranded)}, which cases of "
            f"{unit.slug} are in: close or move those cases first"
        )
    unit.profile = name
    session.flush()
    return refresh_all(session, today, unit)


def _cases(session: Session, unit: Unit | None) -> Iterator[Case]:
    query = select(Case).where(Case.purged_on.is_(None)).order_by(Case.id)
    if unit is not None:
        query = query.where(Case.unit_id == unit.id)
    yield from session.scalars(query.execution_options(yield_per=BATCH))
