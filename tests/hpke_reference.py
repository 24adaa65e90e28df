"""A deterministic RFC 9180 sender for the one suite we use, for test vectors only.

`cryptography`'s HPKE chooses its own ephemeral key, as it should; vectors need a fixed
one so that a second implementation (the browser's) can reproduce them byte for byte.
This reference is checked against the CFRG vector field by field, and everything it
produces is checked to open with `cryptography`'s HPKE.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0002
KEM_SUITE = b"KEM" + KEM_ID.to_bytes(2, "big")
HPKE_SUITE = (
    b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
)


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    full_info = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    return HKDFExpand(hashes.SHA256(), length, full_info).derive(prk)


def derive_key_pair(ikm: bytes) -> X25519PrivateKey:
    prk = labeled_extract(KEM_SUITE, b"", b"dkp_prk", ikm)
    return X25519PrivateKey.from_private_bytes(labeled_expand(KEM_SUITE, prk, b"sk", b"", 32))


@dataclass(frozen=True)
class SenderContext:
    enc: bytes
    shared_secret: bytes
    key: bytes
    base_nonce: bytes

    def seal(self, sequence: int, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = bytes(
            a ^ b for a, b in zip(self.base_nonce, sequence.to_bytes(12, "big"), strict=True)
        )
        return AESGCM(self.key).encrypt(nonce, plaintext, aad)


def setup_base_sender(
    recipient: X25519PublicKey, info: bytes, ephemeral: X25519PrivateKey
) -> SenderContext:
    enc = ephemeral.public_key().public_bytes_raw()
    dh = ephemeral.exchange(recipient)
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    kem_context = enc + recipient.public_bytes_raw()
    shared_secret = labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", kem_context, 32)
    psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_SUITE, shared_secret, b"secret", b"")
    return SenderContext(
        enc=enc,
        shared_secret=shared_secret,
        key=labeled_expand(HPKE_SUITE, secret, b"key", context, 32),
        base_nonce=labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12),
    )


def single_shot_seal(
    recipient: X25519PublicKey, info: bytes, plaintext: bytes, ephemeral: X25519PrivateKey
) -> bytes:
    """enc || ct, as `cryptography`'s Suite.encrypt outputs it (sequence 0, no AAD)."""
    context = setup_base_sender(recipient, info, ephemeral)
    return context.enc + context.seal(0, plaintext)
