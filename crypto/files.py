"""Attachments: a chunked streaming AEAD for contents, and a sealed record for metadata.

Stream: header(2) || salt(32) || chunk_0 || ... || chunk_n. Each chunk is AES-256-GCM over
64 KiB of plaintext (the last one may be shorter) under the file key
HKDF(case key, salt, "minhbach/1/file/<case id>"), nonce = 11-byte big-endian counter ||
last-chunk flag, and the 34-byte stream header as AAD. The counter stops reordering, the
flag stops truncation, the per-file key stops splicing chunks between files.

Plaintext is the file followed by zeros up to its Padmé bucket; the true size, name, type
and the stream's salt sit in a FILE_META record, so metadata cannot be moved to another file.
Memory is one chunk, whatever the file size.

AES-GCM runs at 7-8 GB/s on the benchmark machine, so a 64 KiB memcpy costs a sixth of a
chunk's encryption and every Python step per chunk shows in the throughput
(benchmarks/crypto_stream.py): chunks are sealed and opened where they lie whole in the
caller's memory, and the loop over pieces and chunks is written out flat.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.encoding import b64u_decode, b64u_encode
from crypto.envelope import HEADER_SIZE, Kind, check_header, header
from crypto.errors import DecryptionFailed, MalformedEnvelope, TruncatedStream
from crypto.kdf import hkdf, label
from crypto.keys import KEY_SIZE
from crypto.padding import file_bucket
from crypto.records import MAX_SAFE_INTEGER, open_json, seal_json
from crypto.wrapping import check_context

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
CIPHER_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
SALT_SIZE = 32
STREAM_HEADER_SIZE = HEADER_SIZE + SALT_SIZE
MAX_NAME_LENGTH = 255
_ZEROS = bytes(CHUNK_SIZE)

Piece: TypeAlias = bytes | bytearray | memoryview
# AESGCM.encrypt or AESGCM.decrypt: (nonce, data, associated data) -> output
_Cipher: TypeAlias = Callable[[bytes, memoryview, bytes], bytes]


def _file_aead(case_key: bytes, case_id: str, salt: bytes) -> AESGCM:
    if len(case_key) != KEY_SIZE:
        raise ValueError("case keys are 32 bytes")
    check_context(case_id)
    return AESGCM(hkdf(case_key, salt=salt, info=label("file", case_id)))


def _nonce(counter: int, last: bool) -> bytes:
    """The 11-byte big-endian counter, then the last-chunk flag: one 12-byte integer."""
    return (counter << 8 | last).to_bytes(12, "big")


@dataclass(frozen=True)
class FileMeta:
    """What the FILE_META record holds. ``stream`` is the salt from the stream header."""

    name: str
    type: str
    size: int
    stream: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "size": self.size,
            "stream": b64u_encode(self.stream),
        }

    @classmethod
    def from_json(cls, document: Any) -> FileMeta:
        try:
            name, type_, size = document["name"], document["type"], document["size"]
            stream = b64u_decode(document["stream"])
        except (TypeError, KeyError):
            raise MalformedEnvelope("file metadata lacks a field") from None
        valid = (
            isinstance(name, str)
            and isinstance(type_, str)
            and type(size) is int
            and 0 <= size <= MAX_SAFE_INTEGER
            and len(stream) == SALT_SIZE
        )
        if not valid:
            raise MalformedEnvelope("file metadata has a field of the wrong type")
        return cls(name=name, type=type_, size=size, stream=stream)


def seal_file_meta(
    case_key: bytes, case_id: str, meta: FileMeta, *, salt: bytes | None = None
) -> bytes:
    return seal_json(case_key, Kind.FILE_META, case_id, meta.to_json(), salt=salt)


def open_file_meta(case_key: bytes, case_id: str, blob: bytes) -> FileMeta:
    return FileMeta.from_json(open_json(case_key, Kind.FILE_META, case_id, blob))


class _Chunked:
    """Cuts a stream of pieces of any size into chunks of ``_size`` and runs AES-GCM on each.

    A chunk is handed on only once at least one more byte follows it, because which chunk
    is the last (sealed with the last-chunk flag) is known only at the end: the rest is
    held back for the next piece, or for ``finalize``. A chunk that lies whole inside a
    piece is sealed or opened in place, in the caller's memory; only a chunk that spans two
    pieces is copied, into a buffer allocated once.
    """

    _size: int  # bytes in a chunk, set by each subclass
    _header: bytes  # the stream header: the AAD of every chunk
    _counter: int  # chunks done so far
    _plain_chunks: int  # chunks handed on as they are; from this one on, through ``_trim``
    _cipher: _Cipher | None  # AESGCM.encrypt or .decrypt: (nonce, data, aad) -> output
    _finished: bool

    def __init__(self) -> None:
        self._buffer = bytearray(self._size)
        self._window = memoryview(self._buffer)
        self._filled = 0  # bytes held back, at the start of the buffer

    def _trim(self, output: bytes, counter: int) -> bytes:
        """What to hand on of chunk ``counter``'s output, from ``_plain_chunks`` on: all of
        it, unless a subclass holds chunks that need trimming (the decryptor's padding)."""
        return output

    def _start(self, view: memoryview) -> memoryview:
        """Take what precedes the chunks from the start of the stream; return the rest.
        Nothing, unless a subclass reads a header first (the decryptor)."""
        return view

    def _run(self, pieces: Iterable[Piece]) -> Iterator[bytes]:
        """The output of every chunk the pieces complete, in order (empty outputs left out).

        encrypt_stream and decrypt_stream run this once over all their pieces, update over
        one. It is written out flat, with its state in locals until it ends, because with
        100,000-byte pieces each method call, attribute lookup or generator level per chunk
        costs about a percent of the throughput (benchmarks/README.md).
        """
        if self._finished:
            raise ValueError("the stream is already finalized")
        size, window, aad, plain = self._size, self._window, self._header, self._plain_chunks
        filled, counter, cipher = self._filled, self._counter, self._cipher
        try:
            for piece in pieces:
                view = memoryview(piece)
                if cipher is None:  # a decryptor that has not had the whole header yet
                    view = self._start(view)
                    if (cipher := self._cipher) is None:
                        continue
                    aad = self._header
                if filled:  # top the held chunk up from the start of the piece
                    take = size - filled
                    if len(view) <= take:  # not full yet, or full with nothing after it
                        window[filled : filled + len(view)] = view
                        filled += len(view)
                        continue
                    window[filled:] = view[:take]
                    view = view[take:]
                    output = cipher((counter << 8).to_bytes(12, "big"), window, aad)  # _nonce
                    counter, filled = counter + 1, 0
                    if counter > plain:
                        output = self._trim(output, counter - 1)
                    if output:
                        yield output
                end = (len(view) - 1) // size * size if view else 0  # a byte stays behind
                for start in range(0, end, size):
                    chunk = view[start : start + size]
                    output = cipher((counter << 8).to_bytes(12, "big"), chunk, aad)  # _nonce
                    counter += 1
                    if counter > plain:
                        output = self._trim(output, counter - 1)
                    if output:
                        yield output
                filled = len(view) - end
                window[:filled] = view[end:]
        except InvalidTag:  # only opening fails
            raise DecryptionFailed(f"file chunk {counter} failed authentication") from None
        finally:
            self._filled, self._counter = filled, counter

    def _held(self) -> bytes:
        return bytes(self._window[: self._filled])


class FileEncryptor(_Chunked):
    """Push plaintext in with ``update``, then ``finalize``; write every returned piece in order."""

    _size = CHUNK_SIZE
    _plain_chunks = 1 << 88  # all: the counter has 88 bits

    def __init__(self, case_key: bytes, case_id: str, *, salt: bytes | None = None) -> None:
        super().__init__()
        self.salt = secrets.token_bytes(SALT_SIZE) if salt is None else salt
        if len(self.salt) != SALT_SIZE:
            raise ValueError("stream salts are 32 bytes")
        self._aead = _file_aead(case_key, case_id, self.salt)
        self._cipher = self._aead.encrypt
        self._header = header(Kind.FILE_STREAM) + self.salt
        self._header_sent = False
        self._counter = 0
        self._file_size: int | None = None  # set by finalize
        self._finished = False

    @property
    def size(self) -> int:
        """Plaintext bytes taken in so far (every chunk sealed so far was full)."""
        if self._file_size is not None:
            return self._file_size
        return self._counter * CHUNK_SIZE + self._filled

    def update(self, data: Piece) -> bytes:
        """Return the ciphertext of every chunk that is now complete (and not possibly last)."""
        return b"".join(self.update_chunks(data))

    def update_chunks(self, data: Piece) -> Iterator[bytes]:
        """``update`` one chunk at a time; the caller must exhaust it before the next call."""
        return self._seal_pieces((data,))

    def _seal_pieces(self, pieces: Iterable[Piece]) -> Iterator[bytes]:
        """The stream header (once), then the ciphertext of every chunk the pieces complete.

        A chain, not a generator that yields from both: one generator fewer for every chunk
        to pass through. Only one chunk of output exists at a time, whatever the piece size.
        """
        return itertools.chain(self._unsent_header(), self._run(pieces))

    def _unsent_header(self) -> tuple[bytes, ...]:
        """The stream header if it has not been handed out yet; from now on it has been."""
        if self._header_sent:  # once finalized, it has been sent: _run refuses more
            return ()
        self._header_sent = True
        return (self._header,)

    def _seal(self, chunk: bytes, last: bool) -> bytes:
        counter = self._counter
        self._counter = counter + 1
        return self._aead.encrypt(_nonce(counter, last), chunk, self._header)

    def finalize(self) -> Iterator[bytes]:
        """Pad to the file's bucket and seal the rest; the final chunk carries the last flag."""
        if self._finished:
            raise ValueError("the stream is already finalized")
        self._file_size = self.size
        self._finished = True
        yield from self._unsent_header()
        remaining = file_bucket(self.size) - self.size + self._filled
        chunk = self._held() + _ZEROS[: min(remaining, CHUNK_SIZE) - self._filled]
        remaining -= len(chunk)
        while remaining:
            yield self._seal(chunk, last=False)
            chunk = _ZEROS[: min(remaining, CHUNK_SIZE)]
            remaining -= len(chunk)
        yield self._seal(chunk, last=True)

    def metadata(self, name: str, type_: str) -> FileMeta:
        """The FILE_META contents for this stream; only meaningful once finalized."""
        if not self._finished:
            raise ValueError("finalize the stream before taking its metadata")
        return FileMeta(name=name[:MAX_NAME_LENGTH], type=type_, size=self.size, stream=self.salt)


class FileDecryptor(_Chunked):
    """Push ciphertext in with ``update``, then ``finalize``; yields exactly ``meta.size`` bytes.

    Each chunk is authenticated before its plaintext is returned, but truncation is only
    known at ``finalize``: a consumer must treat output as unconfirmed until it returns.
    """

    _size = CIPHER_CHUNK_SIZE

    def __init__(self, case_key: bytes, case_id: str, meta: FileMeta) -> None:
        super().__init__()
        self._case_key, self._case_id, self._meta = case_key, case_id, meta
        self._aead: AESGCM | None = None
        self._cipher = None  # until the header is whole
        self._header = b""  # as it arrives; whole and checked before any chunk
        self._counter = 0
        self._padded_size = file_bucket(meta.size)
        self._position = 0  # where the last chunk opened ends, padding included
        # Chunks before this one hold file bytes only: no padding to cut off or check.
        self._plain_chunks = meta.size // CHUNK_SIZE
        self._finished = False

    def update(self, data: Piece) -> bytes:
        return b"".join(self.update_chunks(data))

    def update_chunks(self, data: Piece) -> Iterator[bytes]:
        """``update`` one chunk at a time (see FileEncryptor.update_chunks)."""
        return self._run((data,))

    def _start(self, view: memoryview) -> memoryview:
        """Add the start of ``view`` to the stream header, and check the header once whole."""
        need = STREAM_HEADER_SIZE - len(self._header)
        self._header += view[:need]
        if len(self._header) == STREAM_HEADER_SIZE:
            check_header(self._header, Kind.FILE_STREAM, STREAM_HEADER_SIZE)
            if self._header[2:] != self._meta.stream:
                raise DecryptionFailed("this file stream does not belong to this metadata")
            self._aead = _file_aead(self._case_key, self._case_id, self._header[2:])
            self._cipher = self._aead.decrypt
        return view[need:]

    def _trim(self, output: bytes, counter: int) -> bytes:
        """Cut the padding off; the padding itself must be zeros and end at the bucket."""
        start = counter * CHUNK_SIZE  # every chunk before this one held CHUNK_SIZE bytes
        self._position = start + len(output)
        if self._position > self._padded_size:
            raise MalformedEnvelope("file stream is longer than its metadata allows")
        keep = max(0, min(len(output), self._meta.size - start))
        if output[keep:] != _ZEROS[: len(output) - keep]:  # a memcmp; any() walks byte by byte
            raise MalformedEnvelope("file padding is not zeros")
        return output[:keep]

    def finalize(self) -> bytes:
        if self._finished:
            raise ValueError("the stream is already finalized")
        self._finished = True
        if self._aead is None:
            if len(self._header) >= HEADER_SIZE:  # a foreign envelope is not "truncated"
                check_header(self._header, Kind.FILE_STREAM)
            raise TruncatedStream("the file stream ends before its first chunk")
        sealed = self._held()
        if len(sealed) < TAG_SIZE:
            raise TruncatedStream("the file stream ends inside a chunk")
        counter = self._counter
        try:
            plaintext = self._aead.decrypt(_nonce(counter, True), sealed, self._header)
        except InvalidTag:
            self._raise_if_cut_short(sealed)
            raise DecryptionFailed(f"file chunk {counter} failed authentication") from None
        out = self._trim(plaintext, counter)
        if self._position != self._padded_size:
            raise MalformedEnvelope("file stream length does not match its metadata")
        return out

    def _finalize_pieces(self) -> Iterator[bytes]:
        """``finalize`` as a generator that yields nothing for an empty end."""
        if last := self.finalize():
            yield last

    def _raise_if_cut_short(self, sealed: bytes) -> None:
        """A chunk that opens as a middle chunk means the stream lost its end."""
        assert self._aead is not None
        try:
            self._aead.decrypt(_nonce(self._counter, False), sealed, self._header)
        except InvalidTag:
            return
        raise TruncatedStream("the file stream was cut short before its last chunk")


def encrypt_stream(encryptor: FileEncryptor, source: Iterable[Piece]) -> Iterator[bytes]:
    """Ciphertext pieces for every piece of ``source``, then the final chunks.

    A chain rather than a generator that yields from both: one generator fewer to pass
    through for every chunk.
    """
    return itertools.chain(encryptor._seal_pieces(source), encryptor.finalize())


def decrypt_stream(
    case_key: bytes, case_id: str, meta: FileMeta, source: Iterable[Piece]
) -> Iterator[bytes]:
    """Plaintext pieces; raises (after possibly yielding) if the stream is not intact.

    A chain, as in encrypt_stream: each chunk passes through one generator only.
    """
    decryptor = FileDecryptor(case_key, case_id, meta)
    return itertools.chain(decryptor._run(source), decryptor._finalize_pieces())


def read_pieces(stream: BinaryIO, size: int = CIPHER_CHUNK_SIZE) -> Iterator[bytes]:
    """Read a file object in fixed-size pieces until EOF."""
    while piece := stream.read(size):
        yield piece
