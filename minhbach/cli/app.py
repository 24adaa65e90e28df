"""The root ``minhbach`` group: wires the command modules together."""

from __future__ import annotations

import click

from minhbach.cli.audit import audit
from minhbach.cli.database import init
from minhbach.cli.deadlines import deadlines
from minhbach.cli.demo import demo
from minhbach.cli.errors import GuardedGroup
from minhbach.cli.escrow import escrow
from minhbach.cli.inspectors import inspector
from minhbach.cli.retention import retention
from minhbach.cli.runtime import Runtime
from minhbach.cli.units import unit
from minhbach.cli.uploads import uploads


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


for command in (init, unit, escrow, inspector, demo, audit, uploads, retention, deadlines):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="minhbach")
