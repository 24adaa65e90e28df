"""docs/crypto.md, pinned where an independent implementer found it could be read two ways.

Each test checks a sentence of the spec against the code, mostly by recomputing a value
from the spec's own description (raw Argon2id, XSalsa20-Poly1305 by hand, HPKE's
receiving side), or by trying a size exactly at a limit and one past it.
"""

from __future__ import annotations

import base64
import json
import random
import re
import stat
import struct
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import nacl.pwhash
import nacl.secret
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.poly1305 import Poly1305
from sqlalchemy.orm import Session

import crypto
from casework.access import REPORT_FIELDS
from casework.recipients import CASE_READERS, IDENTITY_READERS, unit_recipients
from casework.sealing import CRYPTO_PURPOSE
from cli.demo_cases import REPORTS, _Plan, _submit
from cli.escrow import MAX_FILE_SIZE, EscrowFileError, EscrowKey, new_escrow_key, read_escrow_file
from cli.output import json_bytes
from crypto import bound, signing
from crypto.code import _DUMMY_TOKEN
from crypto.encoding import CROCKFORD
from crypto.envelope import Kind, header
from crypto.files import FileMeta, _file_aead, _nonce
from crypto.kdf import Argon2Params
from crypto.keyring import open_with_passphrase, open_with_recovery, seal_with_passphrase
from crypto.padding import file_bucket
from store.blobs import FilesystemBlobStore
from store.blobs.interface import InvalidBlobId, check_id
from store.models import InspectorRole, RecipientKind, WrapPurpose
from submit.views.report import IDENTITY_FIELDS
from tests.hpke_reference import HPKE_SUITE, KEM_SUITE, labeled_expand, labeled_extract
from tests.worlds import World

SPEC = (Path(__file__).parents[2] / "docs" / "crypto.md").read_text(encoding="utf-8")
VECTORS = Path(__file__).parents[1] / "vectors"
FAST = Argon2Params(ops=1, memory_kib=8)
KEY = b"\x42" * 32
CASE = "case-spec-gaps"


def section(title: str) -> str:
    """The text of one numbered section of the spec, heading included."""
    start = SPEC.index(title)
    following = re.search(r"^#{2,3} \d", SPEC[start + len(title) :], re.MULTILINE)
    return SPEC[start : start + len(title) + (following.start() if following else len(SPEC))]


# --- §7.4: what the server stores, and what protects a code ---------------------------------


def test_lookup_hash_is_argon2id_of_the_32_raw_token_bytes() -> None:
    token = crypto.FollowUpCode.generate().lookup_token()
    encoded = crypto.hash_lookup_token(token, FAST)
    match = re.fullmatch(
        rb"\$argon2id\$v=19\$m=8,t=1,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})", encoded
    )
    assert match is not None  # standard base64 without padding, no terminator
    salt, digest = base64.b64decode(match[1] + b"=="), base64.b64decode(match[2] + b"=")
    assert len(salt) == 16
    assert nacl.pwhash.argon2id.kdf(32, token, salt, opslimit=1, memlimit=8 * 1024) == digest


def test_production_costs_are_the_ones_the_spec_gives() -> None:
    assert Argon2Params(ops=2, memory_kib=65536) == Argon2Params.LOOKUP_TOKEN
    assert Argon2Params(ops=3, memory_kib=256 * 1024) == Argon2Params.PASSPHRASE
    assert "`t=2`, `m=65536`" in SPEC
    assert "3 passes, 256 MiB" in SPEC


def test_lookup_verifies_every_candidate_and_the_first_match_wins() -> None:
    token = crypto.FollowUpCode.generate().lookup_token()
    other = crypto.hash_lookup_token(bytes(range(32)), FAST)
    mine = crypto.hash_lookup_token(token, FAST)
    unparsable = b"not an argon2id string"
    assert crypto.verify_lookup_token(token, [unparsable, other, mine, mine], FAST) == 2
    assert crypto.verify_lookup_token(token, [unparsable, other], FAST) is None


def test_the_dummy_is_32_zero_bytes_and_never_a_match() -> None:
    assert bytes(32) == _DUMMY_TOKEN
    assert crypto.verify_lookup_token(bytes(32), [], FAST) is None


def test_a_guessed_code_is_confirmed_by_one_hkdf_and_one_x25519() -> None:
    """What makes §7.4's offline arithmetic hold: the stored reporter public key."""
    code = crypto.FollowUpCode.generate()
    scalar = HKDF(
        hashes.SHA256(), 32, salt=b"minhbach/1/follow-up-code", info=b"reporter-key"
    ).derive(code.display().replace("-", "").encode("ascii"))
    derived = X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()
    assert derived == crypto.public_bytes(code.reporter_private_key())


def test_the_offline_guessing_arithmetic() -> None:
    year = 365.25 * 24 * 3600
    rate = 10**12
    assert round(2**89 / rate / year / 1e6) == 20  # one chosen case, millions of years
    assert round(2**90 / 10**5 / rate / year, -1) == 390
    assert round(2**90 / 10**6 / rate / year) == 39
    text = section("### 7.4")
    for claim in ("≈ 20 million years", "≈ 390 years", "≈ 39 years", "2^90 / N"):
        assert claim in text
    assert "the 90 bits, not Argon2id, are what protect a code" in text


# --- §8.1: recovery codes ------------------------------------------------------------------


def crockford_by_hand(data: bytes) -> str:
    """§7.1 for 20 bytes: 160 bits, top bits first, 5 per character, no padding."""
    number = int.from_bytes(data, "big")
    return "".join(CROCKFORD[(number >> (5 * (31 - i))) & 31] for i in range(32))


def test_recovery_code_is_the_20_bytes_in_32_characters_of_8_groups() -> None:
    recovery = crypto.RecoveryCode.generate()
    shown = recovery.display()
    assert re.fullmatch(r"(?:[0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}", shown)
    assert shown.replace("-", "") == crockford_by_hand(recovery.secret)


def test_the_vector_recovery_code_decodes_by_hand() -> None:
    shown = json.loads((VECTORS / "keyring.json").read_text(encoding="utf-8"))["recovery_code"]
    secret = crypto.RecoveryCode.parse(shown).secret
    assert crockford_by_hand(secret) == shown.replace("-", "")


CANONICAL = CROCKFORD  # the 32-character alphabet is itself a recovery code
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in CANONICAL)


@pytest.mark.parametrize(
    "spelling",
    [
        "-".join(CANONICAL[i : i + 4] for i in range(0, 32, 4)),
        CANONICAL.lower(),
        "oI23456789abcdefghjkmnpqrstuwxyz",  # O→0, I→1, U→V
        "OL23 4567 89AB CDEF GHJK MNPQ RSTV WXYZ",  # L→1, spaces
        "0123\u20134567\u201489AB.CDEF_GHJK/MNPQ\u00b7RSTV\u3000WXYZ",  # dashes, dots, spaces
        FULL_WIDTH,
    ],
)
def test_recovery_code_spellings(spelling: str) -> None:
    assert crypto.RecoveryCode.parse(spelling).secret == crypto.RecoveryCode.parse(CANONICAL).secret


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" - - ", "empty"),
        (CANONICAL[:31], "length"),
        (CANONICAL + "0", "length"),
        (CANONICAL[:20], "length"),  # a follow-up code's length is not a recovery code's
        ("*" + CANONICAL[1:], "character"),
        ("Ä" + CANONICAL[1:], "character"),
    ],
)
def test_recovery_code_refusals(text: str, reason: str) -> None:
    with pytest.raises(crypto.CodeFormatError) as caught:
        crypto.RecoveryCode.parse(text)
    assert caught.value.reason == reason


def test_recovery_codes_have_no_check_characters() -> None:
    typo = "1" + CANONICAL[1:]
    assert crypto.RecoveryCode.parse(typo).secret != crypto.RecoveryCode.parse(CANONICAL).secret


# --- §8: the SecretBox layout, opened by hand ---------------------------------------------------

MASK = 0xFFFFFFFF
SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _rotl(value: int, count: int) -> int:
    return ((value << count) & MASK) | (value >> (32 - count))


def _quarter(x: list[int], a: int, b: int, c: int, d: int) -> None:
    x[b] ^= _rotl((x[a] + x[d]) & MASK, 7)
    x[c] ^= _rotl((x[b] + x[a]) & MASK, 9)
    x[d] ^= _rotl((x[c] + x[b]) & MASK, 13)
    x[a] ^= _rotl((x[d] + x[c]) & MASK, 18)


def _salsa20_rounds(key: bytes, sixteen: bytes) -> tuple[list[int], list[int]]:
    k, n = struct.unpack("<8I", key), struct.unpack("<4I", sixteen)
    state = [SIGMA[0], *k[:4], SIGMA[1], *n, SIGMA[2], *k[4:], SIGMA[3]]
    x = list(state)
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11)):
            _quarter(x, a, b, c, d)
        for a, b, c, d in ((0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            _quarter(x, a, b, c, d)
    return state, x


def hsalsa20(key: bytes, sixteen: bytes) -> bytes:
    _state, x = _salsa20_rounds(key, sixteen)
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_block(key: bytes, nonce: bytes, counter: int) -> bytes:
    state, x = _salsa20_rounds(key, nonce + counter.to_bytes(8, "little"))
    return struct.pack("<16I", *((a + b) & MASK for a, b in zip(x, state, strict=True)))


def secretbox_open(key: bytes, nonce: bytes, boxed: bytes) -> bytes:
    """§8's SecretBox: tag (16) || c, XSalsa20 keystream, Poly1305 keyed by its first 32 bytes."""
    subkey = hsalsa20(key, nonce[:16])
    stream = salsa20_block(subkey, nonce[16:], 0) + salsa20_block(subkey, nonce[16:], 1)
    tag, ciphertext = boxed[:16], boxed[16:]
    Poly1305.verify_tag(stream[:32], ciphertext, tag)
    return bytes(a ^ b for a, b in zip(ciphertext, stream[32:], strict=False))


def test_secretbox_by_hand_matches_pynacl() -> None:
    key, nonce, message = bytes(range(32)), bytes(range(100, 124)), bytes(range(200, 232))
    sealed = nacl.secret.SecretBox(key).encrypt(message, nonce)
    assert sealed[:24] == nonce  # PyNaCl's output: nonce || tag || c
    assert secretbox_open(key, nonce, sealed[24:]) == message
    with pytest.raises(InvalidSignature):
        secretbox_open(key, nonce, sealed[24:40] + bytes(32))


def test_passphrase_copy_opens_by_hand_at_the_spec_offsets() -> None:
    vector = json.loads((VECTORS / "keyring.json").read_text(encoding="utf-8"))
    blob = bytes.fromhex(vector["by_passphrase"])
    assert len(blob) == 98
    assert blob[:2] == b"\x01\x08"
    ops, memory_kib = struct.unpack(">II", blob[2:10])
    assert (ops, memory_kib) == (vector["argon2id"]["ops"], vector["argon2id"]["memory_kib"])
    salt, nonce, boxed = blob[10:26], blob[26:50], blob[50:98]
    assert (salt.hex(), nonce.hex()) == (vector["salt"], vector["nonce"])
    password = unicodedata.normalize("NFC", vector["passphrase"]).encode("utf-8")
    k = nacl.pwhash.argon2id.kdf(32, password, salt, opslimit=ops, memlimit=memory_kib * 1024)
    assert secretbox_open(k, nonce, boxed).hex() == vector["private_key"]


def test_recovery_copy_opens_by_hand_at_the_spec_offsets() -> None:
    vector = json.loads((VECTORS / "keyring.json").read_text(encoding="utf-8"))
    blob = bytes.fromhex(vector["by_recovery"])
    assert len(blob) == 74
    assert blob[:2] == b"\x01\x09"
    nonce, boxed = blob[2:26], blob[26:74]
    assert nonce.hex() == vector["recovery_nonce"]
    secret = crypto.RecoveryCode.parse(vector["recovery_code"]).secret  # 20 raw bytes
    k = HKDF(
        hashes.SHA256(),
        32,
        salt=bytes.fromhex(vector["public_key"]),
        info=b"minhbach/1/recovery-seal",
    ).derive(secret)
    assert secretbox_open(k, nonce, boxed).hex() == vector["private_key"]


@pytest.mark.parametrize("kind", [Kind.SEALED_BY_PASSPHRASE, Kind.SEALED_BY_RECOVERY])
def test_sealed_keys_have_exact_lengths(kind: Kind) -> None:
    vector = json.loads((VECTORS / "keyring.json").read_text(encoding="utf-8"))
    name = "by_passphrase" if kind is Kind.SEALED_BY_PASSPHRASE else "by_recovery"
    blob = bytes.fromhex(vector[name])
    public = bytes.fromhex(vector["public_key"])
    recovery = crypto.RecoveryCode.parse(vector["recovery_code"])

    def open_sealed(blob: bytes) -> object:
        if kind is Kind.SEALED_BY_PASSPHRASE:
            return open_with_passphrase(blob, vector["passphrase"])
        return open_with_recovery(blob, recovery, public)

    for wrong in (blob[:-1], blob + b"\0"):
        with pytest.raises(crypto.MalformedEnvelope):
            open_sealed(wrong)


# --- §4: the receiving side of HPKE --------------------------------------------------------


def test_open_base_by_hand() -> None:
    recipient = crypto.generate_private_key()
    key = bytes(range(32))
    envelope = crypto.wrap(key, recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)
    enc, ct = envelope[2:34], envelope[34:82]
    pk_r = recipient.public_key().public_bytes_raw()  # the reader's own public key
    dh = recipient.exchange(X25519PublicKey.from_public_bytes(enc))
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    shared = labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + pk_r, 32)
    info = b"minhbach/1/wrap/case-key/" + CASE.encode()
    context = (
        b"\x00"
        + labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
        + labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    )
    secret = labeled_extract(HPKE_SUITE, shared, b"secret", b"")
    aead_key = labeled_expand(HPKE_SUITE, secret, b"key", context, 32)
    nonce = labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, 12)
    assert AESGCM(aead_key).decrypt(nonce, ct, b"") == key


def test_u16_is_two_bytes_big_endian() -> None:
    assert KEM_SUITE == b"KEM\x00\x20"
    assert HPKE_SUITE == b"HPKE\x00\x20\x00\x01\x00\x02"
    assert "`u16(n)` and `u32(n)` are 2- and 4-byte big-endian" in SPEC


def test_a_wrap_is_exactly_82_bytes() -> None:
    recipient = crypto.generate_private_key()
    envelope = crypto.wrap(KEY, recipient.public_key(), crypto.Purpose.CASE_KEY, CASE)
    assert crypto.unwrap(envelope, recipient, crypto.Purpose.CASE_KEY, CASE) == KEY
    for wrong in (envelope[:-1], envelope + b"\0"):
        with pytest.raises(crypto.MalformedEnvelope):
            crypto.unwrap(wrong, recipient, crypto.Purpose.CASE_KEY, CASE)


# --- §2, §5: short inputs and record lengths -------------------------------------------------


@pytest.mark.parametrize(
    ("blob", "error"),
    [
        (b"", crypto.MalformedEnvelope),
        (b"\x07", crypto.UnsupportedVersion),
        (b"\x01", crypto.MalformedEnvelope),
        (b"\x01\x02" + bytes(60), crypto.MalformedEnvelope),  # a REPORT opened as a NOTE
        (b"\x01\x07" + bytes(47), crypto.MalformedEnvelope),  # 49 bytes
        (b"\x01\x07" + bytes(48), crypto.DecryptionFailed),  # 50 bytes: length accepted
        (b"\x01\x07" + bytes(1071), crypto.DecryptionFailed),  # 1,073 bytes
    ],
)
def test_short_records(blob: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        crypto.open_(KEY, Kind.NOTE, CASE, blob)
    assert type(caught.value) is error


@pytest.mark.parametrize(("size", "length"), [(0, 1074), (1020, 1074), (1021, 2098)])
def test_record_bucket_edge_is_inclusive(size: int, length: int) -> None:
    sealed = crypto.seal(KEY, Kind.NOTE, CASE, b"x" * size)
    assert len(sealed) == length
    assert crypto.open_(KEY, Kind.NOTE, CASE, sealed) == b"x" * size


def test_a_record_too_short_to_be_canonical_but_authentic_is_malformed() -> None:
    """Sealed by someone with the key, 4 bytes of padded plaintext: the padding refuses it."""
    salt = bytes(32)
    okm = HKDF(hashes.SHA256(), 44, salt=salt, info=b"minhbach/1/note/" + CASE.encode()).derive(KEY)
    head = header(Kind.NOTE)
    blob = head + salt + AESGCM(okm[:32]).encrypt(okm[32:], b"\0\0\0\0", head)
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.open_(KEY, Kind.NOTE, CASE, blob)


# --- §5: JSON readers (Python's; docs/crypto.md says where the browser's differs) --------------


@pytest.mark.parametrize(
    ("text", "document"),
    [
        ('{"a":1,"a":2}', {"a": 2}),  # duplicate keys: the last wins
        ('{ "b" : 1 , "a" : 2 }', {"a": 2, "b": 1}),  # canonical form is not checked
        ('{"a":9007199254740993}', {"a": 2**53 + 1}),  # exact beyond 2^53
        ('"\\ud800"', "\ud800"),  # an escaped lone surrogate
    ],
)
def test_python_json_reader_accepts(text: str, document: Any) -> None:
    sealed = crypto.seal(KEY, Kind.NOTE, CASE, text.encode("utf-8"))
    assert crypto.open_json(KEY, Kind.NOTE, CASE, sealed) == document


@pytest.mark.parametrize(
    "raw",
    [b"1.5", b"1.0", b"1e3", b"NaN", b"-Infinity", b"\xef\xbb\xbf{}", b"\xff", b"1" * 4301],
)
def test_python_json_reader_refuses(raw: bytes) -> None:
    sealed = crypto.seal(KEY, Kind.NOTE, CASE, raw)
    with pytest.raises(crypto.MalformedEnvelope):
        crypto.open_json(KEY, Kind.NOTE, CASE, sealed)


# --- §6: streams, by length and by remainder -------------------------------------------------


def stream_of(data: bytes) -> tuple[bytes, FileMeta]:
    encryptor = crypto.FileEncryptor(KEY, CASE)
    stream = b"".join(crypto.encrypt_stream(encryptor, [data]))
    return stream, encryptor.metadata("f", "application/octet-stream")


def decrypt(stream: bytes, meta: FileMeta) -> bytes:
    return b"".join(crypto.decrypt_stream(KEY, CASE, meta, [stream]))


@pytest.fixture(scope="module")
def two_chunks() -> tuple[bytes, FileMeta]:
    """70,000 bytes: bucket 71,680, so a full chunk and a 6,144-byte last one."""
    return stream_of(bytes(range(256)) * 273 + bytes(112))


def test_stream_length_formula(two_chunks: tuple[bytes, FileMeta]) -> None:
    stream, meta = two_chunks
    bucket = file_bucket(meta.size)
    assert bucket == 71680
    assert len(stream) == 34 + bucket + 16 * -(-bucket // 65536)


@pytest.mark.parametrize(
    ("prefix", "error"),
    [
        (b"", crypto.TruncatedStream),
        (b"\x01", crypto.TruncatedStream),
        (b"\x07", crypto.TruncatedStream),  # one byte: truncated, whatever it is
        (b"\x02\x06", crypto.UnsupportedVersion),
        (b"\x01\x05", crypto.MalformedEnvelope),
        (b"\x01\x06", crypto.TruncatedStream),
        (b"\x01\x06" + bytes(31), crypto.TruncatedStream),  # 33 bytes
    ],
)
def test_streams_shorter_than_the_header(prefix: bytes, error: type[Exception]) -> None:
    meta = FileMeta("f", "t", 0, bytes(32))
    with pytest.raises(error) as caught:
        decrypt(prefix, meta)
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("cut", "error"),
    [
        (34, crypto.TruncatedStream),  # the header only: r = 0
        (34 + 15, crypto.TruncatedStream),
        (34 + 16, crypto.DecryptionFailed),  # 16 bytes of a chunk opened as an empty one
        (34 + 65552, crypto.TruncatedStream),  # cut at a chunk boundary
        (34 + 65552 + 15, crypto.TruncatedStream),
        (34 + 65552 + 16, crypto.DecryptionFailed),
        (34 + 65552 + 17, crypto.DecryptionFailed),
    ],
)
def test_cut_streams(two_chunks: tuple[bytes, FileMeta], cut: int, error: type[Exception]) -> None:
    stream, meta = two_chunks
    with pytest.raises(error) as caught:
        decrypt(stream[:cut], meta)
    assert type(caught.value) is error


def _with_empty_last_chunk(size: int) -> tuple[bytes, FileMeta, bytes]:
    """One full chunk flagged as a middle one, then an authentic empty last chunk."""
    salt = bytes(range(32))
    data = bytes(range(256)) * 256
    aead = _file_aead(KEY, CASE, salt)
    head = header(Kind.FILE_STREAM) + salt
    stream = (
        head + aead.encrypt(_nonce(0, False), data, head) + aead.encrypt(_nonce(1, True), b"", head)
    )
    return stream, FileMeta("f", "t", size, salt), data


def test_an_empty_last_chunk_is_accepted_when_the_bucket_is_already_full() -> None:
    """Writers never make it; readers accept it (docs/crypto.md §6 says so)."""
    stream, meta, data = _with_empty_last_chunk(65536)
    assert decrypt(stream, meta) == data


def test_an_empty_last_chunk_before_the_bucket_is_full_is_malformed() -> None:
    stream, meta, _data = _with_empty_last_chunk(65536 + 1)  # bucket 67,584
    with pytest.raises(crypto.MalformedEnvelope):
        decrypt(stream, meta)


# --- §10: limits, each exactly at its edge and one past it ------------------------------------


def test_context_is_1_to_64_characters() -> None:
    assert crypto.open_(KEY, Kind.NOTE, "a" * 64, crypto.seal(KEY, Kind.NOTE, "a" * 64, b"")) == b""
    for context in ("", "a" * 65, "a/b", "é"):
        with pytest.raises(ValueError, match="a context is 1 to 64 characters"):
            crypto.seal(KEY, Kind.NOTE, context, b"")


def test_file_name_is_cut_to_255_code_points() -> None:
    encryptor = crypto.FileEncryptor(KEY, CASE)
    list(crypto.encrypt_stream(encryptor, [b""]))
    assert encryptor.metadata("😀" * 255, "t").name == "😀" * 255
    assert encryptor.metadata("😀" * 256, "t").name == "😀" * 255
    long_name = {"name": "n" * 1000, "type": "t", "size": 0, "stream": "A" * 43}
    assert FileMeta.from_json(long_name).name == "n" * 1000  # readers accept any length


@pytest.mark.parametrize("size", [0, 2**53 - 1])
def test_file_size_in_range(size: int) -> None:
    document = {"name": "n", "type": "t", "size": size, "stream": "A" * 43}
    assert FileMeta.from_json(document).size == size


@pytest.mark.parametrize("size", [-1, 2**53, True, 1.0, "1"])
def test_file_size_out_of_range(size: object) -> None:
    document = {"name": "n", "type": "t", "size": size, "stream": "A" * 43}
    with pytest.raises(crypto.MalformedEnvelope):
        FileMeta.from_json(document)


def test_argon2_bounds_are_inclusive() -> None:
    assert Argon2Params.checked(1, 8) == Argon2Params(1, 8)
    assert Argon2Params.checked(64, 4 * 1024 * 1024) == Argon2Params(64, 4194304)  # not run
    for ops, memory in ((0, 8), (65, 8), (1, 7), (1, 4194305)):
        with pytest.raises(crypto.MalformedEnvelope):
            Argon2Params.checked(ops, memory)
        with pytest.raises(ValueError, match="Argon2id"):
            Argon2Params(ops, memory)  # writers keep to the same bounds


@pytest.mark.parametrize(("ops", "memory"), [(0, 8), (65, 8), (1, 7), (1, 4194305)])
def test_a_sealed_key_out_of_bounds_is_refused_before_argon2id(ops: int, memory: int) -> None:
    blob = seal_with_passphrase(crypto.generate_private_key(), "passphrase", FAST)
    tampered = blob[:2] + struct.pack(">II", ops, memory) + blob[10:]
    with pytest.raises(crypto.MalformedEnvelope):
        open_with_passphrase(tampered, "passphrase")


@pytest.mark.parametrize(("characters", "reason"), [(19, "length"), (21, "length")])
def test_follow_up_code_is_exactly_20_characters(characters: int, reason: str) -> None:
    canonical = crypto.FollowUpCode.generate().display().replace("-", "")
    with pytest.raises(crypto.CodeFormatError) as caught:
        crypto.FollowUpCode.parse((canonical + "0")[:characters])
    assert caught.value.reason == reason


def test_lookup_token_is_exactly_32_bytes() -> None:
    assert len(crypto.lookup_index(bytes(32))) == 5
    for size in (31, 33):
        with pytest.raises(ValueError, match="lookup tokens are 32 bytes"):
            crypto.lookup_index(bytes(size))


# --- §8.2: the escrow key file -----------------------------------------------------------------

ESCROW_PASSPHRASE = "cụm mật khẩu của tệp ký quỹ"


@pytest.fixture(scope="module")
def escrow() -> EscrowKey:
    return new_escrow_key("thanh-tra-tinh", ESCROW_PASSPHRASE, FAST)


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_bytes(json_bytes(document))
    return path


def test_escrow_file_fields(escrow: EscrowKey, tmp_path: Path) -> None:
    document = escrow.document()
    assert list(document) == [
        "format",
        "version",
        "unit",
        "public_key",
        "fingerprint",
        "sealed_private_key",
    ]
    assert document["format"] == "minhbach-escrow-key"
    assert document["version"] == 1
    assert type(document["version"]) is int
    assert document["unit"] == "thanh-tra-tinh"
    assert re.fullmatch(r"[0-9a-f]{64}", document["public_key"])
    assert document["fingerprint"] == crypto.fingerprint(bytes.fromhex(document["public_key"]))
    assert re.fullmatch(r"[0-9a-f]{196}", document["sealed_private_key"])
    sealed = bytes.fromhex(document["sealed_private_key"])
    assert sealed[:2] == b"\x01\x08"
    assert struct.unpack(">II", sealed[2:10]) == (1, 8)
    private = open_with_passphrase(sealed, ESCROW_PASSPHRASE)
    assert crypto.public_bytes(private).hex() == document["public_key"]
    text = json_bytes(document).decode("utf-8")
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert read_escrow_file(write(tmp_path / "e.json", document)) == escrow


def test_escrow_file_size_limit_is_inclusive(escrow: EscrowKey, tmp_path: Path) -> None:
    body = json_bytes(escrow.document())
    path = tmp_path / "e.json"
    path.write_bytes(body + b" " * (MAX_FILE_SIZE - len(body)))
    assert MAX_FILE_SIZE == 65536
    assert path.stat().st_size == 65536
    assert read_escrow_file(path) == escrow
    path.write_bytes(body + b" " * (MAX_FILE_SIZE + 1 - len(body)))
    with pytest.raises(EscrowFileError, match="too large"):
        read_escrow_file(path)


def test_escrow_file_tolerances(escrow: EscrowKey, tmp_path: Path) -> None:
    document = escrow.document()
    upper = {**document, "public_key": document["public_key"].upper(), "extra": [1]}
    assert read_escrow_file(write(tmp_path / "upper.json", upper)) == escrow
    with_bom = tmp_path / "bom.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + json_bytes(document))
    assert read_escrow_file(with_bom) == escrow


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "not a minhbach escrow key file"),
        ({"version": 2}, "unsupported escrow file version"),
        ({"unit": 7}, "has no unit"),
        ({"public_key": None}, "has no public_key"),
        ({"public_key": "zz"}, "public_key is not valid hex"),
        ({"sealed_private_key": "0"}, "sealed_private_key is not valid hex"),
        ({"public_key": "00" * 31}, "not an X25519 key"),
        ({"fingerprint": "x"}, "fingerprint does not match"),
    ],
)
def test_escrow_file_refusals(
    escrow: EscrowKey, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = write(tmp_path / "e.json", {**escrow.document(), **change})
    with pytest.raises(EscrowFileError, match=message):
        read_escrow_file(path)


@pytest.mark.parametrize("content", [b"not json", b"[]", b'"minhbach-escrow-key"'])
def test_escrow_file_that_is_not_an_object(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "e.json"
    path.write_bytes(content)
    with pytest.raises(EscrowFileError):
        read_escrow_file(path)


def test_escrow_file_opening(escrow: EscrowKey) -> None:
    assert crypto.public_bytes(escrow.open(ESCROW_PASSPHRASE)) == escrow.public_key
    with pytest.raises(crypto.WrongPassphrase):
        escrow.open(ESCROW_PASSPHRASE + "!")
    other = seal_with_passphrase(crypto.generate_private_key(), ESCROW_PASSPHRASE, FAST)
    swapped = EscrowKey(escrow.unit, escrow.public_key, other)
    with pytest.raises(crypto.KeyMismatch):
        swapped.open(ESCROW_PASSPHRASE)


# --- §3: who receives which key ----------------------------------------------------------------


def test_readers_are_active_inspectors_and_custodians() -> None:
    assert {InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN} == CASE_READERS
    assert {InspectorRole.CUSTODIAN} == IDENTITY_READERS


def test_who_receives_the_case_key_and_the_identity_key(session: Session, world: World) -> None:
    lan, minh, hoa = (world.people[name] for name in ("lan", "minh", "hoa"))
    minh.active = False  # deactivated: never a recipient
    session.commit()
    recipients = unit_recipients(session, world.unit)
    reporter = bytes(32)

    def who(purpose: WrapPurpose, excluded: set[int]) -> list[tuple[RecipientKind, int | None]]:
        return [(r.kind, r.inspector_id) for r in recipients.expected(purpose, excluded, reporter)]

    escrow_and_reporter = [(RecipientKind.ESCROW, None), (RecipientKind.REPORTER, None)]
    inspector = RecipientKind.INSPECTOR
    # The supervisor (son) and the admin never; the inspector lan and the custodian hoa do.
    assert who(WrapPurpose.CASE_KEY, set()) == [
        (inspector, lan.id),
        (inspector, hoa.id),
        *escrow_and_reporter,
    ]
    assert who(WrapPurpose.CASE_KEY, {lan.id}) == [(inspector, hoa.id), *escrow_and_reporter]
    assert who(WrapPurpose.IDENTITY_KEY, set()) == [(inspector, hoa.id), *escrow_and_reporter]
    assert who(WrapPurpose.IDENTITY_KEY, {hoa.id}) == escrow_and_reporter

    world.unit.escrow_public_key = None
    session.commit()
    without_escrow = unit_recipients(session, world.unit)
    kinds = [r.kind for r in without_escrow.expected(WrapPurpose.CASE_KEY, set(), reporter)]
    assert kinds == [inspector, inspector, RecipientKind.REPORTER]


# --- §12: database names and the blob store ------------------------------------------------------


def test_database_names_of_wrap_purposes_and_recipients() -> None:
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| `([a-z_]+)` \|", section("## 12"), re.MULTILINE))
    assert rows == {crypto_purpose.value: db.value for db, crypto_purpose in CRYPTO_PURPOSE.items()}
    assert {p.value for p in WrapPurpose} == {"case_key", "identity_key", "unit_key"}
    assert {k.value for k in RecipientKind} == {"inspector", "escrow", "reporter"}
    for kind in RecipientKind:
        assert f"`{kind.value}`" in section("## 12")


def test_blob_store_layout(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = FilesystemBlobStore(root)
    blob_id = store.new_blob_id()
    assert re.fullmatch(r"[0-9a-f]{32}", blob_id)
    before = datetime.now(UTC).date()
    with store.open_writer(blob_id) as writer:
        writer.write(b"\x01\x06 a stream")
    after = datetime.now(UTC).date()
    path = root / "blobs" / blob_id[:2] / blob_id
    assert path.read_bytes() == b"\x01\x06 a stream"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (root, root / "blobs", path.parent, root / "scratch", root / "tmp"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert list((root / "tmp").iterdir()) == []
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    assert modified.time().isoformat() == "00:00:00"
    assert modified.date() in {before, after}

    upload_id = store.new_blob_id()
    store.scratch_create(upload_id)
    scratch = root / "scratch" / upload_id
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o600
    store.scratch_append(upload_id, b"abc", 0)
    other = store.new_blob_id()
    store.scratch_commit(upload_id, other)
    assert (root / "blobs" / other[:2] / other).read_bytes() == b"abc"
    assert not scratch.exists()


@pytest.mark.parametrize("value", ["a" * 32, "0" * 128, "0123456789abcdef" * 2])
def test_blob_ids_accepted(value: str) -> None:
    assert check_id(value) == value


@pytest.mark.parametrize("value", ["a" * 31, "a" * 129, "A" * 32, "g" * 32, "../" + "a" * 32])
def test_blob_ids_refused(value: str) -> None:
    with pytest.raises(InvalidBlobId):
        check_id(value)


# --- §5: the documents, as the demo writes them too ----------------------------------------------


def test_demo_documents_have_the_real_paths_keys(session: Session, world: World) -> None:
    rng = random.Random(7)
    seen_protection = False
    for index in range(12):
        plan = _Plan(True, (), date(2026, 1, 5))
        case, keys = _submit(session, world.unit, plan, REPORTS[index % len(REPORTS)], rng, FAST)
        assert case.identity is not None
        assert case.body is not None
        signer = signing.verifying_bytes(signing.signing_key(keys.code.reporter_private_key()))
        _, identity = bound.open_bound_json(keys.identity_key, Kind.IDENTITY, case.identity, signer)
        assert identity["schema"] == 1
        assert set(identity) == {"schema", *IDENTITY_FIELDS.values()}
        assert all(isinstance(identity[key], str) for key in IDENTITY_FIELDS.values())
        _, report = bound.open_bound_json(keys.case_key, Kind.REPORT, case.body, signer)
        expected = {"schema", "language", "category", *REPORT_FIELDS}
        if case.protections:
            seen_protection = True
            expected.add("protection")
            assert set(report["protection"]) == {"people", "kinds", "details"}
            pairs = {(p.person.value, p.category.value) for p in case.protections}
            assert pairs == {
                (person, kind)
                for person in report["protection"]["people"]
                for kind in report["protection"]["kinds"]
            }
        assert set(report) == expected
        assert report["schema"] == 1
    assert seen_protection


def test_documents_are_specified() -> None:
    text = section("## 5")
    for key in ("schema", "language", "category", "protection", *IDENTITY_FIELDS.values()):
        assert f"`{key}`" in text
    assert "`" + "`, `".join(REPORT_FIELDS) + "`" in text
