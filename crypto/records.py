"""Sealed records: short documents (report, identity, message, file metadata, note).

Envelope: header(2) || salt(32) || AES-256-GCM(padded plaintext) with the header as AAD.
Key and nonce come from HKDF(key, salt, "minhbach/1/<record label>/<case id>"), so every
record has its own key, and a record cannot be moved to another case or read as another kind.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import HEADER_SIZE, Kind, check_header, header
from crypto.errors import DecryptionFailed, MalformedEnvelope
from crypto.kdf import hkdf, label
from crypto.keys import KEY_SIZE
from crypto.padding import pad_record, unpad_record
from crypto.wrapping import check_context

SALT_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

RECORD_LABELS: dict[Kind, str] = {
    Kind.REPORT: "report",
    Kind.IDENTITY: "identity",
    Kind.MESSAGE: "message",
    Kind.FILE_META: "file-meta",
    Kind.NOTE: "note",
}


def _key_and_nonce(key: bytes, kind: Kind, case_id: str, salt: bytes) -> tuple[bytes, bytes]:
    if len(key) != KEY_SIZE:
        raise ValueError("record keys are 32 bytes")
    check_context(case_id)
    okm = hkdf(key, salt=salt, info=label(RECORD_LABELS[kind], case_id), length=44)
    return okm[:KEY_SIZE], okm[KEY_SIZE:]


def seal(
    key: bytes, kind: Kind, case_id: str, plaintext: bytes, *, salt: bytes | None = None
) -> bytes:
    """Encrypt one record. ``salt`` is for test vectors only; leave it to the CSPRNG."""
    salt = secrets.token_bytes(SALT_SIZE) if salt is None else salt
    if len(salt) != SALT_SIZE:
        raise ValueError("record salts are 32 bytes")
    aead_key, nonce = _key_and_nonce(key, kind, case_id, salt)
    head = header(kind)
    return head + salt + AESGCM(aead_key).encrypt(nonce, pad_record(plaintext), head)


def open_(key: bytes, kind: Kind, case_id: str, blob: bytes) -> bytes:
    """Decrypt one record of the given kind, or raise; never returns unauthenticated data."""
    check_header(blob, kind, HEADER_SIZE + SALT_SIZE + TAG_SIZE)
    salt = blob[HEADER_SIZE : HEADER_SIZE + SALT_SIZE]
    aead_key, nonce = _key_and_nonce(key, kind, case_id, salt)
    try:
        padded = AESGCM(aead_key).decrypt(
            nonce, blob[HEADER_SIZE + SALT_SIZE :], blob[:HEADER_SIZE]
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"the {RECORD_LABELS[kind]} record does not open with this key and case"
        ) from None
    return unpad_record(padded)


MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON reader (JavaScript's) keeps exact


def canonical_json(document: Any) -> bytes:
    """The one serialisation both implementations write (docs/crypto.md §5): compact UTF-8,
    keys sorted by code point, integers within ±(2^53 - 1), no floats, NaN or infinities."""
    _check_json_values(document)
    text = json.dumps(
        document, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    )
    return text.encode("utf-8")


def _check_json_values(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("records hold no floating-point numbers")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("record integers must stay within 2^53 - 1")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("record keys are strings")
            _check_json_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json_values(item)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _refuse_float(text: str) -> Any:
    raise ValueError("records hold no floating-point numbers")


def seal_json(
    key: bytes, kind: Kind, case_id: str, document: Any, *, salt: bytes | None = None
) -> bytes:
    return seal(key, kind, case_id, canonical_json(document), salt=salt)


def open_json(key: bytes, kind: Kind, case_id: str, blob: bytes) -> Any:
    return parse_json(kind, open_(key, kind, case_id, blob))


def parse_json(kind: Kind, plaintext: bytes) -> Any:
    """A record's JSON document; both protocol versions read it the same way (§5)."""
    try:
        return json.loads(
            plaintext.decode("utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_refuse_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):  # nested past the parser's depth
        raise MalformedEnvelope(f"the {RECORD_LABELS[kind]} record is not canonical JSON") from None
