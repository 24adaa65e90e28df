"""Reading the report envelope of ``POST /reports`` strictly into an intake ``Submission``.

Only shapes and types are checked here; whether the envelopes, recipients and category
make sense is ``casework.intake.validate``'s job, the same for both submission paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from flask_babel import gettext as _

from casework.intake import AttachmentIn, Submission, WrapIn
from store.models import ProtectedPerson, ProtectionCategory, RecipientKind, WrapPurpose
from submit.api import binary_field, field
from web.errors import PublicError

FIELDS = frozenset(
    {
        "case_id",
        "category",
        "report",
        "identity",
        "reporter_public_key",
        "reporter_signing_key",
        "lookup_token",
        "wraps",
        "attachments",
        "excluded",
        "protection",
        "pow",
    }
)
WRAP_FIELDS = frozenset({"recipient", "inspector_id", "purpose", "envelope"})
ATTACHMENT_FIELDS = frozenset({"upload", "meta"})
# Far above any real unit; stops a body of tiny list items from costing much to check.
MAX_ITEMS = 1000

E = TypeVar("E", RecipientKind, WrapPurpose, ProtectedPerson, ProtectionCategory)
T = TypeVar("T")


@dataclass(frozen=True)
class AttachmentRef:
    upload: str  # the upload token, claimed only after the rest is valid
    meta: bytes  # FILE_META envelope


@dataclass(frozen=True)
class Envelope:
    submission: Submission  # attachments hold placeholders until the uploads are claimed
    attachments: tuple[AttachmentRef, ...]

    def with_blobs(self, blobs: list[tuple[str, int]]) -> Submission:
        """The submission with each attachment's claimed blob id and stored size."""
        return replace(
            self.submission,
            attachments=[
                AttachmentIn(blob_id=blob_id, meta=ref.meta, stored_size=size)
                for ref, (blob_id, size) in zip(self.attachments, blobs, strict=True)
            ],
        )


def parse_envelope(document: dict[str, Any]) -> Envelope:
    identity = binary_field(document, "identity", optional=True)
    attachments = tuple(_items(document, "attachments", _attachment))
    submission = Submission(
        case_id=field(document, "case_id", str),
        category=field(document, "category", str),
        report=_required_binary(document, "report"),
        identity=identity,
        reporter_public_key=_required_binary(document, "reporter_public_key", 32),
        reporter_signing_key=_required_binary(document, "reporter_signing_key", 32),
        lookup_token=_required_binary(document, "lookup_token", 32),
        wraps=_items(document, "wraps", _wrap, required=True),
        attachments=[AttachmentIn(blob_id="", meta=a.meta, stored_size=0) for a in attachments],
        excluded=frozenset(_items(document, "excluded", _inspector_id)),
        protection=frozenset(_items(document, "protection", _protection)),
        submitted_with_js=True,
    )
    return Envelope(submission, attachments)


def _required_binary(document: dict[str, Any], name: str, size: int | None = None) -> bytes:
    value = binary_field(document, name, size=size)
    assert value is not None  # not optional: binary_field refused a missing value
    return value


def _items(
    document: dict[str, Any],
    name: str,
    parse: Callable[[Any], T],
    *,
    required: bool = False,
) -> list[T]:
    values = field(document, name, list, optional=not required)
    if values is None:
        return []
    if len(values) > MAX_ITEMS:
        raise _malformed(name)
    try:
        return [parse(value) for value in values]
    except (TypeError, ValueError, KeyError):
        raise _malformed(name) from None


def _wrap(value: Any) -> WrapIn:
    _object(value, WRAP_FIELDS)
    inspector = value["inspector_id"]  # present, even when null
    envelope = binary_field(value, "envelope")
    assert envelope is not None
    return WrapIn(
        recipient=_member(RecipientKind, value["recipient"]),
        inspector_id=None if inspector is None else _inspector_id(inspector),
        purpose=_member(WrapPurpose, value["purpose"]),
        envelope=envelope,
    )


def _attachment(value: Any) -> AttachmentRef:
    _object(value, ATTACHMENT_FIELDS)
    upload = value["upload"]
    meta = binary_field(value, "meta")
    if not isinstance(upload, str) or meta is None:
        raise TypeError("attachment")
    return AttachmentRef(upload, meta)


def _protection(value: Any) -> tuple[ProtectedPerson, ProtectionCategory]:
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("protection")
    return _member(ProtectedPerson, value[0]), _member(ProtectionCategory, value[1])


def _inspector_id(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("inspector id")
    return value


def _member(kind: type[E], value: Any) -> E:
    if not isinstance(value, str):
        raise TypeError(kind.__name__)
    return kind(value)  # ValueError for anything outside the enumeration


def _object(value: Any, allowed: frozenset[str]) -> None:
    if not isinstance(value, dict) or set(value) - allowed:
        raise TypeError("object")


def _malformed(name: str) -> PublicError:
    return PublicError(
        400, "malformed_field", _("Field '%(name)s' is missing or of the wrong type.", name=name)
    )
