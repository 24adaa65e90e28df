"""``minhbach deadlines refresh`` and ``minhbach unit set-profile``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casework import workflow
from casework.dates import unit_today
from store.models import AuditEntry, Case, Track, Unit
from tests.cli.helpers import Invoke, assert_ok, assert_refused
from tests.store.factories import add_case, add_unit

SLUG = "thanh-tra-tinh"


def add_stale_case(
    database: sessionmaker[Session], status: str = "received", received: date | None = None
) -> int:
    """A case as a release before the workflow left it: no stored deadlines."""
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == SLUG)) or add_unit(session)
        today = received or unit_today()
        case = add_case(
            session, unit, track=Track.NAMED, status=status, received_on=today,
            status_changed_on=today,
        )  # fmt: skip
        session.commit()
        return case.id


def keys(database: sessionmaker[Session], case_id: int) -> set[str]:
    with database() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return {item["key"] for item in case.deadlines}


def test_refresh_recomputes_every_case(
    invoke: Invoke, initialised: Path, database: sessionmaker[Session]
) -> None:
    case_id = add_stale_case(database)
    assert keys(database, case_id) == set()
    output = assert_ok(invoke("deadlines", "refresh"))
    assert "recomputed the deadlines of 1 case(s)" in output
    # A named web report the unit has not verified follows the unsigned rules (LTC Art.
    # 25(1)): the unit's own target, no statutory clock.
    assert keys(database, case_id) == {"decision"}
    assert_refused(invoke("deadlines", "refresh", "--unit", "nowhere"), "nowhere")


def test_a_unit_moves_to_another_profile_and_its_deadlines_follow(
    invoke: Invoke, initialised: Path, database: sessionmaker[Session]
) -> None:
    case_id = add_stale_case(database)
    output = assert_ok(invoke("unit", "set-profile", SLUG, "eu-2019-1937"))
    assert "follows eu-2019-1937" in output
    assert keys(database, case_id) == {"acknowledgement"}
    with database() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "unit_profile_set"))
        assert entry is not None
        assert entry.details == {"from": "vn-denunciation-2018", "to": "eu-2019-1937"}


def test_a_move_that_would_strand_cases_is_refused(
    invoke: Invoke, initialised: Path, database: sessionmaker[Session]
) -> None:
    add_stale_case(database, status="triage")  # the EU profile has no triage status
    assert_refused(invoke("unit", "set-profile", SLUG, "eu-2019-1937"), "no status triage")
    assert_refused(invoke("unit", "set-profile", SLUG, "vn-2030"), "unknown profile")
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == SLUG))
        assert unit is not None
        assert unit.profile == "vn-denunciation-2018"


def test_a_unit_moving_to_the_2026_law_keeps_the_old_rules_for_older_cases(
    invoke: Invoke, initialised: Path, database: sessionmaker[Session]
) -> None:
    older = add_stale_case(database, status="triage", received=date(2026, 6, 15))
    newer = add_stale_case(database, received=date(2026, 7, 2))
    output = assert_ok(invoke("unit", "set-profile", SLUG, "vn-denunciation-2026"))
    assert "the deadlines of 2 case(s) recomputed" in output
    with database() as session:
        followed = {
            case_id: workflow.profile_of(session.get_one(Case, case_id)).name
            for case_id in (older, newer)
        }
    assert followed == {older: "vn-denunciation-2018", newer: "vn-denunciation-2026"}
