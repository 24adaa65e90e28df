"""The minhbach protocol, versions 1 and 2 (spec: docs/crypto.md; version 2's records,
places, signatures and transcript are in ``crypto.bound``, ``places``, ``signing`` and
``transcript``).

A small safe API over `cryptography` and PyNaCl: callers never choose a nonce, a label or
an HPKE mode. Pure code: no Flask, no database, nothing else of the project.
"""

from crypto.code import (
    FollowUpCode,
    hash_lookup_token,
    lookup_index,
    verify_lookup_token,
)
from crypto.envelope import VERSION, Kind
from crypto.errors import (
    BadSignature,
    CodeFormatError,
    CryptoError,
    DecryptionFailed,
    KeyMismatch,
    MalformedEnvelope,
    TruncatedStream,
    UnsupportedVersion,
    WrongPassphrase,
    WrongRecoveryCode,
)
from crypto.files import (
    CHUNK_SIZE,
    FileDecryptor,
    FileEncryptor,
    FileMeta,
    decrypt_stream,
    encrypt_stream,
    open_file_meta,
    read_pieces,
    seal_file_meta,
)
from crypto.kdf import Argon2Params
from crypto.keyring import RecoveryCode, SealedKeyring, create_keyring
from crypto.keys import (
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_bytes,
    random_key,
)
from crypto.records import open_, open_json, seal, seal_json
from crypto.wrapping import Purpose, unwrap, wrap

__all__ = [
    "CHUNK_SIZE",
    "VERSION",
    "Argon2Params",
    "BadSignature",
    "CodeFormatError",
    "CryptoError",
    "DecryptionFailed",
    "FileDecryptor",
    "FileEncryptor",
    "FileMeta",
    "FollowUpCode",
    "KeyMismatch",
    "Kind",
    "MalformedEnvelope",
    "Purpose",
    "RecoveryCode",
    "SealedKeyring",
    "TruncatedStream",
    "UnsupportedVersion",
    "WrongPassphrase",
    "WrongRecoveryCode",
    "create_keyring",
    "decrypt_stream",
    "encrypt_stream",
    "fingerprint",
    "generate_private_key",
    "hash_lookup_token",
    "load_private_key",
    "load_public_key",
    "lookup_index",
    "open_",
    "open_file_meta",
    "open_json",
    "public_bytes",
    "random_key",
    "read_pieces",
    "seal",
    "seal_file_meta",
    "seal_json",
    "unwrap",
    "verify_lookup_token",
    "wrap",
]
