"""The audit log: an append-only chain of entries, each hashed over the one before.

Every login, failed login, logout and session timeout of the review app is recorded here,
and so is every decryption, download, reply, grant, revoke and setting change. Directive
27 holds the head of a unit accountable for cover-ups; the log is how anyone can later
see who opened what, and ``verify`` is how anyone can see that nobody rewrote it.

Format (version 1). Entry number ``seq`` (1, 2, 3, ... with no gaps) has

    entry_hash = SHA-256(prev_hash || canonical JSON of
                 {"action", "actor", "actor_id", "at", "case_public_id", "details", "seq",
                  "target"})

where ``prev_hash`` is the previous entry's ``entry_hash`` (32 zero bytes for entry 1),
``at`` is the UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and the JSON is the protocol's
canonical form (docs/crypto.md §5: UTF-8, no white space, keys sorted, integers only).

What a check of the chain can and cannot show:

- an edit of any field of an entry breaks that entry's hash;
- an entry deleted or inserted in the middle breaks the numbering or the link to the
  previous hash at the first entry after the change;
- entries deleted from the *end* leave a shorter chain that is still valid. Only a head
  recorded earlier shows that: ``verify`` reports the head hash and the count for an
  operator to note down (on paper, in a ticket, anywhere outside this database), and
  checks that a head noted earlier is still in the chain;
- someone who can write to the database can also recompute every hash after a change;
  that too is caught only against a head noted before the change.

Two writers that read the same tail compute entries with the same ``prev_hash`` and
``seq``; both columns are UNIQUE, so the second insert fails and ``append`` retries it in
a SAVEPOINT on the new tail (PostgreSQL). SQLite serialises writers with its database
lock; there a writer whose snapshot went stale fails as a whole transaction, as every
read-then-write transaction on SQLite does.

Pure Python: no Flask. ``append`` adds to the caller's transaction; the caller commits,
so an entry exists exactly when the change it records does.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.kdf import constant_time_equal
from crypto.records import canonical_json
from store.models import AuditEntry, Inspector
from store.models.audit import HASH_SIZE
from store.types import utc_now

GENESIS = bytes(HASH_SIZE)  # the prev_hash of entry 1
# Appends racing for the same tail: every round lets at least one writer through, so this
# many writers at once all get in. A busy review app has a handful.
MAX_ATTEMPTS = 25
VERIFY_BATCH = 1000  # entries read per round trip while walking the chain

# Column widths of AuditEntry: checked here so that a database never truncates (or, on
# SQLite, silently stores over-long) text that the hash was computed over.
MAX_ACTOR = 64
MAX_ACTION = 64
MAX_CASE_PUBLIC_ID = 36
MAX_TARGET = 200


class Action(enum.StrEnum):
    """Actions of the review app's sign-in. Later features add their own members here;
    ``append`` takes any string so that a new action needs no migration."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SESSION_TIMEOUT = "session_timeout"
    # A session ended because its account was deactivated, or because its cookie carried
    # a key that does not open it (tampering).
    SESSION_INVALID = "session_invalid"


# Non-person actors. A person is always recorded as their account (id and user name).
SYSTEM = "system"
CLI = "cli"
UNKNOWN = "unknown"  # a failed login under a user name that has no account


class AuditError(RuntimeError):
    """An entry could not be appended (e.g. too many concurrent writers)."""


class BrokenReason(enum.StrEnum):
    SEQUENCE = "sequence"  # numbering jumps or repeats: entries deleted or inserted here
    LINK = "link"  # prev_hash is not the previous entry's hash: inserted or reordered
    HASH = "hash"  # the content does not match entry_hash: edited
    HEAD_MISSING = "head_missing"  # the recorded head is gone: entries removed at the end


REASON_TEXT: Mapping[BrokenReason, str] = {
    BrokenReason.SEQUENCE: "its number does not follow the previous entry's: entries were "
    "deleted or inserted before it",
    BrokenReason.LINK: "it does not point at the previous entry's hash: an entry was "
    "inserted, deleted or moved before it",
    BrokenReason.HASH: "its content does not match its hash: it was edited",
    BrokenReason.HEAD_MISSING: "the expected head is not in the chain: entries were deleted "
    "from the end, or the chain was rewritten",
}


@dataclass(frozen=True)
class BrokenLink:
    entry_id: int | None  # None when the whole chain is at fault (HEAD_MISSING)
    seq: int | None
    reason: BrokenReason

    def describe(self) -> str:
        where = "the chain" if self.entry_id is None else f"entry {self.entry_id} (#{self.seq})"
        return f"{where}: {REASON_TEXT[self.reason]}"


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain. ``count`` and ``head`` describe what was walked
    (up to, not including, the first broken entry)."""

    count: int
    head: bytes
    broken: BrokenLink | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def append(
    session: Session,
    *,
    actor: Inspector | str,
    action: str,
    case_public_id: str | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry after the current tail and flush it; the caller commits.

    ``actor`` is the account acting, or a non-person actor name (``SYSTEM``, ``CLI``,
    ``UNKNOWN``). ``details`` must be JSON without floats and must never hold a secret
    or anything a reporter wrote: the log is kept in plaintext, forever.
    """
    actor_id, actor_name = _actor(actor)
    content = {
        "action": _text(action, MAX_ACTION, "action"),
        "actor": _text(actor_name, MAX_ACTOR, "actor"),
        "actor_id": actor_id,
        "case_public_id": _optional_text(case_public_id, MAX_CASE_PUBLIC_ID, "case_public_id"),
        "details": dict(details or {}),
        "target": _optional_text(target, MAX_TARGET, "target"),
    }
    canonical_json(content)  # refuses floats and non-JSON values before anything is written
    for _ in range(MAX_ATTEMPTS):
        entry = _try_append(session, content)
        if entry is not None:
            return entry
    raise AuditError(f"the audit log is busy: {MAX_ATTEMPTS} attempts to append failed")


def entry_hash(prev_hash: bytes, content: Mapping[str, Any]) -> bytes:
    """SHA-256(prev_hash || canonical JSON of the content), as documented above."""
    return hashlib.sha256(prev_hash + canonical_json(dict(content))).digest()


def hashed_content(entry: AuditEntry) -> dict[str, Any]:
    """The fields of a stored entry that its hash covers."""
    return {
        "action": entry.action,
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "at": format_time(entry.at),
        "case_public_id": entry.case_public_id,
        "details": entry.details,
        "seq": entry.seq,
        "target": entry.target,
    }


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tail(session: Session) -> tuple[int, bytes]:
    """The newest entry's number and hash; (0, GENESIS) for an empty log."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS) if row is None else (row.seq, row.entry_hash)


def verify(session: Session, expected_head: bytes | None = None) -> VerifyResult:
    """Walk the chain in order and report the first broken link, if any. Run it in a
    session of its own: it reloads entries, discarding unsaved changes to them.

    With ``expected_head`` (a head noted down earlier), also require that entry to be
    still in the chain: a chain that lost its newest entries is valid on its own.
    """
    count, head, found = 0, GENESIS, expected_head is None or expected_head == GENESIS
    for entry in _walk(session):
        reason = _check(entry, count, head)
        if reason is not None:
            return VerifyResult(count, head, BrokenLink(entry.id, entry.seq, reason))
        count, head = entry.seq, entry.entry_hash
        if not found and constant_time_equal(head, expected_head or b""):
            found = True
    if not found:
        return VerifyResult(count, head, BrokenLink(None, None, BrokenReason.HEAD_MISSING))
    return VerifyResult(count, head)


def _check(entry: AuditEntry, previous_seq: int, previous_hash: bytes) -> BrokenReason | None:
    if entry.seq != previous_seq + 1:
        return BrokenReason.SEQUENCE
    if not constant_time_equal(entry.prev_hash, previous_hash):
        return BrokenReason.LINK
    try:
        expected = entry_hash(entry.prev_hash, hashed_content(entry))
    except ValueError:  # details no longer canonical JSON (a float edited in, say)
        return BrokenReason.HASH
    if not constant_time_equal(entry.entry_hash, expected):
        return BrokenReason.HASH
    return None


def _walk(session: Session) -> Iterator[AuditEntry]:
    """Entries in chain order, streamed. The identity map holds objects weakly, so entries
    already checked are let go; ``populate_existing`` reads what the database holds now,
    not what this session may have loaded before."""
    query = (
        select(AuditEntry)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=VERIFY_BATCH, populate_existing=True)
    )
    yield from session.scalars(query)


def _try_append(session: Session, content: Mapping[str, Any]) -> AuditEntry | None:
    """One attempt in a SAVEPOINT: None if another writer took the tail first."""
    try:
        with session.begin_nested():
            previous_seq, previous_hash = tail(session)
            entry = _build(previous_seq + 1, previous_hash, content, utc_now())
            session.add(entry)
    except IntegrityError:
        return None  # the savepoint is rolled back; the caller's transaction goes on
    return entry


def _build(seq: int, prev_hash: bytes, content: Mapping[str, Any], at: datetime) -> AuditEntry:
    full = {**content, "seq": seq, "at": format_time(at)}
    return AuditEntry(
        seq=seq,
        at=at,
        actor_id=content["actor_id"],
        actor=content["actor"],
        action=content["action"],
        case_public_id=content["case_public_id"],
        target=content["target"],
        details=content["details"],
        prev_hash=prev_hash,
        entry_hash=entry_hash(prev_hash, full),
    )


def _actor(actor: Inspector | str) -> tuple[int | None, str]:
    if isinstance(actor, Inspector):
        return actor.id, actor.username
    return None, actor


def _text(value: str, limit: int, name: str) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"audit {name} must be 1 to {limit} characters")
    return value


def _optional_text(value: str | None, limit: int, name: str) -> str | None:
    return None if value is None else _text(value, limit, name)
