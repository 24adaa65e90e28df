"""Version-2 sealed records: bound to their place and signed by their author (docs/crypto.md §13.4).

    record = 0x02 || kind || u16(p) || place (p bytes) || salt (32)
             || AES-256-GCM(k, n, padded, aad = everything before the salt) || signature (64)

The key derivation is version 1's with the label ``minhbach/2/…``; the place is associated
data; the Ed25519 signature covers every byte before it. Anyone can check the signature
(the server does, before acting on a reporter's withdrawal); only key holders can open.
"""

from __future__ import annotations

import secrets
import struct
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import HEADER_SIZE, VERSION_2, Kind, check_header, header
from crypto.errors import DecryptionFailed, MalformedEnvelope
from crypto.kdf import hkdf
from crypto.keys import KEY_SIZE
from crypto.padding import pad_record, unpad_record
from crypto.places import PLACE_MAX, PLACE_MIN, Place, decode_place, encode_place
from crypto.records import RECORD_LABELS, SALT_SIZE, TAG_SIZE, canonical_json, parse_json
from crypto.signing import SIGNATURE_SIZE, sign, verify
from crypto.wrapping import check_context

_LENGTH = struct.Struct(">H")
PREFIX_SIZE = HEADER_SIZE + _LENGTH.size
MIN_SIZE = PREFIX_SIZE + PLACE_MIN + SALT_SIZE + TAG_SIZE + SIGNATURE_SIZE


def _key_and_nonce(key: bytes, kind: Kind, case_id: str, salt: bytes) -> tuple[bytes, bytes]:
    if len(key) != KEY_SIZE:
        raise ValueError("record keys are 32 bytes")
    info = b"minhbach/2/" + RECORD_LABELS[kind].encode() + b"/" + check_context(case_id)
    okm = hkdf(key, salt=salt, info=info, length=44)
    return okm[:KEY_SIZE], okm[KEY_SIZE:]


def seal_bound(
    key: bytes,
    kind: Kind,
    place: Place,
    plaintext: bytes,
    signer: Ed25519PrivateKey,
    *,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt and sign one record. ``salt`` is for test vectors only."""
    salt = secrets.token_bytes(SALT_SIZE) if salt is None else salt
    if len(salt) != SALT_SIZE:
        raise ValueError("record salts are 32 bytes")
    encoded = encode_place(kind, place)
    prefix = header(kind, VERSION_2) + _LENGTH.pack(len(encoded)) + encoded
    aead_key, nonce = _key_and_nonce(key, kind, place.case, salt)
    body = prefix + salt + AESGCM(aead_key).encrypt(nonce, pad_record(plaintext), prefix)
    return body + sign(signer, body)


def seal_bound_json(
    key: bytes,
    kind: Kind,
    place: Place,
    document: Any,
    signer: Ed25519PrivateKey,
    *,
    salt: bytes | None = None,
) -> bytes:
    return seal_bound(key, kind, place, canonical_json(document), signer, salt=salt)


def read_place(kind: Kind, blob: bytes) -> Place:
    """The place a record claims, unauthenticated: to choose whose key verifies it."""
    check_header(blob, kind, MIN_SIZE, version=VERSION_2)
    (length,) = _LENGTH.unpack_from(blob, HEADER_SIZE)
    if not PLACE_MIN <= length <= PLACE_MAX:
        raise MalformedEnvelope(f"a place is {PLACE_MIN} to {PLACE_MAX} bytes")
    if len(blob) < MIN_SIZE - PLACE_MIN + length:
        raise MalformedEnvelope(f"{kind.name.lower()} envelope is too short")
    return decode_place(kind, blob[PREFIX_SIZE : PREFIX_SIZE + length])


def verify_bound(kind: Kind, blob: bytes, verifying_key: bytes) -> Place:
    """Check the signature (no decryption key needed) and return the signed place."""
    place = read_place(kind, blob)
    verify(verifying_key, blob[:-SIGNATURE_SIZE], blob[-SIGNATURE_SIZE:])
    return place


def open_bound(key: bytes, kind: Kind, blob: bytes, verifying_key: bytes) -> tuple[Place, bytes]:
    """Verify the signature, then decrypt; never returns unauthenticated data."""
    place = verify_bound(kind, blob, verifying_key)
    prefix_end = PREFIX_SIZE + _place_length(blob)
    salt = blob[prefix_end : prefix_end + SALT_SIZE]
    aead_key, nonce = _key_and_nonce(key, kind, place.case, salt)
    try:
        padded = AESGCM(aead_key).decrypt(
            nonce, blob[prefix_end + SALT_SIZE : -SIGNATURE_SIZE], blob[:prefix_end]
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"the {RECORD_LABELS[kind]} record does not open with this key and case"
        ) from None
    return place, unpad_record(padded)


def open_bound_json(key: bytes, kind: Kind, blob: bytes, verifying_key: bytes) -> tuple[Place, Any]:
    place, plaintext = open_bound(key, kind, blob, verifying_key)
    return place, parse_json(kind, plaintext)


def _place_length(blob: bytes) -> int:
    return int(_LENGTH.unpack_from(blob, HEADER_SIZE)[0])
