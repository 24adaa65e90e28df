"""The follow-up session: the signed session cookie, and a row on the server that says it
is still open (docs/submission.md §2).

``session["followup"] = {"case": <public id>, "token": <b64u>, "started": <Unix time>,
"seen": <Unix time>, "key": <b64u>}``

The session ends 30 minutes after the last request (``seen`` moves on with every request)
and, however busy, two hours after it began (``started``); the cookie is signed, so
neither time can be moved by its holder. ``token`` names the server's row
(``store.models.FollowupSession``, by its SHA-256): leaving deletes the row, so a copy of
the cookie taken before is refused afterwards. Rows of sessions nobody ended are purged
once their day is over; the row keeps no time of day. ``key`` exists only on the
no-JavaScript path, where the server decrypts: the reporter's X25519 private key, sealed
with AES-256-GCM under a key derived from the app's secret key, with the case id as
associated data. The cookie is signed, not encrypted, so everyone holding it can read the
case id, but only this app can unseal the key, and the app keeps no copy: neither a
stolen cookie nor a copy of the server opens a case. The code itself is never stored.

The case id is mirrored to ``session["followup_case"]``, where ``submit.limits``
keys its per-case rate limits.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from casework import followup, scope
from crypto.encoding import b64u_decode, b64u_encode
from crypto.kdf import hkdf
from crypto.keys import private_bytes
from store.models import Case, FollowupSession
from web.database import retry_commit

SESSION_KEY = "followup"
LIMITS_KEY = "followup_case"  # read by submit.limits
LIFETIME_SECONDS = 30 * 60  # without a request
ABSOLUTE_SECONDS = 2 * 3600  # however busy
TOKEN_BYTES = 32
KEY_INFO = b"minhbach/submit/followup-session"
NONCE_SIZE = 12
CSRF_FIELD = "csrf_token"  # Flask-WTF's session key and its per-request cache in ``g``


class SessionProblem(Exception):
    """No usable follow-up session. ``reason`` says why, for the message to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoSession(SessionProblem):
    def __init__(self) -> None:
        super().__init__("none")


class SessionExpired(SessionProblem):
    def __init__(self) -> None:
        super().__init__("expired")


class SessionEnded(SessionProblem):
    """The session was ended on the server: left, or over since yesterday."""

    def __init__(self) -> None:
        super().__init__("ended")


class SessionInvalid(SessionProblem):
    """The sealed key does not open, or opens to another key than the case's."""

    def __init__(self) -> None:
        super().__init__("invalid")


@dataclass(frozen=True)
class FollowUp:
    case_id: str
    sealed_key: str | None  # None when the browser holds the key

    def reporter_key(self, reporter_public_key: bytes) -> X25519PrivateKey:
        """Unseal the reporter's key and check it belongs to the case (SessionInvalid)."""
        if self.sealed_key is None:
            raise SessionInvalid()
        key = _unseal(self.sealed_key, self.case_id)
        if not secrets.compare_digest(crypto.public_bytes(key), reporter_public_key):
            raise SessionInvalid()
        return key


def now() -> int:
    """The current Unix time; tests replace it to travel in time."""
    return int(time.time())


def begin(
    case: Case,
    today: date,
    reporter_key: X25519PrivateKey | None = None,
    signing_key: bytes | None = None,
) -> str:
    """The reporter came back with the code: record the visit (a date) and start a session,
    committed (again if the database refuses for a moment). Returns the new anti-forgery
    token. ``signing_key`` is the reporter's verifying key, recorded if the case has none
    (a case of protocol 1, docs/crypto.md §13.7)."""

    def store(db: Session) -> str:
        followup.touch(case, today)
        if signing_key is not None:
            followup.register_signing_key(case, signing_key)
        return start(db, case, today, reporter_key)

    return retry_commit(store)


def start(
    db: Session, case: Case, today: date, reporter_key: X25519PrivateKey | None = None
) -> str:
    """Begin a session for ``case``, with ``reporter_key`` on the no-JS path; returns the
    new anti-forgery token. Adds the server's row to ``db``: the caller commits."""
    token = secrets.token_bytes(TOKEN_BYTES)
    # Sessions that began before yesterday are over whatever their cookie says.
    db.execute(delete(FollowupSession).where(FollowupSession.started_on < today - timedelta(1)))
    db.add(FollowupSession(id=_digest(token), case_id=case.id, started_on=today))
    moment = now()
    state: dict[str, Any] = {
        "case": case.public_id,
        "token": b64u_encode(token),
        "started": moment,
        "seen": moment,
    }
    if reporter_key is not None:
        state["key"] = _seal(private_bytes(reporter_key), case.public_id)
    session[SESSION_KEY] = state
    session[LIMITS_KEY] = case.public_id
    return rotate_csrf()


def current(db: Session) -> FollowUp:
    """The live session, its last use moved on; raises a SessionProblem otherwise (and
    forgets the cookie's session, so a sealed key does not linger in it)."""
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict):
        raise NoSession()
    try:
        followup, token = _checked(state)
    except SessionProblem:
        forget()
        raise
    if not _recorded(db, token, followup.case_id):
        forget()
        raise SessionEnded()
    session[SESSION_KEY] = {**state, "seen": now()}
    return followup


def end(db: Session) -> None:
    """Leave: delete the server's row (the caller commits) and forget the cookie's session."""
    state = session.get(SESSION_KEY)
    token = state.get("token") if isinstance(state, dict) else None
    if isinstance(token, str):
        raw = _token_bytes(token)
        if raw is not None:
            db.execute(delete(FollowupSession).where(FollowupSession.id == _digest(raw)))
    forget()


def forget() -> None:
    """Drop the session from the cookie (the sealed key with it)."""
    session.pop(SESSION_KEY, None)
    session.pop(LIMITS_KEY, None)


def _checked(state: dict[str, Any]) -> tuple[FollowUp, bytes]:
    case_id, token, sealed = state.get("case"), state.get("token"), state.get("key")
    started, seen = state.get("started"), state.get("seen")
    if not (isinstance(case_id, str) and isinstance(token, str)):
        raise SessionInvalid()
    if not (isinstance(started, int) and isinstance(seen, int)):
        raise SessionInvalid()
    if sealed is not None and not isinstance(sealed, str):
        raise SessionInvalid()
    moment = now()
    if moment >= seen + LIFETIME_SECONDS or moment >= started + ABSOLUTE_SECONDS:
        raise SessionExpired()
    raw = _token_bytes(token)
    if raw is None:
        raise SessionInvalid()
    return FollowUp(case_id, sealed), raw


def _recorded(db: Session, token: bytes, case_id: str) -> bool:
    scope.name_case(db, case_id)
    row = db.scalar(
        select(FollowupSession.id)
        .join(Case, FollowupSession.case_id == Case.id)
        .where(FollowupSession.id == _digest(token), Case.public_id == case_id)
    )
    return row is not None


def _token_bytes(token: str) -> bytes | None:
    try:
        raw = b64u_decode(token)
    except crypto.CryptoError:
        return None
    return raw if len(raw) == TOKEN_BYTES else None


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def rotate_csrf() -> str:
    """A new anti-forgery token from here on: a token seen before a session began or
    ended is of no use after. Returns the new token."""
    session.pop(CSRF_FIELD, None)
    g.pop(CSRF_FIELD, None)
    token: str = generate_csrf()
    return token


def _cipher() -> AESGCM:
    secret: bytes = current_app.config["SECRET_KEY"]  # bytes: see web.secret_key
    return AESGCM(hkdf(secret, salt=None, info=KEY_INFO))


def _seal(raw_key: bytes, case_id: str) -> str:
    nonce = secrets.token_bytes(NONCE_SIZE)
    return b64u_encode(nonce + _cipher().encrypt(nonce, raw_key, case_id.encode("ascii")))


def _unseal(sealed: str, case_id: str) -> X25519PrivateKey:
    try:
        blob = b64u_decode(sealed)
        raw = _cipher().decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], case_id.encode("ascii"))
        return crypto.load_private_key(raw)
    except (crypto.CryptoError, InvalidTag, ValueError):
        raise SessionInvalid() from None
