"""`minhbach init`: private instance folder, real migration, database shown without secrets."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.runtime import describe_database
from store.db import current_revision, head_revision
from tests.cli.helpers import Invoke, assert_ok, assert_refused


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: privacy must come from the code, not from a friendly umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_init_creates_a_private_instance_and_migrates_to_head(
    invoke: Invoke, instance: Path
) -> None:
    output = assert_ok(invoke("init"))

    database = instance / "minhbach.sqlite3"
    assert mode(instance) == 0o700
    assert mode(database) == 0o600
    assert current_revision(f"sqlite:///{database}") == head_revision()
    assert f"Database: {database} (SQLite)" in output
    assert f"Schema: migrated from an empty database to revision {head_revision()}" in output
    assert "Warning" not in output


def test_init_again_changes_nothing_and_says_so(invoke: Invoke, instance: Path) -> None:
    assert_ok(invoke("init"))
    output = assert_ok(invoke("init"))
    assert f"already at revision {head_revision()}" in output


def test_init_warns_when_an_existing_instance_folder_is_shared(
    invoke: Invoke, instance: Path
) -> None:
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    result = invoke("init")
    assert_ok(result)
    assert f"{instance} is accessible to other users (mode 0755)" in result.stderr
    assert mode(instance) == 0o755  # the operator's choice is reported, not overridden


def test_database_url_password_is_never_shown() -> None:
    shown = describe_database("postgresql+psycopg://minhbach:s3cr%40t@db.internal:5432/minhbach")
    assert shown == "postgresql+psycopg://minhbach:***@db.internal:5432/minhbach"
    in_query = describe_database("postgresql://db.internal/minhbach?user=a&password=s3cret")
    assert in_query == "postgresql://db.internal/minhbach?user=a"


def test_unreachable_database_is_reported_without_its_password(
    invoke: Invoke, instance: Path
) -> None:
    url = "postgresql+psycopg://minhbach:s3cret@127.0.0.1:1/minhbach"
    output = assert_refused(invoke("init", env={"MINHBACH_DATABASE_URL": url}))
    assert "s3cret" not in output
    assert "Error:" in output


def test_a_database_file_that_cannot_be_opened_is_a_clear_error(
    invoke: Invoke, instance: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "not-a-file"
    directory.mkdir()
    result = invoke("init", env={"MINHBACH_DATABASE_URL": f"sqlite:///{directory}"})
    assert_refused(result, "database error: unable to open database file")
