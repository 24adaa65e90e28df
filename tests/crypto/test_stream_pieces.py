"""File streams fed in pieces of any size: the same bytes as a one-shot encryption, and back.

The writer and reader take shortcuts that depend on how pieces fall against the 64 KiB
chunks (whole chunks sealed and opened in the caller's memory, only a chunk that spans
pieces copied, a held-back remainder): these tests drive every such case and compare
with a stream built in one shot straight from docs/crypto.md §6.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import crypto
from crypto.files import CHUNK_SIZE, CIPHER_CHUNK_SIZE, FileDecryptor, FileEncryptor, FileMeta
from crypto.padding import file_bucket

KEY = bytes(range(0x40, 0x60))
CASE = "case-stream-pieces"
SALT = bytes(range(0x80, 0xA0))

# Piece sizes, cycled over the input. 0 is an empty piece.
PIECE_SIZES = {
    "1 byte": [1],
    "chunk - 1": [CHUNK_SIZE - 1],
    "chunk": [CHUNK_SIZE],
    "chunk + 1": [CHUNK_SIZE + 1],
    "sealed chunk": [CIPHER_CHUNK_SIZE],
    "100,000": [100_000],
    "empty pieces between": [0, 7_000, 0, 0, CHUNK_SIZE, 0, 1, 0],
    "mixed, seeded": random.Random(12).choices(
        [0, 1, 15, 16, 17, 33, 34, 35, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1]
        + [random.Random(i).randrange(3 * CHUNK_SIZE) for i in range(8)],
        k=40,
    ),
}


def _size_with_padding_chunks() -> int:
    """The smallest size (near 8 MiB) whose padding fills middle chunks, which open to nothing."""
    size = 1 << 23
    while file_bucket(size) - size < 2 * CHUNK_SIZE:
        size += 1
    return size


# Empty, one byte, around one chunk, chunks and a remainder.
SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 1234]
PADDED = _size_with_padding_chunks()


def cases(sizes: list[int]) -> list[object]:
    """Every piece scheme with every size; 1-byte pieces of 8 MiB would take a minute."""
    return [
        pytest.param(pieces, size, id=f"{name}-{size}")
        for name, pieces in PIECE_SIZES.items()
        for size in sizes
        if size < PADDED or pieces != [1]
    ]


def plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def one_shot_stream(data: bytes) -> bytes:
    """The FILE_STREAM of ``data`` under KEY, CASE and SALT, built whole from §6."""
    stream_header = b"\x01\x06" + SALT
    file_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"minhbach/1/file/" + CASE.encode()
    ).derive(KEY)
    aead = AESGCM(file_key)
    padded = data + bytes(file_bucket(len(data)) - len(data))
    chunks = [padded[at : at + CHUNK_SIZE] for at in range(0, len(padded), CHUNK_SIZE)]
    last = len(chunks) - 1
    sealed = (
        aead.encrypt(i.to_bytes(11, "big") + bytes([i == last]), chunk, stream_header)
        for i, chunk in enumerate(chunks)
    )
    return stream_header + b"".join(sealed)


def cut(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """``data`` in pieces of the given sizes, cycled; a size of 0 gives an empty piece."""
    at, turn = 0, 0
    while at < len(data):
        size = sizes[turn % len(sizes)]
        yield data[at : at + size]
        at, turn = at + size, turn + 1
    yield b""  # a caller may well end with an empty read


def meta_for(size: int) -> FileMeta:
    return FileMeta(name="f.bin", type="application/octet-stream", size=size, stream=SALT)


def decrypted(stream_pieces: Iterator[bytes] | Iterator[memoryview], size: int) -> list[bytes]:
    out = list(crypto.decrypt_stream(KEY, CASE, meta_for(size), stream_pieces))
    # WSGI servers take only bytes, and an empty write can end a chunked response.
    assert all(type(piece) is bytes and piece for piece in out)
    return out


@pytest.mark.parametrize(("sizes", "size"), cases([*SIZES, PADDED]))
def test_any_pieces_give_the_one_shot_stream_and_open_back(sizes: list[int], size: int) -> None:
    data = plaintext(size)
    expected = one_shot_stream(data)
    encryptor = FileEncryptor(KEY, CASE, salt=SALT)
    sealed = list(crypto.encrypt_stream(encryptor, cut(data, sizes)))
    assert all(type(piece) is bytes for piece in sealed)
    assert b"".join(sealed) == expected
    assert encryptor.metadata("f.bin", "t").size == size
    assert b"".join(decrypted(cut(expected, sizes), size)) == data


@pytest.mark.parametrize(("sizes", "size"), cases([3 * CHUNK_SIZE + 1234, PADDED]))
def test_update_and_finalize_match_the_one_shot_stream(sizes: list[int], size: int) -> None:
    data = plaintext(size)
    expected = one_shot_stream(data)
    encryptor = FileEncryptor(KEY, CASE, salt=SALT)
    sealed = [encryptor.update(piece) for piece in cut(data, sizes)]
    assert b"".join(sealed) + b"".join(encryptor.finalize()) == expected
    decryptor = FileDecryptor(KEY, CASE, meta_for(size))
    opened = [decryptor.update(piece) for piece in cut(expected, sizes)]
    assert b"".join(opened) + decryptor.finalize() == data


def reused_buffer(data: bytes, sizes: list[int]) -> Iterator[memoryview]:
    """Pieces read into one buffer, overwritten as soon as the callee returns (readinto)."""
    buffer = bytearray(max(sizes))
    for piece in cut(data, sizes):
        buffer[: len(piece)] = piece
        yield memoryview(buffer)[: len(piece)]
        buffer[:] = b"\xee" * len(buffer)  # whatever the callee kept a view of is now garbage


def zero_copy_windows(data: bytes, sizes: list[int]) -> Iterator[memoryview]:
    """Views of one immutable bytes object, as the benchmark hands its input out."""
    view, at = memoryview(data), 0
    for piece in cut(data, sizes):
        yield view[at : at + len(piece)]
        at += len(piece)


@pytest.mark.parametrize("pieces", [reused_buffer, zero_copy_windows])
@pytest.mark.parametrize("sizes", [[100_000], [CHUNK_SIZE - 1], PIECE_SIZES["mixed, seeded"]])
def test_pieces_as_views_of_memory_the_caller_may_reuse(
    pieces: Callable[[bytes, list[int]], Iterator[memoryview]], sizes: list[int]
) -> None:
    size = 3 * CHUNK_SIZE + 1234
    data = plaintext(size)
    expected = one_shot_stream(data)
    encryptor = FileEncryptor(KEY, CASE, salt=SALT)
    assert b"".join(crypto.encrypt_stream(encryptor, pieces(data, sizes))) == expected
    assert b"".join(decrypted(pieces(expected, sizes), size)) == data


def test_output_pieces_stay_valid_after_the_next_one() -> None:
    """Keeping every piece and using them later (b"".join on a generator does) is safe."""
    size = 5 * CHUNK_SIZE + 77
    data = plaintext(size)

    def sealed() -> Iterator[bytes]:
        return crypto.encrypt_stream(FileEncryptor(KEY, CASE, salt=SALT), cut(data, [100_000]))

    def opened() -> Iterator[bytes]:
        return crypto.decrypt_stream(KEY, CASE, meta_for(size), cut(stream, [100_000]))

    kept = list(sealed())
    assert [bytes(piece) for piece in kept] == [bytes(piece) for piece in sealed()]
    stream = b"".join(kept)
    kept = list(opened())
    assert [bytes(piece) for piece in kept] == [bytes(piece) for piece in opened()]
    assert b"".join(kept) == data


def test_a_stream_cut_short_between_pieces_is_still_refused() -> None:
    """Holding the last full chunk back across pieces keeps truncation detectable."""
    size = 3 * CHUNK_SIZE + 1234  # four chunks
    cut_short = one_shot_stream(plaintext(size))[: 34 + 3 * CIPHER_CHUNK_SIZE]
    for sizes in ([100_000], [CIPHER_CHUNK_SIZE], [1]):
        with pytest.raises(crypto.TruncatedStream):
            decrypted(cut(cut_short, sizes), size)
