"""``minhbach uploads collect`` removes what expired and keeps what is live."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from casework import uploads
from casework.settings import Settings
from cli import cli
from store.blobs import FilesystemBlobStore
from store.db import make_engine, session_factory, upgrade_to_head
from store.models import Upload
from store.types import utc_now
from tests.store.factories import add_unit


def test_collect_removes_expired_uploads_only(tmp_path: Path) -> None:
    env = {"MINHBACH_INSTANCE": str(tmp_path / "instance")}
    settings = Settings.from_env(env)
    upgrade_to_head(settings.database_url)
    store = FilesystemBlobStore(settings.blob_path)
    factory = session_factory(make_engine(settings.database_url))
    with factory() as session:
        unit = add_unit(session)
        old = uploads.create(
            session,
            store,
            unit,
            100,
            max_size=1000,
            ttl_seconds=3600,
            now=utc_now() - timedelta(days=3),
        )
        live = uploads.create(
            session, store, unit, 100, max_size=1000, ttl_seconds=3600, now=utc_now()
        )
        session.commit()
    result = CliRunner().invoke(cli, ["uploads", "collect"], env=env)
    assert result.exit_code == 0, result.output
    assert "removed 1 abandoned upload" in result.output
    with factory() as session:
        remaining = set(session.scalars(select(Upload.id)))
    assert remaining == {uploads.storage_id(live.token)}
    assert uploads.storage_id(old.token) not in remaining
