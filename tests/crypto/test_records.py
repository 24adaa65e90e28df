"""Sealed records fail closed, and their sizes fall in buckets."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

import crypto
from crypto.envelope import Kind
from crypto.records import RECORD_LABELS, _key_and_nonce

KEY = b"\x11" * 32
CASE = "case-a"


@pytest.fixture
def envelope() -> bytes:
    return crypto.seal(KEY, Kind.REPORT, CASE, b'{"what":"bribe"}')


def test_round_trip(envelope: bytes) -> None:
    assert crypto.open_(KEY, Kind.REPORT, CASE, envelope) == b'{"what":"bribe"}'


@pytest.mark.parametrize("kind", list(RECORD_LABELS))
def test_each_kind_opens_only_as_itself(kind: Kind) -> None:
    sealed = crypto.seal(KEY, kind, CASE, b"text")
    for other in RECORD_LABELS:
        if other is kind:
            assert crypto.open_(KEY, other, CASE, sealed) == b"text"
        else:
            with pytest.raises(crypto.MalformedEnvelope):
                crypto.open_(KEY, other, CASE, sealed)


def test_relabelled_kind_fails_authentication() -> None:
    """Rewriting the kind byte does not help: the header is authenticated."""
    sealed = crypto.seal(KEY, Kind.MESSAGE, CASE, b"text")
    relabelled = sealed[:1] + bytes([Kind.REPORT]) + sealed[2:]
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_(KEY, Kind.REPORT, CASE, relabelled)


def test_wrong_key(envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_(b"\x12" * 32, Kind.REPORT, CASE, envelope)


def test_wrong_case(envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_(KEY, Kind.REPORT, "case-b", envelope)


@pytest.mark.parametrize("region", ["salt", "ciphertext", "tag"])
def test_tampering(envelope: bytes, region: str) -> None:
    position = {"salt": 10, "ciphertext": 40, "tag": len(envelope) - 1}[region]
    tampered = bytearray(envelope)
    tampered[position] ^= 0x80
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_(KEY, Kind.REPORT, CASE, bytes(tampered))


def test_unknown_version(envelope: bytes) -> None:
    with pytest.raises(crypto.UnsupportedVersion, match="version 9"):
        crypto.open_(KEY, Kind.REPORT, CASE, b"\x09" + envelope[1:])


@pytest.mark.parametrize("cut", [0, 1, 2, 33, 49])
def test_too_short(envelope: bytes, cut: int) -> None:
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.open_(KEY, Kind.REPORT, CASE, envelope[:cut])


def test_truncated_ciphertext(envelope: bytes) -> None:
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_(KEY, Kind.REPORT, CASE, envelope[:-16])


def _seal_raw_padded(padded: bytes) -> bytes:
    """An authentic envelope around arbitrary padded bytes, as a buggy sender might make."""
    salt = b"\x22" * 32
    key, nonce = _key_and_nonce(KEY, Kind.REPORT, CASE, salt)
    head = bytes((1, Kind.REPORT))
    return head + salt + AESGCM(key).encrypt(nonce, padded, head)


@pytest.mark.parametrize(
    "padded",
    [
        b"\x00\x00\x07\xd0abc".ljust(1024, b"\0"),  # length beyond the padded record
        b"\x00\x00\x00\x03abc".ljust(1024, b"\1"),  # non-zero padding
        b"\x00\x00\x00\x03abc".ljust(2048, b"\0"),  # padded past its bucket
        b"\x00\x00",  # shorter than the length field
    ],
)
def test_non_canonical_padding_is_refused(padded: bytes) -> None:
    with pytest.raises(crypto.MalformedEnvelope, match=r"padding|short"):
        crypto.open_(KEY, Kind.REPORT, CASE, _seal_raw_padded(padded))


def test_open_json_refuses_non_json() -> None:
    sealed = crypto.seal(KEY, Kind.NOTE, CASE, b"\xff not json")
    with pytest.raises(crypto.MalformedEnvelope, match="JSON"):
        crypto.open_json(KEY, Kind.NOTE, CASE, sealed)


def test_open_json_refuses_json_nested_past_the_parsers_depth() -> None:
    """A writer can seal any bytes under the case key: a reader must refuse, never crash."""
    deep = b"[" * 100_000 + b"]" * 100_000
    key, case = bytes(32), "case"
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.open_json(key, Kind.MESSAGE, case, crypto.seal(key, Kind.MESSAGE, case, deep))


def test_json_round_trip_keeps_vietnamese() -> None:
    document = {"what": "Tham nhũng đất đai", "when": "2026-11-01", "n": [1, 2]}
    sealed = crypto.seal_json(KEY, Kind.REPORT, CASE, document)
    assert crypto.open_json(KEY, Kind.REPORT, CASE, sealed) == document


@pytest.mark.parametrize(("length", "size"), [(0, 1024), (1020, 1024), (1021, 2048), (5000, 8192)])
def test_envelope_sizes_are_bucketed(length: int, size: int) -> None:
    sealed = crypto.seal(KEY, Kind.MESSAGE, CASE, b"m" * length)
    assert len(sealed) == 2 + 32 + size + 16


@given(st.binary(max_size=5000), st.sampled_from(list(RECORD_LABELS)))
def test_any_plaintext_round_trips(plaintext: bytes, kind: Kind) -> None:
    assert crypto.open_(KEY, kind, CASE, crypto.seal(KEY, kind, CASE, plaintext)) == plaintext


@pytest.mark.parametrize("document", [{"x": 1.5}, {"x": float("nan")}, {"x": 2**53}, {1: "a"}])
def test_non_canonical_documents_are_not_sealed(document: object) -> None:
    with pytest.raises(ValueError, match=r"float|2\^53|keys"):
        crypto.seal_json(KEY, Kind.NOTE, CASE, document)


@pytest.mark.parametrize("text", [b'{"x":NaN}', b'{"x":Infinity}', b'{"x":1.0}'])
def test_non_canonical_json_is_refused_on_reading(text: bytes) -> None:
    with pytest.raises(crypto.MalformedEnvelope, match="canonical JSON"):
        crypto.open_json(KEY, Kind.NOTE, CASE, crypto.seal(KEY, Kind.NOTE, CASE, text))


def test_keys_are_sorted_by_code_point() -> None:
    """Python sorts by code point; the spec requires it (UTF-16 order would differ)."""
    from crypto.records import canonical_json

    document = {"\U0001f600": 1, "\uff61": 2, "a": 3}
    assert canonical_json(document) == '{"a":3,"｡":2,"😀":1}'.encode()
