"""Attachments: a chunked streaming AEAD for contents, and a sealed record for metadata.

Stream: header(2) || salt(32) || chunk_0 || ... || chunk_n. Each chunk is AES-256-GCM over
64 KiB of plaintext (the last one may be shorter) under the file key
HKDF(case key, salt, "minhbach/1/file/<case id>"), nonce = 11-byte big-endian counter ||
last-chunk flag, and the 34-byte stream header as AAD. The counter stops reordering, the
flag stops truncation, the per-file key stops splicing chunks between files.

Plaintext is the file followed by zeros up to its Padmé bucket; the true size, name, type
and the stream's salt sit in a FILE_META record, so metadata cannot be moved to another file.
Memory is one chunk, whatever the file size.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

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


def _file_aead(case_key: bytes, case_id: str, salt: bytes) -> AESGCM:
    if len(case_key) != KEY_SIZE:
        raise ValueError("case keys are 32 bytes")
    check_context(case_id)
    return AESGCM(hkdf(case_key, salt=salt, info=label("file", case_id)))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


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


class FileEncryptor:
    """Push plaintext in with ``update``, then ``finalize``; write every returned piece in order."""

    def __init__(self, case_key: bytes, case_id: str, *, salt: bytes | None = None) -> None:
        self.salt = secrets.token_bytes(SALT_SIZE) if salt is None else salt
        if len(self.salt) != SALT_SIZE:
            raise ValueError("stream salts are 32 bytes")
        self._aead = _file_aead(case_key, case_id, self.salt)
        self._header = header(Kind.FILE_STREAM) + self.salt
        self._pending = bytearray(self._header)  # output not yet returned
        # Plaintext waiting to fill a chunk: allocated once, filled in place. A chunk that
        # spans two pieces must be copied to be contiguous; nothing else is.
        self._buffer = bytearray(CHUNK_SIZE)
        self._window = memoryview(self._buffer)
        self._filled = 0
        self._counter = 0
        self.size = 0
        self._finished = False

    def _seal(self, chunk: bytes | bytearray | memoryview, last: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._counter, last), chunk, self._header)
        self._counter += 1
        return sealed

    def update(self, data: bytes | memoryview) -> bytes:
        """Return the ciphertext of every chunk that is now complete (and not possibly last)."""
        return b"".join(self.update_chunks(data))

    def update_chunks(self, data: bytes | memoryview) -> Iterator[bytes]:
        """``update`` one chunk at a time; the caller must exhaust it before the next call.

        encrypt_stream hands each chunk on as it is sealed: no joining copy, and only one
        chunk of output exists at a time, whatever the piece size.
        """
        if self._finished:
            raise ValueError("the stream is already finalized")
        self.size += len(data)
        if self._pending:
            yield bytes(self._pending)
            self._pending.clear()
        view = memoryview(data)
        if self._filled:
            take = min(len(view), CHUNK_SIZE - self._filled)
            self._window[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
            if self._filled < CHUNK_SIZE or not view:
                return  # a full buffer with nothing after it may be the last chunk
            yield self._seal(self._buffer, last=False)
            self._filled = 0
        # Seal straight from the caller's memory while at least one more byte follows.
        while len(view) > CHUNK_SIZE:
            yield self._seal(view[:CHUNK_SIZE], last=False)
            view = view[CHUNK_SIZE:]
        self._window[: len(view)] = view
        self._filled = len(view)

    def finalize(self) -> Iterator[bytes]:
        """Pad to the file's bucket and seal the rest; the final chunk carries the last flag."""
        if self._finished:
            raise ValueError("the stream is already finalized")
        self._finished = True
        if self._pending:
            yield bytes(self._pending)
        remaining = file_bucket(self.size) - self.size + self._filled
        chunk = (
            bytes(self._window[: self._filled])
            + _ZEROS[: min(remaining, CHUNK_SIZE) - self._filled]
        )
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


class FileDecryptor:
    """Push ciphertext in with ``update``, then ``finalize``; yields exactly ``meta.size`` bytes.

    Each chunk is authenticated before its plaintext is returned, but truncation is only
    known at ``finalize``: a consumer must treat output as unconfirmed until it returns.
    """

    def __init__(self, case_key: bytes, case_id: str, meta: FileMeta) -> None:
        self._case_key, self._case_id, self._meta = case_key, case_id, meta
        self._aead: AESGCM | None = None
        self._header = b""
        # Ciphertext waiting to fill a chunk (or the header): allocated once, filled in place.
        self._buffer = bytearray(CIPHER_CHUNK_SIZE)
        self._window = memoryview(self._buffer)
        self._filled = 0
        self._counter = 0
        self._position = 0  # plaintext bytes decrypted so far, padding included
        self._padded_size = file_bucket(meta.size)
        self._finished = False

    def _start(self) -> None:
        self._header = bytes(self._window[:STREAM_HEADER_SIZE])
        self._filled = 0
        check_header(self._header, Kind.FILE_STREAM, STREAM_HEADER_SIZE)
        if self._header[2:] != self._meta.stream:
            raise DecryptionFailed("this file stream does not belong to this metadata")
        self._aead = _file_aead(self._case_key, self._case_id, self._header[2:])

    def _open(self, sealed: bytes | bytearray | memoryview, last: bool) -> bytes:
        assert self._aead is not None
        try:
            chunk = self._aead.decrypt(_nonce(self._counter, last), sealed, self._header)
        except InvalidTag:
            raise DecryptionFailed(f"file chunk {self._counter} failed authentication") from None
        self._counter += 1
        return self._emit(chunk)

    def _emit(self, chunk: bytes) -> bytes:
        """Cut the padding off; the padding itself must be zeros and end at the bucket."""
        start, self._position = self._position, self._position + len(chunk)
        if self._position > self._padded_size:
            raise MalformedEnvelope("file stream is longer than its metadata allows")
        keep = max(0, min(len(chunk), self._meta.size - start))
        if chunk[keep:] != _ZEROS[: len(chunk) - keep]:  # a memcmp; any() walks byte by byte
            raise MalformedEnvelope("file padding is not zeros")
        return chunk[:keep]

    def update(self, data: bytes | memoryview) -> bytes:
        return b"".join(self.update_chunks(data))

    def update_chunks(self, data: bytes | memoryview) -> Iterator[bytes]:
        """``update`` one chunk at a time (see FileEncryptor.update_chunks)."""
        if self._finished:
            raise ValueError("the stream is already finalized")
        view = memoryview(data)
        if self._aead is None:
            part = view[: STREAM_HEADER_SIZE - self._filled]
            self._window[self._filled : self._filled + len(part)] = part
            self._filled += len(part)
            view = view[len(part) :]
            if self._filled < STREAM_HEADER_SIZE:
                return
            self._start()
        # Only a chunk that spans two pieces is copied into the buffer; whole chunks are
        # opened in place, straight from the caller's memory.
        if self._filled:
            take = min(len(view), CIPHER_CHUNK_SIZE - self._filled)
            self._window[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
            if self._filled < CIPHER_CHUNK_SIZE or not view:
                return  # a full chunk with nothing after it may be the last one
            yield self._open(self._buffer, last=False)
            self._filled = 0
        # A full chunk followed by more data cannot be the last one.
        while len(view) > CIPHER_CHUNK_SIZE:
            yield self._open(view[:CIPHER_CHUNK_SIZE], last=False)
            view = view[CIPHER_CHUNK_SIZE:]
        self._window[: len(view)] = view
        self._filled = len(view)

    def finalize(self) -> bytes:
        if self._finished:
            raise ValueError("the stream is already finalized")
        self._finished = True
        if self._aead is None:
            if self._filled >= HEADER_SIZE:  # a foreign envelope is not "truncated"
                check_header(bytes(self._window[: self._filled]), Kind.FILE_STREAM)
            raise TruncatedStream("the file stream ends before its first chunk")
        sealed = bytes(self._window[: self._filled])
        if len(sealed) < TAG_SIZE:
            raise TruncatedStream("the file stream ends inside a chunk")
        try:
            out = self._open(sealed, last=True)
        except DecryptionFailed:
            self._raise_if_cut_short(sealed)
            raise
        if self._position != self._padded_size:
            raise MalformedEnvelope("file stream length does not match its metadata")
        return out

    def _raise_if_cut_short(self, sealed: bytes) -> None:
        """A chunk that opens as a middle chunk means the stream lost its end."""
        assert self._aead is not None
        try:
            self._aead.decrypt(_nonce(self._counter, False), sealed, self._header)
        except InvalidTag:
            return
        raise TruncatedStream("the file stream was cut short before its last chunk")


def encrypt_stream(
    encryptor: FileEncryptor, source: Iterable[bytes | memoryview]
) -> Iterator[bytes]:
    """Ciphertext pieces for every piece of ``source``, then the final chunks."""
    for piece in source:
        yield from encryptor.update_chunks(piece)
    yield from encryptor.finalize()


def decrypt_stream(
    case_key: bytes, case_id: str, meta: FileMeta, source: Iterable[bytes | memoryview]
) -> Iterator[bytes]:
    """Plaintext pieces; raises (after possibly yielding) if the stream is not intact."""
    decryptor = FileDecryptor(case_key, case_id, meta)
    for piece in source:
        for chunk in decryptor.update_chunks(piece):
            if chunk:  # the chunk that holds the end of the file may hold only padding
                yield chunk
    last = decryptor.finalize()
    if last:
        yield last


def read_pieces(stream: BinaryIO, size: int = CIPHER_CHUNK_SIZE) -> Iterator[bytes]:
    """Read a file object in fixed-size pieces until EOF."""
    while piece := stream.read(size):
        yield piece
