"""Who receives which key of a new case (docs/crypto.md §3).

The case key goes to the unit's inspectors and custodians, the identity key only to
custodians; both also to the unit's offline escrow key and to the reporter. Supervisors
see progress, admins manage accounts: neither needs to read a report, so neither gets it.
The reporter may exclude named people for a conflict of interest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from store.models import Inspector, InspectorRole, RecipientKind, Unit, WrapPurpose

CASE_READERS = frozenset({InspectorRole.INSPECTOR, InspectorRole.CUSTODIAN})
IDENTITY_READERS = frozenset({InspectorRole.CUSTODIAN})
# What the public side may know of a reader (deploy/postgres/grants.toml grants no more).
PUBLIC_COLUMNS = (
    Inspector.id,
    Inspector.unit_id,
    Inspector.display_name,
    Inspector.role,
    Inspector.active,
    Inspector.public_key,
    Inspector.signing_key,
)


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    inspector_id: int | None
    public_key: bytes


@dataclass(frozen=True)
class UnitRecipients:
    """The public keys a submission needs, as the submit page hands them to the browser."""

    unit_id: int
    readers: tuple[Inspector, ...]  # active inspectors and custodians
    escrow_public_key: bytes | None

    def excludable(self) -> tuple[Inspector, ...]:
        return self.readers

    def expected(
        self, purpose: WrapPurpose, excluded: Collection[int], reporter_key: bytes
    ) -> list[Recipient]:
        """Every recipient that must get a wrap of ``purpose``, in a stable order."""
        roles = CASE_READERS if purpose is WrapPurpose.CASE_KEY else IDENTITY_READERS
        out = [
            Recipient(RecipientKind.INSPECTOR, person.id, person.public_key)
            for person in self.readers
            if person.role in roles and person.id not in excluded
        ]
        if self.escrow_public_key is not None:
            out.append(Recipient(RecipientKind.ESCROW, None, self.escrow_public_key))
        out.append(Recipient(RecipientKind.REPORTER, None, reporter_key))
        return out


def unit_recipients(session: Session, unit: Unit) -> UnitRecipients:
    readers = session.scalars(
        select(Inspector)
        .where(
            Inspector.unit_id == unit.id,
            Inspector.active.is_(True),
            Inspector.role.in_(sorted(CASE_READERS)),
        )
        .order_by(Inspector.id)
        # Public columns only: the submit app's role may not read sealed keyrings.
        .options(load_only(*PUBLIC_COLUMNS))
    ).all()
    return UnitRecipients(unit.id, tuple(readers), unit.escrow_public_key)
