"""Each app's Flask secret key lives in its own file in the instance folder (0600).

Several workers start at once and must end up with the same key, or sessions and
anti-forgery tokens would break at random between them: each writes a candidate to a
temporary file of its own and links it into place, which only the first one manages; the
others read what it wrote.
"""

from __future__ import annotations

import os
import secrets
import tempfile
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
    # mkstemp: a name no other process uses, created exclusively, mode 0600.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key.hex())
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # complete or absent: fails if another process won
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    finally:
        os.unlink(temporary)
    return key
