"""``minhbach backup create|verify|restore``: an encrypted, consistent backup of the
database and the blobs, and its restore into a fresh instance (docs/backups.md).

Create: the database snapshot first (SQLite: one read transaction; PostgreSQL: pg_dump
under a snapshot of ours), then exactly the blobs that snapshot's attachments name. A
report committed after the snapshot is not in the backup, its blobs neither; a blob of
the snapshot was complete before it, since intake commits only after writing its blobs.
Everything streams into one archive encrypted to every unit escrow key
(``casework.backup_archive``), written 0600 under a temporary name and renamed when
complete, so a file with the final name is always a whole backup.

Restore: opened with an escrow file and its passphrase, read through once to the end
(a damaged, cut or altered file is refused before anything is written), then the
database and the blobs go into the configured, empty ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

from casework.backup_archive import Archive, ArchiveWriter, BackupError, Entry, file_sha256
from casework.blobs import blob_store
from cli.backup_target import (
    DUMP_ENTRY,
    Target,
    blobs_in_dump,
    refuse_unless_fresh,
    target,
)
from cli.errors import FileProblem
from cli.escrow import EscrowFileError, escrow_file_options, read_escrow_file
from cli.passphrases import existing_passphrase
from cli.runtime import Runtime, pass_runtime
from crypto import WrongPassphrase, read_pieces
from store.blobs import BlobNotFound, BlobStore, check_id
from store.consistency import check
from store.db import current_revision, head_revision
from store.dumps import PIECE_SIZE, DumpError, Facts, postgres
from store.fs import PRIVATE_FILE
from store.types import utc_now

BLOB_PREFIX = "blob/"
SUFFIX = ".minhbach-backup"
# Where the backed-up instance kept its blobs (the manifest's "blobs").
BLOBS_IN_FILES, BLOBS_IN_DATABASE = "files", "database"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@click.group()
def backup() -> None:
    """Encrypted backups of the database and blobs, and their restore."""


@backup.command("create")
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="The folder to write the new backup file into.",
)
@pass_runtime
def create(runtime: Runtime, directory: Path) -> None:
    """Write a backup of the database and blobs into a new file in a folder."""
    settings = runtime.settings
    runtime.migrated_engine()  # an initialised database at the current schema
    source = target(settings, runtime.engine)
    name = f"minhbach-{utc_now():%Y-%m-%d-%H%M%S}{SUFFIX}"
    final, partial = directory / name, directory / f".{name}.partial"
    if final.exists():
        raise FileProblem(f"{final} already exists; refusing to overwrite it")
    try:
        descriptor = os.open(partial, _CREATE, PRIVATE_FILE)
    except OSError as exc:
        raise FileProblem(f"cannot create {partial}: {exc.strerror}") from None
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode is filtered by the umask
        with os.fdopen(descriptor, "wb") as out:
            written = _write(out, source, None if blobs_in_dump(settings) else blob_store(settings))
            out.flush()
            os.fsync(out.fileno())
        os.link(partial, final)  # never replaces a file of that name
    finally:
        partial.unlink(missing_ok=True)
    directory_descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:  # the new name is durable too, not only the file's bytes
        os.fsync(directory_descriptor)
    finally:
        os.close(directory_descriptor)
    click.echo(str(final))
    click.echo(f"SHA-256: {file_sha256(final)}", err=True)
    click.echo(
        f"{written.blobs} blob(s) of {len(written.facts.blob_ids)} attachment(s); "
        f"encrypted to {len(written.facts.escrow_keys)} escrow key(s)",
        err=True,
    )
    if written.missing:
        click.echo(
            f"Warning: {len(written.missing)} attachment(s) have no blob in the store; "
            "`minhbach fsck` lists them",
            err=True,
        )


@dataclass
class Written:
    facts: Facts
    blobs: int = 0
    missing: list[str] = field(default_factory=list)


def _write(out: BinaryIO, source: Target, store: BlobStore | None) -> Written:
    """The archive: manifest, database, then the blobs from ``store`` (None: the blobs are
    rows of the database, in its dump already)."""
    with _dump_errors(), source.snapshot() as snapshot:
        facts = snapshot.facts
        if not facts.escrow_keys:
            raise click.ClickException(
                "refused: no unit has an escrow key, so nobody could open the backup; "
                "`minhbach escrow create` makes one"
            )
        writer = ArchiveWriter(out, facts.escrow_keys)
        manifest: dict[str, Any] = {
            "created": utc_now().isoformat(timespec="seconds"),
            "database": source.kind,
            "schema": facts.revision,
            "attachments": len(facts.blob_ids),
            "blobs": BLOBS_IN_FILES if store is not None else BLOBS_IN_DATABASE,
        }
        if source.engine is not None:
            manifest["pg_dump"] = postgres.dump_major(source.engine)
        writer.manifest(manifest)
        writer.entry(DUMP_ENTRY[source.kind], snapshot.pieces)
    # The snapshot has ended: blobs written from now on belong to reports it does not hold.
    written = Written(facts)
    if store is not None:
        _copy_blobs(writer, store, written)
    writer.close()
    return written


def _copy_blobs(writer: ArchiveWriter, store: BlobStore, written: Written) -> None:
    for blob_id in written.facts.blob_ids:
        try:
            reader = store.open_reader(blob_id)
        except BlobNotFound:
            written.missing.append(blob_id)
            continue
        with reader:
            writer.entry(BLOB_PREFIX + blob_id, read_pieces(reader, PIECE_SIZE))
        written.blobs += 1


F = TypeVar("F", bound=Callable[..., Any])


def _backup_file_options(command: F) -> F:
    """``--from`` (the backup file) and the escrow file that opens it."""
    command = escrow_file_options(command)
    return click.option(
        "--from",
        "path",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        required=True,
        help="The backup file.",
    )(command)


@backup.command("verify")
@_backup_file_options
def verify(path: Path, escrow_file: Path, escrow_passphrase_file: Path | None) -> None:
    """Open a backup with an escrow key and read it to the end: whole and unaltered?"""
    with _opened(path, escrow_file, escrow_passphrase_file) as (archive, key):
        contents = _read_through(archive, key)
    click.echo(f"OK: {path} is whole and opens with this escrow key.")
    _describe(path, contents)


@backup.command("restore")
@_backup_file_options
@pass_runtime
def restore(
    runtime: Runtime, path: Path, escrow_file: Path, escrow_passphrase_file: Path | None
) -> None:
    """Restore a backup into this fresh instance (empty database and blob store)."""
    settings = runtime.settings
    destination = target(settings, runtime.engine)
    refuse_unless_fresh(destination, settings)
    with _opened(path, escrow_file, escrow_passphrase_file) as (archive, key):
        contents = _read_through(archive, key)
        if contents.manifest.get("database") != destination.kind:
            raise click.ClickException(
                f"this backup is of a {contents.manifest.get('database')} database; "
                f"the instance is configured for {destination.kind}"
            )
        if contents.manifest.get("blobs") == BLOBS_IN_DATABASE and not blobs_in_dump(settings):
            raise click.ClickException(
                "this backup keeps its blobs in the database: set MINHBACH_BLOB_STORE=database"
            )
        store = blob_store(settings)
        _restore(archive, key, destination, store)
    click.echo(f"Restored {path}.")
    _describe(path, contents)
    revision, head = current_revision(runtime.engine()), head_revision()
    if revision != head:
        click.echo(
            f"The restored schema is at revision {revision}, this minhbach's at {head}: "
            "`minhbach init` migrates an older one (a newer one needs its own minhbach)."
        )
        return
    with runtime.session() as session:
        found = check(session, store, utc_now(), timedelta(seconds=settings.upload_ttl_seconds))
    click.echo(f"fsck: {len(found.missing)} missing blob(s), {len(found.orphans)} orphaned blob(s)")
    if not found.consistent:
        raise SystemExit(1)


@dataclass
class Contents:
    manifest: dict[str, Any]
    database_bytes: int = 0
    blobs: int = 0
    blob_bytes: int = 0


def _read_through(archive: Archive, key: bytes) -> Contents:
    """Every entry read and authenticated, to the end; nothing is written."""
    with _backup_errors():
        manifest, entries = archive.read(key)
        contents = Contents(manifest)
        for index, entry in enumerate(entries):
            size = sum(len(record) for record in entry.records)
            if index == 0:
                _expect_dump(entry, manifest)
                contents.database_bytes = size
            else:
                _blob_id(entry)
                contents.blobs += 1
                contents.blob_bytes += size
    if not contents.database_bytes:
        raise click.ClickException("the backup holds no database")
    return contents


def _restore(archive: Archive, key: bytes, destination: Target, store: BlobStore) -> None:
    written: list[str] = []
    restored = False
    try:
        with _backup_errors(), _dump_errors():
            manifest, entries = archive.read(key)
            dump = next(entries)
            _expect_dump(dump, manifest)
            dumped_by = manifest.get("pg_dump")
            destination.restore(
                dump.records,
                dumped_by if isinstance(dumped_by, int) else None,
                lambda: _dump_again(archive, key),
            )
            restored = True
            for entry in entries:
                blob_id = _blob_id(entry)
                with store.open_writer(blob_id) as writer:
                    for record in entry.records:
                        writer.write(record)
                written.append(blob_id)
    except BaseException:
        for blob_id in written:
            store.delete(blob_id)
        if restored:
            click.echo(f"The restore failed: {destination.undo()}.", err=True)
        raise


def _dump_again(archive: Archive, key: bytes) -> Iterator[bytes]:
    """The database entry from the start, read apart from the restore under way."""
    _, entries = archive.read(key)
    yield from next(entries).records


def _expect_dump(entry: Entry, manifest: dict[str, Any]) -> None:
    if entry.name != DUMP_ENTRY.get(str(manifest.get("database"))):
        raise click.ClickException("the backup does not start with its database")


def _blob_id(entry: Entry) -> str:
    blob_id = entry.name.removeprefix(BLOB_PREFIX)
    if blob_id == entry.name:
        raise click.ClickException(f"the backup holds an unknown entry {entry.name!r}")
    return check_id(blob_id)


@contextmanager
def _opened(
    path: Path, escrow_file: Path, passphrase_file: Path | None
) -> Iterator[tuple[Archive, bytes]]:
    """The archive and its key, from an escrow file the backup was made for; the file is
    checked against the backup before its passphrase is asked for."""
    try:
        escrow = read_escrow_file(escrow_file)
    except EscrowFileError as exc:
        raise FileProblem(str(exc)) from None
    with path.open("rb") as file, _backup_errors():
        archive = Archive(file)
        if not archive.made_for(escrow.public_key):
            raise BackupError(
                f"{escrow_file} holds escrow key {escrow.fingerprint}, but the backup was "
                f"made for {', '.join(archive.fingerprints)}"
            )
        try:
            private_key = escrow.open(
                existing_passphrase(passphrase_file, "Passphrase of the escrow file")
            )
        except WrongPassphrase:
            raise click.ClickException("this passphrase does not open the escrow file") from None
        yield archive, archive.unlock(private_key)


def _describe(path: Path, contents: Contents) -> None:
    manifest = contents.manifest
    made, schema = manifest.get("created"), manifest.get("schema")
    click.echo(f"Made: {made}; {manifest.get('database')} database at schema {schema}")
    click.echo(
        f"Holds: database {contents.database_bytes} bytes; "
        f"{contents.blobs} blob(s), {contents.blob_bytes} bytes"
    )
    click.echo(f"SHA-256: {file_sha256(path)}")


@contextmanager
def _backup_errors() -> Iterator[None]:
    try:
        yield
    except BackupError as exc:
        raise click.ClickException(f"refused: {exc}") from None


@contextmanager
def _dump_errors() -> Iterator[None]:
    try:
        yield
    except DumpError as exc:
        raise click.ClickException(str(exc)) from None
