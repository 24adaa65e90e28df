"""The blob stores: one contract, run against both (private files under a root, and rows of
PostgreSQL), then what is particular to each: confinement, permissions and file locks of
the filesystem store; chunk rows, row locks and its own transactions of the database one.
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import Connection, Engine, delete, event, insert, make_url, select, text, update

from store.blobs import (
    BlobError,
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
from store.blobs.postgres import (
    BATCH_SIZE,
    ROW_SIZE,
    PostgresBlobStore,
    UnsupportedDatabase,
    shared_store,
)
from store.db import make_engine
from store.models import BlobChunk, BlobObject
from tests import postgres
from tests.programs import require_variable
from tests.store.factories import sqlite_url

BLOB = "0123456789abcdef" * 2
UPLOAD = "fedcba9876543210" * 2
MIB = 1024 * 1024


def midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- the two stores, and what a test needs to see inside each -------------------------------


class Place(Protocol):
    """A store and a look inside it: what it holds, and how to make things old."""

    @property
    def store(self) -> BlobStore: ...

    def contents(self) -> list[str]:
        """Everything stored: "blob <id>", "scratch <id>" and "unfinished" per write."""

    def age_scratch(self, upload_id: str, age: timedelta) -> None:
        """Make the upload's last write ``age`` ago (as far as the store keeps times)."""

    def leave_unfinished_write(self, age: timedelta) -> None:
        """What a process killed in the middle of ``open_writer`` leaves behind."""

    def another_process(self, upload_id: str) -> AbstractContextManager[OtherProcess]:
        """Another process, holding the upload's lock as an append or a commit does,
        until the block ends."""


class OtherProcess(Protocol):
    def wait_until_blocked(self) -> None:
        """Until another thread waits for the lock this process holds."""

    def append(self, data: bytes) -> None:
        """What scratch_append does under the lock."""

    def commit(self, blob_id: str) -> None:
        """What scratch_commit does under the lock."""


class FileProcess:
    def __init__(self, root: Path, upload_id: str, descriptor: int) -> None:
        self.root, self.path, self.descriptor = root, root / "scratch" / upload_id, descriptor

    def wait_until_blocked(self) -> None:
        # The append opens the file before it waits for the lock (Linux: /proc/self/fd).
        def opened() -> int:
            count = 0
            for fd in Path("/proc/self/fd").iterdir():
                with suppress(OSError):  # closed while listing
                    count += os.readlink(fd) == str(self.path)
            return count

        wait_until(lambda: opened() >= 2, "the append never opened the scratch file")

    def append(self, data: bytes) -> None:
        os.write(self.descriptor, data)

    def commit(self, blob_id: str) -> None:
        blob_path = self.root / "blobs" / blob_id[:2] / blob_id
        blob_path.parent.mkdir(mode=0o700)
        os.replace(self.path, blob_path)


class RowProcess:
    def __init__(self, connection: Connection, object_id: int) -> None:
        self.connection, self.object_id = connection, object_id

    def wait_until_blocked(self) -> None:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )

        def waiting() -> bool:
            with self.connection.engine.connect() as other:
                return bool(other.exec_driver_sql(query).scalar_one())

        wait_until(waiting, "the append never waited for the row lock")

    def append(self, data: bytes) -> None:
        this = BlobObject.id == self.object_id
        size = self.connection.execute(select(BlobObject.size).where(this)).scalar_one()
        self.connection.execute(
            insert(BlobChunk).values(object_id=self.object_id, position=size, data=data)
        )
        self.connection.execute(update(BlobObject).where(this).values(size=size + len(data)))

    def commit(self, blob_id: str) -> None:
        self.connection.execute(
            update(BlobObject)
            .where(BlobObject.id == self.object_id)
            .values(upload_id=None, blob_id=blob_id)
        )


def wait_until(condition: Callable[[], object], failure: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError(failure)


class Files:
    def __init__(self, root: Path) -> None:
        self.store = FilesystemBlobStore(root)
        self.root = self.store.root

    def contents(self) -> list[str]:
        found = []
        for path in files_under(self.root):
            area = path.relative_to(self.root).parts[0]
            if area == "blobs":
                found.append(f"blob {path.name}")
            elif area == "scratch":
                found.append(f"scratch {path.name}")
            else:
                found.append("unfinished")
        return sorted(found)

    def age_scratch(self, upload_id: str, age: timedelta) -> None:
        written = (datetime.now(UTC) - age).timestamp()
        os.utime(self.root / "scratch" / upload_id, (written, written))

    @contextmanager
    def another_process(self, upload_id: str) -> Iterator[OtherProcess]:
        descriptor = os.open(self.root / "scratch" / upload_id, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield FileProcess(self.root, upload_id, descriptor)
        finally:
            os.close(descriptor)

    def leave_unfinished_write(self, age: timedelta) -> None:
        part = self.root / "tmp" / f"{new_id()}.part"
        part.write_bytes(b"half a blob")
        written = (datetime.now(UTC) - age).timestamp()
        os.utime(part, (written, written))


class Rows:
    def __init__(self, engine: Engine) -> None:
        self.store = PostgresBlobStore(engine)
        self.engine = engine

    def contents(self) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(BlobObject.blob_id, BlobObject.upload_id)).all()
        return sorted(
            f"blob {blob}" if blob else f"scratch {upload}" if upload else "unfinished"
            for blob, upload in rows
        )

    def age_scratch(self, upload_id: str, age: timedelta) -> None:
        self._date(BlobObject.upload_id == upload_id, age)

    @contextmanager
    def another_process(self, upload_id: str) -> Iterator[OtherProcess]:
        with self.engine.begin() as connection:  # commits when the block ends
            object_id = connection.execute(
                select(BlobObject.id).where(BlobObject.upload_id == upload_id).with_for_update()
            ).scalar_one()
            yield RowProcess(connection, object_id)

    def leave_unfinished_write(self, age: timedelta) -> None:
        with self.engine.begin() as connection:
            made = connection.execute(
                insert(BlobObject)
                .values(size=0, written_on=(datetime.now(UTC) - age).date())
                .returning(BlobObject.id)
            )
            connection.execute(
                insert(BlobChunk).values(object_id=made.scalar_one(), position=0, data=b"half")
            )

    def chunks(self) -> list[tuple[int, int, int]]:
        """(object, position, length) of every chunk row."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(BlobChunk.object_id, BlobChunk.position, BlobChunk.data).order_by(
                    BlobChunk.object_id, BlobChunk.position
                )
            ).all()
        return [(object_id, position, len(data)) for object_id, position, data in rows]

    def written_on(self, **name: str) -> date:
        with self.engine.connect() as connection:
            return connection.execute(select(BlobObject.written_on).filter_by(**name)).scalar_one()

    def _date(self, where: object, age: timedelta) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(BlobObject)
                .where(where)  # type: ignore[arg-type]
                .values(written_on=(datetime.now(UTC) - age).date())
            )


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    """One migrated database for the module; each test empties the store's tables."""
    server = make_url(require_variable(postgres.SERVER_VARIABLE))
    with postgres.migrated_engine(server) as engine:
        yield engine


@pytest.fixture
def rows(postgres_engine: Engine) -> Iterator[Rows]:
    place = Rows(postgres_engine)
    try:
        yield place
    finally:
        with postgres_engine.begin() as connection:
            connection.execute(delete(BlobObject))
            connection.execute(delete(BlobChunk))


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path / "blobs")


@pytest.fixture(params=["files", "database"])
def place(request: pytest.FixtureRequest) -> Place:
    fixture = "files" if request.param == "files" else "rows"
    found: Place = request.getfixturevalue(fixture)
    return found


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def write_blob(store: BlobStore, blob_id: str, *chunks: bytes) -> None:
    with store.open_writer(blob_id) as writer:
        for chunk in chunks:
            writer.write(chunk)


def read_blob(store: BlobStore, blob_id: str, piece: int = 65_552) -> bytes:
    with store.open_reader(blob_id) as reader:
        return b"".join(iter(lambda: reader.read(piece), b""))


class Append(threading.Thread):
    """scratch_append in a thread, recording how it ended."""

    def __init__(self, store: BlobStore, data: bytes, expected_offset: int) -> None:
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


# --- the contract: both stores ---------------------------------------------------------------


class TestBlobs:
    def test_written_blob_reads_back(self, place: Place) -> None:
        write_blob(place.store, BLOB, b"first chunk|", b"second chunk")
        assert place.store.exists(BLOB)
        assert place.store.size(BLOB) == 24
        assert read_blob(place.store, BLOB) == b"first chunk|second chunk"
        assert place.contents() == [f"blob {BLOB}"]

    def test_a_blob_of_several_mebibytes_reads_back_in_any_pieces(self, place: Place) -> None:
        data = os.urandom(2 * MIB + 12_345)
        with place.store.open_writer(BLOB) as writer:
            for start in range(0, len(data), 100_000):  # as the no-JS form encrypts
                writer.write(data[start : start + 100_000])
        assert place.store.size(BLOB) == len(data)
        assert read_blob(place.store, BLOB) == data
        assert read_blob(place.store, BLOB, piece=3 * MIB) == data

    def test_nothing_appears_before_the_writer_finishes(self, place: Place) -> None:
        with place.store.open_writer(BLOB) as writer:
            writer.write(b"partial" * MIB)
            assert not place.store.exists(BLOB)
            assert place.store.blob_ids() == []
        assert place.store.exists(BLOB)

    def test_exception_inside_the_writer_leaves_nothing(self, place: Place) -> None:
        def upload_interrupted() -> None:
            with place.store.open_writer(BLOB) as writer:
                writer.write(b"x" * (2 * MIB + 100))
                raise RuntimeError("client went away")

        with pytest.raises(RuntimeError, match="client went away"):
            upload_interrupted()
        assert not place.store.exists(BLOB)
        assert place.contents() == []

    def test_blobs_are_written_once(self, place: Place) -> None:
        write_blob(place.store, BLOB, b"original")
        with pytest.raises(BlobExists):
            write_blob(place.store, BLOB, b"replacement")
        assert read_blob(place.store, BLOB) == b"original"
        assert place.contents() == [f"blob {BLOB}"]

    def test_missing_blobs(self, place: Place) -> None:
        assert not place.store.exists(BLOB)
        with pytest.raises(BlobNotFound):
            place.store.open_reader(BLOB)
        with pytest.raises(BlobNotFound):
            place.store.size(BLOB)

    def test_delete_is_safe_to_repeat(self, place: Place) -> None:
        write_blob(place.store, BLOB, b"data")
        assert place.store.delete(BLOB) is True
        assert not place.store.exists(BLOB)
        assert place.store.delete(BLOB) is False
        assert place.contents() == []

    def test_times_are_kept_to_the_day(self, place: Place) -> None:
        # Written today, and counted as written at midnight: no time of day is kept.
        write_blob(place.store, BLOB, b"data")
        today = midnight(datetime.now(UTC))
        assert place.store.blob_ids(modified_before=today) == []
        assert place.store.blob_ids(modified_before=today + timedelta(microseconds=1)) == [BLOB]
        assert place.store.blob_ids() == [BLOB]

    def test_new_ids_are_random_and_valid(self, place: Place) -> None:
        ids = {place.store.new_blob_id() for _ in range(1000)} | {new_id() for _ in range(1000)}
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
    "' OR '1'='1" + "0" * 32,
    None,
    b"0123456789abcdef0123456789abcdef",
]


def _operations(store: BlobStore, bad: object) -> list[Callable[[], object]]:
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
        lambda: store.scratch_restore(value, UPLOAD),
        lambda: store.scratch_restore(BLOB, value),
        lambda: store.scratch_discard(value),
    ]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_invalid_ids_are_refused_before_any_io(place: Place, bad: object) -> None:
    place.store.scratch_create(UPLOAD)
    write_blob(place.store, BLOB, b"kept")
    before = place.contents()
    for operation in _operations(place.store, bad):
        with pytest.raises(InvalidBlobId):
            operation()
    assert place.contents() == before


def test_the_database_store_refuses_invalid_ids_without_a_query(rows: Rows) -> None:
    statements: list[str] = []

    def record(_connection: Connection, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(rows.engine, "before_cursor_execute", record)
    try:
        for operation in _operations(rows.store, "../" + BLOB):
            with pytest.raises(InvalidBlobId):
                operation()
    finally:
        event.remove(rows.engine, "before_cursor_execute", record)
    assert statements == []


class TestScratch:
    def test_appends_at_the_expected_offset(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        assert place.store.scratch_size(UPLOAD) == 0
        assert place.store.scratch_append(UPLOAD, b"abc", 0) == 3
        assert place.store.scratch_append(UPLOAD, b"defg", 3) == 7
        assert place.store.scratch_size(UPLOAD) == 7

    def test_a_retried_append_is_refused_and_not_written_twice(self, place: Place) -> None:
        # The client's first attempt arrived but the response was lost; it sends again.
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"chunk-1", 0)
        with pytest.raises(OffsetMismatch) as refused:
            place.store.scratch_append(UPLOAD, b"chunk-1", 0)
        assert (refused.value.expected, refused.value.current) == (0, 7)
        # The client resumes from the offset it was told.
        place.store.scratch_append(UPLOAD, b"chunk-2", refused.value.current)
        place.store.scratch_commit(UPLOAD, BLOB)
        assert read_blob(place.store, BLOB) == b"chunk-1chunk-2"

    def test_an_append_past_the_end_is_refused(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"abc", 0)
        with pytest.raises(OffsetMismatch):
            place.store.scratch_append(UPLOAD, b"def", 5)
        assert place.store.scratch_size(UPLOAD) == 3

    def test_of_two_appends_at_the_same_offset_exactly_one_wins(self, place: Place) -> None:
        # Two requests of the same upload at once (a client that retried too early).
        place.store.scratch_create(UPLOAD)
        position, kept = 0, b""
        for round_ in range(6):
            start = threading.Barrier(2)
            ends: dict[bytes, int | OffsetMismatch] = {}

            def race(
                data: bytes,
                at: int = position,
                start: threading.Barrier = start,
                ends: dict[bytes, int | OffsetMismatch] = ends,
            ) -> None:
                start.wait()
                try:
                    ends[data] = place.store.scratch_append(UPLOAD, data, at)
                except OffsetMismatch as refused:
                    ends[data] = refused

            pieces = [bytes([2 * round_ + i]) * 300_000 for i in range(2)]
            threads = [threading.Thread(target=race, args=(piece,)) for piece in pieces]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            won = [data for data, end in ends.items() if isinstance(end, int)]
            lost = [end for end in ends.values() if isinstance(end, OffsetMismatch)]
            assert len(won) == 1
            assert ends[won[0]] == position + 300_000
            assert [refusal.current for refusal in lost] == [position + 300_000]
            position, kept = position + 300_000, kept + won[0]
        place.store.scratch_commit(UPLOAD, BLOB)
        assert read_blob(place.store, BLOB) == kept

    def test_an_append_waits_for_another_process_mid_append(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        with place.another_process(UPLOAD) as other:
            late = Append(place.store, b"late", expected_offset=0)
            other.wait_until_blocked()
            assert not late.finished.wait(0.2), "appended while another process held the lock"
            other.append(b"first")  # the other process completes its append
        late.join()
        assert isinstance(late.error, OffsetMismatch)
        assert late.error.current == 5
        assert place.store.scratch_size(UPLOAD) == 5

    def test_an_append_never_reaches_a_committed_blob(self, place: Place) -> None:
        # An append waits for the lock while a commit, holding it, turns the upload into a
        # blob. Once the lock is free, the append must not write into the finished blob.
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"complete", 0)
        with place.another_process(UPLOAD) as other:
            late = Append(place.store, b"extra", expected_offset=8)
            other.wait_until_blocked()
            other.commit(BLOB)
        late.join()
        assert isinstance(late.error, ScratchNotFound)
        assert read_blob(place.store, BLOB) == b"complete"

    def test_create_is_exclusive(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"kept", 0)
        with pytest.raises(ScratchExists):
            place.store.scratch_create(UPLOAD)
        assert place.store.scratch_size(UPLOAD) == 4

    def test_unknown_uploads(self, place: Place) -> None:
        with pytest.raises(ScratchNotFound) as missing:
            place.store.scratch_append(UPLOAD, b"data", 0)
        # Upload ids are capabilities of the reporter's browser: never in a message or log.
        assert UPLOAD not in str(missing.value)
        with pytest.raises(ScratchNotFound):
            place.store.scratch_size(UPLOAD)
        with pytest.raises(ScratchNotFound) as missing:
            place.store.scratch_commit(UPLOAD, BLOB)
        assert UPLOAD not in str(missing.value)
        assert place.contents() == []

    def test_commit_turns_the_upload_into_a_blob(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"encrypted chunks", 0)
        place.store.scratch_commit(UPLOAD, BLOB)
        assert place.store.size(BLOB) == 16
        # The upload is over: nothing more can be appended, to it or to the blob.
        with pytest.raises(ScratchNotFound):
            place.store.scratch_append(UPLOAD, b"more", 16)
        assert place.store.size(BLOB) == 16
        assert place.contents() == [f"blob {BLOB}"]

    def test_commit_never_overwrites_a_blob(self, place: Place) -> None:
        write_blob(place.store, BLOB, b"existing")
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"upload", 0)
        with pytest.raises(BlobExists):
            place.store.scratch_commit(UPLOAD, BLOB)
        assert read_blob(place.store, BLOB) == b"existing"
        assert place.store.scratch_size(UPLOAD) == 6  # still there, for a commit under a new id

    def test_restore_undoes_a_commit(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"claimed, then rolled back", 0)
        place.store.scratch_commit(UPLOAD, BLOB)
        place.store.scratch_restore(BLOB, UPLOAD)
        assert not place.store.exists(BLOB)
        assert place.store.scratch_size(UPLOAD) == 25
        assert place.contents() == [f"scratch {UPLOAD}"]
        other = new_id()
        place.store.scratch_commit(UPLOAD, other)  # claimed once more
        assert read_blob(place.store, other) == b"claimed, then rolled back"

    def test_restore_refuses_a_missing_blob_or_a_taken_upload(self, place: Place) -> None:
        with pytest.raises(BlobNotFound):
            place.store.scratch_restore(BLOB, UPLOAD)
        write_blob(place.store, BLOB, b"blob")
        place.store.scratch_create(UPLOAD)
        with pytest.raises(ScratchExists):
            place.store.scratch_restore(BLOB, UPLOAD)
        assert place.contents() == sorted([f"blob {BLOB}", f"scratch {UPLOAD}"])

    def test_discard_is_safe_to_repeat(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.store.scratch_append(UPLOAD, b"data", 0)
        assert place.store.scratch_discard(UPLOAD) is True
        assert place.store.scratch_discard(UPLOAD) is False
        with pytest.raises(ScratchNotFound):
            place.store.scratch_size(UPLOAD)
        assert place.contents() == []


class TestGarbageCollection:
    def test_lists_uploads_last_written_before_the_cutoff(self, place: Place) -> None:
        now = datetime.now(UTC)
        stale, fresh = "a" * 32, "b" * 32
        for upload_id, age in ((stale, timedelta(days=2)), (fresh, timedelta(minutes=5))):
            place.store.scratch_create(upload_id)
            place.age_scratch(upload_id, age)

        assert place.store.scratch_list_older_than(now - timedelta(days=1)) == [stale]
        assert place.store.scratch_list_older_than(now - timedelta(days=3)) == []

    def test_an_append_keeps_an_upload_alive(self, place: Place) -> None:
        place.store.scratch_create(UPLOAD)
        place.age_scratch(UPLOAD, timedelta(days=2))
        place.store.scratch_append(UPLOAD, b"still uploading", 0)
        assert place.store.scratch_list_older_than(datetime.now(UTC) - timedelta(days=1)) == []

    def test_cutoffs_must_be_aware(self, place: Place) -> None:
        naive = datetime(2026, 1, 1)  # naive on purpose
        for listing in (place.store.scratch_list_older_than, place.store.remove_stale_temp_files):
            with pytest.raises(ValueError, match="timezone-aware"):
                listing(naive)

    def test_removes_writes_left_by_a_crashed_writer(self, place: Place) -> None:
        place.leave_unfinished_write(timedelta(days=2))
        place.leave_unfinished_write(timedelta(0))  # perhaps still being written
        assert place.contents() == ["unfinished", "unfinished"]

        assert place.store.remove_stale_temp_files(datetime.now(UTC) - timedelta(days=1)) == 1
        assert place.contents() == ["unfinished"]


# --- the filesystem store --------------------------------------------------------------------


class TestFiles:
    def test_blobs_are_sharded_and_nothing_else_is_left(self, files: Files) -> None:
        write_blob(files.store, BLOB, b"data")
        assert files_under(files.root) == [files.root / "blobs" / "01" / BLOB]

    def test_temp_files_stay_inside_the_root(self, files: Files, tmp_path: Path) -> None:
        with files.store.open_writer(BLOB) as writer:
            writer.write(b"in progress")
            in_progress = files_under(tmp_path)
        assert len(in_progress) == 1
        assert in_progress[0].parent == files.root / "tmp"

    def test_file_times_show_the_day_only(self, files: Files) -> None:
        write_blob(files.store, BLOB, b"data")
        modified = datetime.fromtimestamp(
            (files.root / "blobs" / BLOB[:2] / BLOB).stat().st_mtime, UTC
        )
        assert (modified.hour, modified.minute, modified.second) == (0, 0, 0)
        assert datetime.now(UTC) - modified < timedelta(days=1)

    def test_scratch_times_are_exact_while_the_upload_lasts(self, files: Files) -> None:
        files.store.scratch_create(UPLOAD)
        files.age_scratch(UPLOAD, timedelta(minutes=5))
        (files.root / "scratch" / "not-an-upload").write_bytes(b"ignored")
        assert files.store.scratch_list_older_than(datetime.now(UTC)) == [UPLOAD]

    def test_invalid_ids_touch_nothing_on_disk(self, files: Files, tmp_path: Path) -> None:
        files.store.scratch_create(UPLOAD)
        before = sorted(tmp_path.rglob("*"))
        for operation in _operations(files.store, "../" + BLOB):
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


# --- the database store ----------------------------------------------------------------------


def row_spans(rows: Rows) -> list[tuple[int, int]]:
    """The byte ranges the chunk rows cover, rows that follow each other merged."""
    spans: list[tuple[int, int]] = []
    for _, position, length in rows.chunks():
        if spans and spans[-1][1] == position:
            spans[-1] = (spans[-1][0], position + length)
        else:
            spans.append((position, position + length))
    return spans


class TestRows:
    def test_only_postgresql(self, tmp_path: Path) -> None:
        engine = make_engine(sqlite_url(tmp_path / "sqlite.sqlite3"))
        try:
            with pytest.raises(UnsupportedDatabase):
                PostgresBlobStore(engine)
        finally:
            engine.dispose()

    def test_deferred_appends_are_flushed_before_their_size_is_told(self, rows: Rows) -> None:
        """sync=False: the append's commit does not wait for the disk; scratch_size (and
        scratch_sync) commit a transaction with an id, whose commit waits for the WAL to be
        flushed past every append it saw."""
        statements: list[str] = []

        def watch(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        def next_transaction_id() -> int:
            with rows.engine.connect() as connection:
                query = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                return int(connection.scalar(query))

        store = rows.store
        store.scratch_create(UPLOAD)
        event.listen(store.engine, "before_cursor_execute", watch)
        try:
            store.scratch_append(UPLOAD, b"x" * 100, 0)
            assert not any("synchronous_commit" in statement for statement in statements)
            store.scratch_append(UPLOAD, b"y" * 100, 100, sync=False)
            assert any("synchronous_commit TO OFF" in statement for statement in statements)
        finally:
            event.remove(store.engine, "before_cursor_execute", watch)
        before = next_transaction_id()
        assert store.scratch_size(UPLOAD) == 200
        assert next_transaction_id() > before
        before = next_transaction_id()
        store.scratch_sync(UPLOAD)
        assert next_transaction_id() > before

    def test_a_writers_batches_wait_for_the_disk_only_when_the_blob_is_named(
        self, rows: Rows
    ) -> None:
        commits: list[str] = []  # each transaction's commit: waiting for the disk or not

        def watch(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if "synchronous_commit" in statement:
                commits.append("without waiting")

        def on_commit(_conn: object) -> None:
            commits.append("commit")

        event.listen(rows.store.engine, "before_cursor_execute", watch)
        event.listen(rows.store.engine, "commit", on_commit)
        try:
            with rows.store.open_writer(BLOB) as writer:
                writer.write(os.urandom(2 * BATCH_SIZE + 10))
        finally:
            event.remove(rows.store.engine, "before_cursor_execute", watch)
            event.remove(rows.store.engine, "commit", on_commit)
        # The stream's row; two full batches, then the rest, without waiting; the naming.
        assert commits == ["commit"] + ["without waiting", "commit"] * 3 + ["commit"]
        assert rows.contents() == [f"blob {BLOB}"]

    def test_batches_are_written_as_they_fill_in_rows_that_fit_a_page(self, rows: Rows) -> None:
        data, cut = os.urandom(2 * MIB + 500_000), 2 * MIB + 100_000
        with rows.store.open_writer(BLOB) as writer:
            for start in range(0, cut, 100_000):
                writer.write(data[start : min(start + 100_000, cut)])
            # Committed already, seen from another connection: the writer keeps less than
            # a batch in memory, whatever the size of the blob.
            assert row_spans(rows) == [(0, 2 * BATCH_SIZE)]
            assert rows.contents() == ["unfinished"]
            writer.write(data[cut:])
        assert row_spans(rows) == [(0, len(data))]
        assert max(length for _, _, length in rows.chunks()) == ROW_SIZE == 8000
        assert read_blob(rows.store, BLOB) == data

    def test_appends_of_any_size_become_rows_that_follow_each_other(self, rows: Rows) -> None:
        rows.store.scratch_create(UPLOAD)
        rows.store.scratch_append(UPLOAD, b"a" * 10, 0)
        rows.store.scratch_append(UPLOAD, b"b" * (MIB + 1), 10)
        rows.store.scratch_append(UPLOAD, b"", MIB + 11)
        assert row_spans(rows) == [(0, MIB + 11)]
        assert [length for _, _, length in rows.chunks()][:3] == [10, ROW_SIZE, ROW_SIZE]
        rows.store.scratch_commit(UPLOAD, BLOB)
        assert read_blob(rows.store, BLOB) == b"a" * 10 + b"b" * (MIB + 1)

    def test_the_rows_are_kept_in_the_table_itself(self, rows: Rows) -> None:
        # STORAGE PLAIN: never compressed, never cut into TOAST rows (the migration).
        query = (
            "SELECT attstorage FROM pg_attribute"
            " WHERE attrelid = 'blob_chunks'::regclass AND attname = 'data'"
        )
        with rows.engine.connect() as connection:
            assert connection.exec_driver_sql(query).scalar_one() == "p"

    def test_a_reader_holds_no_connection_between_chunks(self, rows: Rows) -> None:
        # A download over Tor takes minutes: it must not keep a connection of the pool.
        write_blob(rows.store, BLOB, os.urandom(2 * MIB + 1))
        with rows.store.open_reader(BLOB) as reader:
            assert len(reader.read(MIB + 10)) == MIB + 10
            assert rows.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            assert len(reader.read()) == MIB - 9

    def test_every_way_out_deletes_the_rows_too(self, rows: Rows) -> None:
        # No foreign key cascades: the store deletes a stream's rows itself.
        write_blob(rows.store, BLOB, os.urandom(MIB + 1))
        rows.store.scratch_create(UPLOAD)
        rows.store.scratch_append(UPLOAD, os.urandom(10_000), 0)
        rows.leave_unfinished_write(timedelta(days=2))

        def upload_interrupted() -> None:
            with rows.store.open_writer(new_id()) as writer:
                writer.write(os.urandom(MIB + 1))  # a batch is stored
                raise RuntimeError("client went away")

        with pytest.raises(RuntimeError):
            upload_interrupted()
        assert rows.store.delete(BLOB)
        assert rows.store.scratch_discard(UPLOAD)
        assert rows.store.remove_stale_temp_files(datetime.now(UTC)) == 1
        assert rows.contents() == []
        assert rows.chunks() == []

    def test_a_write_collected_meanwhile_fails_and_leaves_no_rows(self, rows: Rows) -> None:
        tomorrow = midnight(datetime.now(UTC)) + timedelta(days=1)

        def collected_meanwhile() -> None:
            with rows.store.open_writer(BLOB) as writer:
                writer.write(os.urandom(MIB))  # a batch is stored
                assert rows.store.remove_stale_temp_files(tomorrow) == 1  # a cutoff too late
                writer.write(os.urandom(MIB))

        with pytest.raises(BlobError, match="removed while it was being written"):
            collected_meanwhile()
        assert not rows.store.exists(BLOB)
        assert rows.chunks() == []

    def test_a_reader_serves_the_blob_as_it_was_when_opened(self, rows: Rows) -> None:
        first = os.urandom(MIB + 100)
        rows.store.scratch_create(UPLOAD)
        rows.store.scratch_append(UPLOAD, first, 0)
        rows.store.scratch_commit(UPLOAD, BLOB)
        with rows.store.open_reader(BLOB) as reader:
            # The claim is rolled back meanwhile, and the upload grows again.
            rows.store.scratch_restore(BLOB, UPLOAD)
            rows.store.scratch_append(UPLOAD, b"appended later", len(first))
            assert reader.read() == first

    def test_a_blob_deleted_while_being_read_fails_the_read(self, rows: Rows) -> None:
        write_blob(rows.store, BLOB, os.urandom(2 * MIB))
        with rows.store.open_reader(BLOB) as reader:
            reader.read(1000)
            rows.store.delete(BLOB)  # a retention purge, meanwhile
            with pytest.raises(BlobNotFound):
                reader.read()
        assert rows.chunks() == []

    def test_writes_commit_on_their_own_not_in_the_callers_transaction(
        self, rows: Rows, postgres_engine: Engine
    ) -> None:
        # The caller's transaction (the app's session) rolls back; what the store did
        # stays, as a file written to disk would: scratch_create runs inside a transaction
        # that may fail, and garbage collection removes such orphans.
        with postgres_engine.connect() as caller:
            caller.begin()
            rows.store.scratch_create(UPLOAD)
            assert rows.store.scratch_append(UPLOAD, b"durable", 0) == 7
            caller.rollback()
        assert rows.contents() == [f"scratch {UPLOAD}"]
        assert rows.store.scratch_size(UPLOAD) == 7

    def test_only_the_day_of_the_last_write_is_kept(self, rows: Rows) -> None:
        today = datetime.now(UTC).date()
        write_blob(rows.store, BLOB, b"data")
        rows.store.scratch_create(UPLOAD)
        rows.age_scratch(UPLOAD, timedelta(days=3))
        rows.store.scratch_append(UPLOAD, b"data", 0)
        assert rows.written_on(blob_id=BLOB) == today
        assert rows.written_on(upload_id=UPLOAD) == today
        columns = {column.name: column.type.python_type for column in BlobObject.__table__.c}
        assert datetime not in columns.values()

    def test_uploads_and_unfinished_writes_count_from_the_end_of_their_day(
        self, rows: Rows
    ) -> None:
        # Only the day is kept, so an upload written today may be a second old: it is not
        # taken for abandoned until the day is over, whatever the cutoff says.
        rows.store.scratch_create(UPLOAD)
        rows.leave_unfinished_write(timedelta(0))
        now = datetime.now(UTC)
        tomorrow = midnight(now) + timedelta(days=1)
        assert rows.store.scratch_list_older_than(now) == []
        assert rows.store.remove_stale_temp_files(now) == 0
        assert rows.store.scratch_list_older_than(tomorrow) == [UPLOAD]
        assert rows.store.remove_stale_temp_files(tomorrow) == 1

    def test_one_engine_per_process_and_database(self, postgres_engine: Engine) -> None:
        url = postgres_engine.url.render_as_string(hide_password=False)
        first, second = shared_store(url), shared_store(url)
        try:
            assert first.engine is second.engine
            assert first.engine is not postgres_engine
        finally:
            first.engine.dispose()

    def test_a_forked_child_does_not_use_its_parents_connections(
        self, postgres_engine: Engine
    ) -> None:
        url = postgres_engine.url.render_as_string(hide_password=False)
        store = shared_store(url)
        try:
            assert not store.exists(BLOB)  # the parent's connection now waits in the pool
            assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
            child = os.fork()
            if child == 0:  # pragma: no cover (the child reports through its exit status)
                os._exit(store.engine.pool.checkedin())  # type: ignore[attr-defined]
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert not store.exists(BLOB)  # and still works in the parent
        finally:
            store.engine.dispose()
