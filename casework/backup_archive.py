"""The backup file: an archive of named entries, encrypted as it is written, openable only
with a unit escrow key (docs/backups.md).

Layout::

    header line     JSON + "\\n": format, version, the backup's id, and per escrow key
                    its public key and an HPKE wrap of the archive key (purpose
                    ``backup-key``, context the id)
    stream          crypto.files' FILE_STREAM of the plaintext below, under the archive
                    key and the id: 64 KiB AES-256-GCM chunks, counter nonces, a last-chunk
                    flag, padded to a Padmé bucket
    trailer         the stream's FILE_META record (its true size and salt), sealed under
                    the same key, then that record's length as 4 bytes big-endian

Plaintext: entries, each a name (2-byte length, UTF-8) and records (4-byte length, bytes)
ended by an empty record; a name of length 0 ends the archive. The first entry is always
``manifest.json``, which carries the SHA-256 of the header line: the list of recipients
cannot be changed without the manifest showing it. Every chunk is authenticated before
its bytes are used, and a file cut short anywhere fails (the last-chunk flag, the
trailer's size); a caller that must not act on an unconfirmed archive reads it through
once (``verify``) before restoring from it.

Memory stays constant whatever the archive's size: the writer buffers 1 MiB of plaintext,
the reader one record (the largest is one database row or one 1 MiB piece).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import crypto
from crypto import CryptoError, FileEncryptor, Purpose
from crypto.kdf import constant_time_equal

FORMAT = "minhbach-backup"
VERSION = 1
MANIFEST = "manifest.json"
ID_PREFIX = "backup-"
_ID = re.compile(ID_PREFIX + "[0-9a-f]{32}")
MAX_HEADER_SIZE = 64 * 1024
MAX_TRAILER_SIZE = 4096
# No record is larger: a database row, or a piece of a dump or blob (PIECE_SIZE).
MAX_RECORD_SIZE = 256 * 1024 * 1024
PIECE_SIZE = 1024 * 1024
_META_NAME, _META_TYPE = "backup", "application/vnd.minhbach.backup"
_NAME, _RECORD, _TRAILER = struct.Struct(">H"), struct.Struct(">I"), struct.Struct(">I")


class BackupError(ValueError):
    """The file is not a backup this key opens, or not intact. Messages never hold key
    material or contents."""


@dataclass(frozen=True)
class Recipient:
    public_key: bytes
    wrap: bytes

    @property
    def fingerprint(self) -> str:
        return crypto.fingerprint(self.public_key)


@dataclass(frozen=True)
class Header:
    backup_id: str
    recipients: tuple[Recipient, ...]

    def line(self) -> bytes:
        document = {
            "format": FORMAT,
            "version": VERSION,
            "id": self.backup_id,
            "recipients": [
                {
                    "fingerprint": r.fingerprint,
                    "public_key": r.public_key.hex(),
                    "wrap": r.wrap.hex(),
                }
                for r in self.recipients
            ],
        }
        return json.dumps(document, separators=(",", ":")).encode("ascii") + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Header:
        try:
            document = json.loads(line)
            if document["format"] != FORMAT:
                raise BackupError("not a minhbach backup file")
            if document["version"] != VERSION:
                raise BackupError(f"unsupported backup format version {document['version']!r}")
            backup_id = document["id"]
            recipients = tuple(
                Recipient(bytes.fromhex(item["public_key"]), bytes.fromhex(item["wrap"]))
                for item in document["recipients"]
            )
        except BackupError:
            raise
        except (ValueError, TypeError, KeyError):
            raise BackupError("not a minhbach backup file (its header does not parse)") from None
        if not isinstance(backup_id, str) or not _ID.fullmatch(backup_id):
            raise BackupError("not a minhbach backup file (no backup id)")
        return cls(backup_id, recipients)


class ArchiveWriter:
    """Writes the header at once; then the manifest, the entries, and ``close``."""

    def __init__(self, out: BinaryIO, escrow_keys: Sequence[bytes]) -> None:
        if not escrow_keys:
            raise BackupError("a backup needs at least one escrow key to be encrypted to")
        self._out = out
        self._key = crypto.random_key()
        backup_id = ID_PREFIX + secrets.token_hex(16)
        recipients = tuple(
            Recipient(
                key,
                crypto.wrap(self._key, crypto.load_public_key(key), Purpose.BACKUP_KEY, backup_id),
            )
            for key in escrow_keys
        )
        self.header = Header(backup_id, recipients)
        line = self.header.line()
        self.header_sha256 = hashlib.sha256(line).hexdigest()
        out.write(line)
        self._encryptor = FileEncryptor(self._key, backup_id)
        self._buffer = bytearray()

    def manifest(self, document: dict[str, Any]) -> None:
        body = {**document, "header_sha256": self.header_sha256}
        self.entry(MANIFEST, [json.dumps(body, sort_keys=True).encode("utf-8")])

    def entry(self, name: str, records: Iterable[bytes]) -> int:
        """Write one entry; returns its size in bytes (records only)."""
        encoded = name.encode("utf-8")
        if not 0 < len(encoded) < 1 << 16:
            raise ValueError("entry names are 1 to 65535 bytes")
        self._plain(_NAME.pack(len(encoded)) + encoded)
        size = 0
        for record in records:
            if not record:
                continue  # an empty record would end the entry
            if len(record) > MAX_RECORD_SIZE:
                raise BackupError(f"a record of {name} is larger than {MAX_RECORD_SIZE} bytes")
            self._plain(_RECORD.pack(len(record)))
            self._plain(record)
            size += len(record)
        self._plain(_RECORD.pack(0))
        return size

    def close(self) -> None:
        self._plain(_NAME.pack(0))
        self._flush()
        for piece in self._encryptor.finalize():
            self._out.write(piece)
        meta = crypto.seal_file_meta(
            self._key, self.header.backup_id, self._encryptor.metadata(_META_NAME, _META_TYPE)
        )
        self._out.write(meta + _TRAILER.pack(len(meta)))

    def _plain(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= PIECE_SIZE:
            self._flush()

    def _flush(self) -> None:
        for piece in self._encryptor.update_chunks(self._buffer):
            self._out.write(piece)
        self._buffer = bytearray()


@dataclass(frozen=True)
class Entry:
    """One entry of an archive being read: iterate ``records`` before the next entry."""

    name: str
    records: Iterator[bytes]


class Archive:
    """A backup file opened for reading: its header and trailer, not yet decrypted."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        line = file.readline(MAX_HEADER_SIZE + 1)
        if not line.endswith(b"\n"):
            raise BackupError("not a minhbach backup file (no header line)")
        self.header = Header.parse(line)
        self.header_sha256 = hashlib.sha256(line).hexdigest()
        self._start = len(line)
        size = file.seek(0, 2)
        if size < self._start + _TRAILER.size:
            raise BackupError("the backup file is cut short (no trailer)")
        file.seek(size - _TRAILER.size)
        (meta_size,) = _TRAILER.unpack(file.read(_TRAILER.size))
        self._end = size - _TRAILER.size - meta_size
        if meta_size > MAX_TRAILER_SIZE or self._end < self._start:
            raise BackupError("the backup file is cut short or damaged (its trailer)")
        file.seek(self._end)
        self._meta = file.read(meta_size)

    @property
    def fingerprints(self) -> list[str]:
        return [recipient.fingerprint for recipient in self.header.recipients]

    def made_for(self, public_key: bytes) -> bool:
        return self._recipient(public_key) is not None

    def unlock(self, private_key: X25519PrivateKey) -> bytes:
        """The archive key, opened with an escrow private key the backup was made for."""
        recipient = self._recipient(crypto.public_bytes(private_key))
        if recipient is None:
            raise BackupError(
                "this escrow key is not one the backup was made for "
                f"(it was made for {', '.join(self.fingerprints)})"
            )
        try:
            return crypto.unwrap(
                recipient.wrap, private_key, Purpose.BACKUP_KEY, self.header.backup_id
            )
        except CryptoError:
            raise BackupError("the backup's key does not open: the file was altered") from None

    def read(self, key: bytes) -> tuple[dict[str, Any], Iterator[Entry]]:
        """The manifest, checked against the header, and the other entries in order."""
        try:
            meta = crypto.open_file_meta(key, self.header.backup_id, self._meta)
        except CryptoError:
            raise BackupError("the backup's trailer does not open: the file was altered") from None
        if (meta.name, meta.type) != (_META_NAME, _META_TYPE):
            raise BackupError("the backup's trailer is not a backup's")
        plain = _Plain(
            _guarded(crypto.decrypt_stream(key, self.header.backup_id, meta, self._region()))
        )
        entries = _entries(plain)
        first = next(entries, None)
        if first is None or first.name != MANIFEST:
            raise BackupError("the backup has no manifest")
        manifest = _manifest(b"".join(first.records))
        if not isinstance(manifest, dict) or not constant_time_equal(
            str(manifest.get("header_sha256")).encode(), self.header_sha256.encode()
        ):
            raise BackupError("the backup's header was altered (its recipients changed)")
        return manifest, entries

    def _recipient(self, public_key: bytes) -> Recipient | None:
        found = None
        for recipient in self.header.recipients:  # every one compared, in constant time
            if constant_time_equal(recipient.public_key, public_key):
                found = recipient
        return found

    def _region(self) -> Iterator[bytes]:
        """The stream's bytes. Positioned reads: several readers of one file may be at
        different places at once (a restore reads the dump's start twice)."""
        descriptor, offset = self._file.fileno(), self._start
        while offset < self._end:
            piece = os.pread(descriptor, min(PIECE_SIZE, self._end - offset), offset)
            if not piece:
                raise BackupError("the backup file changed while it was read")
            offset += len(piece)
            yield piece


def _guarded(pieces: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from pieces
    except CryptoError as exc:
        raise BackupError(f"the backup file is damaged, cut short or altered ({exc})") from None


def _manifest(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise BackupError("the backup's manifest does not parse") from None


class _Plain:
    """Exact reads from the decrypted pieces. What is read is cut off the buffer only once
    it is most of it: cutting at every read would move the rest each time."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()
        self._position = 0

    def read(self, size: int) -> bytes:
        while len(self._buffer) - self._position < size:
            piece = next(self._pieces, None)
            if piece is None:
                raise BackupError("the backup ends in the middle of an entry")
            if self._position > len(self._buffer) // 2:
                del self._buffer[: self._position]
                self._position = 0
            self._buffer += piece
        start, self._position = self._position, self._position + size
        return bytes(self._buffer[start : self._position])

    def finish(self) -> None:
        """Read to the end, so that the last chunk and the length are checked."""
        rest = len(self._buffer) - self._position
        for piece in self._pieces:
            rest += len(piece)
        if rest:
            raise BackupError("the backup has data after its end")


def _entries(plain: _Plain) -> Iterator[Entry]:
    while True:
        (length,) = _NAME.unpack(plain.read(_NAME.size))
        if length == 0:
            plain.finish()
            return
        try:
            name = plain.read(length).decode("utf-8")
        except UnicodeDecodeError:
            raise BackupError("the backup has an entry with a damaged name") from None
        records = _records(plain)
        yield Entry(name, records)
        for _ in records:  # what the caller left unread
            pass


def _records(plain: _Plain) -> Iterator[bytes]:
    while True:
        (length,) = _RECORD.unpack(plain.read(_RECORD.size))
        if length == 0:
            return
        if length > MAX_RECORD_SIZE:
            raise BackupError("the backup has a record larger than any it writes")
        yield plain.read(length)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a whole file, to record beside a backup and compare before a restore."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(PIECE_SIZE):
            digest.update(piece)
    return digest.hexdigest()
