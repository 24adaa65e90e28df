"""The two apps' PostgreSQL roles, for tests: made with names of their own (roles belong to
the whole cluster and tests run in parallel), granted by the real command, dropped after."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from click.testing import CliRunner
from sqlalchemy import URL, Connection, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from cli import cli
from tests.cli.helpers import assert_ok


@dataclass(frozen=True)
class Roles:
    submit: str
    review: str

    def options(self) -> list[str]:
        return ["--submit-role", self.submit, "--review-role", self.review]


@contextlib.contextmanager
def app_roles(server: URL) -> Iterator[Roles]:
    """Two login roles, neither superuser; dropped once the caller's databases are gone."""
    tag = uuid.uuid4().hex[:12]
    roles = Roles(f"minhbach_submit_{tag}", f"minhbach_review_{tag}")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for role in (roles.submit, roles.review):
                connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        yield roles
    finally:
        with admin.connect() as connection:
            for role in (roles.submit, roles.review):
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@contextlib.contextmanager
def owned_database(server: URL, roles: Roles) -> Iterator[str]:
    """A database made as deploy/postgres/README.md says ("Creating the roles"): owned by
    a login role of its own that is no superuser, closed to PUBLIC, open to the two app
    roles for CONNECT only. Yields the owner's URL; drops both afterwards."""
    tag = uuid.uuid4().hex[:12]
    owner, name = f"minhbach_owner_{tag}", f"minhbach_hosts_{tag}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in (
                f'CREATE ROLE "{owner}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE',
                f'CREATE DATABASE "{name}" OWNER "{owner}"',
                f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC',
                f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{owner}"',
                f'GRANT CONNECT ON DATABASE "{name}" TO "{roles.submit}", "{roles.review}"',
            ):
                connection.execute(text(statement))
        url = server.set(username=owner, password=None, database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


def as_role(database_url: str, role: str) -> str:
    """The database's URL, connecting as ``role`` (the test cluster trusts its socket)."""
    url = make_url(database_url).set(username=role, password=None)
    return url.render_as_string(hide_password=False)


def grant(database_url: str, roles: Roles, *extra: str) -> str:
    """``minhbach database grant`` as the owner; its output, after checking it succeeded."""
    env = {"MINHBACH_DATABASE_URL": database_url}
    return assert_ok(
        CliRunner().invoke(cli, ["database", "grant", *roles.options(), *extra], env=env)
    )


def refusal(connection: Connection, sql: str, **params: object) -> str | None:
    """The SQLSTATE PostgreSQL refused ``sql`` with, or None if it ran (rolled back)."""
    transaction = connection.begin()
    try:
        connection.execute(text(sql), params)
    except DBAPIError as error:
        return str(getattr(error.orig, "sqlstate", "?"))
    finally:
        transaction.rollback()
    return None


def rows(
    connection: Connection, sql: str, scope: dict[str, str] | None = None
) -> list[tuple[object, ...]]:
    """The rows ``sql`` returns in a transaction that first names ``scope`` (setting ->
    value), as casework.scope does."""
    with connection.begin() as transaction:
        for setting, value in (scope or {}).items():
            connection.execute(text("SELECT set_config(:s, :v, true)"), {"s": setting, "v": value})
        found = [tuple(row) for row in connection.execute(text(sql))]
        transaction.rollback()
    return found
