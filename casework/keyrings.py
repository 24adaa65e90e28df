"""Inspector accounts and their keyrings in the database (no Flask, no click).

One place for what the review app's admin and account screens and the ``minhbach
inspector`` commands all do to an account: enrol it (a key pair sealed three ways and a
TOTP secret, docs/crypto.md §8), re-seal its key under a new passphrase, recover it with
the recovery code or the unit's escrow key, and replace its TOTP secret.

The private key never changes: a recovery only re-seals it, so every case key already
wrapped to the account still opens. Nothing here commits (the caller commits, together
with the audit entry recording the change), and nothing here logs or audits: secrets
pass through as arguments and leave as return values, never anywhere else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from crypto import Argon2Params, RecoveryCode, SealedKeyring, create_keyring
from crypto.signing import signing_key, verifying_bytes
from store.models import Inspector, InspectorRole, ReviewSession, Unit

TOTP_ISSUER = "minhbach"


class KeyringAction(enum.StrEnum):
    """Audit actions of account management (``casework.audit.append``)."""

    ENROLLED = "account_enrolled"
    DEACTIVATED = "account_deactivated"
    TOTP_RESET = "totp_reset"
    PASSPHRASE_CHANGED = "passphrase_changed"  # noqa: S105 (an action name)
    PASSPHRASE_CHANGE_FAILED = "passphrase_change_failed"  # noqa: S105 (an action name)
    # An administrator's re-typed passphrase did not confirm a dangerous action.
    CONFIRMATION_FAILED = "admin_confirmation_failed"
    RECOVERED_WITH_CODE = "recovered_with_code"
    RECOVERY_FAILED = "recovery_failed"
    RECOVERED_WITH_ESCROW = "recovered_with_escrow"


@dataclass(frozen=True)
class Enrolment:
    """A new account and the secrets to hand over once: recovery code and TOTP URI."""

    inspector: Inspector
    recovery: RecoveryCode = field(repr=False)
    totp_uri: str = field(repr=False)


def keyring_of(inspector: Inspector) -> SealedKeyring:
    return SealedKeyring(
        public_key=inspector.public_key,
        by_passphrase=inspector.sealed_key_passphrase,
        by_recovery=inspector.sealed_key_recovery,
        by_escrow=inspector.sealed_key_escrow,
    )


def store_keyring(inspector: Inspector, keyring: SealedKeyring) -> None:
    """Write a re-sealed keyring back; the public key must stay the same."""
    if keyring.public_key != inspector.public_key:
        raise ValueError("a re-sealed keyring must keep the account's key pair")
    inspector.sealed_key_passphrase = keyring.by_passphrase
    inspector.sealed_key_recovery = keyring.by_recovery
    inspector.sealed_key_escrow = keyring.by_escrow


def totp_uri(secret: str, username: str, unit_slug: str) -> str:
    """The otpauth:// URI authenticator apps scan; the account reads "user@unit"."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{username}@{unit_slug}", issuer_name=TOTP_ISSUER
    )


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
    """Add an account to the session (flushed, not committed), with a keyring escrowed to
    the unit's escrow key when the unit has one."""
    keyring, recovery = create_keyring(passphrase, params, unit.escrow_public_key)
    # The recovery copy opens without Argon2id: the cheap way to the signing key here.
    signing = signing_key(keyring.recover(recovery))
    inspector = Inspector(
        unit=unit,
        username=username,
        display_name=display_name,
        role=role,
        public_key=keyring.public_key,
        signing_key=verifying_bytes(signing),
        sealed_key_passphrase=keyring.by_passphrase,
        sealed_key_recovery=keyring.by_recovery,
        sealed_key_escrow=keyring.by_escrow,
        totp_secret=pyotp.random_base32(),
    )
    session.add(inspector)
    session.flush()
    return Enrolment(inspector, recovery, totp_uri(inspector.totp_secret, username, unit.slug))


def reset_totp(inspector: Inspector) -> str:
    """A new TOTP secret (any code of the old one stops working); returns its URI."""
    inspector.totp_secret = pyotp.random_base32()
    inspector.totp_last_counter = None
    return totp_uri(inspector.totp_secret, inspector.username, inspector.unit.slug)


def change_passphrase(
    inspector: Inspector, current: str, new: str, params: Argon2Params, *, now: datetime
) -> None:
    """Re-seal under ``new``. Raises crypto.WrongPassphrase if ``current`` is wrong."""
    store_keyring(inspector, keyring_of(inspector).change_passphrase(current, new, params))
    inspector.passphrase_changed_at = now


def reseal_recovered(
    inspector: Inspector,
    private_key: X25519PrivateKey,
    new_passphrase: str,
    params: Argon2Params,
    *,
    now: datetime,
) -> RecoveryCode:
    """After a recovery: seal the key under a new passphrase and a new recovery code
    (the old code has been typed somewhere, so it is spent), and lift a lockout earned
    while the passphrase was lost. Returns the new code, to be shown once."""
    keyring = keyring_of(inspector).with_passphrase(private_key, new_passphrase, params)
    keyring, recovery = keyring.with_new_recovery(private_key)
    store_keyring(inspector, keyring)
    inspector.passphrase_changed_at = now
    inspector.failed_logins = 0
    inspector.locked_until = None
    return recovery


def claim_totp_counter(session: Session, inspector: Inspector, counter: int) -> bool:
    """Record a TOTP time step as used, atomically, unless it (or a later one) already
    was: a code opens one login or one recovery, never two."""
    result = session.execute(
        update(Inspector)
        .where(
            Inspector.id == inspector.id,
            or_(Inspector.totp_last_counter.is_(None), Inspector.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    session.refresh(inspector)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def end_sessions(session: Session, inspector: Inspector) -> int:
    """Delete every review-app session of the account, with the key each one holds sealed,
    after a recovery or deactivation: whoever had the old passphrase, or the account, is
    out. The same statement as ``review.session_store.end_all_of``, here so that the
    command line (which must not import the review app) can use it too."""
    result = session.execute(
        delete(ReviewSession)
        .where(ReviewSession.inspector_id == inspector.id)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
