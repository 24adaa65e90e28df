"""Settings shared by both apps and the CLI, read from the environment.

Nothing here imports Flask: the CLI, the store and the apps all read the same values.
Production defaults never change for a test; tests lower costs through these variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from minhbach.crypto.kdf import Argon2Params

PREFIX = "MINHBACH_"


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    blob_path: Path
    passphrase_kdf: Argon2Params
    code_kdf: Argon2Params
    demo: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        instance = Path(env.get(PREFIX + "INSTANCE", "instance")).resolve()
        default_db = f"sqlite:///{instance / 'minhbach.sqlite3'}"
        return cls(
            instance_path=instance,
            database_url=env.get(PREFIX + "DATABASE_URL", default_db),
            blob_path=Path(env.get(PREFIX + "BLOB_DIR", str(instance / "blobs"))).resolve(),
            passphrase_kdf=_argon2(env, "PASSPHRASE_ARGON2", Argon2Params.PASSPHRASE),
            code_kdf=_argon2(env, "CODE_ARGON2", Argon2Params.LOOKUP_TOKEN),
            demo=_flag(env, "DEMO"),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(PREFIX + name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{PREFIX}{name} must be 1/0, true/false, yes/no or on/off")


def _argon2(env: Mapping[str, str], name: str, default: Argon2Params) -> Argon2Params:
    """Parse "OPS,MEMORY_KIB", e.g. "3,65536"."""
    raw = env.get(PREFIX + name)
    if raw is None:
        return default
    try:
        ops_text, mem_text = raw.split(",")
        return Argon2Params(ops=int(ops_text), memory_kib=int(mem_text))
    except ValueError as exc:
        raise ConfigError(
            f"{PREFIX}{name} must be 'OPS,MEMORY_KIB' within Argon2id's limits: {exc}"
        ) from None
