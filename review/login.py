"""Checking a login: user name, passphrase and a one-time TOTP code (no Flask).

Every attempt costs one Argon2id run, whatever happens: an unknown user name, a disabled
or locked account run it against a dummy sealed key of the configured cost, so timing
tells nothing about which accounts exist. Everyone who fails sees the same message; the
reason is recorded only in the audit log.

Lockout, per account: after ``LOCK_AFTER`` consecutive failures the account is locked
for ``LOCK_FIRST``, and each further failure once the lock has run out locks it for
twice as long as the last time, up to ``LOCK_MAX``. A success resets the count. While
locked, credentials are not even checked, so guessing during a lock learns nothing.
Every attempt is counted as a failure *before* it is checked (``admit``, one atomic
statement), and a success takes the count back: so however many attempts race, at most
``LOCK_AFTER`` are ever checked before the lock. The recovery form
(``review.views.account``) goes through the same door. (A global rate limit on both
forms, in ``review.limits``, caps the guessing across all accounts.)

A TOTP code is accepted for the current 30-second step and one step either side (phone
clocks drift), and only for a step later than the last one accepted for the account:
a code, once used, never works again, even within its validity.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pyotp
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

import crypto
from casework import audit
from casework.keyrings import keyring_of
from crypto.keyring import open_with_passphrase, seal_with_passphrase
from store.models import Inspector, normalize_username

LOCK_AFTER = 5
LOCK_FIRST = timedelta(minutes=15)
LOCK_MAX = timedelta(hours=24)
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1


class Failure(enum.StrEnum):
    """Why a login failed: for the audit log only, never for the person at the form."""

    UNKNOWN_USER = "unknown_user"
    INACTIVE = "inactive"
    LOCKED = "locked"
    PASSPHRASE = "passphrase"  # noqa: S105 (a reason, not a password)
    KEYRING = "keyring"  # the stored sealed key is damaged or does not match the account
    TOTP = "totp"
    TOTP_REUSED = "totp_reused"  # right code, already used: a replay, or an observer
    # The stored TOTP secret is unusable (an admin resets it).
    TOTP_SECRET = "totp_secret"  # noqa: S105


@dataclass(frozen=True)
class Credentials:
    username: str
    passphrase: str = field(repr=False)
    totp: str = field(repr=False)


@dataclass(frozen=True)
class LoginResult:
    inspector: Inspector | None
    private_key: X25519PrivateKey | None = field(default=None, repr=False)
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def authenticate(
    session: Session, credentials: Credentials, *, kdf: crypto.Argon2Params, now: datetime
) -> LoginResult:
    """Check the credentials, update the account's lockout state and TOTP counter, and
    append a ``login_failed`` audit entry on failure. The caller commits either way (the
    failure count must stick) and, on success, starts the session and audits the login.

    Runs in three steps. The account is read, the attempt admitted (``admit``: counted
    and, if that many call for it, the account locked) and the transaction *committed*
    (call this with nothing else pending), so that none is open during the slow Argon2id
    run: on SQLite, a transaction that read before someone else wrote cannot write any
    more. Then the credentials are checked without the database. Then the outcome is
    written: a success claims the TOTP step with an atomic UPDATE that also takes the
    failure back, so that two logins racing with the same code cannot both succeed.
    """
    inspector = find_account(session, credentials.username)
    admitted = inspector is not None and admit(session, inspector, now)
    session.commit()
    verdict = _verify(inspector, admitted, credentials, kdf, now)
    if inspector is None:
        return _refuse(session, None, Failure.UNKNOWN_USER)
    if isinstance(verdict, Failure):
        return _refuse(session, inspector, verdict)  # counted when admitted
    private_key, counter = verdict
    if not _claim_counter(session, inspector, counter):
        if not inspector.active:  # disabled while the passphrase was being checked
            return _refuse(session, inspector, Failure.INACTIVE)
        return _refuse(session, inspector, Failure.TOTP_REUSED)
    return LoginResult(inspector, private_key)


def find_account(session: Session, typed: str) -> Inspector | None:
    """The account a typed user name names, or None.

    What cannot be a user name (the model's rule: a-z, digits, '.', '_', '-', at most 64)
    is never sent to the database: PostgreSQL refuses a NUL character in text with an
    error, which answered a login or recovery form with a server error instead of the
    same refusal as any unknown name.
    """
    username = normalize_username(typed)
    if not _could_be_username(username):
        return None
    return session.scalar(select(Inspector).where(Inspector.username == username))


def admit(session: Session, inspector: Inspector, now: datetime) -> bool:
    """Let one attempt at the account's credentials be checked, or not (False: the
    account is locked or inactive, and nothing is counted).

    An admitted attempt is counted as a failure *now*, in one atomic UPDATE that also
    checks the lock, and the account is locked at once if the new count calls for it;
    a success takes the failure back (``_claim_counter``, or a recovery's reseal). Counted
    afterwards instead, attempts racing each other were all checked before any of them
    was counted: ten parallel guesses got ten checks under a lock of five. The caller
    commits before the slow check, so that the count and the lock hold for everyone.
    """
    counted = session.execute(
        update(Inspector)
        .where(
            Inspector.id == inspector.id,
            Inspector.active.is_(True),
            or_(Inspector.locked_until.is_(None), Inspector.locked_until <= now),
        )
        .values(failed_logins=Inspector.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    # The UPDATE holds the row (PostgreSQL) or the database (SQLite) until the commit, so
    # the count read back is this attempt's own.
    session.refresh(inspector)
    if _rowcount(counted) != 1:
        return False
    duration = lock_duration(inspector.failed_logins)
    if duration is not None:
        inspector.locked_until = now + duration
        session.flush()
    return True


def matching_totp_counter(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within the allowed drift; None if none.

    Every candidate step is compared, in constant time, whatever matched before. Raises
    ValueError for a secret pyotp refuses.
    """
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
    current = totp.timecode(now)
    found: int | None = None
    typed = code.encode("ascii", "replace")
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode("ascii"), typed):
            found = step
    return found


def lock_duration(failed_logins: int) -> timedelta | None:
    """How long the ``failed_logins``-th consecutive failure locks the account."""
    if failed_logins < LOCK_AFTER:
        return None
    doublings = min(failed_logins - LOCK_AFTER, 16)  # 2**16 * 15 min is far past LOCK_MAX
    duration: timedelta = min(LOCK_FIRST * (1 << doublings), LOCK_MAX)
    return duration


def dummy_unseal(passphrase: str, kdf: crypto.Argon2Params) -> None:
    """One Argon2id run at ``kdf``'s cost that can never succeed."""
    try:
        open_with_passphrase(_dummy_sealed_key(kdf), passphrase)
    except crypto.WrongPassphrase:
        return
    raise AssertionError("the dummy sealed key opened")  # a random passphrase: impossible


@cache
def _dummy_sealed_key(kdf: crypto.Argon2Params) -> bytes:
    # Sealed under a random passphrase nobody knows, once per process and cost.
    return seal_with_passphrase(crypto.generate_private_key(), secrets.token_urlsafe(32), kdf)


def _verify(
    inspector: Inspector | None,
    admitted: bool,
    credentials: Credentials,
    kdf: crypto.Argon2Params,
    now: datetime,
) -> tuple[X25519PrivateKey, int] | Failure:
    """The slow part, without the database: exactly one Argon2id run, whatever happens."""
    if inspector is None:
        failure = Failure.UNKNOWN_USER
    elif not inspector.active:
        failure = Failure.INACTIVE
    elif not admitted:
        failure = Failure.LOCKED
    else:
        return _check(inspector, credentials, now)
    dummy_unseal(credentials.passphrase, kdf)
    return failure


def _check(
    inspector: Inspector, credentials: Credentials, now: datetime
) -> tuple[X25519PrivateKey, int] | Failure:
    # Both factors are always checked, so the time taken does not tell which one failed.
    unlocked = _unlock(inspector, credentials.passphrase)
    try:
        counter = matching_totp_counter(inspector.totp_secret, credentials.totp, now)
    except ValueError:  # not base32, or shorter than pyotp's minimum of 112 bits
        return Failure.TOTP_SECRET
    if isinstance(unlocked, Failure):
        return unlocked
    if counter is None:
        return Failure.TOTP
    if not _fresh(inspector.totp_last_counter, counter):
        return Failure.TOTP_REUSED
    return unlocked, counter


def _unlock(inspector: Inspector, passphrase: str) -> X25519PrivateKey | Failure:
    try:
        return keyring_of(inspector).unlock(passphrase)
    except crypto.WrongPassphrase:
        return Failure.PASSPHRASE
    except (crypto.CryptoError, ValueError):
        return Failure.KEYRING


def _fresh(last: int | None, counter: int) -> bool:
    return last is None or counter > last


def _claim_counter(session: Session, inspector: Inspector, counter: int) -> bool:
    """Record ``counter`` as used and reset the failures, unless another login used it (or
    a later one) since the account was read, or the account was disabled meanwhile."""
    claimed = session.execute(
        update(Inspector)
        .where(
            Inspector.id == inspector.id,
            Inspector.active.is_(True),
            or_(Inspector.totp_last_counter.is_(None), Inspector.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter, failed_logins=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(inspector)
    return _rowcount(claimed) == 1


def _could_be_username(username: str) -> bool:
    try:
        Inspector(username=username)  # the model's own rule, as enrolment applies it
    except ValueError:
        return False
    return True


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _refuse(session: Session, inspector: Inspector | None, failure: Failure) -> LoginResult:
    # An unknown name is not recorded: people type their passphrase into the user name
    # field by mistake, and this log is plaintext and permanent.
    actor: Inspector | str = audit.UNKNOWN if inspector is None else inspector
    audit.append(
        session, actor=actor, action=audit.Action.LOGIN_FAILED, details={"reason": failure.value}
    )
    return LoginResult(inspector, failure=failure)
