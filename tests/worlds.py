"""A unit with real key pairs for its people, for tests that encrypt and decrypt."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy.orm import Session

import crypto
from store.models import Inspector, InspectorRole, Unit
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
