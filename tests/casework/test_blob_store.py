"""``MINHBACH_BLOB_STORE`` chooses where attachments live; ``blob_store`` builds that store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from casework.blobs import blob_store
from casework.settings import ConfigError, Settings
from store.blobs import FilesystemBlobStore
from store.blobs.postgres import PostgresBlobStore

POSTGRES_URL = "postgresql+psycopg://minhbach_submit:s3cret@db.internal/minhbach"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"MINHBACH_INSTANCE": str(tmp_path / "instance"), **env})


def test_files_are_the_default(tmp_path: Path) -> None:
    chosen = settings(tmp_path)
    assert chosen.blob_store == "files"
    store = blob_store(chosen)
    assert isinstance(store, FilesystemBlobStore)
    assert store.root == tmp_path / "instance" / "blobs"


def test_the_database_store_is_chosen_by_the_setting(tmp_path: Path) -> None:
    chosen = settings(tmp_path, MINHBACH_DATABASE_URL=POSTGRES_URL, MINHBACH_BLOB_STORE="database")
    store = blob_store(chosen)  # makes the engine, connects on first use only
    assert isinstance(store, PostgresBlobStore)
    assert store.engine.url.render_as_string(hide_password=False) == POSTGRES_URL
    again = blob_store(chosen)
    assert isinstance(again, PostgresBlobStore)
    assert again.engine is store.engine  # one engine per process
    assert not (tmp_path / "instance" / "blobs").exists()


def test_the_database_store_needs_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MINHBACH_BLOB_STORE=database needs PostgreSQL"):
        settings(tmp_path, MINHBACH_BLOB_STORE="database")  # the SQLite default
    for other in ("mysql://", "postgresql://", "postgresql+psycopg2://"):
        with pytest.raises(ConfigError, match="postgresql\\+psycopg://") as refused:
            settings(
                tmp_path,
                MINHBACH_BLOB_STORE="database",
                MINHBACH_DATABASE_URL=f"{other}minhbach:s3cret@db.internal/minhbach",
            )
        assert "s3cret" not in str(refused.value)  # the URL's password is never repeated


@pytest.mark.parametrize("value", ["", "Database", "postgres", "s3"])
def test_other_values_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="MINHBACH_BLOB_STORE must be one of: files, database"):
        settings(tmp_path, MINHBACH_DATABASE_URL=POSTGRES_URL, MINHBACH_BLOB_STORE=value)


def test_an_app_on_sqlite_does_not_load_psycopg_for_the_blob_store() -> None:
    # psycopg and its libpq cost a worker about 9 MiB (benchmarks/README.md, upload.py).
    code = (
        "import sys, casework.blobs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('psycopg')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]"
