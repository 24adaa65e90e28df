"""``minhbach unit add|list|set-profile|set-retention|set-reception|set-superior``:
receiving units."""

from __future__ import annotations

from collections.abc import Sequence

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework import audit, reception
from casework.categories import validate_categories
from casework.dates import unit_today
from casework.deadline_refresh import change_profile
from casework.errors import CaseworkError
from casework.hierarchy import HierarchyError, set_superior
from casework.profiles import (
    DEFAULT_PROFILE,
    ProfileError,
    load_profile,
    profile_names,
    validate_profile,
)
from casework.retention import due_for_purge
from cli import params
from cli.output import print_table
from cli.runtime import Runtime, find_unit, pass_runtime
from crypto import fingerprint
from store.models import Inspector, Unit


def refuse_taken_slug(session: Session, slug: str) -> None:
    if session.scalar(select(Unit.id).where(Unit.slug == slug)) is not None:
        raise click.ClickException(f"a unit with slug {slug!r} already exists")


def create_unit(
    session: Session,
    *,
    slug: str,
    name: str,
    profile: str,
    categories: Sequence[str],
    reception_schedule: str = "",
    escrow_public_key: bytes | None = None,
    superior: Unit | None = None,
) -> Unit:
    """Add a unit to the session (not committed). Profile and categories are checked again
    here because not every caller comes through the command's options."""
    unit = Unit(
        slug=slug,
        name=name,
        profile=validate_profile(profile),
        categories=list(validate_categories(categories)),
        reception_schedule=reception_schedule,
        escrow_public_key=escrow_public_key,
        superior=superior,
    )
    session.add(unit)
    session.flush()
    return unit


def escrow_fingerprint(unit: Unit) -> str:
    return fingerprint(unit.escrow_public_key) if unit.escrow_public_key else "none"


@click.group()
def unit() -> None:
    """Receiving units: the bodies whose inspectors handle the reports sent to them."""


@unit.command("add")
@click.option(
    "--slug",
    required=True,
    callback=params.model_field(Unit, "slug"),
    help="Short name used in public URLs: lowercase letters, digits and hyphens.",
)
@click.option("--name", required=True, callback=params.column_text(Unit, "name"), help="Full name.")
@click.option(
    "--profile",
    type=click.Choice(profile_names()),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Policy profile: the law whose statuses and deadlines apply.",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    callback=params.categories,
    help="A report category slug; repeat for several. Default: the standard list.",
)
@click.option(
    "--reception-schedule",
    default="",
    help="Public text: when and where the unit receives citizens in person.",
)
@click.option(
    "--superior",
    "superior_slug",
    default=None,
    help="Slug of the directly superior unit, whose head answers escalations (LTC Art. 38).",
)
@pass_runtime
def add(
    runtime: Runtime,
    slug: str,
    name: str,
    profile: str,
    categories: tuple[str, ...],
    reception_schedule: str,
    superior_slug: str | None,
) -> None:
    """Create a receiving unit."""
    with runtime.session() as session:
        refuse_taken_slug(session, slug)
        superior = None if superior_slug is None else find_unit(session, superior_slug)
        create_unit(
            session,
            slug=slug,
            name=name,
            profile=profile,
            categories=categories,
            reception_schedule=reception_schedule.strip(),
            superior=superior,
        )
        session.commit()
    click.echo(f"Created unit {slug} ({name}), profile {profile}.")
    click.echo(f"Categories: {', '.join(categories)}")
    click.echo(_superior_sentence(slug, superior))
    click.echo(
        f"Next: `minhbach escrow create --unit {slug} --out PATH` for the offline escrow key, "
        "then `minhbach inspector add`."
    )


@unit.command("list")
@pass_runtime
def list_units(runtime: Runtime) -> None:
    """List the receiving units."""
    with runtime.session() as session:
        units = session.scalars(select(Unit).order_by(Unit.slug)).all()
        superiors = {unit.id: unit.superior.slug for unit in units if unit.superior}
        counts = dict(
            session.execute(
                select(Inspector.unit_id, func.count())
                .where(Inspector.active)
                .group_by(Inspector.unit_id)
            ).all()
        )
    if not units:
        click.echo("No units yet: `minhbach unit add --slug SLUG --name NAME` creates one.")
        return
    rows = [
        (
            unit.slug,
            unit.name,
            unit.profile,
            str(len(unit.categories)),
            str(counts.get(unit.id, 0)),
            superiors.get(unit.id, "-"),
            escrow_fingerprint(unit),
        )
        for unit in units
    ]
    print_table(("slug", "name", "profile", "categories", "users", "superior", "escrow key"), rows)


# A century: longer is a typing mistake, and would overflow date arithmetic long before
# the database noticed.
MAX_RETENTION_DAYS = 36_500
PROFILE_SET = "unit_profile_set"
SUPERIOR_SET = "unit_superior_set"
NO_SUPERIOR = "none"
RETENTION_SET = "unit_retention_set"


def retention_period(_ctx: click.Context, _param: click.Parameter, value: str) -> int | None:
    """DAYS as a whole number of days, or None for "default" (the profile's period)."""
    text = value.strip().lower()
    if text == "default":
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_RETENTION_DAYS:
        raise click.BadParameter(
            f"a whole number of days from 1 to {MAX_RETENTION_DAYS}, or 'default'"
        )
    return int(text)


@unit.command("set-retention")
@click.argument("slug")
@click.argument("days", callback=retention_period)
@pass_runtime
def set_retention(runtime: Runtime, slug: str, days: int | None) -> None:
    """Keep the unit's closed cases DAYS days before they are purged.

    DAYS "default" returns to the policy profile's period.
    """
    with runtime.session() as session:
        found = find_unit(session, slug)
        try:
            default = load_profile(found.profile).retention_days
        except ProfileError as error:
            raise click.ClickException(str(error)) from None
        previous = found.retention_days
        found.retention_days = days
        # Shortening the period destroys cases sooner: the log shows who did it and when.
        audit.append(
            session,
            actor=audit.CLI,
            action=RETENTION_SET,
            target=found.slug,
            details={"from": previous, "to": days},
        )
        session.flush()
        due = len(due_for_purge(session, unit_today(), found.id))
        session.commit()
    effective = f"{days} days" if days is not None else f"{default} days, the profile's default"
    click.echo(f"Unit {slug} keeps closed cases for {effective}.")
    if due:
        click.echo(
            f"{due} closed case(s) are due for purge now: "
            f"`minhbach retention purge --dry-run --unit {slug}` lists them."
        )


@unit.command("set-profile")
@click.argument("slug")
@click.argument("profile")
@pass_runtime
def set_profile(runtime: Runtime, slug: str, profile: str) -> None:
    """Make the unit follow PROFILE (a policy profile's name) and recompute its deadlines.

    Refused while some of the unit's cases are in a status the new profile lacks.
    """
    with runtime.session() as session:
        found = find_unit(session, slug)
        previous = found.profile
        try:
            count = change_profile(session, found, profile, unit_today())
        except ValueError as error:  # ProfileError is a ValueError too
            raise click.ClickException(str(error)) from None
        audit.append(
            session,
            actor=audit.CLI,
            action=PROFILE_SET,
            target=found.slug,
            details={"from": previous, "to": profile},
        )
        session.commit()
    click.echo(f"Unit {slug} follows {profile}; the deadlines of {count} case(s) recomputed.")


@unit.command("set-reception")
@click.argument("slug")
@click.argument("schedule")
@pass_runtime
def set_reception(runtime: Runtime, slug: str, schedule: str) -> None:
    """Publish when and where the unit receives citizens in person (SCHEDULE, public text
    shown on the report and follow-up pages); an empty SCHEDULE withdraws it."""
    with runtime.session() as session:
        found = find_unit(session, slug)
        try:
            stored = reception.set_schedule(found, schedule)
        except CaseworkError as error:
            raise click.ClickException(str(error)) from None
        audit.append(
            session,
            actor=audit.CLI,
            action=reception.RECEPTION_SET,
            target=found.slug,
            details={"schedule": stored},
        )
        session.commit()
    if stored:
        click.echo(f"Unit {slug} publishes its reception schedule:\n{stored}")
    else:
        click.echo(f"Unit {slug} publishes no reception schedule.")


@unit.command("set-superior")
@click.argument("slug")
@click.argument("superior_slug", metavar="SUPERIOR")
@pass_runtime
def set_superior_command(runtime: Runtime, slug: str, superior_slug: str) -> None:
    """Make SUPERIOR (a unit's slug) the directly superior unit of SLUG.

    Its head answers the escalations and re-denunciations of SLUG's cases (LTC Art. 37-38).
    SUPERIOR "none" removes it: SLUG's own head answers. A cycle is refused.
    """
    with runtime.session() as session:
        found = find_unit(session, slug)
        superior = None if superior_slug == NO_SUPERIOR else find_unit(session, superior_slug)
        previous = found.superior.slug if found.superior else None
        try:
            set_superior(found, superior)
        except HierarchyError as error:
            raise click.ClickException(str(error)) from None
        audit.append(
            session,
            actor=audit.CLI,
            action=SUPERIOR_SET,
            target=found.slug,
            details={"from": previous, "to": superior.slug if superior else None},
        )
        session.commit()
    click.echo(_superior_sentence(slug, superior))


def _superior_sentence(slug: str, superior: Unit | None) -> str:
    if superior is None:
        return f"Unit {slug} has no superior unit: its own head answers escalations."
    return (
        f"Unit {slug}'s directly superior unit is {superior.slug} ({superior.name}): "
        "its head answers escalations and re-denunciations."
    )
