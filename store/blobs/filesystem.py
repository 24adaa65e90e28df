"""The default blob store: private files under one root directory.

Layout under ``root`` (every directory 0700, every file 0600)::

    blobs/ab/ab12...   finished blobs, sharded by the first two characters of the id
    scratch/<id>       resumable uploads in progress
    tmp/<random>.part  blobs being written; renamed into blobs/ when complete

All three areas are on the same filesystem, so a rename between them is atomic. Paths are
built only from ids that passed ``check_id``, so nothing is ever written outside ``root``.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from store.blobs.interface import (
    BlobExists,
    BlobNotFound,
    BlobWriter,
    OffsetMismatch,
    ScratchExists,
    ScratchNotFound,
    check_id,
    new_id,
)
from store.fs import PRIVATE_DIR, create_private_dirs

_PRIVATE_FILE = 0o600
# O_EXCL also refuses an existing symlink; O_NOFOLLOW refuses one when opening existing files.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_NAME = re.compile(r"[0-9a-f]{32}\.part")


class _FileWriter:
    """Exposes only ``write``: callers cannot seek back, read, or close early."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        _private_dir(self.root)
        self._blobs = _private_dir(self.root / "blobs")
        self._scratch = _private_dir(self.root / "scratch")
        self._tmp = _private_dir(self.root / "tmp")

    # --- blobs -------------------------------------------------------------------------

    def new_blob_id(self) -> str:
        return new_id()

    @contextmanager
    def open_writer(self, blob_id: str) -> Iterator[BlobWriter]:
        final = self._blob_path(blob_id)
        if _is_file(final):
            raise BlobExists(f"blob {blob_id} already exists")
        temp = self._tmp / f"{secrets.token_hex(16)}.part"
        descriptor = os.open(temp, _CREATE, _PRIVATE_FILE)
        published = False
        try:
            with os.fdopen(descriptor, "wb") as file:
                yield _FileWriter(file)
                file.flush()
                os.fsync(file.fileno())
            self._publish(temp, final)
            published = True
        finally:
            if not published:
                temp.unlink(missing_ok=True)

    def open_reader(self, blob_id: str) -> BinaryIO:
        try:
            return open(self._blob_path(blob_id), "rb", opener=_open_no_follow)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {blob_id}") from None

    def size(self, blob_id: str) -> int:
        try:
            return os.stat(self._blob_path(blob_id), follow_symlinks=False).st_size
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {blob_id}") from None

    def exists(self, blob_id: str) -> bool:
        return _is_file(self._blob_path(blob_id))

    def delete(self, blob_id: str) -> bool:
        # Plain unlink, no overwriting: on SSDs and copy-on-write filesystems overwriting
        # does not reach the old blocks anyway. The contents are ciphertext, and deleting
        # a case's key wraps is what makes them unreadable.
        path = self._blob_path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def blob_ids(self, *, modified_before: datetime | None = None) -> list[str]:
        cutoff = modified_before or datetime.max.replace(tzinfo=UTC)
        found: list[str] = []
        with os.scandir(self._blobs) as shards:
            for shard in shards:
                if len(shard.name) == 2 and shard.is_dir(follow_symlinks=False):
                    found += _names_older_than(Path(shard.path), cutoff, _is_valid_id)
        return sorted(found)

    # --- scratch files of resumable uploads --------------------------------------------

    def scratch_create(self, upload_id: str) -> None:
        try:
            descriptor = os.open(self._scratch_path(upload_id), _CREATE, _PRIVATE_FILE)
        except FileExistsError:
            raise ScratchExists("the upload already has a scratch file") from None
        os.close(descriptor)
        _fsync_dir(self._scratch)

    def scratch_append(
        self, upload_id: str, data: bytes | bytearray, expected_offset: int, *, sync: bool = True
    ) -> int:
        # Always synced: an fsync per piece costs little next to the write (benchmarks/
        # README.md, upload.py), and the file is the only copy.
        path = self._scratch_path(upload_id)
        with _locked(path, os.O_WRONLY | os.O_APPEND) as descriptor:
            current = os.fstat(descriptor).st_size
            if current != expected_offset:
                raise OffsetMismatch(expected_offset, current)
            view = memoryview(data)
            while view:
                written = os.write(descriptor, view)
                view = view[written:]
            os.fsync(descriptor)
            return current + len(data)

    def scratch_sync(self, upload_id: str) -> None:
        self.scratch_size(upload_id)  # every append was synced; only its existence to check

    def scratch_size(self, upload_id: str) -> int:
        try:
            return os.stat(self._scratch_path(upload_id), follow_symlinks=False).st_size
        except FileNotFoundError:
            raise ScratchNotFound("no scratch file for this upload") from None

    def scratch_commit(self, upload_id: str, blob_id: str) -> None:
        path = self._scratch_path(upload_id)
        final = self._blob_path(blob_id)
        # Holding the lock means no append is half-way through when the file is moved.
        with _locked(path, os.O_RDONLY) as descriptor:
            os.fsync(descriptor)
            self._publish(path, final)

    def scratch_restore(self, blob_id: str, upload_id: str) -> None:
        source, target = self._blob_path(blob_id), self._scratch_path(upload_id)
        if not _is_file(source):
            raise BlobNotFound(f"no blob {blob_id}")
        try:
            # A hard link refuses an existing target, where a rename would replace it.
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            raise ScratchExists("the upload already has a scratch file") from None
        source.unlink()
        _fsync_dir(self._scratch)
        _fsync_dir(source.parent)

    def scratch_discard(self, upload_id: str) -> bool:
        try:
            self._scratch_path(upload_id).unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self._scratch)
        return True

    def scratch_list_older_than(self, cutoff: datetime) -> list[str]:
        return sorted(_names_older_than(self._scratch, cutoff, _is_valid_id))

    # --- housekeeping ------------------------------------------------------------------

    def remove_stale_temp_files(self, cutoff: datetime) -> int:
        # Only a killed process leaves a ``.part`` file behind.
        removed = 0
        for name in _names_older_than(self._tmp, cutoff, _TEMP_NAME.fullmatch):
            try:
                (self._tmp / name).unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    # --- internals ---------------------------------------------------------------------

    def _blob_path(self, blob_id: str) -> Path:
        check_id(blob_id)
        return self._blobs / blob_id[:2] / blob_id

    def _scratch_path(self, upload_id: str) -> Path:
        return self._scratch / check_id(upload_id)

    def _publish(self, source: Path, final: Path) -> None:
        """Move a complete, fsync'd file to its final name, atomically and durably."""
        shard = _private_dir(final.parent)
        if _is_file(final):
            raise BlobExists(f"blob {final.name} already exists")
        _coarsen_times(source)
        os.replace(source, final)
        try:
            _fsync_dir(shard)
            _fsync_dir(source.parent)
        except OSError:
            # Not known to be durable: withdraw it, so an exception still means "no blob".
            final.unlink(missing_ok=True)
            raise


def _private_dir(path: Path) -> Path:
    """Make ``path`` a directory only its owner can enter, creating it if needed.

    An existing directory with group or other permissions is tightened: blobs are
    ciphertext, but their number, sizes and dates are metadata worth keeping private.
    """
    create_private_dirs(path)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


@contextmanager
def _locked(path: Path, flags: int) -> Iterator[int]:
    """An exclusively locked descriptor of an existing scratch file.

    The lock serialises appends and commits of one upload across processes. After waiting
    for it, the name must still lead to the same file: a commit or discard may have moved
    or removed it in the meantime, and writing to that file would corrupt a finished blob.
    """
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ScratchNotFound("no scratch file for this upload") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        opened = os.fstat(descriptor)
        if current is None or (current.st_dev, current.st_ino) != (opened.st_dev, opened.st_ino):
            raise ScratchNotFound("no scratch file for this upload")
        yield descriptor
    finally:
        os.close(descriptor)  # also releases the lock


def _names_older_than(
    directory: Path, cutoff: datetime, valid: Callable[[str], object]
) -> Iterator[str]:
    """Names in ``directory`` of regular files last modified before ``cutoff``."""
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError("cutoff must be a timezone-aware datetime")
    threshold = cutoff.timestamp()
    with os.scandir(directory) as entries:
        for entry in entries:
            if not valid(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # removed while we looked
            if modified < threshold:
                yield entry.name


def _is_valid_id(name: str) -> bool:
    try:
        check_id(name)
    except ValueError:
        return False
    return True


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _open_no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)


def _coarsen_times(path: Path) -> None:
    """Set access and modification times to midnight UTC of the day.

    File times would otherwise record to the second when a reporter uploaded, and backups
    and directory listings carry them along. (The inode change time cannot be set: against
    forensics of the disk itself, only full-disk encryption helps.)
    """
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    os.utime(path, (midnight.timestamp(), midnight.timestamp()), follow_symlinks=False)


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable: the directory entry is data too."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
