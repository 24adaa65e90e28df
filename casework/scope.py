"""Which case a session of the public side is about, told to PostgreSQL's row security.

In production the submit app connects as a role that may not list cases
(deploy/postgres/README.md): row-level security shows it only a case whose public id or
40-bit lookup index the session has named here, and only that case's children. The
names are transaction-local settings (``set_config(..., true)``), so a pooled connection
never carries one request's case into another's; the session keeps them and sets them
again at the start of each of its transactions. SQLite has no row security: nothing is
sent there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session, SessionTransaction

# The settings the policies of deploy/postgres/grants.toml read.
CASE_SETTING = "minhbach.case"
LOOKUP_SETTING = "minhbach.lookup"
_INFO_KEY = "minhbach_scope"


def name_case(session: Session, public_id: str) -> None:
    """From now on this session may see the case ``public_id`` (and its children)."""
    _name(session, CASE_SETTING, public_id)


def name_lookup(session: Session, lookup_index: bytes) -> None:
    """From now on this session may see the cases whose lookup index is ``lookup_index``."""
    _name(session, LOOKUP_SETTING, lookup_index.hex())


def _name(session: Session, setting: str, value: str) -> None:
    scope: dict[str, str] = session.info.setdefault(_INFO_KEY, {})
    scope[setting] = value
    if session.in_transaction():
        _apply(session.connection(), {setting: value})
    # Otherwise the next transaction begins with it (_on_begin).


def _apply(connection: Connection, scope: dict[str, str]) -> None:
    if connection.dialect.name != "postgresql":
        return
    for setting, value in scope.items():
        connection.execute(
            text("SELECT set_config(:setting, :value, true)"),
            {"setting": setting, "value": value},
        )


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, _transaction: SessionTransaction, connection: Connection) -> Any:
    scope: dict[str, str] | None = session.info.get(_INFO_KEY)
    if scope:
        _apply(connection, scope)
