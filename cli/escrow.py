"""``minhbach escrow create|check``: the unit's offline escrow key.

Every inspector keyring enrolled after the escrow key exists carries a third copy of the
inspector's private key, wrapped to this key (docs/crypto.md §8). Whoever holds the escrow
file and its passphrase can restore any such key, so the file belongs offline: written
here once, then moved to removable media kept under the unit's custody.

The file is JSON, so that it can be checked by eye and printed on paper::

    {"format": "minhbach-escrow-key", "version": 1, "unit": "<slug>",
     "public_key": "<hex>", "fingerprint": "XXXX-...",
     "sealed_private_key": "<hex of a SEALED_BY_PASSPHRASE envelope>"}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cli.errors import FileProblem
from cli.output import json_bytes, private_file, refuse_existing
from cli.passphrases import existing_passphrase, new_passphrase, passphrase_file_option
from cli.runtime import Runtime, find_unit, pass_runtime
from cli.units import escrow_fingerprint
from crypto import (
    Argon2Params,
    CryptoError,
    KeyMismatch,
    WrongPassphrase,
    fingerprint,
    generate_private_key,
    load_public_key,
    public_bytes,
)
from crypto.kdf import constant_time_equal
from crypto.keyring import open_with_passphrase, seal_with_passphrase
from store.models import Inspector, Unit

FORMAT = "minhbach-escrow-key"
VERSION = 1
# An escrow file is a few hundred bytes; anything far larger is not one.
MAX_FILE_SIZE = 64 * 1024


class EscrowFileError(ValueError):
    """The file is not a usable escrow key file. Messages never contain key material."""


@dataclass(frozen=True)
class EscrowKey:
    """An escrow key pair as stored in its file: the private key sealed by passphrase."""

    unit: str
    public_key: bytes
    sealed_private_key: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "unit": self.unit,
            "public_key": self.public_key.hex(),
            "fingerprint": self.fingerprint,
            "sealed_private_key": self.sealed_private_key.hex(),
        }

    def open(self, passphrase: str) -> X25519PrivateKey:
        """The private key. WrongPassphrase if the passphrase is wrong."""
        private_key = open_with_passphrase(self.sealed_private_key, passphrase)
        if not constant_time_equal(public_bytes(private_key), self.public_key):
            raise KeyMismatch("the escrow file's private key does not match its public key")
        return private_key

    @classmethod
    def parse(cls, document: object) -> EscrowKey:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise EscrowFileError("not a minhbach escrow key file")
        if document.get("version") != VERSION:
            raise EscrowFileError(f"unsupported escrow file version {document.get('version')!r}")
        unit = document.get("unit")
        if not isinstance(unit, str):
            raise EscrowFileError("the escrow file has no unit")
        key = cls(
            unit=unit,
            public_key=_hex_field(document, "public_key"),
            sealed_private_key=_hex_field(document, "sealed_private_key"),
        )
        try:
            load_public_key(key.public_key)
        except CryptoError:
            raise EscrowFileError("the escrow file's public key is not an X25519 key") from None
        if document.get("fingerprint") != key.fingerprint:
            raise EscrowFileError("the escrow file's fingerprint does not match its public key")
        return key


def _hex_field(document: dict[str, Any], name: str) -> bytes:
    value = document.get(name)
    if not isinstance(value, str):
        raise EscrowFileError(f"the escrow file has no {name}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise EscrowFileError(f"the escrow file's {name} is not valid hex") from None


def new_escrow_key(unit_slug: str, passphrase: str, params: Argon2Params) -> EscrowKey:
    private_key = generate_private_key()
    return EscrowKey(
        unit=unit_slug,
        public_key=public_bytes(private_key),
        sealed_private_key=seal_with_passphrase(private_key, passphrase, params),
    )


def read_escrow_file(path: Path) -> EscrowKey:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise EscrowFileError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_SIZE:
        raise EscrowFileError(f"{path} is too large to be an escrow key file")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EscrowFileError(f"{path} is not an escrow key file (not JSON)") from None
    return EscrowKey.parse(document)


def load_escrow_file(path: Path, passphrase: str) -> X25519PrivateKey:
    """The escrow private key from its file, for recovering an inspector's key.

    Raises EscrowFileError for a damaged or foreign file, and WrongPassphrase.
    """
    return read_escrow_file(path).open(passphrase)


def inspectors_without_escrow_copy(session: Session, unit: Unit) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Inspector)
            .where(Inspector.unit_id == unit.id, Inspector.sealed_key_escrow.is_(None))
        )
        or 0
    )


def refuse_second_escrow_key(unit: Unit) -> None:
    """A new escrow key would leave the keyrings wrapped to the old one unrecoverable by it:
    replacing it is a re-keying procedure, not this command."""
    if unit.escrow_public_key is not None:
        raise click.ClickException(
            f"unit {unit.slug!r} already has an escrow key ({escrow_fingerprint(unit)})"
        )


def store_escrow_key(session: Session, unit: Unit, public_key: bytes) -> None:
    """Set the unit's escrow key only if it has none, in one statement, so two
    administrators running this at once cannot both succeed."""
    stored = session.execute(
        update(Unit)
        .where(Unit.id == unit.id, Unit.escrow_public_key.is_(None))
        .values(escrow_public_key=public_key)
        .returning(Unit.id)
    ).scalar_one_or_none()
    if stored is None:
        session.refresh(unit)
        refuse_second_escrow_key(unit)


@click.group()
def escrow() -> None:
    """The unit's offline escrow key, which restores inspectors' keys when all else is lost."""


@escrow.command("create")
@click.option("--unit", "unit_slug", required=True, help="Slug of the unit.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the escrow key file (must not exist yet).",
)
@passphrase_file_option("A file holding the passphrase that will protect the escrow file.")
@pass_runtime
def create(runtime: Runtime, unit_slug: str, out: Path, passphrase_file: Path | None) -> None:
    """Generate the unit's escrow key pair and write it, sealed, to a file."""
    with runtime.session() as session:
        # Checked before asking for a passphrase, and again when storing the key.
        refuse_second_escrow_key(find_unit(session, unit_slug))
        refuse_existing(out)
    # Asked outside any transaction: no database snapshot is held while a person types.
    passphrase = new_passphrase(passphrase_file, "Passphrase for the escrow file")
    key = new_escrow_key(unit_slug, passphrase, runtime.settings.passphrase_kdf)
    with runtime.session() as session:
        unit = find_unit(session, unit_slug)
        store_escrow_key(session, unit, key.public_key)
        with private_file(out, json_bytes(key.document())):
            session.commit()
        missing = inspectors_without_escrow_copy(session, unit)
    click.echo(f"Escrow key for unit {unit.slug} written to {out}")
    click.echo(f"Fingerprint: {key.fingerprint}")
    click.echo(
        "Keep it offline: move it now to removable media in the unit's safe, "
        "and do not leave a copy on this machine."
    )
    if missing:
        click.echo(
            f"Note: {missing} account(s) enrolled before this key have no escrow copy; "
            "only their recovery codes can restore their keys.",
            err=True,
        )


@escrow.command("check")
@click.option("--unit", "unit_slug", required=True, help="Slug of the unit.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The escrow key file to check.",
)
@passphrase_file_option("A file holding the escrow file's passphrase.")
@pass_runtime
def check(runtime: Runtime, unit_slug: str, path: Path, passphrase_file: Path | None) -> None:
    """Check that an escrow file opens and is the unit's escrow key (a recovery drill)."""
    with runtime.session() as session:
        unit = find_unit(session, unit_slug)
    private_key = open_unit_escrow(unit, path, passphrase_file)
    click.echo(f"OK: {path} opens with this passphrase and is unit {unit.slug}'s escrow key.")
    click.echo(f"Fingerprint: {fingerprint(public_bytes(private_key))}")


def open_unit_escrow(unit: Unit, path: Path, passphrase_file: Path | None) -> X25519PrivateKey:
    """The unit's escrow private key from its file, refusing a file of another unit before
    asking for its passphrase."""
    if unit.escrow_public_key is None:
        raise click.ClickException(f"unit {unit.slug!r} has no escrow key")
    try:
        key = read_escrow_file(path)
    except EscrowFileError as exc:
        raise FileProblem(str(exc)) from None
    if not constant_time_equal(key.public_key, unit.escrow_public_key):
        raise click.ClickException(
            f"{path} holds key {key.fingerprint}, but unit {unit.slug!r} uses "
            f"{escrow_fingerprint(unit)}"
        )
    try:
        return key.open(existing_passphrase(passphrase_file, "Passphrase of the escrow file"))
    except WrongPassphrase:
        raise click.ClickException("this passphrase does not open the escrow file") from None


F = TypeVar("F", bound=Callable[..., Any])


def escrow_file_options(command: F) -> F:
    """``--escrow-file`` and ``--escrow-passphrase-file``, for commands that act with the
    unit's escrow key (``open_unit_escrow``)."""
    command = click.option(
        "--escrow-passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A file holding the escrow file's passphrase. For automation; omit to be asked.",
    )(command)
    return click.option(
        "--escrow-file",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="The unit's escrow key file (from `minhbach escrow create`).",
    )(command)
