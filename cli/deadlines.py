"""``minhbach deadlines refresh``: recompute every case's stored deadlines.

Run after an upgrade that changes how deadlines are counted, or after editing a profile
file (a corrected figure, a new holiday rule). Safe to run at any time.
"""

from __future__ import annotations

import click

from casework.dates import unit_today
from casework.deadline_refresh import refresh_all
from cli.runtime import Runtime, find_unit, pass_runtime


@click.group()
def deadlines() -> None:
    """Deadlines computed from each unit's policy profile."""


@deadlines.command("refresh")
@click.option("--unit", "slug", help="Only this unit's cases (slug).")
@pass_runtime
def refresh(runtime: Runtime, slug: str | None) -> None:
    """Recompute the deadlines of every case that is not purged."""
    with runtime.session() as session:
        unit = None if slug is None else find_unit(session, slug)
        count = refresh_all(session, unit_today(), unit)
        session.commit()
    click.echo(f"recomputed the deadlines of {count} case(s)")
