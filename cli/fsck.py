"""``minhbach fsck``: check the blob store against the database, both ways.

Reports attachments whose encrypted file is gone (data lost: restore the blob store from
a backup at least as new as the database) and blobs that no case refers to (left by a
process killed at the wrong moment; ``minhbach uploads collect`` removes them). Changes
nothing. Exit status 0 when both agree, 1 otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import click

from casework.blobs import blob_store
from cli.runtime import Runtime, pass_runtime
from store.consistency import check
from store.types import utc_now


@click.command()
@pass_runtime
def fsck(runtime: Runtime) -> None:
    """Check that every attachment has its blob and every blob its attachment."""
    settings = runtime.settings
    store = blob_store(settings)
    with runtime.session() as session:
        found = check(session, store, utc_now(), timedelta(seconds=settings.upload_ttl_seconds))
    for missing in found.missing:
        click.echo(
            f"missing: case {missing.case_public_id} attachment {missing.attachment_id} "
            f"has no blob {missing.blob_id}"
        )
    for blob_id in found.orphans:
        click.echo(f"orphan: blob {blob_id} belongs to no case")
    click.echo(
        f"{len(found.missing)} missing blob(s), {len(found.orphans)} orphaned blob(s), "
        f"{found.unclaimed} recent blob(s) not yet claimed by a case"
    )
    if found.missing:
        click.echo("Missing blobs are lost data: restore the blob store from a backup.")
    if found.orphans:
        click.echo("`minhbach uploads collect` removes the orphaned blobs.")
    if not found.consistent:
        raise SystemExit(1)
