"""Where an instance keeps its data: the instance folder and the database, from the
environment.

Both the application settings and Alembic's own command line (a developer writing a
migration) need the same database, so the rule lives here, below them both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

INSTANCE_VARIABLE = "MINHBACH_INSTANCE"
DATABASE_URL_VARIABLE = "MINHBACH_DATABASE_URL"
DATABASE_FILE = "minhbach.sqlite3"


def instance_path(environ: Mapping[str, str]) -> Path:
    """The instance folder: ``MINHBACH_INSTANCE``, or ``./instance``."""
    return Path(environ.get(INSTANCE_VARIABLE, "instance")).resolve()


def database_url(environ: Mapping[str, str]) -> str:
    """``MINHBACH_DATABASE_URL``, or the embedded SQLite file in the instance folder."""
    default = f"sqlite:///{instance_path(environ) / DATABASE_FILE}"
    return environ.get(DATABASE_URL_VARIABLE, default)
