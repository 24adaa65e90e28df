"""Inspector keyrings: every copy opens, nothing else does, and a passphrase can be lost safely."""

from __future__ import annotations

import struct
import unicodedata

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import crypto
from crypto.kdf import Argon2Params
from crypto.keyring import open_with_passphrase, seal_with_passphrase

PASSPHRASE = "chín con rồng bay qua sông Hồng"
Ring = tuple[crypto.SealedKeyring, crypto.RecoveryCode]


@pytest.fixture
def escrow() -> X25519PrivateKey:
    return crypto.generate_private_key()


@pytest.fixture
def ring(fast_argon2: Argon2Params, escrow: X25519PrivateKey) -> Ring:
    return crypto.create_keyring(PASSPHRASE, fast_argon2, crypto.public_bytes(escrow))


def test_every_copy_opens_to_the_same_key(ring: Ring, escrow: X25519PrivateKey) -> None:
    keyring, recovery = ring
    keys = [
        keyring.unlock(PASSPHRASE),
        keyring.recover(recovery),
        keyring.recover(crypto.RecoveryCode.parse(recovery.display().lower().replace("-", " "))),
        keyring.recover_with_escrow(escrow),
    ]
    assert {crypto.public_bytes(k) for k in keys} == {keyring.public_key}


def test_nothing_secret_is_stored_in_the_clear(ring: Ring) -> None:
    keyring, recovery = ring
    private = keyring.unlock(PASSPHRASE).private_bytes_raw()
    for blob in (keyring.by_passphrase, keyring.by_recovery, keyring.by_escrow):
        assert blob is not None
        assert private not in blob
        assert PASSPHRASE.encode() not in blob
        assert recovery.secret not in blob


def test_wrong_passphrase(ring: Ring) -> None:
    with pytest.raises(crypto.WrongPassphrase):
        ring[0].unlock(PASSPHRASE + " ")


def test_wrong_recovery_code(ring: Ring) -> None:
    with pytest.raises(crypto.WrongRecoveryCode):
        ring[0].recover(crypto.RecoveryCode.generate())


def test_wrong_escrow_key(ring: Ring) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        ring[0].recover_with_escrow(crypto.generate_private_key())


def test_no_escrow_copy(fast_argon2: Argon2Params) -> None:
    keyring, _ = crypto.create_keyring(PASSPHRASE, fast_argon2)
    assert keyring.by_escrow is None
    with pytest.raises(crypto.MalformedEnvelope, match="escrow"):
        keyring.recover_with_escrow(crypto.generate_private_key())


def test_composed_and_decomposed_passphrases_are_one(fast_argon2: Argon2Params) -> None:
    keyring, _ = crypto.create_keyring(unicodedata.normalize("NFD", PASSPHRASE), fast_argon2)
    assert unicodedata.normalize("NFC", PASSPHRASE) != unicodedata.normalize("NFD", PASSPHRASE)
    keyring.unlock(unicodedata.normalize("NFC", PASSPHRASE))


def test_change_passphrase(ring: Ring, fast_argon2: Argon2Params) -> None:
    keyring, recovery = ring
    changed = keyring.change_passphrase(PASSPHRASE, "a brand new passphrase", fast_argon2)
    assert changed.public_key == keyring.public_key
    changed.unlock("a brand new passphrase")
    with pytest.raises(crypto.WrongPassphrase):
        changed.unlock(PASSPHRASE)
    changed.recover(recovery)  # the recovery copy is untouched


def test_change_needs_the_old_passphrase(ring: Ring, fast_argon2: Argon2Params) -> None:
    with pytest.raises(crypto.WrongPassphrase):
        ring[0].change_passphrase("not it", "new", fast_argon2)


def test_recover_then_set_a_new_passphrase(ring: Ring, fast_argon2: Argon2Params) -> None:
    keyring, recovery = ring
    private = keyring.recover(recovery)
    renewed, new_recovery = keyring.with_passphrase(private, "new", fast_argon2).with_new_recovery(
        private
    )
    renewed.unlock("new")
    renewed.recover(new_recovery)
    with pytest.raises(crypto.WrongRecoveryCode):
        renewed.recover(recovery)


def test_copies_from_another_keyring_are_refused(ring: Ring, fast_argon2: Argon2Params) -> None:
    keyring, _ = ring
    other, _ = crypto.create_keyring(PASSPHRASE, fast_argon2)
    spliced = crypto.SealedKeyring(keyring.public_key, other.by_passphrase, keyring.by_recovery)
    with pytest.raises(crypto.KeyMismatch):
        spliced.unlock(PASSPHRASE)


def test_reseal_refuses_a_foreign_private_key(ring: Ring, fast_argon2: Argon2Params) -> None:
    with pytest.raises(crypto.KeyMismatch):
        ring[0].with_passphrase(crypto.generate_private_key(), "x", fast_argon2)


def test_recovery_copy_is_bound_to_its_public_key(ring: Ring, fast_argon2: Argon2Params) -> None:
    keyring, recovery = ring
    other, _ = crypto.create_keyring(PASSPHRASE, fast_argon2)
    moved = crypto.SealedKeyring(other.public_key, other.by_passphrase, keyring.by_recovery)
    with pytest.raises(crypto.WrongRecoveryCode):
        moved.recover(recovery)


def test_stored_cost_parameters_are_used(fast_argon2: Argon2Params) -> None:
    stronger = Argon2Params(ops=2, memory_kib=16)
    private = crypto.generate_private_key()
    sealed = seal_with_passphrase(private, PASSPHRASE, stronger)
    assert struct.unpack_from(">II", sealed, 2) == (2, 16)
    assert open_with_passphrase(sealed, PASSPHRASE).private_bytes_raw() == (
        private.private_bytes_raw()
    )


def test_tampered_cost_parameters_fail(ring: Ring) -> None:
    sealed = bytearray(ring[0].by_passphrase)
    struct.pack_into(">II", sealed, 2, 2, 8)
    with pytest.raises(crypto.WrongPassphrase):
        open_with_passphrase(bytes(sealed), PASSPHRASE)


@pytest.mark.parametrize(("ops", "memory_kib"), [(0, 8), (65, 8), (1, 4), (1, 1 << 23)])
def test_absurd_cost_parameters_are_refused_before_running(
    ring: Ring, ops: int, memory_kib: int
) -> None:
    sealed = bytearray(ring[0].by_passphrase)
    struct.pack_into(">II", sealed, 2, ops, memory_kib)
    with pytest.raises(crypto.MalformedEnvelope, match="Argon2id"):
        open_with_passphrase(bytes(sealed), PASSPHRASE)


@pytest.mark.parametrize("field", ["by_passphrase", "by_recovery"])
def test_envelopes_fail_closed(ring: Ring, field: str) -> None:
    keyring, recovery = ring
    blob: bytes = getattr(keyring, field)

    def attempt(candidate: bytes) -> None:
        if field == "by_passphrase":
            crypto.SealedKeyring(keyring.public_key, candidate, keyring.by_recovery).unlock(
                PASSPHRASE
            )
        else:
            crypto.SealedKeyring(keyring.public_key, keyring.by_passphrase, candidate).recover(
                recovery
            )

    with pytest.raises(crypto.UnsupportedVersion):
        attempt(b"\x02" + blob[1:])
    with pytest.raises(crypto.MalformedEnvelope):
        attempt(blob[:1] + b"\x01" + blob[2:])
    with pytest.raises(crypto.MalformedEnvelope):
        attempt(blob[:-1])
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(crypto.DecryptionFailed):
        attempt(bytes(tampered))


def test_recovery_code_format() -> None:
    recovery = crypto.RecoveryCode.generate()
    assert [len(g) for g in recovery.display().split("-")] == [4] * 8
    assert recovery.display() not in repr(recovery)
    with pytest.raises(crypto.CodeFormatError):
        crypto.RecoveryCode.parse(recovery.display()[:-1])


def test_empty_passphrase_is_refused(fast_argon2: Argon2Params) -> None:
    with pytest.raises(ValueError, match="empty"):
        crypto.create_keyring("", fast_argon2)
