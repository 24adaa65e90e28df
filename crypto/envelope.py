"""The two-byte header that starts every envelope: format version, then kind.

Readers check the version first, so a future format fails with UnsupportedVersion rather
than as a confusing authentication error; the header is authenticated as AEAD data.
"""

from __future__ import annotations

import enum

from crypto.errors import MalformedEnvelope, UnsupportedVersion

VERSION = 1
VERSION_2 = 2  # sealed records bound to their place and signed (docs/crypto.md §13)
HEADER_SIZE = 2


class Kind(enum.IntEnum):
    WRAP = 0x01  # HPKE-wrapped key (case key, identity key, escrowed inspector key)
    REPORT = 0x02  # the report body
    IDENTITY = 0x03  # the reporter's identity section
    MESSAGE = 0x04  # a message between reporter and inspectors
    FILE_META = 0x05  # an attachment's name, type and size
    FILE_STREAM = 0x06  # an attachment's contents, in chunks
    NOTE = 0x07  # free text written by an inspector (grounds, measures, reasons)
    SEALED_BY_PASSPHRASE = 0x08  # inspector private key under Argon2id(passphrase)
    SEALED_BY_RECOVERY = 0x09  # inspector private key under the recovery code


def header(kind: Kind, version: int = VERSION) -> bytes:
    return bytes((version, kind))


def check_header(
    blob: bytes, kind: Kind, min_size: int = HEADER_SIZE, *, version: int = VERSION
) -> None:
    """Refuse an envelope of another version or kind, or shorter than ``min_size``."""
    if len(blob) < 1:
        raise MalformedEnvelope("empty envelope")
    if blob[0] != version:
        raise UnsupportedVersion(f"envelope format version {blob[0]} is not supported")
    if len(blob) < HEADER_SIZE or blob[1] != kind:
        raise MalformedEnvelope(f"not a {kind.name.lower()} envelope")
    if len(blob) < min_size:
        raise MalformedEnvelope(f"{kind.name.lower()} envelope is too short")
