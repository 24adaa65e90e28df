"""Where a version-2 record belongs: its case, purpose, author and position (docs/crypto.md §13.3).

A place is written inside the record in canonical JSON, authenticated as AEAD data and
covered by the author's signature. Readers compare it with where they found the record, so
a record moved, re-attributed or re-linked in the database is seen as altered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crypto.envelope import Kind
from crypto.errors import MalformedEnvelope
from crypto.records import canonical_json
from crypto.wrapping import check_context

PLACE_MIN = 2
PLACE_MAX = 8192  # room for MAX_FILES digests (67 bytes each) and the rest
MAX_FILES = 100  # a report or a message carries at most 100 files
MAX_FACT_LENGTH = 256

# Which purposes each kind may carry; a transcript purpose has an entry number and a link.
PURPOSES: dict[Kind, frozenset[str]] = {
    Kind.REPORT: frozenset({"report"}),
    Kind.IDENTITY: frozenset({"identity"}),
    Kind.FILE_META: frozenset({"file"}),
    Kind.MESSAGE: frozenset(
        {
            "message",
            "notice",
            "withdrawal",
            "partial-withdrawal",
            "escalation",
            "re-denunciation",
            "retaliation",
            "retaliation-note",
            "protection-request",
            "protection-ask",
            "upgrade",
        }
    ),
    Kind.NOTE: frozenset({"grounds", "protection", "incident", "incident-note", "note"}),
}
TRANSCRIPT_KINDS = frozenset({Kind.REPORT, Kind.MESSAGE})
LINKED_KINDS = frozenset({Kind.REPORT, Kind.MESSAGE})  # may list files

_AUTHOR = re.compile(r"reporter|escrow|staff/[1-9][0-9]{0,15}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_REF = re.compile(r"[a-z][a-z_]{0,47}/[1-9][0-9]{0,15}")
_FACT_NAME = re.compile(r"[a-z][a-z_]{0,31}")

FactValue = str | int | bool


@dataclass(frozen=True)
class Place:
    """``entry``/``prev`` only for transcript kinds, ``files`` only for linked kinds, ``ref``
    (the table and row a note is kept in) only for NOTE."""

    case: str
    purpose: str
    author: str
    entry: int | None = None
    prev: str | None = None
    files: tuple[str, ...] = ()
    facts: Mapping[str, FactValue] = field(default_factory=dict)
    ref: str | None = None

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {"case": self.case, "purpose": self.purpose, "author": self.author}
        optional = {"entry": self.entry, "prev": self.prev, "ref": self.ref}
        out.update({name: value for name, value in optional.items() if value is not None})
        if self.files:
            out["files"] = list(self.files)
        if self.facts:
            out["facts"] = dict(self.facts)
        return out


def staff_author(inspector_id: int) -> str:
    return f"staff/{inspector_id}"


def encode_place(kind: Kind, place: Place) -> bytes:
    """Check a place for ``kind`` and return its canonical bytes; argument errors are ValueError."""
    try:
        check_place(kind, place)
    except MalformedEnvelope as exc:
        raise ValueError(str(exc)) from None
    encoded = canonical_json(place.document())
    if not PLACE_MIN <= len(encoded) <= PLACE_MAX:
        raise ValueError(f"a place is {PLACE_MIN} to {PLACE_MAX} bytes")
    return encoded


def decode_place(kind: Kind, raw: bytes) -> Place:
    """Parse a stored place; anything but the canonical form of a valid place is malformed."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedEnvelope("the record's place is not JSON") from None
    place = _place_from(document)
    check_place(kind, place)
    try:
        canonical = canonical_json(place.document())
    except (ValueError, UnicodeEncodeError):  # a lone surrogate, say
        raise MalformedEnvelope("the record's place is not in canonical form") from None
    if canonical != raw:
        raise MalformedEnvelope("the record's place is not in canonical form")
    return place


def _place_from(document: Any) -> Place:
    if not isinstance(document, dict):
        raise MalformedEnvelope("the record's place is not an object")
    known = {"case", "purpose", "author", "entry", "prev", "files", "facts", "ref"}
    if not known.issuperset(document) or not {"case", "purpose", "author"} <= set(document):
        raise MalformedEnvelope("the record's place has unknown or missing fields")
    files = document.get("files", [])
    facts = document.get("facts", {})
    if not isinstance(files, list) or not isinstance(facts, dict):
        raise MalformedEnvelope("the record's files or facts have the wrong type")
    return Place(
        case=document["case"],
        purpose=document["purpose"],
        author=document["author"],
        entry=document.get("entry"),
        prev=document.get("prev"),
        files=tuple(files),
        facts=facts,
        ref=document.get("ref"),
    )


def check_place(kind: Kind, place: Place) -> None:
    """Every rule of §13.3; raises MalformedEnvelope naming the first one broken."""
    _require(isinstance(place.case, str) and _is_context(place.case), "case id")
    _require(
        isinstance(place.purpose, str) and place.purpose in PURPOSES.get(kind, ()),
        "purpose for this kind",
    )
    _require(isinstance(place.author, str) and bool(_AUTHOR.fullmatch(place.author)), "author")
    _check_position(kind, place)
    _require(kind in LINKED_KINDS or not place.files, "files only on reports and messages")
    _require(len(place.files) <= MAX_FILES, "number of files")
    _require(all(_is_digest(item) for item in place.files), "file digests")
    _require(list(place.files) == sorted(set(place.files)), "files: once each, sorted")
    _require(all(_is_fact(name, value) for name, value in place.facts.items()), "facts")
    if place.ref is not None:
        _require(kind == Kind.NOTE and _is_ref(place.ref), "ref only on notes")


def _check_position(kind: Kind, place: Place) -> None:
    if kind not in TRANSCRIPT_KINDS:
        _require(place.entry is None and place.prev is None, "no entry outside the transcript")
        return
    entry = place.entry
    _require(type(entry) is int and 0 <= entry <= 2**53 - 1, "entry number")
    _require((entry == 0) == (kind == Kind.REPORT), "entry 0 is the report and only it")
    _require(_is_digest(place.prev), "link to the previous entry")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedEnvelope(f"the record's place has an invalid {what}")


def _is_context(value: str) -> bool:
    try:
        check_context(value)
    except ValueError:
        return False
    return True


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX_DIGEST.fullmatch(value))


def _is_ref(value: object) -> bool:
    return isinstance(value, str) and bool(_REF.fullmatch(value))


def _is_fact(name: object, value: object) -> bool:
    if not isinstance(name, str) or not _FACT_NAME.fullmatch(name):
        return False
    if isinstance(value, str):
        return len(value) <= MAX_FACT_LENGTH
    return isinstance(value, bool) or (isinstance(value, int) and abs(value) <= 2**53 - 1)
