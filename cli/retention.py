"""``minhbach retention purge``: purge closed cases whose retention period has run.

Run it from cron once a day. ``--dry-run`` lists what would go and changes nothing.
Each unit keeps closed cases for its own period (``minhbach unit set-retention``) or its
policy profile's default; docs/retention.md says what is purged and what is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import click

from casework import audit
from casework.blobs import blob_store
from casework.dates import unit_today
from casework.profiles import ProfileError
from casework.retention import PurgeCandidate, PurgeReport, due_for_purge, purge
from cli.output import print_table
from cli.runtime import Runtime, find_unit, pass_runtime

HEADERS = ("case", "unit", "closed", "purge from", "files", "messages", "key wraps", "archived")


@click.group()
def retention() -> None:
    """How long closed cases are kept."""


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
@click.option("--unit", "unit_slug", metavar="SLUG", help="Only this unit's cases.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    hidden=True,  # tests only: the date the periods are counted to
)
@pass_runtime
def purge_command(
    runtime: Runtime, dry_run: bool, unit_slug: str | None, today: datetime | None
) -> None:
    """Purge closed cases whose retention period has run.

    Contents, key wraps and files are deleted for good; the figures and the audit log
    are kept.
    """
    day = today.date() if today is not None else unit_today()
    with runtime.session() as session:
        unit_id = None if unit_slug is None else find_unit(session, unit_slug).id
        try:
            candidates = due_for_purge(session, day, unit_id)
        except ProfileError as error:
            raise click.ClickException(str(error)) from None
        if dry_run:
            _print_cases("Would purge", candidates)
            click.echo(f"Dry run for {day.isoformat()}: {len(candidates)} case(s) would be purged.")
            _print_unarchived(candidates)
            return
        store = blob_store(runtime.settings)
        report = purge(session, store, candidates, day, actor=audit.CLI)
    _print_report(report, day)


def _print_cases(verb: str, candidates: Sequence[PurgeCandidate]) -> None:
    if not candidates:
        return
    click.echo(f"{verb}:")
    print_table(HEADERS, [_row(candidate) for candidate in candidates])


def _print_unarchived(candidates: Sequence[PurgeCandidate]) -> None:
    """Say how many cases would go without an export for the archives (LTC Art. 39(3))."""
    unarchived = sum(1 for candidate in candidates if candidate.archived_on is None)
    if unarchived:
        click.echo(
            f"{unarchived} of them never exported for the archives: export them from the "
            "review app first if the archives are to keep them (docs/retention.md)."
        )


def _row(candidate: PurgeCandidate) -> tuple[str, ...]:
    return (
        candidate.reference,
        candidate.unit_slug,
        candidate.closed_on.isoformat(),
        candidate.purge_on.isoformat(),
        str(candidate.attachments),
        str(candidate.messages),
        str(candidate.key_wraps),
        candidate.archived_on.isoformat() if candidate.archived_on else "no",
    )


def _print_report(report: PurgeReport, day: date) -> None:
    _print_cases("Purged", report.purged)
    _print_unarchived(report.purged)
    click.echo(
        f"Purged {len(report.purged)} case(s) on {day.isoformat()}; deleted "
        f"{report.blobs_deleted} file(s) ({report.blobs_missing} already gone)."
    )
    if report.skipped:
        click.echo(f"Skipped {len(report.skipped)} case(s) no longer due (reopened or purged).")
    if report.log_truncated is False:
        click.echo(
            "Warning: another process kept reading, so the SQLite write-ahead log still holds "
            "purged pages; run `minhbach retention purge` again at a quieter time to empty it.",
            err=True,
        )
    if report.blobs_failed:
        for blob_id in report.blobs_failed:
            click.echo(f"Could not delete blob {blob_id}", err=True)
        raise click.ClickException(
            f"{len(report.blobs_failed)} file(s) of purged cases could not be deleted from "
            "the blob store: remove them by hand (their keys are already gone)"
        )
