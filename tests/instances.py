"""A fresh instance for the apps under gunicorn: a migrated database (SQLite, or a
PostgreSQL database of its own), a unit whose people hold known keys and credentials, and
the environment that points the apps at it and nothing else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL

from casework.settings import Settings
from store.db import make_engine, session_factory, upgrade_to_head
from tests import postgres
from tests.review.conftest import Account, give_credentials
from tests.worlds import World, build_world

DATABASES = ("sqlite", "postgresql")
# Costs a caller may lower for a run through the settings (the test suite does).
PASSED_THROUGH = ("MINHBACH_CODE_ARGON2", "MINHBACH_PASSPHRASE_ARGON2", "MINHBACH_POW_DIFFICULTY")
# Far above any run's rates; the limiter still runs on every request.
RATE_LIMIT_SCALE = 1000


@dataclass
class Instance:
    root: Path
    database_url: str
    world: World
    accounts: dict[str, Account]

    @property
    def env(self) -> dict[str, str]:
        # Only our settings, plus the costs the caller chose: a MINHBACH_* variable of the
        # caller's shell (a blob folder, a Redis) must not point the run at real data.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
        env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
        env.update(
            MINHBACH_INSTANCE=str(self.root / "instance"),
            MINHBACH_DATABASE_URL=self.database_url,
            MINHBACH_RATE_LIMIT_SCALE=str(RATE_LIMIT_SCALE),
            MINHBACH_DEFAULT_LANGUAGE="en",
        )
        return env

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @property
    def blob_root(self) -> Path:
        return self.settings.blob_path


@contextlib.contextmanager
def instance(database: str, root: Path, server: URL | None = None) -> Iterator[Instance]:
    """A migrated database with a unit whose people hold known keys and credentials.

    PostgreSQL: a fresh database on ``server``, or on the suite's (``tests.postgres``).
    """
    with _database_url(database, root, server) as url:
        yield populated(url, root)


def populated(url: str, root: Path) -> Instance:
    """The instance of the empty or migrated database at ``url``: migrated, with the unit."""
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        with session_factory(engine)() as session:
            world = build_world(session)
            accounts = give_credentials(session, world)
            session.expunge_all()
    finally:
        engine.dispose()
    return Instance(root, url, world, accounts)


@contextlib.contextmanager
def _database_url(database: str, root: Path, server: URL | None) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{root / 'instance' / 'minhbach.sqlite3'}"
        return
    server = server or postgres.server_url()
    if server is None:
        raise RuntimeError(postgres.NOT_SET)
    with postgres.fresh_database(server, "minhbach_run") as url:
        yield url.render_as_string(hide_password=False)
