"""``minhbach audit verify``: check that nobody edited, inserted or deleted audit entries.

The command prints the chain's head hash and length. Note them down somewhere outside
this database (a ticket, a notebook, the unit's records of the periodic review): a later
``--expect-head`` with that hash proves that no entry up to it was removed or rewritten
since, which the chain alone cannot show for its newest entries.
"""

from __future__ import annotations

import click

from casework import audit as audit_log
from cli.runtime import Runtime, pass_runtime


def parse_head(_ctx: click.Context, _param: click.Parameter, value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        head = bytes.fromhex(value.strip())
    except ValueError:
        head = b""
    if len(head) != len(audit_log.GENESIS):
        raise click.BadParameter(f"a head is {len(audit_log.GENESIS) * 2} hexadecimal digits")
    return head


@click.group()
def audit() -> None:
    """The audit log of the review app."""


@audit.command("verify")
@click.option(
    "--expect-head",
    metavar="HEX",
    callback=parse_head,
    help="A head hash noted down earlier: it must still be in the chain.",
)
@pass_runtime
def verify(runtime: Runtime, expect_head: bytes | None) -> None:
    """Walk the audit chain and report the first broken link, if any."""
    with runtime.session() as session:
        result = audit_log.verify(session, expect_head)
    if result.broken is not None:
        click.echo(
            f"Checked {result.count} entries before the break; the last good head is "
            f"{result.head.hex()}.",
            err=True,
        )
        raise click.ClickException(f"the audit chain is broken at {result.broken.describe()}")
    click.echo(f"The audit chain is intact: {result.count} entries.")
    click.echo(f"Head: {result.head.hex()}")
    if expect_head is not None:
        click.echo("The expected head is in the chain.")
    click.echo("Note the head down outside this database to check against it later.")
