"""Sealing a submission on the server, for browsers without JavaScript (docs/crypto.md §9).

The very same envelopes the browser would make, made in this request's memory. The code
and keys live only as long as the request; the caller shows the code once and forgets it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import crypto
from casework.intake import AttachmentIn, Submission, WrapIn
from casework.recipients import UnitRecipients
from store.models import ProtectedPerson, ProtectionCategory, WrapPurpose

CRYPTO_PURPOSE = {
    WrapPurpose.CASE_KEY: crypto.Purpose.CASE_KEY,
    WrapPurpose.IDENTITY_KEY: crypto.Purpose.IDENTITY_KEY,
}


@dataclass(frozen=True)
class NewCaseKeys:
    case_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    case_key: bytes = field(default_factory=crypto.random_key, repr=False)
    identity_key: bytes = field(default_factory=crypto.random_key, repr=False)
    code: crypto.FollowUpCode = field(default_factory=crypto.FollowUpCode.generate)

    @property
    def reporter_public_key(self) -> bytes:
        return crypto.public_bytes(self.code.reporter_private_key())


def wrap_for(
    recipients: UnitRecipients,
    purpose: WrapPurpose,
    key: bytes,
    case_id: str,
    excluded: Collection[int],
    reporter_public_key: bytes,
) -> list[WrapIn]:
    return [
        WrapIn(
            recipient=r.kind,
            inspector_id=r.inspector_id,
            purpose=purpose,
            envelope=crypto.wrap(
                key, crypto.load_public_key(r.public_key), CRYPTO_PURPOSE[purpose], case_id
            ),
        )
        for r in recipients.expected(purpose, excluded, reporter_public_key)
    ]


def seal_submission(
    keys: NewCaseKeys,
    recipients: UnitRecipients,
    *,
    category: str,
    report: dict[str, Any],
    identity: dict[str, Any] | None,
    attachments: Sequence[AttachmentIn] = (),
    excluded: frozenset[int] = frozenset(),
    protection: frozenset[tuple[ProtectedPerson, ProtectionCategory]] = frozenset(),
) -> Submission:
    reporter_key = keys.reporter_public_key
    wraps = wrap_for(
        recipients, WrapPurpose.CASE_KEY, keys.case_key, keys.case_id, excluded, reporter_key
    )
    sealed_identity = None
    if identity is not None:
        sealed_identity = crypto.seal_json(
            keys.identity_key, crypto.Kind.IDENTITY, keys.case_id, identity
        )
        wraps += wrap_for(
            recipients,
            WrapPurpose.IDENTITY_KEY,
            keys.identity_key,
            keys.case_id,
            excluded,
            reporter_key,
        )
    return Submission(
        case_id=keys.case_id,
        category=category,
        report=crypto.seal_json(keys.case_key, crypto.Kind.REPORT, keys.case_id, report),
        identity=sealed_identity,
        reporter_public_key=reporter_key,
        lookup_token=keys.code.lookup_token(),
        wraps=wraps,
        attachments=attachments,
        excluded=excluded,
        protection=protection,
        submitted_with_js=False,
    )


def protection_document(
    pairs: frozenset[tuple[ProtectedPerson, ProtectionCategory]], details: str
) -> dict[str, Any]:
    """The REPORT's ``protection`` object (docs/crypto.md): people and kinds in the enums'
    order, then the reporter's own words."""
    people = {person for person, _kind in pairs}
    kinds = {kind for _person, kind in pairs}
    return {
        "people": [person.value for person in ProtectedPerson if person in people],
        "kinds": [kind.value for kind in ProtectionCategory if kind in kinds],
        "details": details,
    }
