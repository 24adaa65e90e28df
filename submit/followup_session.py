"""The follow-up session, kept in the signed session cookie (docs/submission.md §2).

``session["followup"] = {"case": <public id>, "expires": <Unix time>, "key": <b64u>}``

The expiry is 30 minutes after the last request and moves on with every request. ``key``
exists only on the no-JavaScript path, where the server decrypts: the reporter's X25519
private key, sealed with AES-256-GCM under a key derived from the app's secret key, with
the case id as associated data. The cookie is signed, not encrypted, so everyone holding
it can read the case id, but only this app can unseal the key, and the app keeps no copy:
neither a stolen cookie nor a copy of the server opens a case. The code itself is never
stored.

The case id is mirrored to ``session["followup_case"]``, where ``submit.limits``
keys its per-case rate limits.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf

import crypto
from crypto.encoding import b64u_decode, b64u_encode
from crypto.kdf import hkdf
from crypto.keys import private_bytes

SESSION_KEY = "followup"
LIMITS_KEY = "followup_case"  # read by submit.limits
LIFETIME_SECONDS = 30 * 60
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


def start(case_id: str, reporter_key: X25519PrivateKey | None = None) -> str:
    """Begin a session for ``case_id``, with ``reporter_key`` on the no-JS path; returns
    the new anti-forgery token."""
    state: dict[str, Any] = {"case": case_id, "expires": now() + LIFETIME_SECONDS}
    if reporter_key is not None:
        state["key"] = _seal(private_bytes(reporter_key), case_id)
    session[SESSION_KEY] = state
    session[LIMITS_KEY] = case_id
    return rotate_csrf()


def current() -> FollowUp:
    """The live session, its expiry moved on; raises a SessionProblem otherwise.

    An expired session is cleared, so its sealed key does not linger in the cookie.
    """
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict):
        raise NoSession()
    case_id, expires, sealed = state.get("case"), state.get("expires"), state.get("key")
    if not isinstance(case_id, str) or not isinstance(expires, int):
        end()
        raise SessionInvalid()
    if expires <= now():
        end()
        raise SessionExpired()
    if sealed is not None and not isinstance(sealed, str):
        end()
        raise SessionInvalid()
    session[SESSION_KEY] = {**state, "expires": now() + LIFETIME_SECONDS}
    return FollowUp(case_id, sealed)


def end() -> None:
    """Forget the session (the sealed key with it)."""
    session.pop(SESSION_KEY, None)
    session.pop(LIMITS_KEY, None)


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
