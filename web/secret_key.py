"""Each app's Flask secret key lives in its own file in the instance folder (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from store.fs import create_private_dirs

KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    """Read the key at ``path``, creating it (atomically, owner-only) on first use."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    create_private_dirs(path.parent)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex())
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)  # fails if another process created it first
    except FileExistsError:
        os.unlink(temporary)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    os.unlink(temporary)
    return key
