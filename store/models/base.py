"""The declarative base and the constraint naming convention.

Named constraints give Alembic stable names to compare, alter and drop; the same names on
SQLite and PostgreSQL keep migrations identical on both. Every generated name must fit
PostgreSQL's 63-character identifier limit (a test checks).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def byte_length(column: str, size: int) -> str:
    """SQL for a CHECK that a binary column holds exactly ``size`` bytes (or is NULL).

    ``length()`` counts bytes of a BLOB in SQLite and of a bytea in PostgreSQL.
    """
    return f"{column} IS NULL OR length({column}) = {size}"
