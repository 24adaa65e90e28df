"""``minhbach uploads collect``: remove abandoned uploads and orphaned blobs.

Run it from cron (hourly is plenty): an upload nobody finishes holds encrypted scratch
bytes until its expiry, and nothing else removes them; a process killed at the wrong
moment can leave a blob no case refers to, or half a blob (``minhbach fsck`` lists them).
Safe to run at any time and from any host that shares the database and blob store:
nothing younger than the upload lifetime is touched.
"""

from __future__ import annotations

import click

from casework import uploads as upload_store
from casework.blobs import blob_store
from cli.runtime import Runtime, pass_runtime
from store.types import utc_now


@click.group()
def uploads() -> None:
    """Resumable uploads of encrypted attachments."""


@uploads.command("collect")
@pass_runtime
def collect(runtime: Runtime) -> None:
    """Delete expired uploads, orphaned scratch files and blobs, unfinished writes."""
    settings = runtime.settings
    with runtime.session() as session:
        removed = upload_store.collect(
            session,
            blob_store(settings),
            utc_now(),
            ttl_seconds=settings.upload_ttl_seconds,
        )
        session.commit()
    click.echo(
        f"removed {removed.uploads} abandoned upload(s), {removed.blobs} orphaned blob(s), "
        f"{removed.unfinished_writes} unfinished write(s)"
    )
