"""Inspector keyrings: one X25519 key pair, its private key sealed three ways.

1. under Argon2id(passphrase) with a SecretBox, for everyday unlocking;
2. under a recovery code shown once at enrolment, for a forgotten passphrase;
3. optionally wrapped (HPKE) to the unit's offline escrow key, for a lost recovery code.
Losing a passphrase must never lose cases, so 2 always exists and 3 is strongly advised.
"""

from __future__ import annotations

import secrets
import struct
import unicodedata
from dataclasses import dataclass, replace

import nacl.exceptions
import nacl.secret
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.encoding import crockford_decode, crockford_encode, group, normalize_crockford
from crypto.envelope import HEADER_SIZE, Kind, check_header, header
from crypto.errors import (
    KeyMismatch,
    MalformedEnvelope,
    WrongPassphrase,
    WrongRecoveryCode,
)
from crypto.kdf import Argon2Params, constant_time_equal, hkdf, label
from crypto.keys import (
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    private_bytes,
    public_bytes,
)
from crypto.wrapping import Purpose, unwrap, wrap

RECOVERY_SIZE = 20  # 160 bits: high entropy, so HKDF suffices where a passphrase needs Argon2id
PASSPHRASE_SALT_SIZE = 16
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE
_SEALED_SIZE = NONCE_SIZE + nacl.secret.SecretBox.MACBYTES + 32
_PARAMS = struct.Struct(">II")  # Argon2id ops, memory in KiB
MIN_PASSPHRASE_LENGTH = 12


def normalize_passphrase(passphrase: str) -> bytes:
    """NFC, so a Vietnamese passphrase typed with composed or combining marks is one secret."""
    normalized = unicodedata.normalize("NFC", passphrase)
    if not normalized:
        raise ValueError("the passphrase is empty")
    return normalized.encode("utf-8")


def _box_open(box: nacl.secret.SecretBox, sealed: bytes) -> bytes | None:
    try:
        return bytes(box.decrypt(sealed))
    except nacl.exceptions.CryptoError:
        return None


def seal_with_passphrase(
    private_key: X25519PrivateKey,
    passphrase: str,
    params: Argon2Params,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """header || ops(u32) || memory KiB(u32) || salt(16) || nonce(24) || SecretBox(48).

    ``salt`` and ``nonce`` are for test vectors only.
    """
    salt = secrets.token_bytes(PASSPHRASE_SALT_SIZE) if salt is None else salt
    box = nacl.secret.SecretBox(params.derive(normalize_passphrase(passphrase), salt))
    sealed = box.encrypt(private_bytes(private_key), nonce)
    return (
        header(Kind.SEALED_BY_PASSPHRASE)
        + _PARAMS.pack(params.ops, params.memory_kib)
        + salt
        + sealed
    )


def open_with_passphrase(blob: bytes, passphrase: str) -> X25519PrivateKey:
    offset = HEADER_SIZE + _PARAMS.size
    check_header(blob, Kind.SEALED_BY_PASSPHRASE)
    if len(blob) != offset + PASSPHRASE_SALT_SIZE + _SEALED_SIZE:
        raise MalformedEnvelope("a passphrase-sealed key has the wrong length")
    params = Argon2Params.checked(*_PARAMS.unpack_from(blob, HEADER_SIZE))
    salt = blob[offset : offset + PASSPHRASE_SALT_SIZE]
    box = nacl.secret.SecretBox(params.derive(normalize_passphrase(passphrase), salt))
    raw = _box_open(box, blob[offset + PASSPHRASE_SALT_SIZE :])
    if raw is None:
        raise WrongPassphrase("the passphrase is not right")
    return load_private_key(raw)


def _recovery_box(secret: bytes, public_key: bytes) -> nacl.secret.SecretBox:
    return nacl.secret.SecretBox(hkdf(secret, salt=public_key, info=label("recovery-seal")))


def seal_with_recovery(
    private_key: X25519PrivateKey, recovery: RecoveryCode, *, nonce: bytes | None = None
) -> bytes:
    """header || nonce(24) || SecretBox(48), keyed by HKDF(recovery, salt=public key)."""
    box = _recovery_box(recovery.secret, public_bytes(private_key))
    return header(Kind.SEALED_BY_RECOVERY) + box.encrypt(private_bytes(private_key), nonce)


def open_with_recovery(blob: bytes, recovery: RecoveryCode, public_key: bytes) -> X25519PrivateKey:
    check_header(blob, Kind.SEALED_BY_RECOVERY)
    if len(blob) != HEADER_SIZE + _SEALED_SIZE:
        raise MalformedEnvelope("a recovery-sealed key has the wrong length")
    raw = _box_open(_recovery_box(recovery.secret, public_key), blob[HEADER_SIZE:])
    if raw is None:
        raise WrongRecoveryCode("the recovery code does not open this key")
    return load_private_key(raw)


class RecoveryCode:
    """160 random bits shown once as eight groups of four Crockford characters."""

    __slots__ = ("secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) != RECOVERY_SIZE:
            raise ValueError("recovery secrets are 20 bytes")
        self.secret = secret

    @classmethod
    def generate(cls) -> RecoveryCode:
        return cls(secrets.token_bytes(RECOVERY_SIZE))

    @classmethod
    def parse(cls, text: str) -> RecoveryCode:
        return cls(crockford_decode(normalize_crockford(text), RECOVERY_SIZE))

    def display(self) -> str:
        return group(crockford_encode(self.secret))

    def __repr__(self) -> str:
        return "RecoveryCode(<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True)
class SealedKeyring:
    """What the database keeps for an inspector. Nothing in it opens without a secret."""

    public_key: bytes
    by_passphrase: bytes
    by_recovery: bytes
    by_escrow: bytes | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def _checked(self, private_key: X25519PrivateKey) -> X25519PrivateKey:
        if not constant_time_equal(public_bytes(private_key), self.public_key):
            raise KeyMismatch("the unsealed key does not match the stored public key")
        return private_key

    def unlock(self, passphrase: str) -> X25519PrivateKey:
        return self._checked(open_with_passphrase(self.by_passphrase, passphrase))

    def recover(self, recovery: RecoveryCode) -> X25519PrivateKey:
        return self._checked(open_with_recovery(self.by_recovery, recovery, self.public_key))

    def recover_with_escrow(self, escrow_private_key: X25519PrivateKey) -> X25519PrivateKey:
        if self.by_escrow is None:
            raise MalformedEnvelope("this keyring has no escrow copy")
        raw = unwrap(self.by_escrow, escrow_private_key, Purpose.INSPECTOR_KEY, self._context)
        return self._checked(load_private_key(raw))

    @property
    def _context(self) -> str:
        return self.fingerprint.replace("-", "")

    def with_passphrase(
        self, private_key: X25519PrivateKey, passphrase: str, params: Argon2Params
    ) -> SealedKeyring:
        """Re-seal under a new passphrase (after a change, or after a recovery)."""
        sealed = seal_with_passphrase(self._checked(private_key), passphrase, params)
        return replace(self, by_passphrase=sealed)

    def change_passphrase(self, old: str, new: str, params: Argon2Params) -> SealedKeyring:
        return self.with_passphrase(self.unlock(old), new, params)

    def with_new_recovery(
        self, private_key: X25519PrivateKey
    ) -> tuple[SealedKeyring, RecoveryCode]:
        """Replace the recovery copy, e.g. after the old code was used or exposed."""
        recovery = RecoveryCode.generate()
        sealed = seal_with_recovery(self._checked(private_key), recovery)
        return replace(self, by_recovery=sealed), recovery

    def with_escrow(
        self, private_key: X25519PrivateKey, escrow_public_key: X25519PublicKey
    ) -> SealedKeyring:
        raw = private_bytes(self._checked(private_key))
        return replace(
            self, by_escrow=wrap(raw, escrow_public_key, Purpose.INSPECTOR_KEY, self._context)
        )


def create_keyring(
    passphrase: str, params: Argon2Params, escrow_public_key: bytes | None = None
) -> tuple[SealedKeyring, RecoveryCode]:
    """A new key pair, sealed under the passphrase and a new recovery code (and escrow)."""
    private_key = generate_private_key()
    recovery = RecoveryCode.generate()
    keyring = SealedKeyring(
        public_key=public_bytes(private_key),
        by_passphrase=seal_with_passphrase(private_key, passphrase, params),
        by_recovery=seal_with_recovery(private_key, recovery),
    )
    if escrow_public_key is not None:
        keyring = keyring.with_escrow(private_key, load_public_key(escrow_public_key))
    return keyring, recovery
