"""``minhbach uploads collect``: remove abandoned resumable uploads.

Run it from cron (hourly is plenty): an upload nobody finishes holds encrypted scratch
bytes until its expiry, and nothing else removes them. Safe to run at any time and from
any host that shares the database and blob store.
"""

from __future__ import annotations

import click

from casework.uploads import collect_garbage
from cli.runtime import Runtime, pass_runtime
from store.blobs import FilesystemBlobStore
from store.types import utc_now


@click.group()
def uploads() -> None:
    """Resumable uploads of encrypted attachments."""


@uploads.command("collect")
@pass_runtime
def collect(runtime: Runtime) -> None:
    """Delete expired uploads and orphaned scratch files."""
    settings = runtime.settings
    with runtime.session() as session:
        removed = collect_garbage(
            session,
            FilesystemBlobStore(settings.blob_path),
            utc_now(),
            ttl_seconds=settings.upload_ttl_seconds,
        )
        session.commit()
    click.echo(f"removed {removed} abandoned upload(s)")
