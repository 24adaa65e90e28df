"""Key derivation: HKDF-SHA256 with the protocol's labels, and Argon2id for low-entropy secrets."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar

import nacl.exceptions
import nacl.pwhash
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import MalformedEnvelope

PROTOCOL = b"minhbach/1/"

# Bounds accepted when *reading* parameters from a stored envelope, so that a tampered
# envelope cannot make an unlock attempt allocate gigabytes or run for minutes.
MAX_OPS = 64
MAX_MEMORY_KIB = 4 * 1024 * 1024


def label(*parts: str) -> bytes:
    """b"minhbach/1/" followed by the parts joined with "/"; parts are plain ASCII."""
    return PROTOCOL + "/".join(parts).encode("ascii")


def hkdf(ikm: bytes, *, salt: bytes | None, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869). ``salt=None`` means the RFC's all-zero salt."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost. Defaults are production values; tests may lower them via settings."""

    ops: int
    memory_kib: int

    PASSPHRASE: ClassVar[Argon2Params]
    LOOKUP_TOKEN: ClassVar[Argon2Params]

    def __post_init__(self) -> None:
        if not nacl.pwhash.argon2id.OPSLIMIT_MIN <= self.ops <= MAX_OPS:
            raise ValueError(f"Argon2id ops must be between 1 and {MAX_OPS}")
        memory = self.memory_kib * 1024
        if not nacl.pwhash.argon2id.MEMLIMIT_MIN <= memory <= MAX_MEMORY_KIB * 1024:
            raise ValueError(f"Argon2id memory must be between 8 and {MAX_MEMORY_KIB} KiB")

    @classmethod
    def checked(cls, ops: int, memory_kib: int) -> Argon2Params:
        """Parameters read from an envelope: out of range is a malformed envelope."""
        try:
            return cls(ops, memory_kib)
        except ValueError as exc:
            raise MalformedEnvelope(f"Argon2id parameters out of range: {exc}") from None

    def derive(self, secret: bytes, salt: bytes, length: int = 32) -> bytes:
        """Raw Argon2id (version 1.3) output, as libsodium's crypto_pwhash computes it."""
        return nacl.pwhash.argon2id.kdf(
            length, secret, salt, opslimit=self.ops, memlimit=self.memory_kib * 1024
        )

    def hash(self, secret: bytes) -> bytes:
        """An encoded "$argon2id$..." string with a fresh random salt, for verification."""
        return nacl.pwhash.argon2id.str(secret, opslimit=self.ops, memlimit=self.memory_kib * 1024)


# 256 MiB, 3 passes: libsodium's "moderate" level; an unlock takes well under a second.
Argon2Params.PASSPHRASE = Argon2Params(ops=3, memory_kib=256 * 1024)
# 64 MiB, 2 passes: every follow-up check pays it, so it must stay affordable under load.
Argon2Params.LOOKUP_TOKEN = Argon2Params(ops=2, memory_kib=64 * 1024)


def verify_hash(encoded: bytes, secret: bytes) -> bool:
    """Check ``secret`` against an encoded Argon2id hash; libsodium compares in constant time."""
    try:
        return bool(nacl.pwhash.argon2id.verify(encoded, secret))
    except nacl.exceptions.InvalidkeyError:
        return False
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise MalformedEnvelope("not an Argon2id hash") from None
