"""Server-side review sessions that hold the unlocked key without storing it (no Flask).

The design, its threat model and what each part defends are in docs/review-sessions.md.
In short, at login:

    token, K   = 32 random bytes each
    id         = SHA-256(token)                                  ; the row's primary key
    sealed_key = nonce (12) || AES-256-GCM(K, nonce, private key, aad = id)
    cookie     = b64u(token || K)                                ; 86 characters

The row keeps ``id`` and ``sealed_key``; the browser keeps the cookie. The private key
opens only with both, and only in the memory of the request that needs it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import crypto
from crypto.encoding import b64u_decode, b64u_encode
from crypto.kdf import constant_time_equal
from crypto.keys import private_bytes
from store.models import Inspector, ReviewSession

TOKEN_SIZE = 32
SESSION_KEY_SIZE = 32
NONCE_SIZE = 12
COOKIE_BYTES = TOKEN_SIZE + SESSION_KEY_SIZE
# last_seen_at is written at most this often: a page with several requests costs one
# write, not several. Idle timeouts are therefore exact to within this much.
TOUCH_INTERVAL = timedelta(seconds=30)


class SessionProblem(Exception):
    """No usable session; subclasses say why."""


class NoSuchSession(SessionProblem):
    """The cookie is malformed or names no session (ended, expired and swept, or forged)."""


class SessionEnded(SessionProblem):
    """The session exists but must end now; the caller deletes ``row`` and records why."""

    def __init__(self, row: ReviewSession, reason: str) -> None:
        super().__init__(reason)
        self.row, self.reason = row, reason


# Reasons of SessionEnded.
IDLE = "idle"  # no request for the idle timeout
ABSOLUTE = "absolute"  # the absolute timeout since login
INACTIVE = "inactive"  # the account was deactivated meanwhile
BAD_KEY = "bad_key"  # the cookie's key does not open the sealed key: tampering

# Reasons for ending all of an account's sessions at once (``end_all_of``).
PASSPHRASE_CHANGED = "passphrase_changed"  # noqa: S105 (a reason, not a password)
RECOVERED = "recovered"  # a recovery with the recovery code replaced the passphrase
TOTP_RESET = "totp_reset"  # an administrator replaced the TOTP secret
DEACTIVATED = "deactivated"  # an administrator deactivated the account


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class NewSession:
    row: ReviewSession
    cookie: str = field(repr=False)


@dataclass(frozen=True)
class OpenSession:
    """A live session and the key it unsealed, for this request only."""

    row: ReviewSession
    inspector: Inspector
    private_key: X25519PrivateKey = field(repr=False)

    @property
    def reference(self) -> str:
        return reference_of(self.row.id)


def reference_of(session_id: bytes) -> str:
    """A short, public handle for audit entries: 64 bits of the row id, itself a hash of
    the token, so it neither is nor leads to a usable cookie."""
    return session_id.hex()[:16]


def create(
    session: Session,
    inspector: Inspector,
    private_key: X25519PrivateKey,
    *,
    now: datetime,
    timeouts: Timeouts,
) -> NewSession:
    """Add a session for a just-authenticated inspector (flushed, not committed)."""
    token = secrets.token_bytes(TOKEN_SIZE)
    key = secrets.token_bytes(SESSION_KEY_SIZE)
    session_id = hashlib.sha256(token).digest()
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = nonce + AESGCM(key).encrypt(nonce, private_bytes(private_key), session_id)
    row = ReviewSession(
        id=session_id,
        inspector=inspector,
        sealed_key=sealed,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
    )
    session.add(row)
    session.flush()
    return NewSession(row, b64u_encode(token + key))


def open_session(
    session: Session, cookie: str, *, now: datetime, timeouts: Timeouts
) -> OpenSession:
    """The live session of ``cookie`` with its key unsealed, its last use moved on.

    Raises NoSuchSession, or SessionEnded when the row must go (expired, account
    deactivated, or a key that does not open it).
    """
    token, key = _parse(cookie)
    row = session.get(ReviewSession, hashlib.sha256(token).digest())
    if row is None:
        raise NoSuchSession()
    reason = expiry_reason(row, now, timeouts)
    if reason is not None:
        raise SessionEnded(row, reason)
    inspector = row.inspector
    if not inspector.active:
        raise SessionEnded(row, INACTIVE)
    private_key = _unseal(row, key, inspector.public_key)
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        _touch(session, row, now)
    return OpenSession(row, inspector, private_key)


def end(session: Session, row: ReviewSession) -> bool:
    """Delete the session and its sealed key (not committed). False if another request
    (a logout in a second tab, a sweep) deleted it first: the caller then records nothing.
    """
    result = session.execute(
        delete(ReviewSession)
        .where(ReviewSession.id == row.id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(row)
    return _rowcount(result) == 1


def expired(session: Session, *, now: datetime, timeouts: Timeouts) -> list[ReviewSession]:
    """Sessions past either timeout that nobody came back to end."""
    return list(
        session.scalars(
            select(ReviewSession)
            .where(
                or_(
                    ReviewSession.expires_at <= now,
                    ReviewSession.last_seen_at <= now - timeouts.idle,
                )
            )
            .order_by(ReviewSession.created_at)
        )
    )


def expiry_reason(row: ReviewSession, now: datetime, timeouts: Timeouts) -> str | None:
    """ABSOLUTE or IDLE if the session is over at ``now``, else None."""
    if now >= row.expires_at:
        return ABSOLUTE
    if now - row.last_seen_at >= timeouts.idle:
        return IDLE
    return None


def end_all_of(
    session: Session, inspector: Inspector, *, keeping: bytes | None = None
) -> list[str]:
    """End every session of an account but the one whose id is ``keeping`` (if any):
    after a deactivation, a passphrase change, a recovery or a TOTP reset. Returns the
    ended sessions' references, oldest first, for the caller to audit each.

    One DELETE ... RETURNING: a session another request ends at the same moment is
    neither missed nor counted twice.
    """
    condition = ReviewSession.inspector_id == inspector.id
    if keeping is not None:
        condition = condition & (ReviewSession.id != keeping)
    rows = session.execute(
        delete(ReviewSession)
        .where(condition)
        .returning(ReviewSession.id, ReviewSession.created_at)
        .execution_options(synchronize_session="fetch")
    ).all()
    return [reference_of(row.id) for row in sorted(rows, key=lambda row: row.created_at)]


def _touch(session: Session, row: ReviewSession, now: datetime) -> None:
    # A statement rather than a change to the loaded row: if a logout in another tab
    # deleted the row meanwhile, this updates nothing instead of failing the request.
    session.execute(
        update(ReviewSession)
        .where(ReviewSession.id == row.id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(row, "last_seen_at", now)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _parse(cookie: str) -> tuple[bytes, bytes]:
    try:
        raw = b64u_decode(cookie)
    except crypto.MalformedEnvelope:
        raise NoSuchSession() from None
    if len(raw) != COOKIE_BYTES:
        raise NoSuchSession()
    return raw[:TOKEN_SIZE], raw[TOKEN_SIZE:]


def _unseal(row: ReviewSession, key: bytes, public_key: bytes) -> X25519PrivateKey:
    nonce, sealed = row.sealed_key[:NONCE_SIZE], row.sealed_key[NONCE_SIZE:]
    try:
        private_key = crypto.load_private_key(AESGCM(key).decrypt(nonce, sealed, row.id))
    except (InvalidTag, crypto.CryptoError):
        raise SessionEnded(row, BAD_KEY) from None
    if not constant_time_equal(crypto.public_bytes(private_key), public_key):
        raise SessionEnded(row, BAD_KEY)
    return private_key
