"""Proof of work for JavaScript clients: stateless challenges, each usable once.

Behind a Tor onion service every client has the same address, so nothing can be limited
per client. Instead, each costly request (a report, an upload, a follow-up code check)
carries a solved challenge: cheap for one tipster's browser, expensive for a flood.

Challenge (38 bytes, sent as b64u, 51 characters)::

    challenge = version (1) || purpose (1) || expiry (u32, Unix seconds) || id (16 random)
                || HMAC-SHA256(key, the preceding 22 bytes)[:16]
    key       = HKDF-SHA256(ikm = the app's SECRET_KEY, no salt, info = "minhbach/submit/pow")

Solution: ``"<challenge>.<nonce>"``, where the nonce is 1 to 32 printable ASCII characters
(0x21-0x7e) and SHA-256 of the whole solution string (ASCII) starts with at least
``difficulty`` zero bits (``Settings.pow_difficulty``).

The server keeps no list of issued challenges: the MAC proves it issued one, the expiry
bounds its life to ``TTL_SECONDS``, and the purpose byte stops a challenge solved for a
cheap purpose from paying for another. A challenge is spent by counting its id in the
rate-limit storage (Redis in production), so a second use is refused by every process.
The difficulty is not part of the challenge: the server's current setting applies.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import struct
import time
from itertools import count
from typing import Protocol

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import MalformedEnvelope
from crypto.kdf import hkdf

VERSION = 1
TTL_SECONDS = 600
KEY_LABEL = b"minhbach/submit/pow"
ID_SIZE = 16
MAC_SIZE = 16
_HEAD = struct.Struct(">BBI")  # version, purpose, expiry
CHALLENGE_SIZE = _HEAD.size + ID_SIZE + MAC_SIZE
CHALLENGE_LENGTH = (CHALLENGE_SIZE * 4 + 2) // 3  # b64u characters
MAX_NONCE_LENGTH = 32
_NONCE = re.compile(rf"[\x21-\x7e]{{1,{MAX_NONCE_LENGTH}}}")
# Clocks of several processes may differ a little: keep a spent id a minute past expiry.
_SPENT_MARGIN_SECONDS = 60


class Purpose(enum.StrEnum):
    REPORT = "report"
    FOLLOWUP = "followup"
    UPLOAD = "upload"


_PURPOSE_BYTE = {Purpose.REPORT: 1, Purpose.FOLLOWUP: 2, Purpose.UPLOAD: 3}


class PowError(Exception):
    """A refused solution. ``code`` is the API error code; messages are for logs only."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Ledger(Protocol):
    """Where spent challenge ids are counted: the ``limits`` storage behind Flask-Limiter."""

    def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...


def derive_key(secret_key: bytes) -> bytes:
    return hkdf(secret_key, salt=None, info=KEY_LABEL)


def now() -> int:
    """The current Unix time; tests replace it to travel in time."""
    return int(time.time())


def issue(key: bytes, purpose: Purpose, at: int | None = None) -> str:
    """A fresh challenge for ``purpose`` that expires ``TTL_SECONDS`` from now."""
    expiry = (now() if at is None else at) + TTL_SECONDS
    body = _HEAD.pack(VERSION, _PURPOSE_BYTE[purpose], expiry) + secrets.token_bytes(ID_SIZE)
    return b64u_encode(body + _mac(key, body))


def verify(
    key: bytes, solution: str, purpose: Purpose, difficulty: int, at: int | None = None
) -> tuple[bytes, int]:
    """Check a solution; return the challenge's id and expiry, or raise PowError.

    Does not spend the challenge: see ``spend`` and ``check``.
    """
    if len(solution) > CHALLENGE_LENGTH + 1 + MAX_NONCE_LENGTH:
        raise PowError("pow_invalid")
    challenge_text, dot, nonce = solution.partition(".")
    if not dot or not _NONCE.fullmatch(nonce):
        raise PowError("pow_invalid")
    try:
        challenge = b64u_decode(challenge_text)
    except MalformedEnvelope:
        raise PowError("pow_invalid") from None
    if len(challenge) != CHALLENGE_SIZE:
        raise PowError("pow_invalid")
    body, mac = challenge[:-MAC_SIZE], challenge[-MAC_SIZE:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise PowError("pow_invalid")
    version, purpose_byte, expiry = _HEAD.unpack_from(body)
    if version != VERSION or purpose_byte != _PURPOSE_BYTE[purpose]:
        raise PowError("pow_invalid")
    if expiry <= (now() if at is None else at):
        raise PowError("pow_expired")
    if leading_zero_bits(hashlib.sha256(solution.encode("ascii")).digest()) < difficulty:
        raise PowError("pow_invalid")
    return body[_HEAD.size :], expiry


def spend(ledger: Ledger, challenge_id: bytes, expiry: int, at: int | None = None) -> None:
    """Mark a challenge as used; PowError("pow_replayed") if it already was."""
    remaining = expiry - (now() if at is None else at)
    uses = ledger.incr(
        "minhbach/pow/" + challenge_id.hex(), max(1, remaining + _SPENT_MARGIN_SECONDS)
    )
    if uses > 1:
        raise PowError("pow_replayed")


def check(
    key: bytes,
    ledger: Ledger,
    solution: str,
    purpose: Purpose,
    difficulty: int,
    at: int | None = None,
) -> None:
    """Verify a solution and spend its challenge; raise PowError if it does not pay."""
    moment = now() if at is None else at
    challenge_id, expiry = verify(key, solution, purpose, difficulty, moment)
    spend(ledger, challenge_id, expiry, moment)


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def solve(challenge: str, difficulty: int) -> str:
    """Find a solution by brute force: the reference for clients, and for tests."""
    for counter in count():
        solution = f"{challenge}.{counter:x}"
        if leading_zero_bits(hashlib.sha256(solution.encode("ascii")).digest()) >= difficulty:
            return solution
    raise AssertionError("unreachable")  # pragma: no cover


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:MAC_SIZE]
