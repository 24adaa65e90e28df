"""The filesystem blob store: atomic writes, confinement to its root, private files, scratch."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.blobs import (
    BlobExists,
    BlobNotFound,
    BlobStore,
    FilesystemBlobStore,
    InvalidBlobId,
    OffsetMismatch,
    ScratchExists,
    ScratchNotFound,
    check_id,
    new_id,
)

BLOB = "0123456789abcdef" * 2
UPLOAD = "fedcba9876543210" * 2


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def write_blob(store: BlobStore, blob_id: str, *chunks: bytes) -> None:
    with store.open_writer(blob_id) as writer:
        for chunk in chunks:
            writer.write(chunk)


@contextmanager
def holding_lock(path: Path) -> Iterator[int]:
    """Play another process that holds a scratch file's lock (an append or a commit)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield descriptor
    finally:
        os.close(descriptor)


class Append(threading.Thread):
    """scratch_append in a thread, recording how it ended."""

    def __init__(self, store: FilesystemBlobStore, data: bytes, expected_offset: int) -> None:
        super().__init__(daemon=True)
        self.store, self.data, self.expected_offset = store, data, expected_offset
        self.error: Exception | None = None
        self.finished = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            self.store.scratch_append(UPLOAD, self.data, self.expected_offset)
        except Exception as error:
            self.error = error
        finally:
            self.finished.set()

    def wait_until_opened(self, path: Path) -> None:
        """Until the thread holds its own descriptor of ``path`` (Linux: /proc/self/fd)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            opened = 0
            for fd in Path("/proc/self/fd").iterdir():
                try:
                    opened += os.readlink(fd) == str(path)
                except OSError:
                    continue  # closed while listing
            if opened >= 2:  # ours (holding the lock) and the thread's
                return
            time.sleep(0.005)
        raise AssertionError("the append never opened the scratch file")


class TestBlobs:
    def test_written_blob_reads_back(self, store: FilesystemBlobStore) -> None:
        write_blob(store, BLOB, b"first chunk|", b"second chunk")
        assert store.exists(BLOB)
        assert store.size(BLOB) == 24
        with store.open_reader(BLOB) as reader:
            assert reader.read() == b"first chunk|second chunk"
        # Sharded by the first two characters, nothing else left anywhere under the root.
        assert files_under(store.root) == [store.root / "blobs" / "01" / BLOB]

    def test_nothing_appears_before_the_writer_finishes(self, store: FilesystemBlobStore) -> None:
        with store.open_writer(BLOB) as writer:
            writer.write(b"partial")
            assert not store.exists(BLOB)
        assert store.exists(BLOB)

    def test_exception_inside_the_writer_leaves_no_blob_and_no_temp_file(
        self, store: FilesystemBlobStore
    ) -> None:
        def upload_interrupted() -> None:
            with store.open_writer(BLOB) as writer:
                writer.write(b"x" * 100_000)
                raise RuntimeError("client went away")

        with pytest.raises(RuntimeError, match="client went away"):
            upload_interrupted()
        assert not store.exists(BLOB)
        assert files_under(store.root) == []

    def test_temp_files_stay_inside_the_root(
        self, store: FilesystemBlobStore, tmp_path: Path
    ) -> None:
        with store.open_writer(BLOB) as writer:
            writer.write(b"in progress")
            in_progress = files_under(tmp_path)
        assert len(in_progress) == 1
        assert in_progress[0].parent == store.root / "tmp"

    def test_blobs_are_written_once(self, store: FilesystemBlobStore) -> None:
        write_blob(store, BLOB, b"original")
        with pytest.raises(BlobExists):
            write_blob(store, BLOB, b"replacement")
        with store.open_reader(BLOB) as reader:
            assert reader.read() == b"original"
        assert files_under(store.root / "tmp") == []

    def test_missing_blobs(self, store: FilesystemBlobStore) -> None:
        assert not store.exists(BLOB)
        with pytest.raises(BlobNotFound):
            store.open_reader(BLOB)
        with pytest.raises(BlobNotFound):
            store.size(BLOB)

    def test_delete_is_safe_to_repeat(self, store: FilesystemBlobStore) -> None:
        write_blob(store, BLOB, b"data")
        assert store.delete(BLOB) is True
        assert not store.exists(BLOB)
        assert store.delete(BLOB) is False

    def test_file_times_show_the_day_only(self, store: FilesystemBlobStore) -> None:
        write_blob(store, BLOB, b"data")
        modified = datetime.fromtimestamp(
            (store.root / "blobs" / BLOB[:2] / BLOB).stat().st_mtime, UTC
        )
        assert (modified.hour, modified.minute, modified.second) == (0, 0, 0)
        assert datetime.now(UTC) - modified < timedelta(days=1)

    def test_new_ids_are_random_and_valid(self, store: FilesystemBlobStore) -> None:
        ids = {store.new_blob_id() for _ in range(1000)} | {new_id() for _ in range(1000)}
        assert len(ids) == 2000
        for blob_id in ids:
            assert check_id(blob_id) == blob_id
            assert len(blob_id) == 32


BAD_IDS: list[object] = [
    "",
    "../x",
    "../" + BLOB,
    "/etc/passwd",
    "/" + BLOB,
    BLOB + "/..",
    BLOB[:31] + "\x00",
    BLOB + "\x00",
    BLOB + "\n",
    BLOB.upper(),
    BLOB[:31],  # too short to be random enough
    "g" * 32,
    "a" * 129,
    None,
    b"0123456789abcdef0123456789abcdef",
]


def _operations(store: FilesystemBlobStore, bad: object) -> list[Callable[[], object]]:
    value: str = bad  # type: ignore[assignment]

    def write() -> None:
        write_blob(store, value, b"data")

    return [
        write,
        lambda: store.open_reader(value),
        lambda: store.size(value),
        lambda: store.exists(value),
        lambda: store.delete(value),
        lambda: store.scratch_create(value),
        lambda: store.scratch_append(value, b"data", 0),
        lambda: store.scratch_size(value),
        lambda: store.scratch_commit(value, BLOB),
        lambda: store.scratch_commit(UPLOAD, value),
        lambda: store.scratch_discard(value),
    ]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_invalid_ids_are_refused_before_any_io(
    store: FilesystemBlobStore, tmp_path: Path, bad: object
) -> None:
    store.scratch_create(UPLOAD)
    before = sorted(tmp_path.rglob("*"))
    for operation in _operations(store, bad):
        with pytest.raises(InvalidBlobId):
            operation()
    assert sorted(tmp_path.rglob("*")) == before


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: permissions must come from the code, not from a friendly umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
class TestPermissions:
    def test_directories_and_files_are_private(self, tmp_path: Path) -> None:
        store = FilesystemBlobStore(tmp_path / "new" / "root")
        write_blob(store, BLOB, b"data")
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"chunk", 0)
        inside = sorted(p for p in store.root.rglob("*") if p.is_dir())
        assert store.root / "blobs" / BLOB[:2] in inside
        directories = [tmp_path / "new", store.root, *inside]
        assert {str(d.relative_to(tmp_path)): mode(d) for d in directories} == {
            str(d.relative_to(tmp_path)): 0o700 for d in directories
        }
        for file in files_under(store.root):
            assert mode(file) == 0o600, file

    def test_an_existing_root_open_to_others_is_tightened(self, tmp_path: Path) -> None:
        root = tmp_path / "shared"
        root.mkdir(mode=0o755)
        FilesystemBlobStore(root)
        assert mode(root) == 0o700


class TestScratch:
    def test_appends_at_the_expected_offset(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        assert store.scratch_size(UPLOAD) == 0
        assert store.scratch_append(UPLOAD, b"abc", 0) == 3
        assert store.scratch_append(UPLOAD, b"defg", 3) == 7
        assert store.scratch_size(UPLOAD) == 7

    def test_a_retried_append_is_refused_and_not_written_twice(
        self, store: FilesystemBlobStore
    ) -> None:
        # The client's first attempt arrived but the response was lost; it sends again.
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"chunk-1", 0)
        with pytest.raises(OffsetMismatch) as refused:
            store.scratch_append(UPLOAD, b"chunk-1", 0)
        assert (refused.value.expected, refused.value.current) == (0, 7)
        # The client resumes from the offset it was told.
        store.scratch_append(UPLOAD, b"chunk-2", refused.value.current)
        store.scratch_commit(UPLOAD, BLOB)
        with store.open_reader(BLOB) as reader:
            assert reader.read() == b"chunk-1chunk-2"

    def test_an_append_past_the_end_is_refused(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"abc", 0)
        with pytest.raises(OffsetMismatch):
            store.scratch_append(UPLOAD, b"def", 5)
        assert store.scratch_size(UPLOAD) == 3

    def test_an_append_waits_for_another_process_mid_append(
        self, store: FilesystemBlobStore
    ) -> None:
        store.scratch_create(UPLOAD)
        path = store.root / "scratch" / UPLOAD
        with holding_lock(path) as descriptor:
            late = Append(store, b"late", expected_offset=0)
            late.wait_until_opened(path)
            assert not late.finished.wait(0.2), "appended while another process held the lock"
            os.write(descriptor, b"first")  # the other process completes its append
        late.join()
        assert isinstance(late.error, OffsetMismatch)
        assert late.error.current == 5
        assert store.scratch_size(UPLOAD) == 5

    def test_an_append_never_reaches_a_committed_blob(self, store: FilesystemBlobStore) -> None:
        # An append opened the scratch file and waits for the lock while a commit, holding
        # it, moves the file into the blob area. Once the lock is free, the append must not
        # write through its open descriptor into what is now a finished blob.
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"complete", 0)
        path = store.root / "scratch" / UPLOAD
        with holding_lock(path):
            late = Append(store, b"extra", expected_offset=8)
            late.wait_until_opened(path)
            blob_path = store.root / "blobs" / BLOB[:2] / BLOB
            blob_path.parent.mkdir(mode=0o700)
            os.replace(path, blob_path)  # what scratch_commit does under the lock
        late.join()
        assert isinstance(late.error, ScratchNotFound)
        with store.open_reader(BLOB) as reader:
            assert reader.read() == b"complete"

    def test_create_is_exclusive(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"kept", 0)
        with pytest.raises(ScratchExists):
            store.scratch_create(UPLOAD)
        assert store.scratch_size(UPLOAD) == 4

    def test_unknown_uploads(self, store: FilesystemBlobStore) -> None:
        with pytest.raises(ScratchNotFound) as missing:
            store.scratch_append(UPLOAD, b"data", 0)
        # Upload ids are capabilities of the reporter's browser: never in a message or log.
        assert UPLOAD not in str(missing.value)
        with pytest.raises(ScratchNotFound):
            store.scratch_size(UPLOAD)
        with pytest.raises(ScratchNotFound):
            store.scratch_commit(UPLOAD, BLOB)
        assert files_under(store.root) == []

    def test_commit_turns_the_upload_into_a_blob(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"encrypted chunks", 0)
        store.scratch_commit(UPLOAD, BLOB)
        assert store.size(BLOB) == 16
        # The upload is over: nothing more can be appended, to it or to the blob.
        with pytest.raises(ScratchNotFound):
            store.scratch_append(UPLOAD, b"more", 16)
        assert store.size(BLOB) == 16
        assert files_under(store.root) == [store.root / "blobs" / BLOB[:2] / BLOB]

    def test_commit_never_overwrites_a_blob(self, store: FilesystemBlobStore) -> None:
        write_blob(store, BLOB, b"existing")
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"upload", 0)
        with pytest.raises(BlobExists):
            store.scratch_commit(UPLOAD, BLOB)
        with store.open_reader(BLOB) as reader:
            assert reader.read() == b"existing"
        assert store.scratch_size(UPLOAD) == 6  # still there, for a commit under a new id

    def test_discard_is_safe_to_repeat(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        store.scratch_append(UPLOAD, b"data", 0)
        assert store.scratch_discard(UPLOAD) is True
        assert store.scratch_discard(UPLOAD) is False
        with pytest.raises(ScratchNotFound):
            store.scratch_size(UPLOAD)


class TestGarbageCollection:
    def test_lists_uploads_last_written_before_the_cutoff(self, store: FilesystemBlobStore) -> None:
        now = datetime.now(UTC)
        stale, fresh = "a" * 32, "b" * 32
        for upload_id, age in ((stale, timedelta(days=2)), (fresh, timedelta(minutes=5))):
            store.scratch_create(upload_id)
            written = (now - age).timestamp()
            os.utime(store.root / "scratch" / upload_id, (written, written))
        (store.root / "scratch" / "not-an-upload").write_bytes(b"ignored")

        assert store.scratch_list_older_than(now - timedelta(days=1)) == [stale]
        assert store.scratch_list_older_than(now) == [stale, fresh]
        assert store.scratch_list_older_than(now - timedelta(days=3)) == []

    def test_an_append_keeps_an_upload_alive(self, store: FilesystemBlobStore) -> None:
        store.scratch_create(UPLOAD)
        old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
        os.utime(store.root / "scratch" / UPLOAD, (old, old))
        store.scratch_append(UPLOAD, b"still uploading", 0)
        assert store.scratch_list_older_than(datetime.now(UTC) - timedelta(days=1)) == []

    def test_cutoff_must_be_aware(self, store: FilesystemBlobStore) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            store.scratch_list_older_than(datetime(2026, 1, 1))  # naive on purpose

    def test_removes_temp_files_left_by_a_crashed_writer(self, store: FilesystemBlobStore) -> None:
        tmp = store.root / "tmp"
        crashed, active = tmp / ("c" * 32 + ".part"), tmp / ("d" * 32 + ".part")
        crashed.write_bytes(b"half a blob")
        active.write_bytes(b"being written")
        old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
        os.utime(crashed, (old, old))

        assert store.remove_stale_temp_files(datetime.now(UTC) - timedelta(days=1)) == 1
        assert files_under(tmp) == [active]
