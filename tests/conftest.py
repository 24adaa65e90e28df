"""Shared fixtures. Argon2id is lowered here, through parameters, never in production code.

Databases are real SQLite files in tmp_path, migrated by Alembic (not create_all): the
schema is migrated once per session and the file copied per test, so each test is
isolated and still runs against the schema production gets.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from casework.settings import Settings
from crypto.kdf import Argon2Params
from store.db import make_engine, session_factory, upgrade_to_head
from tests import postgres
from tests.programs import in_ci
from tests.store.factories import sqlite_url
from tests.worlds import World, build_world

FAST_ARGON2 = Argon2Params(ops=1, memory_kib=8)


@pytest.fixture
def fast_argon2() -> Argon2Params:
    return FAST_ARGON2


def settings_for(engine: Engine, instance: Path, **env: str) -> Settings:
    """Settings of an app under test: the test's database, an instance folder of its own,
    and ``env`` (MINHBACH_* names) on top."""
    return Settings.from_env(
        {"MINHBACH_INSTANCE": str(instance), "MINHBACH_DATABASE_URL": str(engine.url), **env}
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(sqlite_url(path))
    upgrade_to_head(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Move everything from the -wal file into the main file, so one file is a copy.
        # A checkpoint runs outside any transaction.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def engine(migrated_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "minhbach.sqlite3"
    shutil.copyfile(migrated_template, path)
    engine = make_engine(sqlite_url(path))
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def world(session: Session) -> World:
    """A unit whose people hold real key pairs (see tests/worlds.py)."""
    return build_world(session)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI, a test skipped for want of the suite's PostgreSQL fails instead: make test
    starts one (scripts/with-services), so its absence is a missing install step."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    skipped = report.skipped and isinstance(report.longrepr, tuple)
    if skipped and in_ci() and postgres.NOT_SET in str(report.longrepr[2]):  # type: ignore[index]
        report.outcome = "failed"
