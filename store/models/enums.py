"""Closed sets of values, stored as their string values (see ``store.types``).

Case statuses are deliberately absent: they come from a policy profile, so a new law is a
new profile and not a schema change.
"""

from __future__ import annotations

import enum


class InspectorRole(enum.StrEnum):
    INSPECTOR = "inspector"  # handles cases of the unit
    CUSTODIAN = "custodian"  # may also open a reporter's identity
    SUPERVISOR = "supervisor"  # head of unit: progress, escalations, audit
    ADMIN = "admin"  # accounts and unit settings


class Track(enum.StrEnum):
    ANONYMOUS = "anonymous"
    NAMED = "named"  # identity given and kept confidential: the formal, statutory track


class WrapPurpose(enum.StrEnum):
    CASE_KEY = "case_key"
    IDENTITY_KEY = "identity_key"
    UNIT_KEY = "unit_key"  # protocol 2: what only the unit reads (docs/crypto.md §13.1)


class RecipientKind(enum.StrEnum):
    INSPECTOR = "inspector"
    REPORTER = "reporter"
    ESCROW = "escrow"  # the unit's offline escrow key


class Party(enum.StrEnum):
    """Which side of a case did something: wrote a message, added a file, reported."""

    REPORTER = "reporter"
    INSPECTOR = "inspector"


class ActorKind(enum.StrEnum):
    INSPECTOR = "inspector"
    REPORTER = "reporter"
    SYSTEM = "system"


class ProtectedPerson(enum.StrEnum):
    REPORTER = "reporter"
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"


class ProtectionCategory(enum.StrEnum):
    INFORMATION = "information"  # confidentiality of identity and information
    JOB = "job"  # job and work position
    LIFE_HEALTH = "life_health"
    PROPERTY = "property"
    HONOUR = "honour"  # honour and dignity


class ProtectionState(enum.StrEnum):
    REQUESTED = "requested"
    UNDER_REVIEW = "under_review"
    REJECTED = "rejected"
    ACTIVE = "active"
    MODIFIED = "modified"
    ENDED = "ended"


class RetaliationKind(enum.StrEnum):
    DISMISSAL = "dismissal"
    SUSPENSION = "suspension"
    DEMOTION = "demotion"
    TRANSFER = "transfer"
    PAY_CUT = "pay_cut"
    NEGATIVE_APPRAISAL = "negative_appraisal"
    DISCIPLINARY_ACTION = "disciplinary_action"
    INTIMIDATION = "intimidation"
    HARASSMENT = "harassment"
    DISCRIMINATION = "discrimination"
    BLACKLISTING = "blacklisting"
    PROPERTY_DAMAGE = "property_damage"
    REPUTATION_DAMAGE = "reputation_damage"
    THREAT_TO_LIFE_OR_HEALTH = "threat_to_life_or_health"
    OTHER = "other"
