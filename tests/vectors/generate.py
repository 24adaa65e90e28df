"""Build the protocol's test vectors from fixed inputs: `python -m tests.vectors.generate`.

Every secret is derived from a name, so the files are reproducible. The tests rebuild them
and compare (so a format change cannot slip in unnoticed) and also open every vector
through the public API. The browser implementation proves itself against the same files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import bound, files, keyring, padding, places, records, signing, transcript
from crypto import code as codes
from crypto.envelope import Kind
from crypto.kdf import Argon2Params
from crypto.keys import fingerprint, public_bytes
from crypto.wrapping import Purpose, wrap_info
from tests.hpke_reference import single_shot_seal

HERE = Path(__file__).parent
CASE_ID = "3f0c6f1e-8a4b-4c2d-9e7f-1a2b3c4d5e6f"
# Small on purpose: vectors pin the format, not the production cost.
VECTOR_ARGON2 = Argon2Params(ops=2, memory_kib=64)


def fixed(name: str, size: int = 32) -> bytes:
    """Deterministic bytes for a vector input: SHA-256 in counter mode over its name."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"minhbach test vector {counter} {name}".encode()).digest()
        counter += 1
    return out[:size]


def fixed_private_key(name: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(fixed(name))


def pattern(size: int) -> bytes:
    """File contents for stream vectors: byte i is i mod 251 (a prime, so chunks differ)."""
    return bytes(i % 251 for i in range(size))


def wrap_vectors() -> list[dict[str, Any]]:
    out = []
    for purpose, context in [
        (Purpose.CASE_KEY, CASE_ID),
        (Purpose.IDENTITY_KEY, CASE_ID),
        (Purpose.INSPECTOR_KEY, "R09V8SD9D3R715H3KNEDWEZD1MZJ751N"),
    ]:
        recipient = fixed_private_key(f"wrap recipient {purpose}")
        ephemeral = fixed_private_key(f"wrap ephemeral {purpose}")
        key = fixed(f"wrap key {purpose}")
        info = wrap_info(purpose, context)
        sealed = single_shot_seal(recipient.public_key(), info, key, ephemeral)
        out.append(
            {
                "purpose": purpose.value,
                "context": context,
                "key": key.hex(),
                "recipient_private_key": recipient.private_bytes_raw().hex(),
                "recipient_public_key": public_bytes(recipient).hex(),
                "ephemeral_private_key": ephemeral.private_bytes_raw().hex(),
                "info": info.hex(),
                "envelope": (bytes((1, Kind.WRAP)) + sealed).hex(),
            }
        )
    return out


RECORD_TEXTS = {
    "empty": "",
    "ascii": '{"what":"kickbacks on the bridge tender"}',
    "vietnamese": '{"what":"Nhận hối lộ trong đấu thầu cầu Rạch Miễu"}',
    "bucket-edge": "x" * 1020,  # with its 4-byte length: exactly 1024
    "next-bucket": "y" * 1021,  # one more byte: 2048
}


def record_vectors() -> list[dict[str, Any]]:
    out = []
    for kind in records.RECORD_LABELS:
        for name, text in RECORD_TEXTS.items():
            key = fixed(f"record key {kind.name}")
            salt = fixed(f"record salt {kind.name} {name}")
            plaintext = text.encode("utf-8")
            out.append(
                {
                    "kind": kind.name.lower().replace("_", "-"),
                    "kind_byte": int(kind),
                    "label": records.RECORD_LABELS[kind],
                    "key": key.hex(),
                    "case_id": CASE_ID,
                    "salt": salt.hex(),
                    "plaintext": plaintext.hex(),
                    "padded_size": padding.record_bucket(len(plaintext) + 4),
                    "envelope": records.seal(key, kind, CASE_ID, plaintext, salt=salt).hex(),
                }
            )
    return out


STREAM_SIZES = [0, 1, 4096, 4097, 65535, 65536, 65537, 200_000]
FULL_HEX_LIMIT = 70_000


def stream_vectors() -> list[dict[str, Any]]:
    out = []
    case_key = fixed("stream case key")
    for size in STREAM_SIZES:
        salt = fixed(f"stream salt {size}")
        encryptor = files.FileEncryptor(case_key, CASE_ID, salt=salt)
        stream = b"".join(files.encrypt_stream(encryptor, [pattern(size)]))
        meta = encryptor.metadata("báo cáo.pdf", "application/pdf")
        meta_salt = fixed(f"stream meta salt {size}")
        entry: dict[str, Any] = {
            "case_key": case_key.hex(),
            "case_id": CASE_ID,
            "size": size,
            "plaintext": "pattern: byte i is i mod 251",
            "salt": salt.hex(),
            "padded_size": padding.file_bucket(size),
            "stream_length": len(stream),
            "stream_sha256": hashlib.sha256(stream).hexdigest(),
            "meta": meta.to_json(),
            "meta_salt": meta_salt.hex(),
            "meta_envelope": files.seal_file_meta(case_key, CASE_ID, meta, salt=meta_salt).hex(),
        }
        if len(stream) <= FULL_HEX_LIMIT:
            entry["stream"] = stream.hex()
        out.append(entry)
    return out


CODE_SEEDS = ["first", "second", "third"]


def code_vectors() -> dict[str, Any]:
    valid: list[dict[str, Any]] = []
    for seed in CODE_SEEDS:
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        body = "".join(alphabet[b % 32] for b in fixed(f"code {seed}", codes.RANDOM_CHARS))
        code = codes.FollowUpCode.parse(body + codes._check_chars(body))
        canonical = code.display().replace("-", "")
        token = code.lookup_token()
        variants = [
            code.display(),
            canonical.lower(),
            " ".join(code.display().split("-")),
            canonical.replace("0", "O").replace("1", "l"),
            f"  {code.display().lower()}\n",
        ]
        valid.append(
            {
                "canonical": canonical,
                "display": code.display(),
                "accepted_inputs": variants,
                "lookup_token": token.hex(),
                "lookup_index": codes.lookup_index(token).hex(),
                "reporter_private_key": code.reporter_private_key().private_bytes_raw().hex(),
                "reporter_public_key": public_bytes(code.reporter_private_key()).hex(),
            }
        )
    first = valid[0]["canonical"]
    swapped = first[:3] + first[4] + first[3] + first[5:]
    invalid = [
        {"input": "", "reason": "empty"},
        {"input": " - - ", "reason": "empty"},
        {"input": first[:-1], "reason": "length"},
        {"input": first + "A", "reason": "length"},
        {"input": first[:5] + "*" + first[6:], "reason": "character"},
        {"input": first[:5] + "é" + first[6:], "reason": "character"},
    ]
    if swapped != first:
        invalid.append({"input": swapped, "reason": "checksum"})
    return {"valid": valid, "invalid": invalid}


def keyring_vectors() -> dict[str, Any]:
    private_key = fixed_private_key("keyring inspector")
    recovery = keyring.RecoveryCode(fixed("keyring recovery", keyring.RECOVERY_SIZE))
    passphrase = "Mật khẩu dài của thanh tra viên"
    salt, nonce = fixed("keyring salt", 16), fixed("keyring nonce", 24)
    recovery_nonce = fixed("keyring recovery nonce", 24)
    return {
        "private_key": private_key.private_bytes_raw().hex(),
        "public_key": public_bytes(private_key).hex(),
        "fingerprint": fingerprint(public_bytes(private_key)),
        "passphrase": passphrase,
        "argon2id": {"ops": VECTOR_ARGON2.ops, "memory_kib": VECTOR_ARGON2.memory_kib},
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "by_passphrase": keyring.seal_with_passphrase(
            private_key, passphrase, VECTOR_ARGON2, salt=salt, nonce=nonce
        ).hex(),
        "recovery_code": recovery.display(),
        "recovery_nonce": recovery_nonce.hex(),
        "by_recovery": keyring.seal_with_recovery(
            private_key, recovery, nonce=recovery_nonce
        ).hex(),
    }


def padding_vectors() -> list[dict[str, int]]:
    sizes = [0, 1, 1023, 1024, 1025, 4096, 4097, 65536, 65537, 1_000_000, 1 << 30, (1 << 30) + 1]
    return [
        {
            "length": n,
            "record_bucket": padding.record_bucket(n),
            "file_bucket": padding.file_bucket(n),
        }
        for n in sizes
    ]


def signing_vectors() -> list[dict[str, Any]]:
    """The Ed25519 key of each kind of author, from the X25519 private key they hold."""
    out = []
    for name, private in _signers().items():
        key = signing.signing_key(private)
        out.append(
            {
                "author": name,
                "x25519_private_key": private.private_bytes_raw().hex(),
                "ed25519_seed": key.private_bytes_raw().hex(),
                "ed25519_public_key": signing.verifying_bytes(key).hex(),
            }
        )
    return out


def _signers() -> dict[str, X25519PrivateKey]:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    body = "".join(alphabet[b % 32] for b in fixed("code first", codes.RANDOM_CHARS))
    code = codes.FollowUpCode.parse(body + codes._check_chars(body))
    return {
        "reporter": code.reporter_private_key(),
        "staff/7": fixed_private_key("signing staff 7"),
        "escrow": fixed_private_key("signing escrow"),
    }


def bound_vectors() -> list[dict[str, Any]]:
    """A small case: file, report, identity, a staff message, a withdrawal and a grounds note,
    the transcript entries chained as §13.5 says."""
    signers = {name: signing.signing_key(key) for name, key in _signers().items()}
    case_key, identity_key = fixed("bound case key"), fixed("bound identity key")
    link = transcript.genesis(CASE_ID)
    out: list[dict[str, Any]] = []

    def add(kind: Kind, key: bytes, place: places.Place, text: str) -> bytes:
        nonlocal link
        salt = fixed(f"bound salt {len(out)}")
        plaintext = text.encode("utf-8")
        envelope = bound.seal_bound(key, kind, place, plaintext, signers[place.author], salt=salt)
        vector = {
            "kind": kind.name.lower().replace("_", "-"),
            "kind_byte": int(kind),
            "key": key.hex(),
            "salt": salt.hex(),
            "place": place.document(),
            "place_bytes": places.encode_place(kind, place).hex(),
            "plaintext": plaintext.hex(),
            "signer": place.author,
            "envelope": envelope.hex(),
        }
        if place.entry is not None:
            vector["link_before"] = link.hex()
            link = transcript.next_link(link, envelope)
            vector["link_after"] = link.hex()
        out.append(vector)
        return envelope

    def entry(number: int, purpose: str, author: str, **extra: Any) -> places.Place:
        return places.Place(CASE_ID, purpose, author, entry=number, prev=link.hex(), **extra)

    meta = '{"name":"hợp đồng.pdf","size":4,"type":"application/pdf"}'
    file_meta = add(Kind.FILE_META, case_key, places.Place(CASE_ID, "file", "reporter"), meta)
    files_ = (transcript.file_digest(file_meta),)
    report_place = entry(0, "report", "reporter", files=files_, facts={"category": "bidding"})
    add(Kind.REPORT, case_key, report_place, '{"what":"Nhận hối lộ"}')
    add(Kind.IDENTITY, identity_key, places.Place(CASE_ID, "identity", "reporter"), "{}")
    add(Kind.MESSAGE, case_key, entry(1, "message", "staff/7"), '{"text":"Cảm ơn"}')
    add(Kind.MESSAGE, case_key, entry(2, "withdrawal", "reporter"), '{"reason":""}')
    note = places.Place(CASE_ID, "grounds", "staff/7", ref="case_events/12")
    add(Kind.NOTE, fixed("bound unit key"), note, '{"text":"internal"}')
    return out


def build() -> dict[str, Any]:
    """File name -> document, for every generated vector file."""
    return {
        "wrap.json": {
            "suite": "HPKE base, X25519, HKDF-SHA256, AES-256-GCM",
            "vectors": wrap_vectors(),
        },
        "records.json": {"vectors": record_vectors()},
        "files.json": {"chunk_size": files.CHUNK_SIZE, "vectors": stream_vectors()},
        "codes.json": code_vectors(),
        "keyring.json": keyring_vectors(),
        "padding.json": {"vectors": padding_vectors()},
        "bound.json": {
            "case_id": CASE_ID,
            "genesis": transcript.genesis(CASE_ID).hex(),
            "signing_keys": signing_vectors(),
            "vectors": bound_vectors(),
        },
    }


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    for name, document in build().items():
        (HERE / name).write_text(dump(document), encoding="utf-8")
        print(f"wrote tests/vectors/{name}")


if __name__ == "__main__":
    main()
