"""Column types shared by the models: UTC timestamps and string-stored enumerations."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum
from sqlalchemy.types import TypeDecorator

# The largest integer an id column holds (SQL BIGINT, SQLite INTEGER): a larger number
# from a request can name no row, and would overflow the query's parameter.
MAX_ID = 2**63 - 1

# Every enumeration column has the same width, so a later value up to this length needs a
# new CHECK constraint but never a wider column (a table rebuild on SQLite).
ENUM_LENGTH = 32


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, always stored and returned in UTC.

    SQLite has no time zone type: SQLAlchemy writes the wall-clock fields and drops the
    offset, so 10:00+07:00 would silently become 10:00 UTC. Converting every bound value
    (inserts and query parameters alike) to UTC first, and refusing naive values whose
    zone is unknown, keeps SQLite and PostgreSQL equivalent.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        # TypeDecorator reports ``object`` otherwise; introspection should see datetimes.
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: the store only accepts timezone-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # SQLite returns what was written, which process_bind_param made UTC.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR holding the enum's *values* with a named CHECK listing them.

    Not a native (PostgreSQL) enum type: a new value is then one CHECK constraint change
    on both backends. ``name`` becomes the CHECK constraint's name through the naming
    convention (``ck_<table>_<name>``).
    """

    def values(members: Any) -> list[str]:
        return [member.value for member in members]

    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=ENUM_LENGTH,
        values_callable=values,
    )
