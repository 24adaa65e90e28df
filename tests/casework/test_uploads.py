"""The upload service: sizes, hashed ids, appends at the offset, claims and garbage collection."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import uploads
from crypto.encoding import b64u_decode
from store.blobs import FilesystemBlobStore
from store.models import Upload
from tests.store.factories import add_unit
from tests.worlds import World

NOW = datetime(2026, 3, 2, 10, 20, 30, tzinfo=UTC)
TTL = 24 * 3600
MAX = 1_000_000


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def new(session: Session, store: FilesystemBlobStore, world: World, size: int) -> str:
    created = uploads.create(
        session, store, world.unit, size, max_size=MAX, ttl_seconds=TTL, now=NOW
    )
    session.commit()
    return created.token


def stored_id(token: str) -> str:
    key = uploads.storage_id(token)
    assert key is not None
    return key


def scratch(store: FilesystemBlobStore) -> list[str]:
    return sorted(os.listdir(store.root / "scratch"))


def test_ciphertext_limit_is_the_size_of_an_encrypted_file_of_that_size() -> None:
    for size in (1, 4096, 4097, 65_536, 200_000, 1_000_003):
        encryptor = crypto.FileEncryptor(crypto.random_key(), "case")
        stream = b"".join(crypto.encrypt_stream(encryptor, [bytes(size)]))
        assert uploads.ciphertext_limit(size) == len(stream), size
    assert uploads.ciphertext_limit(10**9) > 10**9


def test_expiry_is_rounded_up_to_the_hour() -> None:
    assert uploads.expiry(NOW, 3600) == datetime(2026, 3, 2, 12, tzinfo=UTC)
    on_the_hour = datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert uploads.expiry(on_the_hour, 3600) == datetime(2026, 3, 2, 11, tzinfo=UTC)


def test_create_stores_only_the_hash_of_the_id(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 5000)
    raw = b64u_decode(token)
    assert len(raw) == 32
    digest = hashlib.sha256(raw).hexdigest()
    row = session.scalars(select(Upload)).one()
    assert row.id == digest
    assert (row.declared_size, row.offset, row.completed) == (5000, 0, False)
    assert row.expires_at == datetime(2026, 3, 3, 11, tzinfo=UTC)
    assert scratch(store) == [digest]
    assert uploads.storage_id(token) == digest


@pytest.mark.parametrize("size", [0, -1, MAX + 1])
def test_create_refuses_sizes_outside_the_limit(
    session: Session, store: FilesystemBlobStore, world: World, size: int
) -> None:
    with pytest.raises(uploads.SizeRefused):
        uploads.create(session, store, world.unit, size, max_size=MAX, ttl_seconds=TTL, now=NOW)
    assert session.scalars(select(Upload)).all() == []
    assert scratch(store) == []


def test_appends_at_the_offset_and_completes(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 10)
    assert uploads.append(session, store, token, 0, [b"abc", b"def"], NOW) == 6
    assert uploads.offset(session, store, token, NOW) == uploads.Progress(6, 10)
    with pytest.raises(uploads.OffsetConflict) as conflict:
        uploads.append(session, store, token, 3, [b"def"], NOW)  # a retry of a done append
    assert conflict.value.current == 6
    assert uploads.append(session, store, token, 6, [b"ghij"], NOW) == 10
    row = session.scalars(select(Upload)).one()
    assert (row.offset, row.completed) == (10, True)


def test_bytes_past_the_declared_size_are_refused(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 10)
    with pytest.raises(uploads.BeyondDeclaredSize) as declared:
        uploads.append(session, store, token, 0, [b"x" * 11], NOW, length=11)
    assert declared.value.current == 0
    with pytest.raises(uploads.BeyondDeclaredSize) as streamed:
        uploads.append(session, store, token, 0, [b"x" * 8, b"y" * 3], NOW)
    assert streamed.value.current == 8
    assert uploads.offset(session, store, token, NOW).offset == 8


def test_what_arrived_before_a_lost_connection_is_kept(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 10)

    def cut_short() -> Iterator[bytes]:
        yield b"1234"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        uploads.append(session, store, token, 0, cut_short(), NOW)
    session.rollback()  # the request failed: nothing of it is committed
    assert uploads.offset(session, store, token, NOW).offset == 4
    assert uploads.append(session, store, token, 4, [b"567890"], NOW) == 10


class SyncWatchingStore(FilesystemBlobStore):
    """Records each append's ``sync`` and each ``scratch_sync``, in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[str] = []

    def scratch_append(
        self, upload_id: str, data: bytes | bytearray, expected_offset: int, *, sync: bool = True
    ) -> int:
        self.calls.append(f"append sync={sync}")
        return super().scratch_append(upload_id, data, expected_offset, sync=sync)

    def scratch_sync(self, upload_id: str) -> None:
        self.calls.append("sync")
        super().scratch_sync(upload_id)


def test_a_request_syncs_its_appends_once_before_it_answers_whatever_ends_it(
    session: Session, tmp_path: Path, world: World
) -> None:
    """The store may defer each piece's durability (the database store's commits do not
    wait for the disk): the request makes them durable once, before it answers, also when
    the client went away or another request got there first."""
    store = SyncWatchingStore(tmp_path / "blobs")
    token = new(session, store, world, 10)
    uploads.append(session, store, token, 0, [b"ab", b"cd"], NOW)
    assert store.calls == ["append sync=False", "append sync=False", "sync"]

    def cut_short() -> Iterator[bytes]:
        yield b"ef"
        raise ConnectionResetError

    store.calls.clear()
    with pytest.raises(ConnectionResetError):
        uploads.append(session, store, token, 4, cut_short(), NOW)
    assert store.calls == ["append sync=False", "sync"]

    store.calls.clear()
    appending = uploads.begin_append(session, store, token, 6, NOW)
    store.scratch_append(stored_id(token), b"gh", 6)  # another request, meanwhile
    store.calls.clear()
    with pytest.raises(uploads.OffsetConflict):
        uploads.write_pieces(store, appending, [b"ij"])
    assert store.calls == ["append sync=False", "sync"]


@pytest.mark.parametrize("token", ["", "not b64u!", "AAAA", "A" * 43])
def test_unknown_and_malformed_ids_are_not_found(
    session: Session, store: FilesystemBlobStore, world: World, token: str
) -> None:
    new(session, store, world, 10)
    with pytest.raises(uploads.UploadNotFound):
        uploads.offset(session, store, token, NOW)
    with pytest.raises(uploads.UploadNotFound):
        uploads.append(session, store, token, 0, [b"x"], NOW)
    with pytest.raises(uploads.UploadNotFound):
        uploads.delete(session, store, token, NOW)


def test_expired_uploads_are_not_found(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 10)
    later = datetime(2026, 3, 3, 11, tzinfo=UTC)
    with pytest.raises(uploads.UploadNotFound):
        uploads.offset(session, store, token, later)
    with pytest.raises(uploads.UploadNotFound):
        uploads.claim(session, store, world.unit, [token], now=later)


def test_delete_removes_row_and_scratch(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 10)
    uploads.delete(session, store, token, NOW)
    session.commit()
    assert session.scalars(select(Upload)).all() == []
    assert scratch(store) == []


def test_claim_turns_complete_uploads_into_blobs(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    first, second = new(session, store, world, 3), new(session, store, world, 4)
    uploads.append(session, store, first, 0, [b"abc"], NOW)
    uploads.append(session, store, second, 0, [b"defg"], NOW)
    claimed = uploads.claim(session, store, world.unit, [second, first], now=NOW)
    session.commit()
    assert [(c.upload_id, c.size) for c in claimed] == [(second, 4), (first, 3)]
    with store.open_reader(claimed[0].blob_id) as reader:
        assert reader.read() == b"defg"
    assert session.scalars(select(Upload)).all() == []
    assert scratch(store) == []
    with pytest.raises(uploads.UploadNotFound):  # a claim uses an upload up
        uploads.claim(session, store, world.unit, [first], now=NOW)


def test_unclaim_after_a_rollback_gives_the_uploads_back(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    """The submission that claimed them could not be stored: it can be sent again."""
    first, second = new(session, store, world, 3), new(session, store, world, 4)
    uploads.append(session, store, first, 0, [b"abc"], NOW)
    uploads.append(session, store, second, 0, [b"defg"], NOW)
    session.commit()
    claimed = uploads.claim(session, store, world.unit, [first, second], now=NOW)
    session.rollback()
    uploads.unclaim(store, claimed)

    assert not any(store.exists(c.blob_id) for c in claimed)
    assert scratch(store) == sorted([stored_id(first), stored_id(second)])
    assert uploads.offset(session, store, second, NOW).offset == 4
    again = uploads.claim(session, store, world.unit, [first, second], now=NOW)
    session.commit()
    with store.open_reader(again[1].blob_id) as reader:
        assert reader.read() == b"defg"


def test_claim_is_all_or_nothing(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    done, partial = new(session, store, world, 3), new(session, store, world, 4)
    uploads.append(session, store, done, 0, [b"abc"], NOW)
    uploads.append(session, store, partial, 0, [b"de"], NOW)
    with pytest.raises(uploads.UploadIncomplete):
        uploads.claim(session, store, world.unit, [done, partial], now=NOW)
    with pytest.raises(uploads.UploadNotFound):
        uploads.claim(session, store, world.unit, [done, done], now=NOW)
    assert len(scratch(store)) == 2
    assert len(session.scalars(select(Upload)).all()) == 2


def test_claim_refuses_another_units_upload(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    token = new(session, store, world, 3)
    uploads.append(session, store, token, 0, [b"abc"], NOW)
    other = add_unit(session, "other-unit")
    with pytest.raises(uploads.UploadNotFound):
        uploads.claim(session, store, other, [token], now=NOW)


def test_garbage_collection_removes_expired_uploads_and_old_orphans(
    session: Session, store: FilesystemBlobStore, world: World
) -> None:
    expired = session.get_one(Upload, stored_id(new(session, store, world, 10)))
    expired.expires_at = NOW
    live = stored_id(new(session, store, world, 10))
    session.commit()
    old_orphan, new_orphan = "a" * 64, "b" * 64
    store.scratch_create(old_orphan)
    store.scratch_create(new_orphan)
    long_ago = (NOW - timedelta(seconds=TTL + 60)).timestamp()
    os.utime(store.root / "scratch" / old_orphan, (long_ago, long_ago))
    os.utime(store.root / "scratch" / live, (long_ago, long_ago))

    assert uploads.collect_garbage(session, store, NOW, ttl_seconds=TTL) == 2
    session.commit()

    assert [row.id for row in session.scalars(select(Upload))] == [live]
    assert scratch(store) == sorted([new_orphan, live])
    assert uploads.collect_garbage(session, store, NOW, ttl_seconds=TTL) == 0
