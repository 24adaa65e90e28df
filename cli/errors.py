"""One place that turns expected failures into a one-line message and a non-zero exit.

Commands raise ``click.ClickException`` (or a subclass) for what they check themselves;
everything else that bad input or a missing database can cause is translated here, in
``GuardedGroup.invoke``, so no command repeats the handling and no operator sees a
traceback. Unexpected exceptions (bugs) are left alone so they stay visible.

No message built here contains a secret: database errors are reduced to the first line of
the driver's message (SQLAlchemy's own text would include the statement's parameters, and
PostgreSQL's DETAIL lines echo whole rows, TOTP secret included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from alembic.util.exc import CommandError
from sqlalchemy.exc import DBAPIError, IntegrityError

from casework.settings import ConfigError
from crypto import CryptoError
from store.db import MigrationError

NOT_INITIALISED = "the database is not initialised: run `minhbach init` first"

# Unique constraints people can hit by typing a name that is taken, as SQLite
# ("table.column") and PostgreSQL (constraint name) report them.
_DUPLICATES = {
    ("units.slug", "uq_units_slug"): "a unit with this slug already exists",
    ("inspectors.username", "uq_inspectors_username"): "this user name is already taken",
}


class FileProblem(click.ClickException):
    """A file named on the command line cannot be used. Never shows the file's content."""


def driver_message(exc: DBAPIError) -> str:
    """The first line of the database driver's own message: no SQL, no parameters."""
    text = str(exc.orig).strip() if exc.orig is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_table(exc: DBAPIError) -> bool:
    message = driver_message(exc).lower()
    return "no such table" in message or ("relation" in message and "does not exist" in message)


def _integrity(exc: IntegrityError) -> str:
    message = driver_message(exc)
    for markers, friendly in _DUPLICATES.items():
        if any(marker in message for marker in markers):
            return friendly
    return f"the database refused the change: {message}"


def _database(exc: DBAPIError) -> str:
    if _missing_table(exc):
        return NOT_INITIALISED
    return f"database error: {driver_message(exc)}"


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or type(exc).__name__}"


# Most specific first: the first matching type wins.
_TRANSLATIONS: tuple[tuple[type[BaseException], Callable[[Any], str]], ...] = (
    (ConfigError, lambda exc: f"configuration error: {exc}"),
    (IntegrityError, _integrity),
    (DBAPIError, _database),  # OperationalError, ProgrammingError and the rest
    (MigrationError, lambda exc: f"migration failed and was rolled back: {exc}"),
    (CommandError, lambda exc: f"migration failed: {exc}"),
    # Crypto messages describe what is wrong, never a key or a passphrase (crypto/errors.py).
    (CryptoError, str),
    (OSError, _os_error),
)


def translate(exc: BaseException) -> click.ClickException | None:
    """The message an operator should see for ``exc``, or None for an unexpected error."""
    for kind, message in _TRANSLATIONS:
        if isinstance(exc, kind):
            return click.ClickException(message(exc))
    return None


class GuardedGroup(click.Group):
    """The root group: every subcommand runs inside its ``invoke``, so this covers them all."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # output piped into e.g. `head`: click's main handles this quietly
        except Exception as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise translated from None
