"""Turning a sealed submission into a case: one path for browser- and server-encrypted reports.

The server cannot read a submission, so it checks what it can: the envelopes' kinds and
sizes, that every expected recipient got exactly one wrap of each key and nobody else
did, and that the case id and code are new. Anything wrong refuses the whole submission;
nothing partial becomes a case.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import crypto
from casework import scope, workflow
from casework.errors import CaseworkError
from casework.profiles import profile_in_force
from casework.recipients import IDENTITY_READERS, UnitRecipients
from casework.records import REPORTER
from crypto.bound import MIN_SIZE, verify_bound
from crypto.envelope import VERSION_2, Kind, check_header
from crypto.places import Place
from crypto.transcript import file_digest, genesis
from crypto.wrapping import WRAP_SIZE
from store.models import (
    Attachment,
    Case,
    CaseExclusion,
    KeyWrap,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RecipientKind,
    Track,
    Unit,
    WrapPurpose,
)

MAX_RECORD_SIZE = 4 * 1024 * 1024  # a report's text; files travel as attachments
# The smallest sealed record of protocol 2 with a place of at least 2 bytes, padded to 1 KiB.
MIN_SIGNED_RECORD = MIN_SIZE + 1024
MAX_ATTACHMENTS = 100
# Exclusions that would leave a report nobody in the unit can read (``exclusion_problem``).
EXCLUDES_EVERY_READER = "excludes_every_reader"
EXCLUDES_EVERY_CUSTODIAN = "excludes_every_custodian"
_EXCLUSION_MESSAGES = {
    EXCLUDES_EVERY_READER: "Someone in the unit must be able to read the report.",
    EXCLUDES_EVERY_CUSTODIAN: "A named report must leave a custodian to hold the identity.",
}


class IntakeError(CaseworkError):
    """The submission is refused; ``code`` is stable for the API, the message is for people."""


@dataclass(frozen=True)
class WrapIn:
    recipient: RecipientKind
    inspector_id: int | None
    purpose: WrapPurpose
    envelope: bytes


@dataclass(frozen=True)
class AttachmentIn:
    blob_id: str  # already in the blob store
    meta: bytes  # FILE_META envelope
    stored_size: int

    def row(self, origin: Party, today: date) -> Attachment:
        """The case's row for this file, sent by ``origin`` on ``today``."""
        return Attachment(
            blob_id=self.blob_id,
            meta=self.meta,
            stored_size=self.stored_size,
            origin=origin,
            created_on=today,
        )


@dataclass(frozen=True)
class Submission:
    case_id: str
    category: str
    report: bytes
    identity: bytes | None
    reporter_public_key: bytes
    # Protocol 2: the reporter's Ed25519 verifying key, from the code (docs/crypto.md §13.2).
    reporter_signing_key: bytes
    lookup_token: bytes
    wraps: Sequence[WrapIn]
    attachments: Sequence[AttachmentIn] = ()
    excluded: frozenset[int] = field(default_factory=frozenset)
    # Who needs protection and of what kind: plaintext, because the unit must act on it
    # (and count it) before anyone decrypts; the details stay in the encrypted report.
    protection: frozenset[tuple[ProtectedPerson, ProtectionCategory]] = frozenset()
    submitted_with_js: bool = True

    @property
    def track(self) -> Track:
        return Track.NAMED if self.identity is not None else Track.ANONYMOUS

    @property
    def protection_requested(self) -> bool:
        return bool(self.protection)


def public_reference(case_id: str) -> str:
    """A short reference a reporter can quote in person: not secret, not a code."""
    return "MB-" + case_id[:8].upper()


def validate(submission: Submission, unit: Unit, recipients: UnitRecipients) -> None:
    """Refuse a malformed submission before anything is stored (raises IntakeError)."""
    _check_case_id(submission.case_id)
    if submission.category not in unit.categories:
        raise IntakeError("unknown_category", "Please choose one of the listed categories.")
    if len(submission.reporter_public_key) != 32 or len(submission.lookup_token) != 32:
        raise IntakeError("malformed_keys", "The reporter key or lookup token is malformed.")
    if len(submission.reporter_signing_key) != 32:
        raise IntakeError("malformed_keys", "The reporter's signing key is malformed.")
    _check_attachments(submission.attachments)  # before the report's place names them
    _check_signed_records(submission)
    readers = {person.id for person in recipients.excludable()}
    if not submission.excluded <= readers:
        raise IntakeError("unknown_exclusion", "An excluded person is not in this unit.")
    problem = exclusion_problem(
        submission.excluded, recipients, named=submission.identity is not None
    )
    if problem is not None:
        raise IntakeError(problem, _EXCLUSION_MESSAGES[problem])
    _check_wraps(submission, recipients)


def exclusion_problem(
    excluded: Collection[int], recipients: UnitRecipients, *, named: bool
) -> str | None:
    """Why these exclusions cannot stand (``EXCLUDES_EVERY_READER`` or
    ``EXCLUDES_EVERY_CUSTODIAN``), or None.

    The reporter may exclude people for a conflict of interest, but not everyone: someone
    in the unit must hold the case key, and a named report's identity key goes to
    custodians only, so one of them must be left too (a unit without custodians cannot
    be asked to, nor a unit without readers). The one rule of both paths: the no-JavaScript
    form says it next to the field, the API with the code, and ``validate`` enforces it.
    """
    readers = recipients.excludable()
    if readers and all(person.id in excluded for person in readers):
        return EXCLUDES_EVERY_READER
    custodians = [person for person in readers if person.role in IDENTITY_READERS]
    if named and custodians and all(person.id in excluded for person in custodians):
        return EXCLUDES_EVERY_CUSTODIAN
    return None


def lookup_hash(submission: Submission, code_kdf: crypto.Argon2Params) -> bytes:
    """The slow hash of the submission's lookup token, to store with the case.

    Run it before the transaction that stores the case: Argon2id takes a good part of a
    second and 64 MiB, and no lock should wait on it.
    """
    return crypto.hash_lookup_token(submission.lookup_token, code_kdf)


def accept(
    session: Session, submission: Submission, unit: Unit, lookup_hash: bytes, today: date
) -> Case:
    """Add the case and everything it carries to ``session``; the caller commits.

    ``lookup_hash`` is ``lookup_hash(submission, ...)``, computed beforehand.
    """
    scope.name_case(session, submission.case_id)
    if session.scalar(select(Case.id).where(Case.public_id == submission.case_id)) is not None:
        raise IntakeError("duplicate_case", "This report was already received.")
    case = Case(
        public_id=submission.case_id,
        unit=unit,
        track=submission.track,
        status=profile_in_force(unit.profile, today).initial_status,
        category=submission.category,
        received_on=today,
        status_changed_on=today,
        lookup_index=crypto.lookup_index(submission.lookup_token),
        lookup_hash=lookup_hash,
        reporter_public_key=submission.reporter_public_key,
        reporter_signing_key=submission.reporter_signing_key,
        protocol=2,
        body=submission.report,
        identity=submission.identity,
        submitted_with_js=submission.submitted_with_js,
        protection_requested=submission.protection_requested,
        urgent=submission.protection_requested,
        last_reporter_activity_on=today,
    )
    case.exclusions = [CaseExclusion(inspector_id=i) for i in sorted(submission.excluded)]
    case.protections = [
        ProtectionRecord(
            person=person,
            category=category,
            state=ProtectionState.REQUESTED,
            urgent=True,
            requested_by=Party.REPORTER,
            requested_on=today,
        )
        for person, category in sorted(submission.protection)
    ]
    case.attachments = [item.row(Party.REPORTER, today) for item in submission.attachments]
    workflow.refresh(case, today)
    session.add(case)
    session.flush()  # the case's id, for its wraps
    # Without RETURNING: row security shows the submit app's role the reporter's wraps
    # alone (deploy/postgres/grants.toml), and reading back another's would be refused.
    wraps = [
        {
            "case_id": case.id,
            "purpose": wrap.purpose,
            "recipient_kind": wrap.recipient,
            "inspector_id": wrap.inspector_id,
            "wrapped": wrap.envelope,
            "created_on": today,
        }
        for wrap in submission.wraps
    ]
    table = KeyWrap.metadata.tables[KeyWrap.__tablename__]
    session.execute(insert(table), wraps)  # Core's executemany: no RETURNING
    session.expire(case, ["key_wraps"])  # loaded from the database when next read
    return case


def _check_case_id(case_id: str) -> None:
    try:
        canonical = str(uuid.UUID(case_id)) == case_id
    except ValueError:
        canonical = False
    if not canonical:
        raise IntakeError("malformed_case_id", "The case id must be a lower-case UUID.")


def _check_envelope(blob: bytes, kind: Kind, what: str) -> None:
    if len(blob) > MAX_RECORD_SIZE:
        raise IntakeError("too_large", f"The {what} is too large.")
    try:
        check_header(blob, kind, MIN_SIGNED_RECORD, version=VERSION_2)
    except crypto.CryptoError:
        raise IntakeError("malformed_envelope", f"The {what} is not a valid envelope.") from None


def _check_signed_records(submission: Submission) -> None:
    """Every record is of protocol 2, where it claims to be, and signed by the reporter
    (docs/crypto.md §13.4): the server reads places and checks signatures, opening nothing."""
    case_id = submission.case_id
    metas = [item.meta for item in submission.attachments]
    digests = tuple(sorted(file_digest(meta) for meta in metas))
    report = Place(
        case_id,
        "report",
        REPORTER,
        entry=0,
        prev=genesis(case_id).hex(),
        files=digests,
        facts={"category": submission.category},
    )
    _check_signed(submission, submission.report, Kind.REPORT, report, "report")
    if submission.identity is not None:
        identity = Place(case_id, "identity", REPORTER)
        _check_signed(submission, submission.identity, Kind.IDENTITY, identity, "identity")
    for meta in metas:
        _check_signed(submission, meta, Kind.FILE_META, Place(case_id, "file", REPORTER), "file")


def _check_signed(
    submission: Submission, blob: bytes, kind: Kind, expected: Place, what: str
) -> None:
    _check_envelope(blob, kind, what)
    try:
        place = verify_bound(kind, blob, submission.reporter_signing_key)
    except crypto.CryptoError:
        raise IntakeError(
            "malformed_envelope", f"The {what} is not signed with the reporter's key."
        ) from None
    if place != expected:
        raise IntakeError("misplaced_record", f"The {what} does not say where it belongs.")


def _check_wraps(submission: Submission, recipients: UnitRecipients) -> None:
    purposes = [WrapPurpose.CASE_KEY]
    if submission.identity is not None:
        purposes.append(WrapPurpose.IDENTITY_KEY)
    expected = {
        (purpose, r.kind, r.inspector_id)
        for purpose in purposes
        for r in recipients.expected(purpose, submission.excluded, submission.reporter_public_key)
    }
    given = [(w.purpose, w.recipient, w.inspector_id) for w in submission.wraps]
    if len(given) != len(set(given)) or set(given) != expected:
        raise IntakeError(
            "recipients_changed",
            "The list of recipients has changed; please reload the page and submit again.",
        )
    for wrap in submission.wraps:
        if len(wrap.envelope) != WRAP_SIZE:
            raise IntakeError("malformed_envelope", "A key wrap is not a valid envelope.")
        _check_envelope_kind(wrap.envelope, Kind.WRAP)


def _check_envelope_kind(blob: bytes, kind: Kind) -> None:
    try:
        check_header(blob, kind)
    except crypto.CryptoError:
        raise IntakeError("malformed_envelope", "An envelope is not valid.") from None


def _check_attachments(attachments: Sequence[AttachmentIn]) -> None:
    if len(attachments) > MAX_ATTACHMENTS:
        raise IntakeError("too_many_files", f"At most {MAX_ATTACHMENTS} files per report.")
    if len({item.meta for item in attachments}) != len(attachments):
        raise IntakeError("duplicate_file", "A file description is sent twice.")
