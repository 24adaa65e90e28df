"""``minhbach init``: create the instance folder and bring the database to the current schema."""

from __future__ import annotations

import stat
from dataclasses import dataclass

import click

from cli.runtime import Runtime, describe_database, pass_runtime
from store.db import current_revision, upgrade_to_head
from store.fs import create_private_dirs


@dataclass(frozen=True)
class Migration:
    before: str | None
    after: str


def migrate(runtime: Runtime) -> Migration:
    """Create the instance folder (0700) and migrate to head; safe to run again."""
    create_private_dirs(runtime.settings.instance_path)
    engine = runtime.engine()
    before = current_revision(engine)
    upgrade_to_head(engine)
    after = current_revision(engine)
    if after is None:  # upgrade_to_head would have raised; this keeps the type honest
        raise click.ClickException("the migration did not record a revision")
    return Migration(before, after)


@click.command()
@pass_runtime
def init(runtime: Runtime) -> None:
    """Create the instance folder and create or migrate the database."""
    migration = migrate(runtime)
    settings = runtime.settings
    click.echo(f"Instance folder: {settings.instance_path}")
    _warn_if_shared(runtime)
    click.echo(f"Database: {describe_database(settings.database_url)}")
    if migration.before == migration.after:
        click.echo(f"Schema: already at revision {migration.after} (current)")
    else:
        origin = f"revision {migration.before}" if migration.before else "an empty database"
        click.echo(f"Schema: migrated from {origin} to revision {migration.after}")


def _warn_if_shared(runtime: Runtime) -> None:
    # create_private_dirs leaves an existing folder as the operator made it; say so when
    # others can read the database and demo credentials in it.
    path = runtime.settings.instance_path
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        click.echo(
            f"Warning: {path} is accessible to other users (mode {mode:04o}); "
            f"`chmod 700 {path}` makes it private.",
            err=True,
        )
