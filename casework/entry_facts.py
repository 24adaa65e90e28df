"""The facts a reporter's transcript entry binds, and where the server keeps them.

A withdrawal, a retaliation report or a protection request is a transcript entry (its
words, sealed and signed) and a row the unit acts on (its kind, date, person: plaintext,
so that deadlines and urgency work before anyone decrypts). The entry's signed place
carries the same facts (docs/crypto.md §13.3); a reader rebuilds them from the rows and
compares, so a fact changed in the database shows the entry as altered.

Pure Python: no Flask.
"""

from __future__ import annotations

from datetime import date

from crypto.places import FactValue
from store.models import (
    Case,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    RetaliationKind,
)

Facts = dict[str, FactValue]


def retaliation(kind: RetaliationKind, occurred_on: date | None) -> Facts:
    facts: Facts = {"kind": kind.value}
    if occurred_on is not None:
        facts["occurred_on"] = occurred_on.isoformat()
    return facts


def protection_request(
    person: ProtectedPerson, category: ProtectionCategory, urgent: bool
) -> Facts:
    return {"person": person.value, "category": category.value, "urgent": urgent}


def retaliation_note(incident_id: int) -> Facts:
    return {"incident": incident_id}


def protection_ask(record_id: int, ask: str) -> Facts:
    return {"protection": record_id, "ask": ask}


def bound_facts(case: Case) -> dict[int, Facts]:
    """Per message id, the facts the rows that name it bind; entries without facts
    (messages, notices, withdrawals, escalations) are absent and bind none."""
    found: dict[int, Facts] = {}
    for incident in case.retaliation_incidents:
        if incident.message_id is not None:
            found[incident.message_id] = retaliation(incident.kind, incident.occurred_on)
        for note in incident.notes:
            if note.message_id is not None:
                found[note.message_id] = retaliation_note(incident.id)
    for record in case.protections:
        if record.message_id is not None:
            found[record.message_id] = _request_of(record)
    for event in case.events:
        ask = event.data.get("ask") if event.message_id is not None else None
        if event.message_id is not None and isinstance(ask, str):
            found[event.message_id] = protection_ask(int(event.data["protection_id"]), ask)
    return found


def _request_of(record: ProtectionRecord) -> Facts:
    return protection_request(record.person, record.category, record.urgent)
