"""Option validation shared by the commands, so bad input fails before anything is written.

Where the store already defines a rule (a slug's pattern, a column's length), the check
here asks the store instead of repeating it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy import String, inspect

from casework.categories import DEFAULT_CATEGORIES, InvalidCategory, validate_categories
from store.models import Base

Callback = Callable[[click.Context, click.Parameter, Any], Any]


def model_field(model: type[Base], field: str) -> Callback:
    """Validate (and normalise) a value with the model's own ``@validates`` rule.

    Building a transient object runs the validator without touching a session; its
    ValueError carries a message written for people (e.g. what a slug may contain).
    """

    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            instance = model(**{field: value})
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        return getattr(instance, field)

    return callback


def column_text(model: type[Base], column: str) -> Callback:
    """Non-blank text, stripped, no longer than the column allows.

    SQLite ignores VARCHAR lengths but PostgreSQL enforces them; checking here gives the
    same clear refusal on both instead of a database error on one.
    """
    column_type = inspect(model).columns[column].type
    limit = column_type.length if isinstance(column_type, String) else None

    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        text = value.strip()
        if not text:
            raise click.BadParameter("must not be empty")
        if limit is not None and len(text) > limit:
            raise click.BadParameter(f"at most {limit} characters ({len(text)} given)")
        return text

    return callback


def categories(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> Any:
    """``--category`` given zero times means the default list from DOMAIN.md."""
    if not value:
        return DEFAULT_CATEGORIES
    try:
        return validate_categories(value)
    except InvalidCategory as exc:
        raise click.BadParameter(str(exc)) from None


def http_url(_ctx: click.Context, _param: click.Parameter, value: str) -> Any:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")
