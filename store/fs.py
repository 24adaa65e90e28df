"""Private directories for the database and the blob store."""

from __future__ import annotations

from pathlib import Path

PRIVATE_DIR = 0o700


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
