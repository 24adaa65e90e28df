"""``minhbach inspector add|list``: accounts of the review app and their keyrings.

Enrolment creates the inspector's X25519 key pair sealed three ways (docs/crypto.md §8)
and a TOTP secret. The recovery code exists only in this command's output: the database
keeps nothing that shows it again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import click
import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from minhbach.cli import params
from minhbach.cli.output import print_table
from minhbach.cli.passphrases import new_passphrase, passphrase_file_option
from minhbach.cli.runtime import Runtime, find_unit, pass_runtime
from minhbach.crypto import Argon2Params, RecoveryCode, SealedKeyring, create_keyring, fingerprint
from minhbach.store.models import Inspector, InspectorRole, Unit

TOTP_ISSUER = "minhbach"
ROLES = tuple(role.value for role in InspectorRole)


@dataclass(frozen=True)
class Enrolment:
    """A new account and the secrets to hand over once: recovery code and TOTP URI."""

    inspector: Inspector
    recovery: RecoveryCode
    totp_uri: str


def totp_uri(secret: str, username: str, unit_slug: str) -> str:
    """The otpauth:// URI authenticator apps scan; the account reads "user@unit"."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{username}@{unit_slug}", issuer_name=TOTP_ISSUER
    )


def keyring_of(inspector: Inspector) -> SealedKeyring:
    return SealedKeyring(
        public_key=inspector.public_key,
        by_passphrase=inspector.sealed_key_passphrase,
        by_recovery=inspector.sealed_key_recovery,
        by_escrow=inspector.sealed_key_escrow,
    )


def refuse_taken_username(session: Session, username: str) -> None:
    if session.scalar(select(Inspector.id).where(Inspector.username == username)) is not None:
        raise click.ClickException(f"the user name {username!r} is already taken")


def enrol_inspector(
    session: Session,
    unit: Unit,
    *,
    username: str,
    display_name: str,
    role: InspectorRole,
    passphrase: str,
    params: Argon2Params,
) -> Enrolment:
    """Add an account to the session (not committed), with a keyring escrowed to the
    unit's escrow key when the unit has one."""
    keyring, recovery = create_keyring(passphrase, params, unit.escrow_public_key)
    inspector = Inspector(
        unit=unit,
        username=username,
        display_name=display_name,
        role=role,
        public_key=keyring.public_key,
        sealed_key_passphrase=keyring.by_passphrase,
        sealed_key_recovery=keyring.by_recovery,
        sealed_key_escrow=keyring.by_escrow,
        totp_secret=pyotp.random_base32(),
    )
    session.add(inspector)
    session.flush()
    return Enrolment(inspector, recovery, totp_uri(inspector.totp_secret, username, unit.slug))


def qr_code(uri: str) -> str:
    # make_qr, not make: segno would pick a Micro QR for short data, which most
    # authenticator apps cannot read.
    buffer = io.StringIO()
    segno.make_qr(uri).terminal(out=buffer, compact=True)
    return buffer.getvalue()


def print_enrolment(enrolment: Enrolment, *, qr: bool) -> None:
    inspector = enrolment.inspector
    click.echo(
        f"Enrolled {inspector.username} ({inspector.display_name}) as {inspector.role.value} "
        f"of unit {inspector.unit.slug}."
    )
    click.echo(f"Key fingerprint: {fingerprint(inspector.public_key)}")
    click.echo()
    click.echo(f"Recovery code: {enrolment.recovery.display()}")
    click.echo(
        "Write it down now and keep it offline. It restores this key if the passphrase is "
        "lost, and it will not be shown again."
    )
    click.echo()
    click.echo("Two-factor login: add this account to an authenticator app.")
    click.echo(enrolment.totp_uri)
    if qr:
        click.echo(qr_code(enrolment.totp_uri), nl=False)


@click.group()
def inspector() -> None:
    """Accounts of the review app: inspectors, custodians, supervisors, administrators."""


@inspector.command("add")
@click.option("--unit", "unit_slug", required=True, help="Slug of the unit.")
@click.option(
    "--username",
    required=True,
    callback=params.model_field(Inspector, "username"),
    help="Login name: letters, digits, '.', '_' and '-' (stored in lower case).",
)
@click.option(
    "--display-name",
    required=True,
    callback=params.column_text(Inspector, "display_name"),
    help="Full name as colleagues know it.",
)
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@passphrase_file_option("A file holding the new account's passphrase.")
@click.option("--no-qr", is_flag=True, help="Do not draw the TOTP QR code.")
@pass_runtime
def add(
    runtime: Runtime,
    unit_slug: str,
    username: str,
    display_name: str,
    role: str,
    passphrase_file: Path | None,
    no_qr: bool,
) -> None:
    """Create an account with its key pair; shows the recovery code and TOTP enrolment."""
    with runtime.session() as session:
        # Checked before asking for a passphrase; a name taken meanwhile is still caught
        # by the unique index (see cli/errors.py).
        find_unit(session, unit_slug)
        refuse_taken_username(session, username)
    # Asked outside any transaction: no database snapshot is held while a person types.
    passphrase = new_passphrase(passphrase_file, "Passphrase")
    with runtime.session() as session:
        unit = find_unit(session, unit_slug)
        enrolment = enrol_inspector(
            session,
            unit,
            username=username,
            display_name=display_name,
            role=InspectorRole(role),
            passphrase=passphrase,
            params=runtime.settings.passphrase_kdf,
        )
        # Committed before anything is shown: a recovery code for a key that was never
        # stored would be worse than none.
        session.commit()
    print_enrolment(enrolment, qr=not no_qr)
    if unit.escrow_public_key is None:
        click.echo(
            f"Note: unit {unit.slug!r} has no escrow key, so this key has no escrow copy; "
            "`minhbach escrow create` before enrolling others.",
            err=True,
        )


@inspector.command("list")
@click.option("--unit", "unit_slug", required=True, help="Slug of the unit.")
@pass_runtime
def list_inspectors(runtime: Runtime, unit_slug: str) -> None:
    """List a unit's accounts."""
    with runtime.session() as session:
        unit = find_unit(session, unit_slug)
        accounts = session.scalars(
            select(Inspector).where(Inspector.unit_id == unit.id).order_by(Inspector.username)
        ).all()
    if not accounts:
        click.echo(f"Unit {unit.slug} has no accounts yet: `minhbach inspector add` creates one.")
        return
    rows = [
        (
            account.username,
            account.display_name,
            account.role.value,
            "yes" if account.active else "no",
            fingerprint(account.public_key),
        )
        for account in accounts
    ]
    print_table(("username", "display name", "role", "active", "key fingerprint"), rows)
