"""The database schema. Import models from here: ``from minhbach.store.models import Case``.

Importing this package registers every table on ``Base.metadata``, which Alembic compares
against the migrations.
"""

from minhbach.store.models.audit import AuditEntry
from minhbach.store.models.base import NAMING_CONVENTION, Base
from minhbach.store.models.cases import Case, CaseExclusion, CaseRead, KeyWrap
from minhbach.store.models.content import Attachment, Message, Upload
from minhbach.store.models.enums import (
    ActorKind,
    InspectorRole,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionState,
    RecipientKind,
    RetaliationKind,
    Track,
    WrapPurpose,
)
from minhbach.store.models.history import CaseEvent
from minhbach.store.models.organisation import Inspector, Unit, normalize_username
from minhbach.store.models.protection import (
    ProtectionRecord,
    RetaliationIncident,
    RetaliationNote,
)
from minhbach.store.models.sessions import ReviewSession
from minhbach.store.models.transfers import CaseTransfer

__all__ = [
    "NAMING_CONVENTION",
    "ActorKind",
    "Attachment",
    "AuditEntry",
    "Base",
    "Case",
    "CaseEvent",
    "CaseExclusion",
    "CaseRead",
    "CaseTransfer",
    "Inspector",
    "InspectorRole",
    "KeyWrap",
    "Message",
    "Party",
    "ProtectedPerson",
    "ProtectionCategory",
    "ProtectionRecord",
    "ProtectionState",
    "RecipientKind",
    "RetaliationIncident",
    "RetaliationKind",
    "RetaliationNote",
    "ReviewSession",
    "Track",
    "Unit",
    "Upload",
    "WrapPurpose",
    "normalize_username",
]
