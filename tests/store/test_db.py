"""Engines, sessions, transactions and UTC timestamps on SQLite."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from store.db import (
    MigrationError,
    make_engine,
    migration_connection,
    session_factory,
)
from store.models import Unit
from tests.store.factories import add_unit, sqlite_url

ICT = timezone(timedelta(hours=7), "ICT")  # Vietnam: what a careless caller might pass


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: permissions must come from the code, not from a friendly umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_connection_gets_the_pragmas(engine: Engine) -> None:
    # Two connections at once: the pragmas are per connection, not per database.
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == 10_000
            assert pragma("PRAGMA secure_delete").scalar() == 1
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL


@pytest.mark.usefixtures("open_umask")
def test_new_database_directory_and_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "data" / "minhbach.sqlite3"
    engine = make_engine(sqlite_url(path))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            wal = path.with_name(path.name + "-wal")
            assert wal.exists()
            assert mode(wal) == 0o600
        assert mode(tmp_path / "instance") == 0o700
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
    finally:
        engine.dispose()


def test_existing_database_file_is_opened_not_replaced(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite3")
    first = make_engine(url)
    with first.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE kept (x INTEGER)")
    first.dispose()
    second = make_engine(url)
    try:
        assert inspect(second).get_table_names() == ["kept"]
    finally:
        second.dispose()


def test_objects_stay_usable_after_commit(engine: Engine) -> None:
    with session_factory(engine)() as session:
        unit = add_unit(session)
        session.commit()
    # With expire_on_commit=True this would raise DetachedInstanceError.
    assert unit.slug == "thanh-tra-tinh"


def test_ddl_is_transactional(engine: Engine) -> None:
    # pysqlite alone does not BEGIN before DDL, so CREATE TABLE would survive a rollback
    # and a failed migration would leave half a schema behind.
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        transaction.rollback()
    assert "scratch" not in inspect(engine).get_table_names()


def test_savepoints_roll_back_only_the_inner_work(session: Session) -> None:
    add_unit(session, "kept")

    def failing_step() -> None:
        with session.begin_nested():
            add_unit(session, "dropped")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_step()
    session.commit()
    assert session.scalars(select(Unit.slug)).all() == ["kept"]


class TestMigrationConnection:
    def test_failure_rolls_back_and_restores_foreign_keys(self, engine: Engine) -> None:
        def failing_migration() -> None:
            with migration_connection(engine) as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
                connection.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            failing_migration()
        assert "half_done" not in inspect(engine).get_table_names()
        # The pool hands the same connection out again: it must enforce foreign keys.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    def test_refuses_to_commit_broken_references(self, engine: Engine) -> None:
        with pytest.raises(MigrationError, match="inspectors"), migration_connection(engine) as c:
            c.execute(
                text(
                    "INSERT INTO inspectors (unit_id, username, display_name, role, active,"
                    " public_key, sealed_key_passphrase, sealed_key_recovery, totp_secret,"
                    " failed_logins, created_at, passphrase_changed_at)"
                    " VALUES (999, 'x', 'X', 'inspector', 1, :key, x'01', x'01', 's', 0,"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"key": bytes(32)},
            )
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM inspectors").scalar() == 0


class TestUTCDateTime:
    def test_aware_values_are_stored_as_utc(self, session: Session) -> None:
        unit = add_unit(session)
        unit.created_at = datetime(2026, 3, 2, 8, 0, tzinfo=ICT)
        session.commit()
        stored = session.execute(text("SELECT created_at FROM units")).scalar_one()
        assert stored.startswith("2026-03-02 01:00:00")
        session.expunge_all()
        loaded = session.scalars(select(Unit)).one()
        assert loaded.created_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        assert loaded.created_at.utcoffset() == timedelta(0)

    def test_query_parameters_are_converted_too(self, session: Session) -> None:
        unit = add_unit(session)
        unit.created_at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
        session.commit()
        # 08:00 in Vietnam is 01:00 UTC: before the row. Compared as wall-clock text
        # without conversion, "08:00" would sort after "01:30" and match.
        before = select(Unit).where(Unit.created_at < datetime(2026, 3, 2, 8, 0, tzinfo=ICT))
        after = select(Unit).where(Unit.created_at < datetime(2026, 3, 2, 9, 0, tzinfo=ICT))
        assert session.scalars(before).all() == []
        assert session.scalars(after).all() == [unit]

    def test_naive_values_are_refused(self, session: Session) -> None:
        unit = add_unit(session)
        unit.created_at = datetime(2026, 3, 2, 8, 0)  # naive: the point of the test
        with pytest.raises(StatementError, match="naive"):
            session.flush()
