"""Version-2 records (docs/crypto.md §13): places, signatures and the transcript."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import FollowUpCode
from crypto.bound import (
    open_bound,
    open_bound_json,
    read_place,
    seal_bound,
    seal_bound_json,
    verify_bound,
)
from crypto.envelope import Kind
from crypto.errors import BadSignature, DecryptionFailed, MalformedEnvelope, UnsupportedVersion
from crypto.keys import random_key
from crypto.places import Place, encode_place
from crypto.records import seal
from crypto.signing import signing_key, verifying_bytes
from crypto.transcript import Position, Stored, check_order, file_digest, genesis, next_link

CASE = "3f0c6f1e-8a4b-4c2d-9e7f-1a2b3c4d5e6f"
OTHER_CASE = "0a1b2c3d-0000-4000-8000-000000000000"
REPORTER = signing_key(FollowUpCode.generate().reporter_private_key())
STAFF = signing_key(X25519PrivateKey.generate())


def report_place(**changes: object) -> Place:
    place = Place(case=CASE, purpose="report", author="reporter", entry=0, prev=genesis(CASE).hex())
    return dataclasses.replace(place, **changes)  # type: ignore[arg-type]


def test_a_sealed_record_opens_with_its_key_and_its_authors_verifying_key() -> None:
    key = random_key()
    blob = seal_bound_json(key, Kind.REPORT, report_place(), {"what": "x"}, REPORTER)
    place, document = open_bound_json(key, Kind.REPORT, blob, verifying_bytes(REPORTER))
    assert place == report_place()
    assert document == {"what": "x"}
    assert blob[:2] == b"\x02\x02"


def test_another_authors_key_does_not_verify() -> None:
    blob = seal_bound(random_key(), Kind.REPORT, report_place(), b"x", STAFF)
    with pytest.raises(BadSignature):
        verify_bound(Kind.REPORT, blob, verifying_bytes(REPORTER))


def test_the_signature_is_checked_without_the_decryption_key() -> None:
    blob = seal_bound(random_key(), Kind.REPORT, report_place(), b"x", REPORTER)
    assert verify_bound(Kind.REPORT, blob, verifying_bytes(REPORTER)) == report_place()


@pytest.mark.parametrize("offset", [0, 1, 3, 10, 60, 200, -70, -1])
def test_every_changed_byte_is_refused(offset: int) -> None:
    key = random_key()
    blob = bytearray(seal_bound(key, Kind.REPORT, report_place(), b"x", REPORTER))
    blob[offset] ^= 0x01
    with pytest.raises((BadSignature, MalformedEnvelope, UnsupportedVersion)):
        open_bound(key, Kind.REPORT, bytes(blob), verifying_bytes(REPORTER))


def test_a_re_signed_place_change_still_fails_to_decrypt() -> None:
    """Whoever signs can change a place, but not without the record key: the place is AAD."""
    key = random_key()
    blob = seal_bound(key, Kind.MESSAGE, _message(1), b"x", STAFF)
    moved = _replace_place(blob, Kind.MESSAGE, _message(2), STAFF)
    with pytest.raises(DecryptionFailed):
        open_bound(key, Kind.MESSAGE, moved, verifying_bytes(STAFF))


def test_the_case_id_is_bound_in_the_key_derivation() -> None:
    key = random_key()
    blob = seal_bound(key, Kind.IDENTITY, Place(CASE, "identity", "reporter"), b"x", REPORTER)
    other = _replace_place(blob, Kind.IDENTITY, Place(OTHER_CASE, "identity", "reporter"), REPORTER)
    with pytest.raises(DecryptionFailed):
        open_bound(key, Kind.IDENTITY, other, verifying_bytes(REPORTER))


def test_a_version_1_record_is_not_a_version_2_one() -> None:
    with pytest.raises(UnsupportedVersion):
        read_place(Kind.REPORT, seal(random_key(), Kind.REPORT, CASE, b"x"))


@pytest.mark.parametrize(
    ("kind", "place"),
    [
        (Kind.REPORT, report_place(purpose="message")),
        (Kind.REPORT, report_place(entry=1)),
        (Kind.REPORT, report_place(prev=None)),
        (Kind.MESSAGE, Place(CASE, "message", "reporter", entry=0, prev="0" * 64)),
        (Kind.NOTE, Place(CASE, "grounds", "staff/1", entry=3, prev="0" * 64)),
        (Kind.NOTE, Place(CASE, "grounds", "staff/0")),
        (Kind.NOTE, Place(CASE, "grounds", "inspector")),
        (Kind.NOTE, Place(CASE, "grounds", "staff/1", files=("0" * 64,))),
        (Kind.MESSAGE, Place(CASE, "message", "staff/1", 1, "0" * 64, ref="case_events/1")),
        (Kind.REPORT, report_place(files=("A" * 64,))),
        (Kind.REPORT, report_place(files=("0" * 64, "0" * 64))),
        (Kind.REPORT, report_place(facts={"Category": "x"})),
        (Kind.REPORT, report_place(facts={"category": 1.5})),
        (Kind.REPORT, report_place(case="not a case id")),
    ],
)
def test_writers_refuse_an_invalid_place(kind: Kind, place: Place) -> None:
    with pytest.raises(ValueError, match="place"):
        encode_place(kind, place)


def test_a_non_canonical_place_is_malformed() -> None:
    blob = seal_bound(
        random_key(), Kind.IDENTITY, Place(CASE, "identity", "reporter"), b"", REPORTER
    )
    length = int.from_bytes(blob[2:4], "big")
    spaced = blob[4 : 4 + length].replace(b'{"author"', b'{ "author"')
    assert spaced != blob[4 : 4 + length]
    tampered = blob[:2] + len(spaced).to_bytes(2, "big") + spaced + blob[4 + length :]
    with pytest.raises(MalformedEnvelope, match="canonical"):
        read_place(Kind.IDENTITY, tampered)


def test_transcript_positions() -> None:
    key = random_key()
    entries = _chain(key, 5)
    assert check_order(CASE, entries) == [Position.IN_ORDER] * 5
    deleted = entries[:2] + entries[3:]
    assert check_order(CASE, deleted) == [Position.IN_ORDER] * 2 + [Position.OUT_OF_ORDER] + [
        Position.IN_ORDER
    ]
    swapped = [entries[0], entries[2], entries[1], *entries[3:]]
    assert Position.OUT_OF_ORDER in check_order(CASE, swapped)[1:4]
    carried = [entries[0], Stored(b"v1", None)]
    assert check_order(CASE, carried) == [Position.IN_ORDER, Position.CARRIED]


def test_file_digest_is_the_sha256_of_the_envelope() -> None:
    assert file_digest(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _message(entry: int) -> Place:
    return Place(CASE, "message", "staff/7", entry=entry, prev="ab" * 32)


def _replace_place(blob: bytes, kind: Kind, place: Place, signer: object) -> bytes:
    """What a key holder without the record key can do: splice a new place and re-sign."""
    from crypto.signing import sign

    old_length = int.from_bytes(blob[2:4], "big")
    encoded = encode_place(kind, place)
    body = blob[:2] + len(encoded).to_bytes(2, "big") + encoded + blob[4 + old_length : -64]
    return body + sign(signer, body)  # type: ignore[arg-type]


def _chain(key: bytes, count: int) -> list[Stored]:
    entries = []
    link = genesis(CASE)
    for number in range(count):
        kind = Kind.REPORT if number == 0 else Kind.MESSAGE
        purpose = "report" if number == 0 else "message"
        place = Place(CASE, purpose, "reporter", entry=number, prev=link.hex())
        envelope = seal_bound(key, kind, place, b"entry %d" % number, REPORTER)
        entries.append(Stored(envelope, place))
        link = next_link(link, envelope)
    return entries
