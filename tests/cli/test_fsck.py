"""``minhbach fsck`` compares blobs with attachments both ways; ``uploads collect`` removes
the orphans it reports, and nothing that a report on its way may still claim."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from casework.settings import Settings
from cli import cli
from store.blobs import FilesystemBlobStore
from store.db import make_engine, session_factory, upgrade_to_head
from store.models import Attachment, Party
from store.types import utc_now
from tests.store.factories import TODAY, add_case, add_unit


def write_blob(store: FilesystemBlobStore, age: timedelta) -> str:
    blob_id = store.new_blob_id()
    with store.open_writer(blob_id) as writer:
        writer.write(b"ciphertext")
    moment = (utc_now() - age).timestamp()
    path = store.root / "blobs" / blob_id[:2] / blob_id
    os.utime(path, (moment, moment))
    return blob_id


def test_fsck_reports_both_ways_and_collect_removes_only_old_orphans(tmp_path: Path) -> None:
    env = {"MINHBACH_INSTANCE": str(tmp_path / "instance"), "MINHBACH_UPLOAD_TTL_SECONDS": "3600"}
    settings = Settings.from_env(env)
    upgrade_to_head(settings.database_url)
    store = FilesystemBlobStore(settings.blob_path)
    kept, old_orphan = write_blob(store, timedelta(days=3)), write_blob(store, timedelta(days=3))
    young = write_blob(store, timedelta(0))  # a report may still be committing it
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session:
        case = add_case(session, add_unit(session))
        for blob_id in (kept, "f" * 32):  # the second was never written: lost
            session.add(
                Attachment(
                    case=case,
                    blob_id=blob_id,
                    meta=b"m",
                    stored_size=10,
                    origin=Party.REPORTER,
                    created_on=TODAY,
                )
            )
        session.commit()
        public_id = case.public_id
    engine.dispose()
    part = store.root / "tmp" / ("a" * 32 + ".part")  # a write a killed process left
    part.write_bytes(b"half")
    os.utime(part, (0, 0))

    checked = CliRunner().invoke(cli, ["fsck"], env=env)
    assert checked.exit_code == 1, checked.output
    assert f"missing: case {public_id}" in checked.output
    assert f"orphan: blob {old_orphan}" in checked.output
    assert young not in checked.output
    assert kept not in checked.output
    assert "1 missing blob(s), 1 orphaned blob(s), 1 recent blob(s)" in checked.output

    collected = CliRunner().invoke(cli, ["uploads", "collect"], env=env)
    assert collected.exit_code == 0, collected.output
    assert "1 orphaned blob(s), 1 unfinished write(s)" in collected.output
    assert sorted(store.blob_ids()) == sorted([kept, young])
    assert not part.exists()

    again = CliRunner().invoke(cli, ["fsck"], env=env)
    assert again.exit_code == 1  # the lost blob cannot come back but from a backup
    assert "1 missing blob(s), 0 orphaned blob(s)" in again.output
