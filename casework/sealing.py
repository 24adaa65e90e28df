"""Sealing a submission on the server, for browsers without JavaScript (docs/crypto.md §9,
§13: every record bound to its place and signed with the reporter's key).

The very same envelopes the browser would make, made in this request's memory. The code
and keys live only as long as the request; the caller shows the code once and forgets it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import crypto
from casework import records
from casework.access import REPORT_FIELDS
from casework.custody import IDENTITY_FIELDS
from casework.intake import AttachmentIn, Submission, WrapIn
from casework.recipients import UnitRecipients
from casework.records import Signer
from crypto.places import Place
from crypto.transcript import genesis
from store.blobs import BlobStore
from store.models import ProtectedPerson, ProtectionCategory, WrapPurpose

# Every text field of a report, both paths and both apps (docs/submission.md).
MAX_TEXT_CHARS = 20_000

CRYPTO_PURPOSE = {
    WrapPurpose.CASE_KEY: crypto.Purpose.CASE_KEY,
    WrapPurpose.IDENTITY_KEY: crypto.Purpose.IDENTITY_KEY,
    WrapPurpose.UNIT_KEY: crypto.Purpose.UNIT_KEY,
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

    @property
    def signer(self) -> Signer:
        """The reporter's signer, derived from the code in this request's memory."""
        return Signer.reporter(self.code.reporter_private_key())


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
    reporter_key, signer = keys.reporter_public_key, keys.signer
    wraps = wrap_for(
        recipients, WrapPurpose.CASE_KEY, keys.case_key, keys.case_id, excluded, reporter_key
    )
    sealed_identity = None
    if identity is not None:
        place = Place(keys.case_id, "identity", signer.author)
        sealed_identity = records.seal(
            keys.identity_key, crypto.Kind.IDENTITY, place, identity, signer
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
        report=records.seal(
            keys.case_key,
            crypto.Kind.REPORT,
            report_place(keys.case_id, category, attachments),
            report,
            signer,
        ),
        identity=sealed_identity,
        reporter_public_key=reporter_key,
        reporter_signing_key=signer.verifying_key,
        lookup_token=keys.code.lookup_token(),
        wraps=wraps,
        attachments=attachments,
        excluded=excluded,
        protection=protection,
        submitted_with_js=False,
    )


def report_document(category: str, language: str, answers: Mapping[str, str]) -> dict[str, Any]:
    """The REPORT document (docs/crypto.md) from the form's answers, by field name."""
    fields = {name: answers.get(name, "").strip() for name in REPORT_FIELDS}
    return {"schema": 1, "language": language, "category": category, **fields}


def identity_document(answers: Mapping[str, str]) -> dict[str, Any] | None:
    """The IDENTITY document from the answers to ``identity_<field>``, or None when every
    one is empty: a report without a name is anonymous."""
    fields = {key: answers.get("identity_" + key, "").strip() for key in IDENTITY_FIELDS}
    return {"schema": 1, **fields} if any(fields.values()) else None


def report_place(case_id: str, category: str, attachments: Sequence[AttachmentIn]) -> Place:
    """Where a report sits (docs/crypto.md §13.3): entry 0, its category, its files."""
    return Place(
        case=case_id,
        purpose="report",
        author=records.REPORTER,
        entry=0,
        prev=genesis(case_id).hex(),
        files=records.file_digests([item.meta for item in attachments]),
        facts={"category": category},
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


class FileSealer:
    """Encrypts files under a case key into blobs, and deletes them all unless kept."""

    def __init__(self, store: BlobStore, case_key: bytes, case_id: str, signer: Signer) -> None:
        self._store = store
        self._case_key = case_key
        self._case_id = case_id
        self._signer = signer
        self._blob_ids: list[str] = []
        self._kept = False

    def seal(self, name: str, type_: str, pieces: Iterable[bytes]) -> AttachmentIn:
        """Encrypt ``pieces`` into a new blob; if they raise, no blob is left."""
        blob_id = self._store.new_blob_id()
        self._blob_ids.append(blob_id)
        encryptor = crypto.FileEncryptor(self._case_key, self._case_id)
        stored = 0
        with self._store.open_writer(blob_id) as writer:
            for sealed in crypto.encrypt_stream(encryptor, pieces):
                stored += writer.write(sealed)
        described = encryptor.metadata(name, type_)
        meta = records.seal_file_meta(self._case_key, self._case_id, described, self._signer)
        return AttachmentIn(blob_id=blob_id, meta=meta, stored_size=stored)

    def keep(self) -> None:
        """The blobs now belong to a committed case."""
        self._kept = True

    def discard(self) -> None:
        for blob_id in self._blob_ids:
            self._store.delete(blob_id)
        self._blob_ids.clear()

    def __enter__(self) -> FileSealer:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if not self._kept:
            self.discard()
