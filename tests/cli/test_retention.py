"""``minhbach retention purge`` and ``minhbach unit set-retention``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casework import archive_export, audit, intake
from casework.dates import unit_today
from casework.retention import PURGE_ACTION
from crypto.kdf import Argon2Params
from store.blobs import FilesystemBlobStore
from store.models import AuditEntry, Case, Unit
from tests.casework.test_retention import (
    CLOSED_ON,
    DEFAULT_DAYS,
    DUE_ON,
    blob_files,
    build_closed_case,
    snapshot,
)
from tests.cli.helpers import Invoke, assert_ok, assert_refused
from tests.worlds import build_world

FAST = Argon2Params(ops=1, memory_kib=8)
UNIT = "thanh-tra-tinh"  # tests.worlds' default slug


@pytest.fixture
def blobs(initialised: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(initialised / "blobs")  # MINHBACH_BLOB_DIR's default


@pytest.fixture
def closed(database: sessionmaker[Session], blobs: FilesystemBlobStore) -> Case:
    """A closed case with files, messages and wraps in the instance's database."""
    with database() as session:
        world = build_world(session)
        return build_closed_case(session, world, blobs, FAST).case


def purge(invoke: Invoke, today: date, *extra: str) -> str:
    output = assert_ok(invoke("retention", "purge", "--today", today.isoformat(), *extra))
    assert "Warning" not in output  # the write-ahead log, with purged pages, was emptied
    return output


def test_a_dry_run_lists_the_case_and_changes_nothing(
    invoke: Invoke,
    database: sessionmaker[Session],
    blobs: FilesystemBlobStore,
    closed: Case,
) -> None:
    with database() as session:
        before = snapshot(session)
    files = blob_files(blobs)
    output = purge(invoke, DUE_ON, "--dry-run")
    [line] = [
        line for line in output.splitlines() if intake.public_reference(closed.public_id) in line
    ]
    assert line.split()[1:5] == [UNIT, CLOSED_ON.isoformat(), DUE_ON.isoformat(), "3"]
    assert "1 case(s) would be purged" in output
    with database() as session:
        assert snapshot(session) == before
    assert blob_files(blobs) == files


def test_the_listing_shows_which_cases_were_exported_for_the_archives(
    invoke: Invoke, database: sessionmaker[Session], closed: Case
) -> None:
    reference = intake.public_reference(closed.public_id)
    output = purge(invoke, DUE_ON, "--dry-run")
    [line] = [line for line in output.splitlines() if reference in line]
    assert line.split()[-1] == "no"
    assert "1 of them never exported for the archives" in output
    with database() as session:
        audit.append(
            session,
            actor="lan",
            action=archive_export.ARCHIVE_EXPORTED,
            case_public_id=closed.public_id,
            details={"parts": ["report"], "identity": False, "files": 0},
        )
        session.commit()
        [exported_at] = session.scalars(
            select(AuditEntry.at).where(AuditEntry.action == archive_export.ARCHIVE_EXPORTED)
        )
    output = purge(invoke, DUE_ON)
    [line] = [line for line in output.splitlines() if reference in line]
    assert line.split()[-1] == unit_today(exported_at).isoformat()
    assert "never exported" not in output


def test_nothing_is_listed_before_the_period_has_run(invoke: Invoke, closed: Case) -> None:
    output = purge(invoke, DUE_ON - timedelta(days=1), "--dry-run")
    assert "0 case(s) would be purged" in output
    assert intake.public_reference(closed.public_id) not in output


def test_a_purge_removes_the_case_contents_and_files_and_audits_it(
    invoke: Invoke,
    database: sessionmaker[Session],
    blobs: FilesystemBlobStore,
    closed: Case,
) -> None:
    output = purge(invoke, DUE_ON)
    assert intake.public_reference(closed.public_id) in output
    assert "Purged 1 case(s)" in output
    assert "deleted 3 file(s) (0 already gone)" in output
    assert blob_files(blobs) == {}
    with database() as session:
        case = session.get(Case, closed.id)
        assert case is not None
        assert (case.purged_on, case.body, case.key_wraps, case.messages) == (DUE_ON, None, [], [])
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == PURGE_ACTION)).all()
        assert (entry.actor, entry.case_public_id, entry.details) == (
            audit.CLI,
            closed.public_id,
            {"retention_days": DEFAULT_DAYS},
        )
    assert "The audit chain is intact" in assert_ok(invoke("audit", "verify"))
    again = purge(invoke, DUE_ON + timedelta(days=1))
    assert "Purged 0 case(s)" in again
    assert intake.public_reference(closed.public_id) not in again


def test_the_unit_option_limits_the_purge_to_that_unit(
    invoke: Invoke, database: sessionmaker[Session], closed: Case
) -> None:
    assert_ok(invoke("unit", "add", "--slug", "don-vi-khac", "--name", "Đơn vị khác"))
    assert "Purged 0 case(s)" in purge(invoke, DUE_ON, "--unit", "don-vi-khac")
    assert "Purged 1 case(s)" in purge(invoke, DUE_ON, "--unit", UNIT)


def test_bad_options_are_refused_in_one_line(invoke: Invoke, initialised: Path) -> None:
    assert_refused(invoke("retention", "purge", "--unit", "khong-co"), "no unit 'khong-co'")
    assert_refused(invoke("retention", "purge", "--today", "27/11/2026"), "--today")


def test_set_retention_overrides_the_profile_and_default_restores_it(
    invoke: Invoke, database: sessionmaker[Session], closed: Case
) -> None:
    soon = CLOSED_ON + timedelta(days=30)
    assert "0 case(s) would be purged" in purge(invoke, soon, "--dry-run")
    output = assert_ok(invoke("unit", "set-retention", UNIT, "30"))
    assert f"Unit {UNIT} keeps closed cases for 30 days." in output
    assert "1 closed case(s) are due for purge now" in output
    assert "1 case(s) would be purged" in purge(invoke, soon, "--dry-run")
    assert "0 case(s) would be purged" in purge(invoke, soon - timedelta(days=1), "--dry-run")
    output = assert_ok(invoke("unit", "set-retention", UNIT, "default"))
    assert f"{DEFAULT_DAYS} days, the profile's default" in output
    assert "0 case(s) would be purged" in purge(invoke, soon, "--dry-run")
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == UNIT))
        assert unit is not None
        assert unit.retention_days is None
        changes = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "unit_retention_set")
        ).all()
        assert [(e.actor, e.target, e.details) for e in changes] == [
            (audit.CLI, UNIT, {"from": None, "to": 30}),
            (audit.CLI, UNIT, {"from": 30, "to": None}),
        ]


@pytest.mark.parametrize("days", ["0", "-5", "ba mươi", "36501", "1.5", "٣٠"])
def test_set_retention_refuses_what_is_not_a_period(
    invoke: Invoke, database: sessionmaker[Session], closed: Case, days: str
) -> None:
    assert_refused(invoke("unit", "set-retention", UNIT, "--", days), "whole number of days")
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == UNIT))
        assert unit is not None
        assert unit.retention_days is None


def test_set_retention_refuses_an_unknown_unit(invoke: Invoke, initialised: Path) -> None:
    assert_refused(invoke("unit", "set-retention", "khong-co", "30"), "no unit 'khong-co'")
