"""A fresh PostgreSQL database of its own, for tests and benchmarks that need the
production database.

The server is ``MINHBACH_TEST_POSTGRES_URL``, which ``scripts/with-services`` (run by
``make test``) sets to a throwaway cluster; every caller gets a database nobody else
uses (tests run in parallel), dropped when it is done.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, Engine, create_engine, make_url, text

from store.db import make_engine, upgrade_to_head

SERVER_VARIABLE = "MINHBACH_TEST_POSTGRES_URL"
NOT_SET = f"set {SERVER_VARIABLE} (scripts/with-services does) to run on PostgreSQL"


def server_url() -> URL | None:
    raw = os.environ.get(SERVER_VARIABLE)
    return None if not raw else make_url(raw)


@contextmanager
def fresh_database(server: URL, prefix: str = "minhbach_test") -> Iterator[URL]:
    """Create an empty database on ``server``; yield its URL; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex}"
    # pre_ping: the server may have restarted meanwhile (a test that stops it does).
    admin = create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name)
        finally:
            with admin.connect() as connection:
                # Connections a killed process left behind must not keep it alive.
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def migrated_engine(server: URL) -> Iterator[Engine]:
    """An engine on a fresh database of ``server`` migrated to the newest revision."""
    with fresh_database(server) as url:
        engine = make_engine(url)
        try:
            upgrade_to_head(engine)
            yield engine
        finally:
            engine.dispose()
