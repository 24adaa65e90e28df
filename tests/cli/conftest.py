"""CLI fixtures: a private instance folder per test, driven through click's CliRunner.

Settings come from the environment exactly as in production; only Argon2id is lowered,
through the documented variables. The database is a copy of the session's migrated
template (tests/conftest.py); ``test_init.py`` exercises the real migration.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session, sessionmaker

from cli import cli
from store.db import make_engine, session_factory
from store.fs import create_private_dirs
from tests.cli.helpers import Invoke

FAST_ARGON2 = "1,8"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance folder that does not exist yet, and an environment pointing at it."""
    for name in list(os.environ):
        if name.startswith("MINHBACH_"):
            monkeypatch.delenv(name)
    path = tmp_path / "instance"
    monkeypatch.setenv("MINHBACH_INSTANCE", str(path))
    monkeypatch.setenv("MINHBACH_PASSPHRASE_ARGON2", FAST_ARGON2)
    monkeypatch.setenv("MINHBACH_CODE_ARGON2", FAST_ARGON2)
    return path


@pytest.fixture
def initialised(instance: Path, migrated_template: Path) -> Path:
    """The instance with a database at head, as `minhbach init` leaves it."""
    create_private_dirs(instance)
    shutil.copyfile(migrated_template, instance / "minhbach.sqlite3")
    return instance


@pytest.fixture
def invoke() -> Invoke:
    """Run ``minhbach ARGS`` in-process; ``input`` is what the user types."""
    runner = CliRunner()

    def run(
        *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        return runner.invoke(cli, list(args), input=input, env=env)

    return run


@pytest.fixture
def database(initialised: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on the instance's database, to check what the commands stored.

    Open one after the commands ran (``with database() as session:``): a session that has
    read already keeps its snapshot.
    """
    engine = make_engine(f"sqlite:///{initialised / 'minhbach.sqlite3'}")
    yield session_factory(engine)
    engine.dispose()
