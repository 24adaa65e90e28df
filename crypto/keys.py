"""X25519 key handling and fingerprints, so callers pass raw 32-byte keys around safely."""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.encoding import crockford_encode, group
from crypto.errors import MalformedEnvelope
from crypto.kdf import label

KEY_SIZE = 32


def random_key() -> bytes:
    """A fresh 256-bit symmetric key (case key, identity key) from the OS CSPRNG."""
    return secrets.token_bytes(KEY_SIZE)


def generate_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def load_private_key(raw: bytes) -> X25519PrivateKey:
    if len(raw) != KEY_SIZE:
        raise MalformedEnvelope("an X25519 private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(raw)


def load_public_key(raw: bytes) -> X25519PublicKey:
    if len(raw) != KEY_SIZE:
        raise MalformedEnvelope("an X25519 public key is 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes_raw()


def public_bytes(key: X25519PublicKey | X25519PrivateKey) -> bytes:
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    return key.public_bytes_raw()


def fingerprint(public_key: bytes) -> str:
    """160 bits of SHA-256 over a label and the key, in Crockford base32 groups of four."""
    digest = hashlib.sha256(label("fingerprint") + load_public_bytes(public_key)).digest()
    return group(crockford_encode(digest[:20]))


def load_public_bytes(raw: bytes) -> bytes:
    """Validate a raw public key and return it unchanged."""
    return public_bytes(load_public_key(raw))
