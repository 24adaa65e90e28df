"""``minhbach backup``: the restore drill on SQLite and PostgreSQL, and every refusal.

The drill builds an instance with a case that has a file and a reporter's message, backs
it up while another report arrives and an orphaned blob lies in the store, restores into
a new folder and a new database, and opens the old case there as an inspector (with her
passphrase) and as the reporter (with the follow-up code).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, make_url, select, text, update
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, records
from casework.backup_archive import Archive
from casework.blobs import blob_store
from casework.keyrings import keyring_of
from casework.settings import Settings
from cli import cli
from cli.backup_target import Target
from cli.escrow import EscrowKey
from crypto.keyring import seal_with_passphrase
from store.blobs import FilesystemBlobStore
from store.db import make_engine, session_factory, upgrade_to_head
from store.dumps import DumpError, Snapshot, postgres
from store.dumps import sqlite as sqlite_dump
from store.models import Case, Inspector, Unit, WrapPurpose
from tests import postgres as test_postgres
from tests.casework.test_access import REPORT, TODAY, SealedCase, encrypt_file, seal_case
from tests.cli.helpers import ESCROW_PASSPHRASE, assert_ok, assert_refused, passphrase_file
from tests.programs import require_program, require_variable
from tests.review.conftest import FAST, Account, give_credentials
from tests.worlds import World, build_world, reporter_entry

FILE = ("biên lai.pdf", "application/pdf", b"%PDF-1.4 " + bytes(range(256)) * 300)
MESSAGE = "Tôi có thêm một ảnh chụp."
BACKUP_NAME = re.compile(r"minhbach-\d{4}-\d{2}-\d{2}-\d{6}\.minhbach-backup")


@dataclass
class Place:
    """An instance folder and its database, driven through the command line."""

    root: Path
    url: str
    blobs: str = "files"  # MINHBACH_BLOB_STORE

    @property
    def env(self) -> dict[str, str]:
        return {
            "MINHBACH_INSTANCE": str(self.root / "instance"),
            "MINHBACH_DATABASE_URL": self.url,
            "MINHBACH_BLOB_STORE": self.blobs,
            "MINHBACH_PASSPHRASE_ARGON2": "1,8",
            "MINHBACH_CODE_ARGON2": "1,8",
        }

    @property
    def store(self) -> FilesystemBlobStore:
        # seal_case and encrypt_file are typed for files but only write through the
        # BlobStore protocol, which the database store implements as well.
        return cast(FilesystemBlobStore, blob_store(Settings.from_env(self.env)))

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env)

    @functools.cached_property
    def engine(self) -> Engine:
        """Made on first use (for SQLite that creates the file): ``place`` disposes it."""
        return make_engine(self.url)

    def session(self) -> Session:
        return session_factory(self.engine)()


@dataclass
class Source:
    place: Place
    world: World
    accounts: dict[str, Account]
    sealed: SealedCase
    escrow_file: Path
    escrow_passphrase: Path


@contextlib.contextmanager
def place(database: str, root: Path, blobs: str = "files") -> Iterator[Place]:
    """A fresh place: a SQLite file to be, or an empty PostgreSQL database."""
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{root / 'instance' / 'minhbach.sqlite3'}"
        else:
            require_program("pg_dump")
            server = make_url(require_variable(test_postgres.SERVER_VARIABLE))
            fresh = stack.enter_context(test_postgres.fresh_database(server, "minhbach_backup"))
            url = fresh.render_as_string(hide_password=False)
        made = Place(root, url, blobs)
        try:
            yield made
        finally:
            if "engine" in vars(made):
                made.engine.dispose()


def build(target: Place, tmp_path: Path) -> Source:
    """A unit with an escrow file, an inspector's passphrase, and a case with a file and a
    reporter's message."""
    upgrade_to_head(target.url)
    with target.session() as session:
        world = build_world(session)
        accounts = give_credentials(session, world)
        sealed = seal_case(session, world, FAST, files=[FILE], store=target.store)
        reporter_entry(session, sealed.case, sealed.keys, "message", TODAY, text=MESSAGE)
        session.commit()
        session.expunge_all()
    escrow = EscrowKey(
        unit=world.unit.slug,
        public_key=crypto.public_bytes(world.escrow),
        sealed_private_key=seal_with_passphrase(world.escrow, ESCROW_PASSPHRASE, FAST),
    )
    escrow_file = tmp_path / "escrow.json"
    escrow_file.write_text(json.dumps(escrow.document()), encoding="utf-8")
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE, "escrow-passphrase.txt")
    return Source(target, world, accounts, sealed, escrow_file, secret)


def backup_file(source: Source, directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    result = source.place.run("backup", "create", "--to", str(directory))
    output = assert_ok(result)
    path = Path(output.splitlines()[0])
    assert path.parent == directory
    assert f"SHA-256: {hashlib.sha256(path.read_bytes()).hexdigest()}" in output
    return path


def with_escrow(source: Source, into: Place, command: str, path: Path) -> Result:
    """``minhbach backup COMMAND --from PATH`` with the unit's escrow file."""
    return into.run(
        "backup", command, "--from", str(path), "--escrow-file", str(source.escrow_file),
        "--escrow-passphrase-file", str(source.escrow_passphrase),
    )  # fmt: skip


@dataclass
class Arrivals:
    """What arrived while the snapshot was held: a committed report, its blob and a blob
    whose row never came."""

    cases: list[str]
    blobs: list[str]
    files: set[str]  # every file in the instance and backup folders while the dump ran


@contextlib.contextmanager
def arriving_during_the_backup(
    source: Source, backups: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Arrivals]:
    arrivals = Arrivals([], [], set())
    real = Target.snapshot

    @contextlib.contextmanager
    def snapshot(self: Target) -> Iterator[Snapshot]:
        with real(self) as taken, source.place.session() as session:
            world = source.world
            world.unit = session.merge(world.unit)
            late = seal_case(session, world, FAST, files=[FILE], store=source.place.store)
            arrivals.cases.append(late.case.public_id)
            arrivals.blobs.extend(item.blob_id for item in late.case.attachments)
            arrivals.blobs.append(encrypt_file(source.place.store, late.keys, *FILE).blob_id)
            yield Snapshot(taken.facts, watched(taken.pieces))

    def watched(pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            for folder in (source.place.root / "instance", backups):
                found = (p for p in folder.rglob("*") if p.is_file() and "blobs" not in p.parts)
                arrivals.files.update(path.name for path in found)
            yield piece

    with monkeypatch.context() as patched:
        patched.setattr(Target, "snapshot", snapshot)
        yield arrivals


@pytest.mark.parametrize(
    ("database", "blobs"),
    [("sqlite", "files"), ("postgresql", "files"), ("postgresql", "database")],
)
def test_the_drill_restores_an_old_case_that_opens_for_the_inspector_and_the_reporter(
    database: str, blobs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        place(database, tmp_path / "old", blobs) as old,
        place(database, tmp_path / "new", blobs) as new,
    ):
        source = build(old, tmp_path)
        old_root = old.root / "instance"
        secrets = ("submit-secret.key", "review-secret.key")
        old_root.mkdir(parents=True, exist_ok=True)  # the database store makes no blob folder
        for name in secrets:
            (old_root / name).write_text("ab" * 32, encoding="ascii")
        backups = tmp_path / "backups"
        with arriving_during_the_backup(source, backups, monkeypatch) as arrived:
            path = backup_file(source, backups)

        assert BACKUP_NAME.fullmatch(path.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial left
        live = {"minhbach.sqlite3", "minhbach.sqlite3-wal", "minhbach.sqlite3-shm", *secrets}
        assert arrived.files - live == {f".{path.name}.partial"}  # no copy of the database
        written = path.read_bytes()
        for plain in (source.world.unit.slug, "lan.", "alembic_version", "CREATE TABLE", "PGDMP"):
            assert plain.encode() not in written
        assert len(arrived.cases) == 1
        assert len(arrived.blobs) == 2
        assert set(arrived.blobs) <= set(old.store.blob_ids())  # on disk, not in the backup

        with path.open("rb") as file:
            archive = Archive(file)
            manifest, entries = archive.read(archive.unlock(source.world.escrow))
            names = [entry.name for entry in entries]
        assert manifest["database"] == database
        [blob_id] = [item.blob_id for item in source.sealed.case.attachments]
        assert manifest["blobs"] == blobs
        # No secret key, no late or orphaned blob; the database store's are in the dump.
        assert names[1:] == ([f"blob/{blob_id}"] if blobs == "files" else [])

        output = assert_ok(with_escrow(source, new, "restore", path))
        assert "fsck: 0 missing blob(s), 0 orphaned blob(s)" in output
        assert new.store.blob_ids() == [blob_id]
        assert not list((new.root / "instance").glob("*secret*"))
        assert_ok(new.run("fsck"))
        opens_for_the_inspector(source, new)
        opens_for_the_reporter(source, new)
        with new.session() as session:
            assert session.scalar(select(Case).where(Case.public_id == arrived.cases[0])) is None


def opens_for_the_inspector(source: Source, new: Place) -> None:
    account = source.accounts["lan"]
    with new.session() as session:
        case = session.scalar(select(Case).where(Case.public_id == source.sealed.case.public_id))
        assert case is not None
        inspector = session.get(Inspector, account.inspector_id)
        assert inspector is not None
        private_key = keyring_of(inspector).unlock(account.passphrase)
        case_key = access.open_case_key(case, inspector, private_key)
        assert access.open_report(case_key, case) == REPORT
        [attachment] = case.attachments
        meta, _ = records.open_file_meta(case_key, case, attachment)
        assert meta is not None
        assert meta.name == FILE[0]
        with new.store.open_reader(attachment.blob_id) as reader:
            pieces = crypto.read_pieces(reader)
            data = b"".join(crypto.decrypt_stream(case_key, case.public_id, meta, pieces))
        assert data == FILE[2]
        assert [m.text for m in access.open_messages(case_key, case)] == [MESSAGE]


def opens_for_the_reporter(source: Source, new: Place) -> None:
    code = source.sealed.keys.code
    with new.session() as session:
        unit = session.merge(source.world.unit)
        case = followup.find_case(session, unit, code.lookup_token(), FAST)
        assert case is not None
        assert case.public_id == source.sealed.case.public_id
        wrap = followup.reporter_wrap(case, WrapPurpose.CASE_KEY)
        assert wrap is not None
        private_key = code.reporter_private_key()
        case_key = crypto.unwrap(wrap, private_key, crypto.Purpose.CASE_KEY, case.public_id)
        assert access.open_report(case_key, case) == REPORT


@pytest.fixture
def backed_up(tmp_path: Path) -> Iterator[tuple[Source, Path]]:
    with place("sqlite", tmp_path / "old") as old:
        source = build(old, tmp_path)
        yield source, backup_file(source, tmp_path / "backups")


def cut(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def add_recipient(path: Path) -> None:
    """Another escrow key in the header: the recipients are no longer those it was made for."""
    line, rest = path.read_bytes().split(b"\n", 1)
    header = json.loads(line)
    stranger = crypto.public_bytes(crypto.generate_private_key())
    header["recipients"].append({"public_key": stranger.hex(), "wrap": "01" * 82})
    path.write_bytes(json.dumps(header).encode() + b"\n" + rest)


def header_size(path: Path) -> int:
    return len(path.read_bytes().split(b"\n", 1)[0]) + 1


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: flip(p, header_size(p) + 70_000), "damaged, cut short or altered"),
        (lambda p: flip(p, p.stat().st_size - 20), "trailer does not open"),
        (lambda p: cut(p, p.stat().st_size // 2), "cut short"),
        (lambda p: cut(p, p.stat().st_size - 3), "cut short"),
        (lambda p: cut(p, header_size(p) - 1), "no header line"),
        (add_recipient, "header was altered"),
        (
            lambda p: p.write_bytes(p.read_bytes().replace(b'"id":"backup-', b'"id":"../', 1)),
            "no backup id",
        ),
        (
            lambda p: p.write_bytes(p.read_bytes().replace(b'"version":1', b'"version":2', 1)),
            "version 2",
        ),
    ],
    ids=["chunk", "trailer", "half", "trailer-cut", "header-cut", "recipient", "id", "version"],
)
def test_a_damaged_or_cut_backup_is_refused_and_nothing_is_restored(
    backed_up: tuple[Source, Path], tmp_path: Path, damage: Callable[[Path], None], message: str
) -> None:
    source, path = backed_up
    damage(path)
    with place("sqlite", tmp_path / "new") as new:
        for command in ("verify", "restore"):
            assert_refused(with_escrow(source, new, command, path), message)
        assert not (new.root / "instance" / "minhbach.sqlite3").exists()
        assert new.store.blob_ids() == []


def test_a_restore_never_goes_over_data(backed_up: tuple[Source, Path], tmp_path: Path) -> None:
    source, path = backed_up
    before = source.place.store.blob_ids()
    result = with_escrow(source, source.place, "restore", path)
    assert_refused(result, "already holds data", "fresh instance")
    with place("sqlite", tmp_path / "new") as new:  # an empty database, but blobs
        encrypt_file(new.store, source.sealed.keys, *FILE)
        assert_refused(with_escrow(source, new, "restore", path), "blob store", "already holds")
    assert source.place.store.blob_ids() == before


def test_another_escrow_key_is_refused_before_its_passphrase_and_a_wrong_passphrase_too(
    backed_up: tuple[Source, Path], tmp_path: Path
) -> None:
    source, path = backed_up
    other = crypto.generate_private_key()
    foreign = EscrowKey("khac", crypto.public_bytes(other), seal_with_passphrase(other, "x", FAST))
    source.escrow_file.write_text(json.dumps(foreign.document()), encoding="utf-8")
    with place("sqlite", tmp_path / "new") as new:
        no_passphrase = new.run(
            "backup", "verify", "--from", str(path), "--escrow-file", str(source.escrow_file)
        )  # no passphrase file and nothing typed: it must not be asked for
        assert_refused(no_passphrase, f"holds escrow key {foreign.fingerprint}", "made for")
        build_escrow_file_again(source)
        source.escrow_passphrase.write_text("not the passphrase\n", encoding="utf-8")
        assert_refused(with_escrow(source, new, "restore", path), "does not open the escrow")
        assert not (new.root / "instance" / "minhbach.sqlite3").exists()


def build_escrow_file_again(source: Source) -> None:
    escrow = source.world.escrow
    document = EscrowKey(
        source.world.unit.slug,
        crypto.public_bytes(escrow),
        seal_with_passphrase(escrow, ESCROW_PASSPHRASE, FAST),
    ).document()
    source.escrow_file.write_text(json.dumps(document), encoding="utf-8")


def test_every_units_escrow_key_opens_the_backup(tmp_path: Path) -> None:
    with place("sqlite", tmp_path / "old") as old:
        source = build(old, tmp_path)
        with old.session() as session:
            second = build_world(session, "thanh-tra-huyen")
        path = backup_file(source, tmp_path / "backups")
        with path.open("rb") as file:
            archive = Archive(file)
            assert len(archive.fingerprints) == 2
            for key in (source.world.escrow, second.escrow):
                manifest, _ = archive.read(archive.unlock(key))
                assert manifest["database"] == "sqlite"


def test_no_backup_without_an_escrow_key(tmp_path: Path) -> None:
    with place("sqlite", tmp_path / "old") as old:
        source = build(old, tmp_path)
        with old.session() as session:
            session.execute(update(Unit).values(escrow_public_key=None))
            session.commit()
        directory = tmp_path / "backups"
        directory.mkdir()
        result = old.run("backup", "create", "--to", str(directory))
        assert_refused(result, "no unit has an escrow key", "minhbach escrow create")
        assert list(directory.iterdir()) == []
        assert source.sealed.case.public_id  # the data was there to back up


def test_an_old_pg_dump_is_named_and_the_password_is_never_an_argument() -> None:
    require_program("pg_dump")
    with pytest.raises(DumpError, match=r"older than PostgreSQL 99.*postgresql-client-99"):
        postgres.find_program("pg_dump", 99)
    url = make_url(
        "postgresql+psycopg://minhbach:s3cr'et@db.internal:5433/minhbach?sslmode=require"
    )
    conninfo, env = postgres.libpq_target(url)
    assert "s3cr" not in conninfo
    assert env["PGPASSWORD"] == "s3cr'et"
    assert conninfo == (
        "host='db.internal' dbname='minhbach' user='minhbach' port='5433' sslmode='require'"
    )


def test_a_dump_may_not_attach_or_pragma_and_a_failed_restore_leaves_no_file(
    tmp_path: Path,
) -> None:
    path, outside = tmp_path / "restored.sqlite3", tmp_path / "outside.sqlite3"
    for statement in (f"ATTACH DATABASE '{outside}' AS elsewhere", "PRAGMA foreign_keys = ON"):
        dump = [b"BEGIN TRANSACTION;", b"CREATE TABLE t (x);", statement.encode()]
        with pytest.raises(DumpError, match=r"does not restore \(SQLITE_AUTH\)"):
            sqlite_dump.restore(path, dump)
        assert not path.exists()
        assert not outside.exists()


def test_a_lost_blob_is_reported_when_backing_up_and_after_restoring(tmp_path: Path) -> None:
    with place("sqlite", tmp_path / "old") as old, place("sqlite", tmp_path / "new") as new:
        source = build(old, tmp_path)
        [blob_id] = old.store.blob_ids()
        old.store.delete(blob_id)
        directory = tmp_path / "backups"
        directory.mkdir()
        created = assert_ok(old.run("backup", "create", "--to", str(directory)))
        assert "1 attachment(s) have no blob in the store" in created
        [path] = directory.iterdir()
        restored = with_escrow(source, new, "restore", path)
        assert restored.exit_code == 1
        assert "fsck: 1 missing blob(s)" in restored.output


def test_a_restore_that_fails_half_way_leaves_nothing(
    backed_up: tuple[Source, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, path = backed_up

    def full(self: FilesystemBlobStore, blob_id: str) -> Iterator[None]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FilesystemBlobStore, "open_writer", full)
    with place("sqlite", tmp_path / "new") as new:
        result = with_escrow(source, new, "restore", path)
        assert_refused(result, "No space left on device", "database file was removed again")
        assert not (new.root / "instance" / "minhbach.sqlite3").exists()


def test_a_backup_goes_only_where_its_database_and_blobs_can(tmp_path: Path) -> None:
    with (
        place("postgresql", tmp_path / "old", "database") as old,
        place("sqlite", tmp_path / "lite") as lite,
        place("postgresql", tmp_path / "files") as files,
    ):
        source = build(old, tmp_path)
        path = backup_file(source, tmp_path / "backups")
        refused = with_escrow(source, lite, "restore", path)
        assert_refused(refused, "a postgresql database", "configured for sqlite")
        refused = with_escrow(source, files, "restore", path)
        assert_refused(refused, "set MINHBACH_BLOB_STORE=database")
        with files.session() as session:
            assert not session.execute(
                text("SELECT 1 FROM pg_tables WHERE schemaname = 'public'")
            ).all()


def test_a_backup_of_another_schema_is_restored_and_init_is_named(
    backed_up: tuple[Source, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, path = backed_up
    monkeypatch.setattr("cli.backup.head_revision", lambda: "9999")  # a newer minhbach
    with place("sqlite", tmp_path / "new") as new:
        output = assert_ok(with_escrow(source, new, "restore", path))
        assert "this minhbach's at 9999: `minhbach init` migrates an older one" in output
        assert "fsck:" not in output
        assert (new.root / "instance" / "minhbach.sqlite3").exists()


def test_row_security_naming_roles_the_new_cluster_lacks_is_left_for_grant(
    tmp_path: Path,
) -> None:
    role = f"minhbach_gone_{uuid.uuid4().hex[:12]}"
    with place("postgresql", tmp_path / "old") as old, place("postgresql", tmp_path / "new") as new:
        source = build(old, tmp_path)
        with old.session() as session:
            session.execute(text(f'CREATE ROLE "{role}"'))
            session.execute(text("ALTER TABLE cases ENABLE ROW LEVEL SECURITY"))
            session.execute(text(f'CREATE POLICY minhbach_gone ON cases TO "{role}" USING (true)'))
            session.commit()
        try:
            path = backup_file(source, tmp_path / "backups")
        finally:
            with old.session() as session:  # the role is gone from the cluster restored into
                session.execute(text("DROP POLICY minhbach_gone ON cases"))
                session.execute(text(f'DROP ROLE "{role}"'))
                session.commit()
        assert_ok(with_escrow(source, new, "restore", path))
        with new.session() as session:
            assert session.execute(text("SELECT policyname FROM pg_policies")).all() == []
            secured = "SELECT relrowsecurity FROM pg_class WHERE relname = 'cases'"
            assert session.execute(text(secured)).scalar_one() is False
        opens_for_the_inspector(source, new)
