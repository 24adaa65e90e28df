"""``minhbach database grant``: give the two apps' PostgreSQL roles what they need, no more.

The grants are data (``deploy/postgres/grants.toml``, explained in that folder's README);
this turns them into SQL against the live catalogue and applies it in one transaction, as
the role that owns the schema. Running it again converges: everything the two roles held
is revoked first, row security is switched on or off to match, and this command's own
policies (``minhbach_*``) are dropped and made again. A table the file does not name
refuses the run, so that a migration's new table is never left to a default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, text

from cli.runtime import Runtime, pass_runtime
from store.db import is_sqlite

GRANTS_FILE = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "grants.toml"
POLICY_PREFIX = "minhbach_"
ROLES = ("submit", "review")
_PRIVILEGE = re.compile(
    r"(SELECT|INSERT|UPDATE|DELETE)(?: \(([a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*)\))?"
)
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_KEYS = {"why", "submit", "review", "submit_rows", "submit_new_rows"}


class GrantsError(click.ClickException):
    """The grants file, the database or the roles are not as the command needs them."""


@dataclass(frozen=True)
class Privilege:
    action: str  # SELECT, INSERT, UPDATE or DELETE
    columns: tuple[str, ...]  # empty: the whole table


@dataclass(frozen=True)
class TableGrants:
    name: str
    privileges: Mapping[str, tuple[Privilege, ...]]  # by role: "submit", "review"
    submit_rows: str | None  # row security for the submit role, or None: none
    submit_new_rows: str | None

    def actions(self, role: str) -> set[str]:
        return {privilege.action for privilege in self.privileges[role]}


def load_grants(path: Path = GRANTS_FILE) -> dict[str, TableGrants]:
    """The grants of every table the file names (raises GrantsError when malformed)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise GrantsError(f"cannot read the grants in {path}: {error}") from None
    tables = document.get("tables")
    if not isinstance(tables, dict) or set(document) != {"tables"}:
        raise GrantsError(f"{path}: expected [tables.<name>] sections only")
    return {name: _table(name, entry) for name, entry in tables.items()}


def _table(name: str, entry: Any) -> TableGrants:
    if not isinstance(entry, dict) or not set(entry) <= _KEYS or not set(ROLES) <= set(entry):
        raise GrantsError(f"table {name}: give `submit` and `review` lists (and only {_KEYS})")
    rows, new_rows = entry.get("submit_rows"), entry.get("submit_new_rows")
    if not (rows is None or isinstance(rows, str)) or not (
        new_rows is None or isinstance(new_rows, str)
    ):
        raise GrantsError(f"table {name}: row expressions are strings")
    if new_rows is not None and rows is None:
        raise GrantsError(f"table {name}: submit_new_rows without submit_rows")
    privileges = {role: tuple(_privilege(name, item) for item in entry[role]) for role in ROLES}
    return TableGrants(name, privileges, rows, new_rows if new_rows is not None else rows)


def _privilege(table: str, item: Any) -> Privilege:
    match = _PRIVILEGE.fullmatch(item) if isinstance(item, str) else None
    if match is None:
        raise GrantsError(f"table {table}: {item!r} is not SELECT/INSERT/UPDATE/DELETE [(cols)]")
    columns = tuple(match.group(2).split(", ")) if match.group(2) else ()
    return Privilege(match.group(1), columns)


# --- SQL -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """What the database holds, as far as the grants are concerned."""

    schema: str
    columns: Mapping[str, frozenset[str]]  # table -> its columns
    sequences: Mapping[str, tuple[str, ...]]  # table -> sequences its columns own
    policies: Mapping[str, tuple[str, ...]]  # table -> this command's policies on it


def statements(
    grants: Mapping[str, TableGrants], catalogue: Catalogue, roles: Mapping[str, str]
) -> list[str]:
    """The SQL that gives ``roles`` (by part: "submit", "review") exactly ``grants``."""
    _check_coverage(grants, catalogue)
    who = {part: _quote(name) for part, name in roles.items()}
    both = f"{who['submit']}, {who['review']}"
    schema = _quote(catalogue.schema)
    sql = [
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC, {both}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {both}",
        f"GRANT USAGE ON SCHEMA {schema} TO {both}",
    ]
    for name in sorted(grants):
        table = grants[name]
        target = f"{schema}.{_quote(name)}"
        for part in ROLES:
            for privilege in table.privileges[part]:
                sql.append(f"GRANT {_render(privilege)} ON {target} TO {who[part]}")
            if "INSERT" in table.actions(part):
                sql += [
                    f"GRANT USAGE ON SEQUENCE {schema}.{_quote(sequence)} TO {who[part]}"
                    for sequence in catalogue.sequences.get(name, ())
                ]
        sql += [f"DROP POLICY {_quote(p)} ON {target}" for p in catalogue.policies.get(name, ())]
        sql += _row_security(table, target, who)
    return sql


def _row_security(table: TableGrants, target: str, who: Mapping[str, str]) -> list[str]:
    if table.submit_rows is None:
        return [f"ALTER TABLE {target} DISABLE ROW LEVEL SECURITY"]
    rows, new_rows = table.submit_rows, table.submit_new_rows
    submit, actions = who["submit"], table.actions("submit")
    sql = [
        f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_PREFIX}review ON {target} FOR ALL TO {who['review']}"
        " USING (true) WITH CHECK (true)",
        f"CREATE POLICY {POLICY_PREFIX}submit_select ON {target} FOR SELECT TO {submit}"
        f" USING ({rows})",
    ]
    if "INSERT" in actions:
        sql.append(
            f"CREATE POLICY {POLICY_PREFIX}submit_insert ON {target} FOR INSERT TO {submit}"
            f" WITH CHECK ({new_rows})"
        )
    if "UPDATE" in actions:
        sql.append(
            f"CREATE POLICY {POLICY_PREFIX}submit_update ON {target} FOR UPDATE TO {submit}"
            f" USING ({rows}) WITH CHECK ({new_rows})"
        )
    if "DELETE" in actions:
        sql.append(
            f"CREATE POLICY {POLICY_PREFIX}submit_delete ON {target} FOR DELETE TO {submit}"
            f" USING ({rows})"
        )
    return sql


def _check_coverage(grants: Mapping[str, TableGrants], catalogue: Catalogue) -> None:
    unlisted = sorted(set(catalogue.columns) - set(grants))
    if unlisted:
        raise GrantsError(
            f"no grants for table(s) {', '.join(unlisted)}: add them to {GRANTS_FILE.name}"
            " (a new migration's tables stay closed to both apps until listed)"
        )
    missing = sorted(set(grants) - set(catalogue.columns))
    if missing:
        raise GrantsError(
            f"table(s) {', '.join(missing)} are not in the database: migrate it first "
            "(`minhbach init`)"
        )
    for table in grants.values():
        for part in ROLES:
            for privilege in table.privileges[part]:
                unknown = set(privilege.columns) - catalogue.columns[table.name]
                if unknown:
                    raise GrantsError(f"table {table.name} has no column(s) {sorted(unknown)}")


def _render(privilege: Privilege) -> str:
    if not privilege.columns:
        return privilege.action
    return f"{privilege.action} ({', '.join(_quote(c) for c in privilege.columns)})"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# --- the catalogue ---------------------------------------------------------------------------


_COLUMNS = (
    "SELECT c.relname, a.attname FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')"
)
# Sequences a table's columns own (serial) or use (identity): inserting needs their USAGE.
_SEQUENCES = (
    "SELECT t.relname, s.relname FROM pg_class s"
    " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass"
    " AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " JOIN pg_namespace n ON n.oid = s.relnamespace"
    " WHERE s.relkind = 'S' AND n.nspname = :schema"
)
_POLICIES = (
    "SELECT tablename, policyname FROM pg_policies"
    " WHERE schemaname = :schema AND policyname LIKE :prefix"
)


def read_catalogue(connection: Connection) -> Catalogue:
    schema = str(connection.scalar(text("SELECT current_schema()")))
    where = {"schema": schema, "prefix": POLICY_PREFIX + "%"}

    def by_table(sql: str) -> dict[str, tuple[str, ...]]:
        grouped: dict[str, list[str]] = {}
        for table, name in connection.execute(text(sql), where):
            grouped.setdefault(table, []).append(name)
        return {table: tuple(sorted(names)) for table, names in grouped.items()}

    columns = by_table(_COLUMNS)
    return Catalogue(
        schema,
        {table: frozenset(names) for table, names in columns.items()},
        by_table(_SEQUENCES),
        by_table(_POLICIES),
    )


def check_roles(
    connection: Connection, roles: Mapping[str, str], owner_tables: Iterable[str]
) -> None:
    """Refuse roles that are missing, the same, this role, or above row security, and a
    connection that does not own the tables (only the owner may grant on them)."""
    others = connection.scalars(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename = ANY(:tables) AND tableowner <> current_user"
        ),
        {"tables": list(owner_tables)},
    ).all()
    if others:
        raise GrantsError(
            f"connected as {_me(connection)}, which does not own {', '.join(sorted(others))}: "
            "run this as the migration role that owns the schema"
        )
    names = list(roles.values())
    for name in names:
        if not _ROLE_NAME.fullmatch(name):
            raise GrantsError(f"{name!r} is not a plain PostgreSQL role name (a-z, 0-9, _)")
    if len(set(names)) != len(names) or _me(connection) in names:
        raise GrantsError("the submit role, the review role and the owner must be three roles")
    found = {
        row.rolname: row
        for row in connection.execute(
            text(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(:names)"
            ),
            {"names": names},
        )
    }
    for name in names:
        if name not in found:
            raise GrantsError(
                f"there is no role {name}: create it first (deploy/postgres/README.md)"
            )
        if found[name].rolsuper or found[name].rolbypassrls:
            raise GrantsError(f"role {name} is a superuser or bypasses row security")


def _me(connection: Connection) -> str:
    return str(connection.scalar(text("SELECT current_user")))


# --- the command -----------------------------------------------------------------------------


@click.group()
def database() -> None:
    """PostgreSQL roles of the two apps."""


@database.command()
@click.option("--submit-role", required=True, help="The public (submit) app's login role.")
@click.option("--review-role", required=True, help="The review app's login role.")
@click.option(
    "--grants",
    "grants_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=GRANTS_FILE,
    show_default=True,
    help="The grants table.",
)
@click.option("--print-sql", is_flag=True, help="Print the statements instead of applying them.")
@pass_runtime
def grant(
    runtime: Runtime, submit_role: str, review_role: str, grants_path: Path, print_sql: bool
) -> None:
    """Grant each app's role exactly what deploy/postgres/grants.toml lists.

    Run as the role that owns the schema, after `minhbach init` and again after every
    migration. Safe to run again.
    """
    if is_sqlite(runtime.settings.database_url):
        raise GrantsError("roles exist on PostgreSQL only; SQLite has none to grant")
    grants = load_grants(grants_path)
    roles = {"submit": submit_role, "review": review_role}
    with runtime.engine().connect() as connection:
        # Before reading the schema's revision, which a role other than the owner may not.
        check_roles(connection, roles, read_catalogue(connection).columns)
    engine = runtime.migrated_engine()
    with engine.connect() as connection, connection.begin():
        sql = statements(grants, read_catalogue(connection), roles)
        if print_sql:
            click.echo(";\n".join(sql) + ";")
            return
        for statement in sql:
            connection.exec_driver_sql(statement)
    secured = sorted(name for name, table in grants.items() if table.submit_rows is not None)
    click.echo(
        f"Granted {len(grants)} tables to {submit_role} (submit) and {review_role} (review)."
    )
    click.echo(f"Row security for {submit_role} on: {', '.join(secured)}")
