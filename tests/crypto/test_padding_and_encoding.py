"""Size buckets and encodings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import crypto
from crypto.encoding import b64u_decode, b64u_encode, normalize_crockford
from crypto.padding import file_bucket, padme, record_bucket


@given(st.integers(0, 1 << 40))
def test_file_buckets_cover_with_bounded_overhead(length: int) -> None:
    bucket = file_bucket(length)
    assert bucket >= max(length, 4096)
    if length > 4096:
        assert bucket <= length * 1.125


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 40))
def test_buckets_are_monotonic(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert padme(low) <= padme(high)
    assert record_bucket(low) <= record_bucket(high)


def test_padme_reveals_few_distinct_sizes() -> None:
    sizes = {file_bucket(n) for n in range(1_000_000, 1_100_000)}
    assert len(sizes) <= 8


@given(st.integers(0, 1 << 30))
def test_record_buckets_are_powers_of_two(length: int) -> None:
    bucket = record_bucket(length)
    assert bucket >= max(length, 1024)
    assert bucket & (bucket - 1) == 0


@given(st.binary(max_size=100))
def test_b64u_round_trip(data: bytes) -> None:
    text = b64u_encode(data)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert b64u_decode(text) == data


@pytest.mark.parametrize("text", ["AAAA=", "A", "a+b/", "QQ", "QR"])
def test_b64u_is_strict(text: str) -> None:
    if text == "QQ":
        assert b64u_decode(text) == b"A"
        return
    with pytest.raises(crypto.MalformedEnvelope):
        b64u_decode(text)


def test_normalize_maps_look_alikes_and_drops_separators() -> None:
    assert normalize_crockford(" oil-u.\uff5a ")  # ends in a full-width z == "011VZ"
