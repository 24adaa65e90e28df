"""Size buckets, so that ciphertext lengths say little about what they hold."""

from __future__ import annotations

import struct

from crypto.errors import MalformedEnvelope

RECORD_MIN = 1024
FILE_MIN = 4096
_LENGTH = struct.Struct(">I")


def record_bucket(length: int) -> int:
    """Next power of two, at least 1 KiB: records are short texts, so hide them well."""
    return max(RECORD_MIN, 1 << max(0, length - 1).bit_length())


def padme(length: int) -> int:
    """Padmé (Nikitin et al., PURBs, 2019): at most 12% overhead, O(log log n) leakage."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    size_bits = exponent.bit_length()
    mask = (1 << (exponent - size_bits)) - 1
    return (length + mask) & ~mask


def file_bucket(length: int) -> int:
    return padme(max(FILE_MIN, length))


def pad_record(data: bytes) -> bytes:
    """u32 big-endian length, the data, then zeros up to the record bucket."""
    framed = _LENGTH.pack(len(data)) + data
    return framed.ljust(record_bucket(len(framed)), b"\0")


def unpad_record(padded: bytes) -> bytes:
    if len(padded) < _LENGTH.size:
        raise MalformedEnvelope("padded record too short")
    (length,) = _LENGTH.unpack_from(padded)
    end = _LENGTH.size + length
    if end > len(padded) or len(padded) != record_bucket(end) or any(padded[end:]):
        raise MalformedEnvelope("record padding is not canonical")
    return padded[_LENGTH.size : end]
