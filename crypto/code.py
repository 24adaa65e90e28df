"""Follow-up codes: what a reporter keeps to come back to a case.

A code is 18 random Crockford base32 characters (90 bits) and 2 check characters (10 bits),
shown as five groups of four: ``7K3M-Q9TD-2XWF-H4RB-C8NP``. The check characters catch
typos before a code is ever sent. From the canonical code HKDF derives a lookup token (the
server keeps only an Argon2id hash of it, found through a 40-bit index) and the reporter's
X25519 key pair. A code object never prints its value.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto.encoding import CROCKFORD, group, normalize_crockford
from crypto.errors import CodeFormatError
from crypto.kdf import Argon2Params, hkdf, label, verify_hash
from crypto.keys import load_private_key

RANDOM_CHARS = 18
CHECK_CHARS = 2
CODE_LENGTH = RANDOM_CHARS + CHECK_CHARS
TOKEN_SIZE = 32
INDEX_SIZE = 5
_SALT = label("follow-up-code")
# Verified against when no case matches, so an unknown code costs what a wrong one does.
_DUMMY_TOKEN = bytes(TOKEN_SIZE)


def _check_chars(body: str) -> str:
    digest = hashlib.sha256(label("code-check") + body.encode("ascii")).digest()
    bits = int.from_bytes(digest[:2], "big") >> (16 - 5 * CHECK_CHARS)
    return CROCKFORD[bits >> 5] + CROCKFORD[bits & 31]


class FollowUpCode:
    __slots__ = ("_canonical",)

    def __init__(self, canonical: str) -> None:
        self._canonical = canonical

    @classmethod
    def generate(cls) -> FollowUpCode:
        body = "".join(secrets.choice(CROCKFORD) for _ in range(RANDOM_CHARS))
        return cls(body + _check_chars(body))

    @classmethod
    def parse(cls, text: str) -> FollowUpCode:
        """Accept any case, spaces, dashes and look-alikes (O/0, I/L/1, U/V)."""
        canonical = normalize_crockford(text)
        if len(canonical) != CODE_LENGTH:
            raise CodeFormatError(
                "length", f"A code has {CODE_LENGTH} characters; this one has {len(canonical)}."
            )
        body, check = canonical[:RANDOM_CHARS], canonical[RANDOM_CHARS:]
        if not secrets.compare_digest(check, _check_chars(body)):
            raise CodeFormatError("checksum", "The code has a typo: please check each character.")
        return cls(canonical)

    def display(self) -> str:
        """The form to show and write down: five dash-separated groups of four."""
        return group(self._canonical)

    def lookup_token(self) -> bytes:
        return hkdf(self._canonical.encode("ascii"), salt=_SALT, info=b"lookup-token")

    def reporter_private_key(self) -> X25519PrivateKey:
        return load_private_key(
            hkdf(self._canonical.encode("ascii"), salt=_SALT, info=b"reporter-key")
        )

    def __repr__(self) -> str:
        return "FollowUpCode(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FollowUpCode):
            return NotImplemented
        return secrets.compare_digest(self._canonical, other._canonical)

    def __hash__(self) -> int:
        return hash(self.lookup_token())


def lookup_index(token: bytes) -> bytes:
    """A 40-bit index to find candidate cases. Collisions are expected and harmless: each
    candidate is checked against its slow hash. The index alone cannot confirm a guess."""
    if len(token) != TOKEN_SIZE:
        raise ValueError("lookup tokens are 32 bytes")
    return hashlib.sha256(label("lookup-index") + token).digest()[:INDEX_SIZE]


def hash_lookup_token(token: bytes, params: Argon2Params) -> bytes:
    if len(token) != TOKEN_SIZE:
        raise ValueError("lookup tokens are 32 bytes")
    return params.hash(token)


@functools.cache
def _dummy_hash(params: Argon2Params) -> bytes:
    return params.hash(_DUMMY_TOKEN)


def verify_lookup_token(token: bytes, candidates: list[bytes], params: Argon2Params) -> int | None:
    """Index of the candidate hash that ``token`` matches, or None.

    Every candidate is checked (no early exit) and an empty list still costs one Argon2id
    run with ``params``, so answers for unknown and wrong codes take the same time.
    """
    if not candidates:
        verify_hash(_dummy_hash(params), token)
        return None
    match = None
    for position, encoded in enumerate(candidates):
        if verify_hash(encoded, token) and match is None:
            match = position
    return match
