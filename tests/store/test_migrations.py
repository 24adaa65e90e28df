"""The Alembic revisions build exactly the schema the models describe, and undo it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    inspect,
    text,
)

from store.db import (
    MIGRATIONS_PATH,
    alembic_config,
    current_revision,
    downgrade_to,
    head_revision,
    make_engine,
    upgrade_to_head,
)
from store.models import Base
from tests import postgres
from tests.store.factories import sqlite_url

# PostgreSQL truncates longer identifiers silently: the names would then differ from the
# models' and every later comparison would report drift.
POSTGRES_MAX_IDENTIFIER = 63


def schema_diff(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def application_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path / "empty.sqlite3"))
        try:
            yield engine
        finally:
            engine.dispose()
        return
    server = postgres.server_url()
    if server is None:
        pytest.skip(postgres.NOT_SET)
    with postgres.fresh_database(server) as url:
        engine = make_engine(url)
        try:
            assert application_tables(engine) == set(), "the test database must start empty"
            yield engine
        finally:
            engine.dispose()


def test_head_matches_the_models_exactly(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade_to_head(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    with empty_engine.connect() as connection:
        assert schema_diff(connection, Base.metadata) == []


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(
    empty_engine: Engine,
) -> None:
    upgrade_to_head(empty_engine)
    downgrade_to(empty_engine, "base")
    assert application_tables(empty_engine) == set()
    assert current_revision(empty_engine) is None
    upgrade_to_head(empty_engine)
    assert application_tables(empty_engine) == set(Base.metadata.tables)
    assert current_revision(empty_engine) == head_revision()


def test_the_drift_check_does_notice_drift(engine: Engine) -> None:
    # Guard for the test above: a comparison that never reports anything proves nothing.
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    cases = drifted.tables["cases"]
    cases.append_column(Column("added_later", Integer, nullable=True))
    Index("ix_cases_urgent", cases.c.urgent)
    with engine.connect() as connection:
        diff = schema_diff(connection, drifted)
    assert sorted(entry[0] for entry in diff) == ["add_column", "add_index"]  # type: ignore[index]


def _check_constraints(engine: Engine) -> dict[str, str]:
    reflected: dict[str, str] = {}
    schema = inspect(engine)
    for table in schema.get_table_names():
        for check in schema.get_check_constraints(table):
            reflected[str(check["name"])] = _normal(check["sqltext"])
    return reflected


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_check_constraints_match_the_models(engine: Engine) -> None:
    # Alembic's comparison skips CHECK constraints, and they carry the rules that matter
    # most here (key sizes, "no time for reporter events"): compare them by name and text.
    expected: dict[str, str] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                sql = constraint.sqltext.compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
                # The DDL names columns without their table, as in "track IN (...)".
                unqualified = str(sql).replace(f"{table.name}.", "")
                expected[str(constraint.name)] = _normal(unqualified)
    assert _check_constraints(engine) == expected
    assert len(expected) > 30


def test_generated_names_fit_postgresql(engine: Engine) -> None:
    schema = inspect(engine)
    names: list[str] = []
    for table in schema.get_table_names():
        names.append(table)
        names += [str(ix["name"]) for ix in schema.get_indexes(table)]
        names += [str(uq["name"]) for uq in schema.get_unique_constraints(table)]
        names += [str(fk["name"]) for fk in schema.get_foreign_keys(table)]
        names += [str(ck["name"]) for ck in schema.get_check_constraints(table)]
    assert "None" not in names, "every constraint is named"
    too_long = [name for name in names if len(name) > POSTGRES_MAX_IDENTIFIER]
    assert too_long == []


def test_revisions_form_one_line_with_readable_file_names() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [head_revision()]
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    for revision in revisions:
        name = Path(str(revision.path)).name
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", name), name
        assert name.startswith(f"{revision.revision}_")
    assert Path(str(revisions[0].path)).parent == MIGRATIONS_PATH / "versions"


def test_migrations_need_neither_an_ini_file_nor_a_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini here, no migrations folder
    url = sqlite_url(tmp_path / "from-url.sqlite3")
    upgrade_to_head(url)
    assert current_revision(url) == head_revision()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert versions.scalars().all() == [head_revision()]
    finally:
        engine.dispose()
