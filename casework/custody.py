"""Identity custody: a custodian opens a named report's identity section, for a reason.

A named, confidential report carries the reporter's identity in a record of its own,
sealed under an identity key that is wrapped only to the unit's custodians (and the
escrow key and the reporter: ``casework.recipients``). Inspectors work the case without
it. Opening it takes a custodian's own wrap and private key, and a reason of 10 to 500
characters, which the caller records in the audit log before showing anything
(supervisors read those reasons: see the review app's ``custody`` views).

Everything decrypted here lives in the caller's memory for one request. Pure Python: no
Flask. Nothing is written: the caller audits and commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from casework import access, records
from casework.access import identity_wrap
from casework.errors import CaseworkError
from casework.recipients import IDENTITY_READERS
from crypto.envelope import Kind
from crypto.places import Place
from store.models import Case, Inspector, Track

MIN_REASON = 10
MAX_REASON = 500
# The IDENTITY document's fields (docs/submission.md §1), in the order the form asks.
IDENTITY_FIELDS = ("name", "contact", "address", "position", "notes")


class CustodyError(CaseworkError):
    """A refused opening; ``code`` is stable, the message is for logs (never secrets)."""


class NoIdentityAccess(CustodyError):
    """This person holds no usable wrap of the identity key."""

    def __init__(self) -> None:
        super().__init__("no_access", "no usable identity key wrap for this person")


@dataclass(frozen=True)
class OpenedIdentity:
    """The identity as the reporter gave it: (field, value) pairs in the form's order,
    only the fields they filled in."""

    fields: tuple[tuple[str, str], ...]

    def as_dict(self) -> Mapping[str, str]:
        return dict(self.fields)


def check_reason(reason: str) -> str:
    """The reason as it will be recorded: trimmed, 10 to 500 characters."""
    trimmed = reason.strip()
    if not trimmed:
        raise CustodyError("no_reason", "a reason is required to open an identity")
    if len(trimmed) < MIN_REASON:
        raise CustodyError("short_reason", f"a reason has at least {MIN_REASON} characters")
    if len(trimmed) > MAX_REASON:
        raise CustodyError("long_reason", f"a reason has at most {MAX_REASON} characters")
    return trimmed


def has_identity(case: Case) -> bool:
    """Whether there is an identity section to open (named track, not purged)."""
    return case.track is Track.NAMED and case.identity is not None


def may_open(case: Case, person: Inspector) -> bool:
    """Whether ``person`` could open this case's identity (without trying the key)."""
    return (
        person.active
        and person.role in IDENTITY_READERS
        and identity_wrap(case, person.id) is not None
    )


def open_identity(
    case: Case, custodian: Inspector, private_key: X25519PrivateKey, reason: str
) -> tuple[str, OpenedIdentity]:
    """The checked reason and the decrypted identity.

    Refused, before any key is touched, without a proper reason (CustodyError
    ``no_reason``/``short_reason``/``long_reason``), for an anonymous or purged case
    (``no_identity``), or for anyone but an active custodian holding a wrap
    (NoIdentityAccess). A record that does not open is ``unreadable``.
    """
    checked = check_reason(reason)
    if not has_identity(case):
        raise CustodyError("no_identity", "this case has no identity section")
    try:
        identity_key = access.open_identity_key(case, custodian, private_key)
    except access.NoAccess:
        raise NoIdentityAccess() from None
    assert case.identity is not None  # has_identity checked it
    expected = Place(case=case.public_id, purpose="identity", author=records.REPORTER)
    reading = records.open_record(identity_key, Kind.IDENTITY, case, case.identity, expected)
    if reading is None or reading.document is None:
        raise CustodyError("unreadable", "the identity record does not open as written")
    return checked, _fields_of(reading.document)


def _fields_of(document: object) -> OpenedIdentity:
    """Only the known fields, only strings, only filled in: unknown keys are ignored as
    docs/submission.md asks of every reader."""
    if not isinstance(document, dict):
        raise CustodyError("unreadable", "the identity record is not a document")
    fields = []
    for name in IDENTITY_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value.strip():
            fields.append((name, value))
    return OpenedIdentity(tuple(fields))
