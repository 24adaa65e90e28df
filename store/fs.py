"""Private directories for the database and the blob store, and a lock between processes."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def create_private_dirs(path: Path) -> Path:
    """Create ``path`` and any missing parents, each accessible to its owner only.

    Unlike ``mkdir(parents=True)``, which gives new parents the umask's permissions, every
    directory created here is 0700, whatever the umask. Existing ones are left alone.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # another process got there first; it made it private too
        directory.chmod(PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return path


@contextmanager
def process_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created 0600, kept) for the block.

    For one-time set-up that several processes may start at once on one host: the later
    ones wait, then find the work done. The kernel drops the lock if the holder dies.
    """
    create_private_dirs(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
