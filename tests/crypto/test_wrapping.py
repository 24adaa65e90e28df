"""Key wraps fail closed: wrong key, purpose, context, version, kind, length, any flipped bit."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import crypto
from crypto.wrapping import WRAP_SIZE

CASE = "5b1f0c1e-0000-4000-8000-000000000001"
OTHER_CASE = "5b1f0c1e-0000-4000-8000-000000000002"


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return crypto.generate_private_key()


@pytest.fixture
def envelope(recipient: X25519PrivateKey) -> bytes:
    return crypto.wrap(b"k" * 32, recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)


def test_round_trip_and_size(recipient: X25519PrivateKey, envelope: bytes) -> None:
    assert len(envelope) == WRAP_SIZE == 82
    assert crypto.unwrap(envelope, recipient, crypto.Purpose.CASE_KEY, CASE) == b"k" * 32


def test_two_wraps_of_one_key_differ(recipient: X25519PrivateKey) -> None:
    first = crypto.wrap(b"k" * 32, recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)
    second = crypto.wrap(b"k" * 32, recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)
    assert first != second  # fresh ephemeral key each time


def test_wrong_private_key(envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(envelope, crypto.generate_private_key(), crypto.Purpose.CASE_KEY, CASE)


def test_wrong_purpose(recipient: X25519PrivateKey, envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(envelope, recipient, crypto.Purpose.IDENTITY_KEY, CASE)


def test_wrong_case(recipient: X25519PrivateKey, envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(envelope, recipient, crypto.Purpose.CASE_KEY, OTHER_CASE)


@pytest.mark.parametrize("position", range(2, WRAP_SIZE))
def test_every_flipped_byte_fails(
    recipient: X25519PrivateKey, envelope: bytes, position: int
) -> None:
    tampered = bytearray(envelope)
    tampered[position] ^= 0x01
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(bytes(tampered), recipient, crypto.Purpose.CASE_KEY, CASE)


def test_unknown_version(recipient: X25519PrivateKey, envelope: bytes) -> None:
    with pytest.raises(crypto.UnsupportedVersion):
        crypto.unwrap(b"\x02" + envelope[1:], recipient, crypto.Purpose.CASE_KEY, CASE)


def test_wrong_kind(recipient: X25519PrivateKey, envelope: bytes) -> None:
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.unwrap(
            envelope[:1] + b"\x02" + envelope[2:], recipient, crypto.Purpose.CASE_KEY, CASE
        )


@pytest.mark.parametrize("cut", [0, 1, 2, 40, WRAP_SIZE - 1])
def test_truncated(recipient: X25519PrivateKey, envelope: bytes, cut: int) -> None:
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.unwrap(envelope[:cut], recipient, crypto.Purpose.CASE_KEY, CASE)


def test_extended(recipient: X25519PrivateKey, envelope: bytes) -> None:
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.unwrap(envelope + b"\0", recipient, crypto.Purpose.CASE_KEY, CASE)


def test_low_order_ephemeral_point(recipient: X25519PrivateKey, envelope: bytes) -> None:
    zero_point = envelope[:2] + bytes(32) + envelope[34:]
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unwrap(zero_point, recipient, crypto.Purpose.CASE_KEY, CASE)


@pytest.mark.parametrize("context", ["", "a/b", "x" * 65, "ca se", "dấu"])
def test_context_must_be_plain(recipient: X25519PrivateKey, context: str) -> None:
    with pytest.raises(ValueError, match="context"):
        crypto.wrap(b"k" * 32, recipient.public_key(), crypto.Purpose.CASE_KEY, context)


def test_only_32_byte_keys(recipient: X25519PrivateKey) -> None:
    with pytest.raises(ValueError, match="32-byte"):
        crypto.wrap(b"short", recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)
