"""Protocol version 2 in the browser (docs/crypto.md §13): tampering refused as Python
refuses it, places judged by the same rules, the transcript read the same way, and records
sealed on either side opened on the other.

The in-page halves are in tests/browser/js/negative.js (its version 2 section).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import crypto
from crypto import bound, places, signing, transcript
from crypto.envelope import Kind
from crypto.errors import MalformedEnvelope
from crypto.records import RECORD_LABELS, canonical_json
from tests.browser.conftest import JsCall

pytestmark = pytest.mark.browser

MODULE = "/tests/negative.js"
CASE = "5b1f0c1e-0000-4000-8000-000000000001"
LINK = "ab" * 32
DOCUMENT: dict[str, Any] = {
    "schema": 1,
    "text": "Tôi bị điều chuyển công tác sau khi báo cáo\nU+2028 \u2028 nul \x00 😀",
    "keys": {"b": 1, "a": [True, None], "\uff01": 2, "😀": 3},
}


def new_case_id() -> str:
    return str(uuid.uuid4())


def place_for(kind: Kind, case_id: str, author: str) -> places.Place:
    """A place of each kind as the apps write them, with every member the kind may have."""
    if kind == Kind.REPORT:
        return places.Place(
            case_id, "report", author, 0, LINK, ("cd" * 32,), {"category": "bidding"}
        )
    if kind == Kind.MESSAGE:
        facts = {"kind": "demotion", "occurred_on": "2024-05-01"}
        return places.Place(case_id, "retaliation", author, 7, LINK, ("ef" * 32,), facts)
    if kind == Kind.NOTE:
        return places.Place(case_id, "grounds", author, ref="case_events/12")
    purpose = {Kind.IDENTITY: "identity", Kind.FILE_META: "file"}[kind]
    return places.Place(case_id, purpose, author)


def test_refusals(js: JsCall) -> None:
    results = {batch: js(MODULE, batch) for batch in ["boundRecords", "transcriptTampering"]}
    assert {batch: r["failures"] for batch, r in results.items() if r["failures"]} == {}
    assert all(r["checks"] > 10 for r in results.values()), results


def test_purposes_are_pythons(js: JsCall) -> None:
    expected = {str(int(kind)): sorted(names) for kind, names in places.PURPOSES.items()}
    assert js(MODULE, "purposes") == expected


# --- places: the browser accepts exactly the places Python accepts ---------------------------


def raw(document: Any, *, sort_keys: bool = False) -> bytes:
    """A place written compactly; keys in the test's order unless sorted. Unlike
    canonical_json, it writes values a writer refuses, such as 2^53."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.encode()


def message(**changes: Any) -> bytes:
    """A valid MESSAGE place in canonical form, with members changed or (None) removed."""
    document: dict[str, Any] = place_for(Kind.MESSAGE, CASE, "staff/7").document()
    document.update(changes)
    return raw({k: v for k, v in document.items() if v is not None}, sort_keys=True)


def note(**changes: Any) -> bytes:
    document: dict[str, Any] = place_for(Kind.NOTE, CASE, "reporter").document()
    document.update(changes)
    return raw({k: v for k, v in document.items() if v is not None}, sort_keys=True)


VALID_BASE = canonical_json(place_for(Kind.MESSAGE, CASE, "staff/7").document())
PLACE_CASES: list[tuple[str, Kind, bytes]] = [
    *[
        (f"valid {kind.name}", kind, canonical_json(place_for(kind, CASE, "reporter").document()))
        for kind in RECORD_LABELS
    ],
    ("256 astral code points", Kind.MESSAGE, message(facts={"note": "😀" * 256})),
    ("257 code points", Kind.MESSAGE, message(facts={"note": "a" * 257})),
    ("fact name of 32", Kind.MESSAGE, message(facts={"a" * 32: True})),
    ("fact name of 33", Kind.MESSAGE, message(facts={"a" * 33: True})),
    ("fact values", Kind.MESSAGE, message(facts={"a": -(2**53 - 1), "b": False, "c": ""})),
    ("fact integer 2^53", Kind.MESSAGE, message(facts={"a": 2**53})),
    ("fact float", Kind.MESSAGE, VALID_BASE.replace(b'"demotion"', b"1.5")),
    ("fact 1.0", Kind.MESSAGE, VALID_BASE.replace(b'"demotion"', b"1.0")),
    ("fact null", Kind.MESSAGE, message(facts={"a": None})),
    ("fact list", Kind.MESSAGE, message(facts={"a": []})),
    ("fact object", Kind.MESSAGE, message(facts={"a": {}})),
    ("fact name upper case", Kind.MESSAGE, message(facts={"Kind": "x"})),
    ("fact name digit first", Kind.MESSAGE, message(facts={"1a": "x"})),
    ("fact name underscore first", Kind.MESSAGE, message(facts={"_a": "x"})),
    ("fact name dash", Kind.MESSAGE, message(facts={"a-b": "x"})),
    ("fact name __proto__", Kind.MESSAGE, message(facts={"__proto__": "x"})),
    ("facts empty", Kind.MESSAGE, message(facts={})),
    ("facts a list", Kind.MESSAGE, message(facts=["a"])),
    ("white space", Kind.MESSAGE, VALID_BASE.replace(b'":', b'": ')),
    ("keys out of order", Kind.MESSAGE, raw({"case": CASE, **json.loads(VALID_BASE)})),
    ("escaped letter", Kind.MESSAGE, VALID_BASE.replace(b'"staff/7"', b'"st\\u0061ff/7"')),
    ("escaped solidus", Kind.MESSAGE, VALID_BASE.replace(b'"staff/7"', b'"staff\\/7"')),
    ("duplicate member", Kind.MESSAGE, VALID_BASE.replace(b"{", b'{"author":"reporter",', 1)),
    ("trailing newline", Kind.MESSAGE, VALID_BASE + b"\n"),
    ("byte-order mark", Kind.MESSAGE, b"\xef\xbb\xbf" + VALID_BASE),
    ("invalid UTF-8", Kind.MESSAGE, VALID_BASE.replace(b"staff", b"st\xc3ff")),
    ("not JSON", Kind.MESSAGE, b"{case}"),
    ("an array", Kind.MESSAGE, b"[]"),
    ("null", Kind.MESSAGE, b"null"),
    ("a string", Kind.MESSAGE, b'"x"'),
    ("an empty object", Kind.MESSAGE, b"{}"),
    ("unknown member", Kind.MESSAGE, message(extra=1)),
    ("missing author", Kind.MESSAGE, message(author=None)),
    ("missing case", Kind.MESSAGE, message(case=None)),
    ("case with a space", Kind.MESSAGE, message(case="ca se")),
    ("case of 64", Kind.MESSAGE, message(case="a" * 64)),
    ("case of 65", Kind.MESSAGE, message(case="a" * 65)),
    ("case a number", Kind.MESSAGE, message(case=5)),
    ("report purpose on a message", Kind.MESSAGE, message(purpose="report")),
    ("message purpose on a note", Kind.NOTE, note(purpose="message")),
    ("note purpose on a message", Kind.MESSAGE, message(purpose="grounds")),
    (
        "file purpose on identity",
        Kind.IDENTITY,
        raw({"author": "reporter", "case": CASE, "purpose": "file"}),
    ),
    ("purpose upper case", Kind.MESSAGE, message(purpose="Message")),
    ("every message purpose", Kind.MESSAGE, message(purpose="protection-request")),
    ("author staff/0", Kind.MESSAGE, message(author="staff/0")),
    ("author staff/07", Kind.MESSAGE, message(author="staff/07")),
    ("author of 16 digits", Kind.MESSAGE, message(author="staff/" + "9" * 16)),
    ("author of 17 digits", Kind.MESSAGE, message(author="staff/" + "9" * 17)),
    ("author Reporter", Kind.MESSAGE, message(author="Reporter")),
    ("author staff/", Kind.MESSAGE, message(author="staff/")),
    ("author a number", Kind.MESSAGE, message(author=7)),
    ("entry 0 on a message", Kind.MESSAGE, message(entry=0)),
    (
        "entry 1 on a report",
        Kind.REPORT,
        raw(
            {
                **json.loads(canonical_json(place_for(Kind.REPORT, CASE, "reporter").document())),
                "entry": 1,
            }
        ),
    ),
    ("entry 2^53 - 1", Kind.MESSAGE, message(entry=2**53 - 1)),
    ("entry 2^53", Kind.MESSAGE, message(entry=2**53)),
    ("entry -1", Kind.MESSAGE, message(entry=-1)),
    ("entry 7.0", Kind.MESSAGE, VALID_BASE.replace(b'"entry":7', b'"entry":7.0')),
    ("entry 7e0", Kind.MESSAGE, VALID_BASE.replace(b'"entry":7', b'"entry":7e0')),
    ("entry true", Kind.MESSAGE, message(entry=True)),
    ("entry a string", Kind.MESSAGE, message(entry="7")),
    ("entry null", Kind.MESSAGE, VALID_BASE.replace(b'"entry":7', b'"entry":null')),
    ("no entry on a message", Kind.MESSAGE, message(entry=None, prev=None)),
    ("no prev", Kind.MESSAGE, message(prev=None)),
    ("prev upper case", Kind.MESSAGE, message(prev="AB" * 32)),
    ("prev of 63", Kind.MESSAGE, message(prev="a" * 63)),
    ("entry on a note", Kind.NOTE, note(entry=1, prev=LINK)),
    ("entry null on a note", Kind.NOTE, note().replace(b'"case"', b'"entry":null,"case"')),
    ("files on a note", Kind.NOTE, note(files=["cd" * 32])),
    ("files empty", Kind.MESSAGE, message(files=[])),
    ("files twice", Kind.MESSAGE, message(files=["cd" * 32, "cd" * 32])),
    ("files not hex", Kind.MESSAGE, message(files=["CD" * 32])),
    ("files a number", Kind.MESSAGE, message(files=[1])),
    ("files an object", Kind.MESSAGE, message(files={})),
    (
        "files null",
        Kind.MESSAGE,
        VALID_BASE.replace(b'"files":["' + b"ef" * 32 + b'"]', b'"files":null'),
    ),
    ("fifty files", Kind.MESSAGE, message(files=[f"{i:064x}" for i in range(50)])),
    ("ref on a message", Kind.MESSAGE, message(ref="case_events/12")),
    ("ref of 48", Kind.NOTE, note(ref="a" * 48 + "/1")),
    ("ref of 49", Kind.NOTE, note(ref="a" * 49 + "/1")),
    ("ref upper case", Kind.NOTE, note(ref="Case_events/1")),
    ("ref 01", Kind.NOTE, note(ref="case_events/01")),
    ("ref a number", Kind.NOTE, note(ref=12)),
    ("ref null", Kind.NOTE, note().replace(b'"ref":"case_events/12"', b'"ref":null')),
    ("no ref", Kind.NOTE, note(ref=None)),
    ("too long", Kind.MESSAGE, message(facts=dict.fromkeys("abcdefghijklmnop", "x" * 256))),
]
# Python's decode_place raises these TypeError/ValueError rather than MalformedEnvelope
# (an unhashable purpose; a lone surrogate it cannot re-encode); the browser refuses both
# as malformed, as the spec says.
PYTHON_STRAYS: list[tuple[str, Kind, bytes]] = [
    ("purpose a list", Kind.MESSAGE, message(purpose=[])),
    ("purpose an object", Kind.MESSAGE, message(purpose={})),
    ("fact a lone surrogate", Kind.MESSAGE, VALID_BASE.replace(b'"demotion"', b'"\\ud800"')),
]


def framed(kind: Kind, place: bytes) -> bytes:
    """A record around `place`, long enough for a reader to reach the place."""
    header = bytes((2, kind)) + len(place).to_bytes(2, "big")
    return header + place + bytes(32 + 1040 + 64)


def python_verdict(kind: Kind, place: bytes) -> str:
    try:
        decoded = bound.read_place(kind, framed(kind, place))
    except MalformedEnvelope:
        return "MalformedEnvelope"
    assert places.encode_place(kind, decoded) == place
    return "ok"


def test_places_judged_as_python_judges_them(js: JsCall) -> None:
    """decodePlace alone and readPlace on a record: each answers as Python's read_place,
    and writes back every place it accepts byte for byte."""
    cases = [[int(kind), place.hex()] for _, kind, place in PLACE_CASES]
    names = [name for name, _, _ in PLACE_CASES]
    verdicts = dict(zip(names, js(MODULE, "placeVerdicts", cases), strict=True))
    expected = {name: python_verdict(kind, place) for name, kind, place in PLACE_CASES}
    assert {name: v["record"] for name, v in verdicts.items()} == expected
    assert {name: v["direct"] for name, v in verdicts.items()} == expected
    written = {name: place.hex() for name, _, place in PLACE_CASES if expected[name] == "ok"}
    assert {name: v["written"] for name, v in verdicts.items() if v["written"]} == written
    assert 10 < len(written) < len(expected) / 2  # enough of each answer to mean something


def test_places_python_refuses_with_another_error(js: JsCall) -> None:
    cases = [[int(kind), place.hex()] for _, kind, place in PYTHON_STRAYS]
    for verdict in js(MODULE, "placeVerdicts", cases):
        assert verdict == {
            "direct": "MalformedEnvelope",
            "record": "MalformedEnvelope",
            "written": None,
        }
    for _, kind, place in PYTHON_STRAYS:
        with pytest.raises((MalformedEnvelope, TypeError, ValueError)):
            bound.read_place(kind, framed(kind, place))


# --- sealed on one side, opened on the other -----------------------------------------------


def test_bound_records_both_ways(js: JsCall) -> None:
    for kind in RECORD_LABELS:
        author = crypto.generate_private_key()
        signer = signing.signing_key(author)
        verifying = signing.verifying_bytes(signer)
        key, case_id = crypto.random_key(), new_case_id()
        place = place_for(kind, case_id, "staff/42")

        sealed = js(
            MODULE,
            "sealBound",
            key.hex(),
            int(kind),
            place.document(),
            DOCUMENT,
            author.private_bytes_raw().hex(),
        )
        assert sealed["verifyingKey"] == verifying.hex(), kind
        envelope = bytes.fromhex(sealed["envelope"])
        opened_place, document = bound.open_bound_json(key, kind, envelope, verifying)
        assert (opened_place, document) == (place, DOCUMENT), kind

        from_python = bound.seal_bound_json(key, kind, place, DOCUMENT, signer)
        opened = js(MODULE, "openBound", key.hex(), int(kind), from_python.hex(), verifying.hex())
        assert opened == {"place": place.document(), "document": DOCUMENT}, kind


def test_reporter_signing_key_from_the_code(js: JsCall) -> None:
    for _ in range(3):
        code = crypto.FollowUpCode.generate()
        expected = signing.verifying_bytes(signing.signing_key(code.reporter_private_key()))
        typed = code.display().lower().replace("-", " ")
        assert js(MODULE, "reporterVerifyingKey", typed) == expected.hex()


# --- the transcript --------------------------------------------------------------------------


def upgraded_case() -> tuple[str, list[tuple[Kind, bytes]]]:
    """A version 1 report and message carried into version 2, then signed entries (§13.7)."""
    case_id, case_key = new_case_id(), crypto.random_key()
    reporter = signing.signing_key(crypto.generate_private_key())
    staff = signing.signing_key(crypto.generate_private_key())
    entries = [
        (Kind.REPORT, crypto.seal_json(case_key, Kind.REPORT, case_id, {"what": "v1"})),
        (Kind.MESSAGE, crypto.seal_json(case_key, Kind.MESSAGE, case_id, {"text": "v1"})),
    ]
    link = transcript.genesis(case_id)
    for _, envelope in entries:
        link = transcript.next_link(link, envelope)
    for number, (purpose, author, signer) in enumerate(
        [
            ("upgrade", "staff/3", staff),
            ("message", "reporter", reporter),
            ("notice", "staff/3", staff),
        ],
        start=2,
    ):
        place = places.Place(case_id, purpose, author, entry=number, prev=link.hex())
        envelope = bound.seal_bound_json(case_key, Kind.MESSAGE, place, {"text": ""}, signer)
        entries.append((Kind.MESSAGE, envelope))
        link = transcript.next_link(link, envelope)
    return case_id, entries


def python_order(case_id: str, entries: list[tuple[Kind, bytes]]) -> list[str]:
    stored = [
        transcript.Stored(envelope, bound.read_place(kind, envelope) if envelope[0] == 2 else None)
        for kind, envelope in entries
    ]
    return [str(position) for position in transcript.check_order(case_id, stored)]


def reorderings(count: int) -> dict[str, list[int]]:
    """Ways to list `count` entries, as indices: deletions, swaps, a repeat, a cut end."""
    every = list(range(count))
    out = {
        "as stored": every,
        "reversed": every[::-1],
        "the end cut": every[:-1],
        "an entry twice": [*every[:3], 2, *every[3:]],
    }
    for i in every:
        out[f"entry {i} deleted"] = every[:i] + every[i + 1 :]
    for i in every[:-1]:
        out[f"entries {i} and {i + 1} swapped"] = [*every[:i], i + 1, i, *every[i + 2 :]]
    return out


def test_transcript_read_as_python_reads_it(js: JsCall) -> None:
    case_id, entries = upgraded_case()
    seen = set()
    for name, indices in reorderings(len(entries)).items():
        order = [entries[i] for i in indices]
        result = js(MODULE, "transcriptOrder", case_id, [[int(k), e.hex()] for k, e in order])
        assert result["positions"] == python_order(case_id, order), name
        seen.update(result["positions"])
        links, link = [], transcript.genesis(case_id)
        for _, envelope in order:
            link = transcript.next_link(link, envelope)
            links.append(link.hex())
        assert result["links"] == links, name
        assert result["genesis"] == transcript.genesis(case_id).hex()
    assert seen == {"in_order", "out_of_order", "carried"}
    assert python_order(case_id, entries) == [
        "carried",
        "carried",
        "in_order",
        "in_order",
        "in_order",
    ]


# --- feature detection -----------------------------------------------------------------------


def test_unsupported_without_ed25519(js: JsCall) -> None:
    assert js("/static/js/crypto/index.js", "supportsEncryption") is True
    assert js(MODULE, "supportedWithoutEd25519") is False
    assert js("/static/js/crypto/index.js", "supportsEncryption") is True  # the patch undone
