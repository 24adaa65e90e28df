"""Python and the browser open each other's envelopes, streams and codes.

Everything here uses fresh random keys, salts and ephemeral keys on both sides, so it
checks what the fixed vectors cannot: that neither side depends on a vector's inputs.
"""

from __future__ import annotations

import io
import json
import os
import unicodedata
import uuid
from typing import Any

import pytest

import crypto
from crypto.encoding import CROCKFORD, normalize_crockford
from crypto.files import CHUNK_SIZE, CIPHER_CHUNK_SIZE
from crypto.records import RECORD_LABELS
from tests.browser.conftest import JsCall

pytestmark = pytest.mark.browser

MODULE = "/tests/interop.js"

# Strings where JSON writers could differ: escapes, U+2028/2029, controls, astral keys
# that UTF-16 order would sort before U+FF01, integers at the edge of exact doubles.
TRICKY_DOCUMENT: dict[str, Any] = {
    "what": "Nhận hối lộ trong đấu thầu cầu Rạch Miễu",
    "tricky": 'quote " backslash \\ slash / newline \n tab \t cr \r '
    "U+2028 \u2028 U+2029 \u2029 nul \x00 unit separator \x1f del \x7f bom \ufeff",
    "keys": {"b": 1, "a": [1, 2, {"z": None, "y": True}], "é": False, "\uff01": 1, "😀": 2, "": 3},
    "numbers": [0, -5, 2**53 - 1, -(2**53 - 1)],
    "nested": [[], {}, [[]], ""],
}


def python_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def new_case_id() -> str:
    return str(uuid.uuid4())


def test_wraps_and_fingerprints_both_ways(js: JsCall) -> None:
    for purpose in crypto.Purpose:
        recipient = crypto.generate_private_key()
        key, context = crypto.random_key(), new_case_id()
        if purpose is crypto.Purpose.INSPECTOR_KEY:
            context = crypto.fingerprint(crypto.public_bytes(recipient)).replace("-", "")
        private, public = recipient.private_bytes_raw().hex(), crypto.public_bytes(recipient).hex()

        from_python = crypto.wrap(key, recipient.public_key(), purpose, context)
        unwrapped = js(MODULE, "unwrap", from_python.hex(), private, purpose.value, context)
        assert unwrapped == key.hex(), purpose

        from_browser = js(MODULE, "wrap", key.hex(), public, purpose.value, context)
        assert crypto.unwrap(bytes.fromhex(from_browser), recipient, purpose, context) == key

    # The follow-up path: the server wraps to the code's key, the browser opens it.
    code = crypto.FollowUpCode.generate()
    case_id, case_key = new_case_id(), crypto.random_key()
    reporter_public = code.reporter_private_key().public_key()
    envelope = crypto.wrap(case_key, reporter_public, crypto.Purpose.CASE_KEY, case_id)
    typed = code.display().lower().replace("-", " ")
    assert js(MODULE, "unwrapForReporter", typed, envelope.hex(), case_id) == case_key.hex()
    keys = [crypto.public_bytes(crypto.generate_private_key()) for _ in range(5)]
    fingerprints = [crypto.fingerprint(k) for k in keys]
    assert js(MODULE, "fingerprints", [k.hex() for k in keys]) == fingerprints


def test_records_both_ways(js: JsCall) -> None:
    assert js(MODULE, "canonicalJson", TRICKY_DOCUMENT) == python_json(TRICKY_DOCUMENT)
    for kind in RECORD_LABELS:
        key, case_id = crypto.random_key(), new_case_id()
        from_python = crypto.seal_json(key, kind, case_id, TRICKY_DOCUMENT)
        opened = js(MODULE, "openJson", key.hex(), int(kind), case_id, from_python.hex())
        assert opened == TRICKY_DOCUMENT, kind
        sealed = js(MODULE, "sealJson", key.hex(), int(kind), case_id, TRICKY_DOCUMENT)
        from_browser = crypto.open_(key, kind, case_id, bytes.fromhex(sealed))
        assert from_browser == python_json(TRICKY_DOCUMENT).encode(), kind


# Empty; exactly two chunks (the padded size is a chunk multiple); a few hundred KiB.
FILE_SIZES = [0, 2 * CHUNK_SIZE, 300_000]


def test_files_both_ways(js: JsCall) -> None:
    for size in FILE_SIZES:
        data, case_key, case_id = os.urandom(size), crypto.random_key(), new_case_id()

        encryptor = crypto.FileEncryptor(case_key, case_id)
        stream = b"".join(crypto.encrypt_stream(encryptor, [data[:1000], data[1000:]]))
        meta = encryptor.metadata("Biên bản họp.pdf", "application/pdf")
        meta_envelope = crypto.seal_file_meta(case_key, case_id, meta).hex()
        pieces = [4096, CIPHER_CHUNK_SIZE, 100_000]
        result = js(
            MODULE, "decryptFile", case_key.hex(), case_id, meta_envelope, stream.hex(), pieces
        )
        assert result["data"] == data.hex(), size
        assert result["meta"] == meta.to_json()

        name = "Ảnh chụp 🙂.jpg"
        result = js(MODULE, "encryptFile", case_key.hex(), case_id, data.hex(), name, "image/jpeg")
        stream = bytes.fromhex(result["stream"])
        assert len(stream) == result["predictedLength"]
        assert max(result["pieceSizes"]) <= CIPHER_CHUNK_SIZE
        meta = crypto.open_file_meta(case_key, case_id, bytes.fromhex(result["metaEnvelope"]))
        assert (meta.name, meta.type, meta.size) == (name, "image/jpeg", size)
        pieces_in = crypto.read_pieces(io.BytesIO(stream), 12_345)
        assert b"".join(crypto.decrypt_stream(case_key, case_id, meta, pieces_in)) == data


def test_codes_both_ways(js: JsCall) -> None:
    for generated in js(MODULE, "generateCodes", 5):
        code = crypto.FollowUpCode.parse(generated["display"].lower())
        token = code.lookup_token()
        assert code.display() == generated["display"]
        assert token.hex() == generated["lookupToken"]
        assert crypto.lookup_index(token).hex() == generated["lookupIndex"]
        public = crypto.public_bytes(code.reporter_private_key())
        assert public.hex() == generated["reporterPublicKey"]

    for _ in range(5):
        code = crypto.FollowUpCode.generate()
        typed = " ".join(code.display().split("-")).replace("0", "o").replace("1", "l")
        token = code.lookup_token()
        assert js(MODULE, "parseCode", f"  {typed}\n") == {
            "display": code.display(),
            "lookupToken": token.hex(),
            "lookupIndex": crypto.lookup_index(token).hex(),
            "reporterPublicKey": crypto.public_bytes(code.reporter_private_key()).hex(),
        }

    display = crypto.FollowUpCode.generate().display()
    fullwidth = display.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for text in [
        "",
        "\u3000-\u2013",
        display[:-1],
        display + "7",
        display.replace("-", "*"),
        fullwidth,
    ]:
        try:
            expected: dict[str, Any] = {"display": crypto.FollowUpCode.parse(text).display()}
        except crypto.CodeFormatError as error:
            expected = {"error": "CodeFormatError", "reason": error.reason, "message": str(error)}
        parsed = js(MODULE, "parseCode", text)
        assert {k: parsed[k] for k in expected} == expected


def test_generated_codes_are_uniform(js: JsCall) -> None:
    counts: dict[str, int] = js(MODULE, "codeStatistics", 2000)
    assert set(counts) == set(CROCKFORD)
    total = sum(counts.values())
    expected = total / len(CROCKFORD)
    chi_square = sum((n - expected) ** 2 / expected for n in counts.values())
    # 31 degrees of freedom: P(chi² > 80) is about 3e-6, so this flakes essentially never
    # yet catches a bias as small as a few percent on one character.
    assert chi_square < 80, counts


def python_normalization(cp: int) -> str:
    try:
        return normalize_crockford(chr(cp))
    except crypto.CodeFormatError as error:
        return f"!{error.reason}"


def assigned_ranges() -> list[tuple[int, int]]:
    """Inclusive ranges of the code points Python's Unicode database assigns.

    Both parsers follow their own Unicode database (Python 3.11: Unicode 14; Chromium:
    its ICU's, newer), so characters added since may normalise in the browser and be
    refused in Python: only code points both know are compared. Private use characters
    (Co) have no decomposition in any version and are left out to keep this fast.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)) in {"Cn", "Co", "Cs"}:
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def test_normalization_matches_python_for_every_code_point(js: JsCall) -> None:
    ranges = assigned_ranges()
    browser: dict[str, str] = js(MODULE, "normalizeCodePoints", ranges)
    differences = {}
    for first, last in ranges:
        for cp in range(first, last + 1):
            ours, theirs = browser.get(f"{cp:x}", "!character"), python_normalization(cp)
            if ours != theirs:
                differences[f"U+{cp:04X}"] = (ours, theirs)
    assert differences == {}
    assert len(browser) > 100  # the digits, letters, full-width forms, separators…
