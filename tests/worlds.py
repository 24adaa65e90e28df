"""A unit with real key pairs for its people, for tests that encrypt and decrypt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from casework import access, followup, workflow
from casework.records import CaseKeys, seal_into
from casework.sealing import NewCaseKeys
from casework.transcript import NewEntry
from crypto.places import FactValue
from store.models import (
    ActorKind,
    Case,
    CaseEvent,
    Inspector,
    InspectorRole,
    Message,
    Party,
    Unit,
)
from tests.store.factories import add_inspector, add_unit

PEOPLE = [
    ("lan", InspectorRole.INSPECTOR),
    ("minh", InspectorRole.INSPECTOR),
    ("hoa", InspectorRole.CUSTODIAN),
    ("son", InspectorRole.SUPERVISOR),
    ("admin", InspectorRole.ADMIN),
]


@dataclass
class World:
    unit: Unit
    keys: dict[int, X25519PrivateKey]  # inspector id -> private key
    escrow: X25519PrivateKey
    people: dict[str, Inspector]

    def key_of(self, name: str) -> X25519PrivateKey:
        return self.keys[self.people[name].id]

    def staff_keys(self, session: Session, case: Case, name: str, today: date) -> CaseKeys:
        """What the review app holds when ``name`` writes on ``case``: case key, unit key
        (made if the case has none yet) and their signer (docs/crypto.md §13)."""
        return access.writer_keys(session, case, self.people[name], self.key_of(name), today)

    def reader_keys(self, case: Case, name: str) -> CaseKeys:
        """What ``name`` holds when only reading ``case``: nothing is made (the unit key is
        None while the case has none)."""
        return access.reader_keys(case, self.people[name], self.key_of(name))


def verified_in_person(case: Case, by: Inspector, on: date) -> Case:
    """The reporter of a named web report came to the unit in person, which ``by`` records:
    a formal denunciation from ``on`` (LTC Art. 22-23, 29(1)(a))."""
    moment = datetime(on.year, on.month, on.day, 3, tzinfo=UTC)
    workflow.verify_identity(case, "in_person", today=on, inspector=by, now=moment)
    return case


def reporter_entry(
    session: Session,
    case: Case,
    keys: NewCaseKeys,
    purpose: str,
    today: date,
    text: str = "",
    facts: Mapping[str, FactValue] | None = None,
) -> Message:
    """A reporter's transcript entry, sealed and signed as the follow-up page does it."""
    reporter = CaseKeys(case=keys.case_key, signer=keys.signer)
    entry = NewEntry(purpose, Party.REPORTER, facts=dict(facts or {}))
    document = {"schema": 1, "text": text}
    return followup.write_entry(session, case, reporter, entry, document, today)


def unit_note(
    case: Case,
    keys: CaseKeys,
    by: Inspector,
    purpose: str,
    text: str,
    today: date,
) -> CaseEvent:
    """A NOTE of the unit's, kept where the review app keeps one: the grounds of an event
    of ``by``'s, sealed into that row (bound to it, docs/crypto.md §13.3 ``ref``). The case
    is in a session, which gives the event its id."""
    event = CaseEvent(kind="note", actor_kind=ActorKind.INSPECTOR, inspector=by, occurred_on=today)
    case.events.append(event)
    seal_into(event, "grounds", access.seal_note(keys, case, purpose, text))
    return event


def build_world(session: Session, slug: str = "thanh-tra-tinh") -> World:
    """A unit with two inspectors, a custodian, a supervisor, an admin and an escrow key."""
    unit = add_unit(session, slug)
    escrow = crypto.generate_private_key()
    unit.escrow_public_key = crypto.public_bytes(escrow)
    keys: dict[int, X25519PrivateKey] = {}
    people: dict[str, Inspector] = {}
    for name, role in PEOPLE:
        person = add_inspector(session, unit, f"{name}.{slug}", role)
        private = crypto.generate_private_key()
        person.public_key = crypto.public_bytes(private)
        keys[person.id] = private
        people[name] = person
    session.commit()
    return World(unit, keys, escrow, people)
