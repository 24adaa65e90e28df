"""Attachment streams: truncation, reordering, splicing between files and tampering fail."""

from __future__ import annotations

import io
import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crypto
from crypto.files import (
    CHUNK_SIZE,
    CIPHER_CHUNK_SIZE,
    STREAM_HEADER_SIZE,
    FileEncryptor,
    FileMeta,
    _nonce,
)

KEY = b"\x33" * 32
CASE = "case-files"
SIZE = 3 * CHUNK_SIZE + 1234  # padded to 4 chunks' worth: header + 4 sealed chunks


def encrypt(data: bytes, key: bytes = KEY, case: str = CASE) -> tuple[bytes, FileMeta]:
    encryptor = FileEncryptor(key, case)
    stream = b"".join(crypto.encrypt_stream(encryptor, [data]))
    return stream, encryptor.metadata("evidence.jpg", "image/jpeg")


def decrypt(stream: bytes, meta: FileMeta, key: bytes = KEY, case: str = CASE) -> bytes:
    return b"".join(crypto.decrypt_stream(key, case, meta, [stream]))


def chunks(stream: bytes) -> tuple[bytes, list[bytes]]:
    body = stream[STREAM_HEADER_SIZE:]
    return stream[:STREAM_HEADER_SIZE], [
        body[i : i + CIPHER_CHUNK_SIZE] for i in range(0, len(body), CIPHER_CHUNK_SIZE)
    ]


@pytest.fixture(scope="module")
def sample() -> tuple[bytes, bytes, FileMeta]:
    # A last byte that is never zero: a size one short must then cut a byte that is not
    # padding (a random zero there would pass as padding, one run in 256).
    data = os.urandom(SIZE - 1) + b"\xff"
    stream, meta = encrypt(data)
    return data, stream, meta


def test_round_trip(sample: tuple[bytes, bytes, FileMeta]) -> None:
    data, stream, meta = sample
    assert decrypt(stream, meta) == data
    assert len(chunks(stream)[1]) == 4


def test_ciphertext_does_not_contain_plaintext() -> None:
    canary = b"CANARY-" * 10_000
    stream, _ = encrypt(canary)
    assert b"CANARY" not in stream


def test_drop_last_chunk_is_truncation(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    head, parts = chunks(stream)
    with pytest.raises(crypto.TruncatedStream):
        decrypt(head + b"".join(parts[:-1]), meta)


def test_cut_inside_a_chunk(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(stream[:-100], meta)


@pytest.mark.parametrize("cut", [0, 1, 2, STREAM_HEADER_SIZE, STREAM_HEADER_SIZE + 10])
def test_stream_cut_before_first_chunk(sample: tuple[bytes, bytes, FileMeta], cut: int) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.TruncatedStream):
        decrypt(stream[:cut], meta)


def test_drop_middle_chunk(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    head, parts = chunks(stream)
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(head + parts[0] + b"".join(parts[2:]), meta)


def test_reorder_chunks(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    head, parts = chunks(stream)
    with pytest.raises(crypto.DecryptionFailed, match="chunk 0"):
        decrypt(head + parts[1] + parts[0] + b"".join(parts[2:]), meta)


def test_duplicate_chunk(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    head, parts = chunks(stream)
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(head + parts[0] + parts[0] + b"".join(parts[2:]), meta)


def test_swap_chunk_from_another_file_of_the_same_case(
    sample: tuple[bytes, bytes, FileMeta],
) -> None:
    data, stream, meta = sample
    other_stream, _ = encrypt(data)  # same case key, same contents, other file
    head, parts = chunks(stream)
    _, other_parts = chunks(other_stream)
    with pytest.raises(crypto.DecryptionFailed, match="chunk 1"):
        decrypt(head + parts[0] + other_parts[1] + b"".join(parts[2:]), meta)


def test_other_files_header_does_not_match_metadata(
    sample: tuple[bytes, bytes, FileMeta],
) -> None:
    data, stream, meta = sample
    other_stream, _ = encrypt(data)
    with pytest.raises(crypto.DecryptionFailed, match="metadata"):
        decrypt(other_stream[:STREAM_HEADER_SIZE] + stream[STREAM_HEADER_SIZE:], meta)


def test_appended_chunk(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    _, parts = chunks(stream)
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(stream + parts[1], meta)


@pytest.mark.parametrize("extra", [b"\0", b"x" * 17, b"y" * CIPHER_CHUNK_SIZE])
def test_appended_bytes(sample: tuple[bytes, bytes, FileMeta], extra: bytes) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(stream + extra, meta)


@pytest.mark.parametrize("chunk", [0, 1, 3])
def test_flipped_bit_in_each_chunk(sample: tuple[bytes, bytes, FileMeta], chunk: int) -> None:
    _, stream, meta = sample
    tampered = bytearray(stream)
    tampered[STREAM_HEADER_SIZE + chunk * CIPHER_CHUNK_SIZE + 5] ^= 1
    with pytest.raises(crypto.DecryptionFailed, match=f"chunk {chunk}"):
        decrypt(bytes(tampered), meta)


def test_wrong_case_key(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(stream, meta, key=b"\x34" * 32)


def test_wrong_case_id(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.DecryptionFailed):
        decrypt(stream, meta, case="another-case")


def test_unknown_version(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.UnsupportedVersion):
        decrypt(b"\x07" + stream[1:], meta)


def test_wrong_kind(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    with pytest.raises(crypto.MalformedEnvelope):
        decrypt(stream[:1] + b"\x02" + stream[2:], meta)


def test_metadata_with_a_false_size_is_refused(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, stream, meta = sample
    for size in (meta.size - 1, meta.size + CHUNK_SIZE * 3, 0):
        lie = FileMeta(meta.name, meta.type, size, meta.stream)
        with pytest.raises(crypto.MalformedEnvelope):
            decrypt(stream, lie)


def test_metadata_size_inside_padding_exposes_no_padding_garbage() -> None:
    """A smaller size within the same bucket only cuts the output; padding must be zeros."""
    data = b"a" * 5000
    stream, meta = encrypt(data)
    with pytest.raises(crypto.MalformedEnvelope, match="padding"):
        decrypt(stream, FileMeta(meta.name, meta.type, 4990, meta.stream))


def test_non_zero_padding_is_refused() -> None:
    """An authentic stream whose padding carries data (a covert channel) is refused."""
    encryptor = FileEncryptor(KEY, CASE)
    head = encryptor.update(b"")
    sealed = encryptor._aead.encrypt(_nonce(0, True), b"ab".ljust(4096, b"!"), head)
    meta = FileMeta("a", "b", 2, encryptor.salt)
    with pytest.raises(crypto.MalformedEnvelope, match="padding"):
        decrypt(head + sealed, meta)


def test_metadata_round_trip_and_binding(sample: tuple[bytes, bytes, FileMeta]) -> None:
    _, _, meta = sample
    sealed = crypto.seal_file_meta(KEY, CASE, meta)
    assert crypto.open_file_meta(KEY, CASE, sealed) == meta
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_file_meta(KEY, "another-case", sealed)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"name": 1, "type": "t", "size": 1, "stream": "A" * 43},
        {"name": "n", "type": "t", "size": -1, "stream": "A" * 43},
        {"name": "n", "type": "t", "size": True, "stream": "A" * 43},
        {"name": "n", "type": "t", "size": 1, "stream": "AAAA"},
        {"name": "n", "type": "t", "size": 1, "stream": "not base64!"},
        [],
    ],
)
def test_malformed_metadata_documents(document: object) -> None:
    sealed = crypto.seal_json(KEY, crypto.Kind.FILE_META, CASE, document)
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.open_file_meta(KEY, CASE, sealed)


def test_finalized_encryptor_refuses_more() -> None:
    encryptor = FileEncryptor(KEY, CASE)
    list(encryptor.finalize())
    with pytest.raises(ValueError, match="finalized"):
        encryptor.update(b"x")
    with pytest.raises(ValueError, match="finalized"):
        list(encryptor.finalize())


def test_metadata_needs_a_finished_stream() -> None:
    with pytest.raises(ValueError, match="finalize"):
        FileEncryptor(KEY, CASE).metadata("a", "b")


def test_long_names_are_cut() -> None:
    encryptor = FileEncryptor(KEY, CASE)
    list(encryptor.finalize())
    assert len(encryptor.metadata("x" * 1000, "t").name) == 255


def test_read_pieces_reads_everything() -> None:
    assert b"".join(crypto.read_pieces(io.BytesIO(b"z" * 200_001), 65_552)) == b"z" * 200_001


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 3 * CHUNK_SIZE + 10),
    enc_cuts=st.lists(st.integers(0, 1 << 20), max_size=6),
    dec_cuts=st.lists(st.integers(0, 1 << 20), max_size=6),
)
def test_any_size_and_any_split_round_trips(
    size: int, enc_cuts: list[int], dec_cuts: list[int]
) -> None:
    data = os.urandom(size)
    encryptor = FileEncryptor(KEY, CASE)
    stream = b"".join(crypto.encrypt_stream(encryptor, split(data, enc_cuts)))
    meta = encryptor.metadata("f", "t")
    assert b"".join(crypto.decrypt_stream(KEY, CASE, meta, split(stream, dec_cuts))) == data
    whole, _ = encrypt(data)
    assert len(stream) == len(whole)  # splitting never changes the format
