"""Human-friendly encodings: Crockford base32 with tolerant input, and URL-safe base64."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from minhbach.crypto.errors import CodeFormatError, MalformedEnvelope

# Crockford's alphabet: no I, L, O, U, so nothing reads as something else.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(CROCKFORD)}
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
# Separators people type or that phones insert: white space, dashes of every width, dots.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212._/\u00b7]+")


def normalize_crockford(text: str) -> str:
    """Canonical upper-case Crockford string: NFKC, separators dropped, look-alikes mapped.

    Raises CodeFormatError("character") for anything left that is not in the alphabet.
    """
    cleaned = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    canonical = cleaned.upper().translate(_LOOKALIKES)
    if not canonical:
        raise CodeFormatError("empty", "No code was entered.")
    if any(c not in _VALUE for c in canonical):
        raise CodeFormatError(
            "character", "The code contains a character that is not used in codes."
        )
    return canonical


def crockford_encode(data: bytes) -> str:
    """Big-endian bit string in 5-bit groups; the final group is zero-padded on the right."""
    bits = len(data) * 8
    number = int.from_bytes(data, "big")
    chars = -(-bits // 5)
    number <<= chars * 5 - bits
    return "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(chars)))


def crockford_decode(canonical: str, length: int) -> bytes:
    """Inverse of crockford_encode for a canonical string that encodes ``length`` bytes."""
    bits = length * 8
    if len(canonical) != -(-bits // 5):
        raise CodeFormatError("length", "The code has the wrong number of characters.")
    number = 0
    for c in canonical:
        number = (number << 5) | _VALUE[c]
    spare = len(canonical) * 5 - bits
    if number & ((1 << spare) - 1):
        raise CodeFormatError("character", "The code's last character is not possible.")
    return (number >> spare).to_bytes(length, "big")


def group(canonical: str, size: int = 4) -> str:
    """Split into dash-separated groups for reading aloud: ABCD-EFGH-..."""
    return "-".join(canonical[i : i + size] for i in range(0, len(canonical), size))


def b64u_encode(data: bytes) -> str:
    """URL-safe base64 without padding, as used in JSON documents of the protocol."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict inverse of b64u_encode; refuses padding, other alphabets and stray bits."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise MalformedEnvelope("not URL-safe base64 without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedEnvelope("not URL-safe base64 without padding") from None
    if b64u_encode(data) != text:
        raise MalformedEnvelope("non-canonical base64")
    return data
