"""Human-friendly encodings: Crockford base32 with tolerant input, and URL-safe base64."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from crypto.errors import CodeFormatError, MalformedEnvelope

# Crockford's alphabet: no I, L, O, U, so nothing reads as something else.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(CROCKFORD)}
_NOT_IN_ALPHABET = "The code contains a character that is not used in codes."
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
# White space as Python's str.isspace() knows it, spelled out so that every implementation
# drops exactly the same characters, then the separators people type or phones insert.
_WHITE_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_DASHES_AND_DOTS = "\\-\u2010-\u2015\u2212._/\u00b7"
_SEPARATORS = re.compile(f"[{_WHITE_SPACE}{_DASHES_AND_DOTS}]+")
# ASCII, full-width forms and the characters above. Anything else is refused *before*
# NFKC, so the outcome cannot depend on the Unicode version of an implementation.
_ACCEPTED = re.compile(f"[\x00-\x7f\uff01-\uff5e{_WHITE_SPACE}{_DASHES_AND_DOTS}]*")


def normalize_crockford(text: str) -> str:
    """Canonical upper-case Crockford string (docs/crypto.md §7.1).

    Raises CodeFormatError("character") for anything not in the alphabet once separators
    are dropped and look-alikes mapped, and CodeFormatError("empty") when nothing is left.
    """
    if not _ACCEPTED.fullmatch(text):
        raise CodeFormatError("character", _NOT_IN_ALPHABET)
    cleaned = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    canonical = cleaned.upper().translate(_LOOKALIKES)  # ASCII only by now
    if not canonical:
        raise CodeFormatError("empty", "No code was entered.")
    if any(c not in _VALUE for c in canonical):
        raise CodeFormatError("character", _NOT_IN_ALPHABET)
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
