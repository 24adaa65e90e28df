"""Ed25519 signing keys (protocol version 2), derived from the X25519 keys people already hold.

Nobody keeps a second secret: the reporter's follow-up code, an inspector's keyring and the
unit's escrow key file each already give an X25519 private key, and the signing key is a
one-way function of it (docs/crypto.md §13.2). Ed25519 is deterministic, so signatures can
be pinned in test vectors.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto.errors import BadSignature
from crypto.kdf import hkdf

SIGNATURE_SIZE = 64
SIGNING_KEY_INFO = b"minhbach/2/signing-key"
SIGNATURE_LABEL = b"minhbach/2/signature"


def signing_key(x25519_private_key: X25519PrivateKey) -> Ed25519PrivateKey:
    """The Ed25519 key that belongs to an X25519 private key: HKDF of its 32 raw bytes."""
    seed = hkdf(x25519_private_key.private_bytes_raw(), salt=None, info=SIGNING_KEY_INFO)
    return Ed25519PrivateKey.from_private_bytes(seed)


def verifying_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public half, as stored in the database."""
    return key.public_key().public_bytes_raw()


def sign(key: Ed25519PrivateKey, signed_bytes: bytes) -> bytes:
    return key.sign(SIGNATURE_LABEL + signed_bytes)


def verify(public_key: bytes, signed_bytes: bytes, signature: bytes) -> None:
    """Raise BadSignature unless ``signature`` is the key's signature over ``signed_bytes``."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, SIGNATURE_LABEL + signed_bytes
        )
    except InvalidSignature:
        raise BadSignature("the signature does not verify with its author's key") from None
