"""Store fixtures: real SQLite files in tmp_path, migrated by Alembic (not create_all).

Migrating once per test session and copying the file keeps each test isolated and the
whole run fast, while every test still runs against the schema production gets.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from minhbach.store.db import make_engine, session_factory, upgrade_to_head
from tests.store.factories import sqlite_url


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(sqlite_url(path))
    upgrade_to_head(engine)
    with engine.connect() as connection:
        # Move everything from the -wal file into the main file, so one file is a copy.
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
