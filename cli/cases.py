"""``minhbach cases upgrade``: move a unit's protocol 1 cases to protocol 2 with its escrow key.

The review app upgrades a case when a reader of its unit opens it (docs/crypto.md §13.7).
Cases nobody opens keep the unit's notes under the case key, which the reporter's code
also opens; this command upgrades them all at once, as the unit's escrow key: each case
in its own transaction, audited, so an interruption loses nothing and a rerun finishes.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from casework import audit, upgrade
from casework.dates import unit_today
from cli.escrow import escrow_file_options, open_unit_escrow
from cli.runtime import Runtime, find_unit, pass_runtime
from store.models import Case, RecipientKind

UPGRADED = "case_upgraded"


@click.group()
def cases() -> None:
    """Cases of a unit, as a whole."""


@cases.command("upgrade")
@click.option("--unit", "slug", required=True, help="The unit whose cases to upgrade.")
@escrow_file_options
@pass_runtime
def upgrade_cases(
    runtime: Runtime, slug: str, escrow_file: Path, escrow_passphrase_file: Path | None
) -> None:
    """Move the unit's cases of protocol 1 to protocol 2 (docs/crypto.md §13.7)."""
    with runtime.session() as session:
        unit = find_unit(session, slug)
        escrow = open_unit_escrow(unit, escrow_file, escrow_passphrase_file)
        ids = session.scalars(
            select(Case.id).where(
                Case.unit_id == unit.id, Case.protocol == 1, Case.purged_on.is_(None)
            )
        ).all()
    upgraded = skipped = 0
    for case_id in ids:
        with runtime.session() as session:
            case = session.get(Case, case_id)
            if case is None or case.protocol >= 2:
                continue  # purged, or opened by a reader meanwhile
            if not _escrowed(case):
                skipped += 1
                continue
            upgrade.by_escrow(session, case, escrow, unit_today())
            audit.append(
                session,
                actor=audit.CLI,
                action=UPGRADED,
                case_public_id=case.public_id,
                details={"protocol": 2, "by": "escrow"},
            )
            session.commit()
            upgraded += 1
    click.echo(f"Upgraded {upgraded} case(s) of unit {slug} to protocol 2.")
    if skipped:
        click.echo(
            f"{skipped} case(s) have no escrow copy of their key (they arrived before the "
            "unit had an escrow key): they are upgraded when a reader opens them."
        )


def _escrowed(case: Case) -> bool:
    return any(wrap.recipient_kind is RecipientKind.ESCROW for wrap in case.key_wraps)
