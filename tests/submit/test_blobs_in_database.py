"""The submit app with ``MINHBACH_BLOB_STORE=database`` on PostgreSQL: files sent through the
resumable API and through the form without JavaScript become rows of the database, open
for a reader, and nothing is written under the instance folder's blob directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from casework.blobs import blob_store
from casework.settings import Settings
from casework.uploads import storage_id
from store.blobs import new_id
from store.blobs.postgres import shared_store
from store.models import BlobChunk, BlobObject, Case
from tests import postgres
from tests.conftest import settings_for
from tests.programs import require_variable
from tests.submit.conftest import TEST_ENV
from tests.submit.test_api_support import Api, api, case_key_of, open_attachment
from tests.submit.test_report_form import FilePart, csrf_token_of, post, report_parts
from tests.worlds import World

__all__ = ["api"]  # fixtures


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A PostgreSQL database of this test's own, in place of the suite's SQLite copy."""
    server = make_url(require_variable(postgres.SERVER_VARIABLE))
    with postgres.migrated_engine(server) as engine:
        try:
            yield engine
        finally:
            # The store's own engine for this database: its connections end before the drop.
            url = engine.url.render_as_string(hide_password=False)
            shared_store(url).engine.dispose()


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(engine, tmp_path / "instance", **TEST_ENV, MINHBACH_BLOB_STORE="database")


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def stored(session: Session) -> tuple[list[str | None], int]:
    """The blob ids of every stored stream (None: not a blob) and the bytes of all chunks."""
    names = list(session.scalars(select(BlobObject.blob_id)))
    size = session.scalar(select(func.coalesce(func.sum(func.length(BlobChunk.data)), 0)))
    return names, int(size or 0)


def test_an_upload_through_the_api_is_stored_in_rows(
    api: Api, session: Session, settings: Settings
) -> None:
    ciphertext = os.urandom(150_000)  # the server never looks inside an upload
    token = api.create_upload(len(ciphertext))
    for offset, piece in ((0, ciphertext[:70_000]), (70_000, ciphertext[70_000:])):
        assert api.patch(token, offset, piece).status_code == 204
    assert api.head(token).headers["Upload-Offset"] == str(len(ciphertext))

    assert stored(session) == ([None], len(ciphertext))  # a scratch file, not yet a blob
    assert files_under(settings.blob_path) == []
    store, upload_id, blob_id = blob_store(settings), storage_id(token), new_id()
    assert upload_id is not None
    store.scratch_commit(upload_id, blob_id)  # what a report's claim does
    with store.open_reader(blob_id) as reader:
        assert reader.read() == ciphertext


def test_a_file_of_the_form_without_javascript_is_stored_in_rows_and_opens(
    client: FlaskClient, session: Session, world: World, settings: Settings
) -> None:
    content = os.urandom(200_000)
    token = csrf_token_of(client.get("/report").text)
    parts = [*report_parts(token, what="Biên bản"), ("protection_details", "")]
    parts.append(FilePart("files", "biên bản.pdf", "application/pdf", content))
    response = post(client, parts)
    assert response.status_code == 200, response.text

    [case] = session.scalars(select(Case)).all()
    [attachment] = case.attachments
    case_key = case_key_of(case, world.people["lan"].id, world.key_of("lan"))
    meta, opened = open_attachment(blob_store(settings), case, case_key, attachment)
    assert (meta.name, opened) == ("biên bản.pdf", content)
    assert stored(session) == ([attachment.blob_id], attachment.stored_size)
    assert files_under(settings.blob_path) == []
