"""Terminal tables and private files (escrow keys, demo credentials)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cli.errors import FileProblem

PRIVATE_FILE = 0o600
# O_EXCL never overwrites and also refuses a symlink planted where the file should go.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def refuse_existing(path: Path) -> None:
    """Fail early, before asking for passphrases, if ``path`` would have to be overwritten."""
    if path.exists() or path.is_symlink():
        raise FileProblem(f"{path} already exists; refusing to overwrite it")


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only; never replace an existing file."""
    try:
        descriptor = os.open(path, _CREATE, PRIVATE_FILE)
    except FileExistsError:
        raise FileProblem(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise FileProblem(f"cannot create {path}: {exc.strerror}") from None
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode is filtered by the umask
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@contextmanager
def private_file(path: Path, data: bytes) -> Iterator[None]:
    """Write ``path`` now, and remove it again if the block fails (e.g. the commit).

    Files that only make sense with the database rows that go with them (an escrow key
    whose public half was never stored) must not outlive a failed command.
    """
    write_private_file(path, data)
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
