"""HPKE key wrapping (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM).

A wrap carries one 32-byte key to one recipient. The HPKE ``info`` binds the protocol
version, the purpose of the key and its context (the case id, or the fingerprint of an
escrowed inspector key), so a wrap cannot be replayed for another case or another use.
"""

from __future__ import annotations

import enum
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.envelope import HEADER_SIZE, Kind, check_header, header
from crypto.errors import DecryptionFailed, MalformedEnvelope
from crypto.kdf import label
from crypto.keys import KEY_SIZE

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
ENC_SIZE = 32
TAG_SIZE = 16
WRAP_SIZE = HEADER_SIZE + ENC_SIZE + KEY_SIZE + TAG_SIZE

_CONTEXT = re.compile(r"[A-Za-z0-9-]{1,64}")


class Purpose(enum.StrEnum):
    CASE_KEY = "case-key"
    IDENTITY_KEY = "identity-key"
    UNIT_KEY = "unit-key"  # protocol 2: what only the unit reads (docs/crypto.md §13.1)
    INSPECTOR_KEY = "inspector-key"
    BACKUP_KEY = "backup-key"  # a backup archive's key, to escrow keys (docs/backups.md)
    # The key of one escalation step's record, to the people that step is for (§13.8).
    RECORD_KEY = "record-key"


def check_context(context: str) -> bytes:
    """Contexts are case ids (UUIDs) or fingerprints: short ASCII, no separator ambiguity."""
    if not _CONTEXT.fullmatch(context):
        raise ValueError("a context is 1 to 64 characters of A-Z, a-z, 0-9 and '-'")
    return context.encode("ascii")


def wrap_info(purpose: Purpose, context: str) -> bytes:
    """b"minhbach/1/wrap/<purpose>/<context>"."""
    check_context(context)
    return label("wrap", purpose.value, context)


def wrap(key: bytes, recipient: X25519PublicKey, purpose: Purpose, context: str) -> bytes:
    """Envelope: header(2) || enc(32) || AES-256-GCM(key)(48) = 82 bytes."""
    if len(key) != KEY_SIZE:
        raise ValueError("only 32-byte keys are wrapped")
    return header(Kind.WRAP) + SUITE.encrypt(key, recipient, info=wrap_info(purpose, context))


def unwrap(blob: bytes, private_key: X25519PrivateKey, purpose: Purpose, context: str) -> bytes:
    check_header(blob, Kind.WRAP)
    if len(blob) != WRAP_SIZE:
        raise MalformedEnvelope("a key wrap is 82 bytes")
    try:
        return SUITE.decrypt(blob[HEADER_SIZE:], private_key, info=wrap_info(purpose, context))
    except (InvalidTag, ValueError):
        # cryptography raises InvalidTag for a failed open and ValueError for an
        # unusable encapsulated key (e.g. a low-order point): both mean "not for you".
        raise DecryptionFailed("the key wrap does not open with this key and context") from None
