"""The root ``minhbach`` group: wires the command modules together."""

from __future__ import annotations

import click

from cli.audit import audit
from cli.backup import backup
from cli.cases import cases
from cli.database import init
from cli.deadlines import deadlines
from cli.demo import demo
from cli.errors import GuardedGroup
from cli.escrow import escrow
from cli.fsck import fsck
from cli.inspectors import inspector
from cli.notify import notify
from cli.onion import onion
from cli.retention import retention
from cli.roles import database
from cli.runtime import Runtime
from cli.units import unit
from cli.uploads import uploads


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="minhbach")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Set up and administer a minhbach instance.

    Settings come from MINHBACH_* environment variables (see README.md).
    """
    runtime = Runtime()
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


for command in (
    init, unit, escrow, inspector, cases, demo, audit, uploads, fsck, retention, deadlines,
    backup, database, onion, notify,
):  # fmt: skip
    cli.add_command(command)


def main() -> None:
    cli(prog_name="minhbach")
