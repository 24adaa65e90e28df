"""``minhbach inspector add|list|recover-with-escrow``: review app accounts and keyrings.

Enrolment creates the inspector's X25519 key pair sealed three ways (docs/crypto.md §8)
and a TOTP secret. The recovery code exists only in this command's output: the database
keeps nothing that shows it again.
"""

from __future__ import annotations

import io
from pathlib import Path

import click
import segno
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import audit
from casework.keyrings import Enrolment, KeyringAction, end_sessions, reseal_recovered
from casework.keyrings import enrol_inspector as enrol_inspector
from casework.keyrings import keyring_of as keyring_of
from cli import params
from cli.escrow import escrow_file_options, open_unit_escrow
from cli.output import print_table
from cli.passphrases import new_passphrase, passphrase_file_option
from cli.runtime import Runtime, find_unit, pass_runtime
from crypto import CryptoError, fingerprint, public_bytes
from store.models import Inspector, InspectorRole
from store.types import utc_now

ROLES = tuple(role.value for role in InspectorRole)


def refuse_taken_username(session: Session, username: str) -> None:
    if session.scalar(select(Inspector.id).where(Inspector.username == username)) is not None:
        raise click.ClickException(f"the user name {username!r} is already taken")


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


def find_inspector(session: Session, username: str) -> Inspector:
    inspector = session.scalar(select(Inspector).where(Inspector.username == username))
    if inspector is None:
        raise click.ClickException(f"there is no account {username!r}")
    return inspector


def open_escrow_for(
    inspector: Inspector, path: Path, passphrase_file: Path | None
) -> X25519PrivateKey:
    """The unit's escrow private key from its file, refusing a file of another unit
    before asking for its passphrase."""
    if inspector.sealed_key_escrow is None or inspector.unit.escrow_public_key is None:
        raise click.ClickException(
            f"the account {inspector.username!r} has no escrow copy of its key: only its "
            "recovery code can restore it"
        )
    return open_unit_escrow(inspector.unit, path, passphrase_file)


@inspector.command("recover-with-escrow")
@click.option(
    "--username",
    required=True,
    callback=params.model_field(Inspector, "username"),
    help="The account whose passphrase and recovery code are both lost.",
)
@escrow_file_options
@passphrase_file_option("A file holding the account's new passphrase.")
@pass_runtime
def recover_with_escrow(
    runtime: Runtime,
    username: str,
    escrow_file: Path,
    escrow_passphrase_file: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Restore an account's key with the escrow key: new passphrase, new recovery code.

    The key pair stays the same, so every case the account could open still opens.
    """
    with runtime.session() as session:
        inspector = find_inspector(session, username)
        escrow = open_escrow_for(inspector, escrow_file, escrow_passphrase_file)
        try:
            private_key = keyring_of(inspector).recover_with_escrow(escrow)
        except CryptoError:
            raise click.ClickException(
                f"the escrow copy of {inspector.username!r}'s key does not open with this "
                "escrow key"
            ) from None
        escrow_fingerprint = fingerprint(public_bytes(escrow))
    # Asked outside any transaction: no database snapshot is held while a person types.
    passphrase = new_passphrase(passphrase_file, "New passphrase")
    with runtime.session() as session:
        inspector = find_inspector(session, username)
        recovery = reseal_recovered(
            inspector, private_key, passphrase, runtime.settings.passphrase_kdf, now=utc_now()
        )
        # Whoever may hold the lost passphrase loses any session it opened.
        ended = end_sessions(session, inspector)
        audit.append(
            session,
            actor=audit.CLI,
            action=KeyringAction.RECOVERED_WITH_ESCROW,
            target=inspector.username,
            details={"escrow_key": escrow_fingerprint, "sessions_ended": ended},
        )
        # Committed before the code is shown: a code for a seal never stored is worse
        # than none.
        session.commit()
    click.echo(f"Restored the key of {username}; its fingerprint is unchanged.")
    click.echo(f"New recovery code: {recovery.display()}")
    click.echo(
        "Hand it to its owner to write down and keep offline; the old code no longer works. "
        "It will not be shown again."
    )
