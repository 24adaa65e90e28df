"""The database schema. Import models from here: ``from store.models import Case``.

Importing this package registers every table on ``Base.metadata``, which Alembic compares
against the migrations.
"""

from store.models.audit import AuditEntry
from store.models.base import NAMING_CONVENTION, Base
from store.models.blobs import BlobChunk, BlobObject
from store.models.cases import Case, CaseExclusion, CaseRead, KeyWrap
from store.models.content import Attachment, Message, Upload
from store.models.enums import (
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
from store.models.history import CaseEvent, EventWrap
from store.models.organisation import Inspector, Unit, normalize_username
from store.models.protection import (
    ProtectionRecord,
    RetaliationIncident,
    RetaliationNote,
)
from store.models.publications import PublishedConclusion
from store.models.sessions import FollowupSession, ReviewSession
from store.models.transfers import CaseTransfer

__all__ = [
    "NAMING_CONVENTION",
    "ActorKind",
    "Attachment",
    "AuditEntry",
    "Base",
    "BlobChunk",
    "BlobObject",
    "Case",
    "CaseEvent",
    "CaseExclusion",
    "CaseRead",
    "CaseTransfer",
    "EventWrap",
    "FollowupSession",
    "Inspector",
    "InspectorRole",
    "KeyWrap",
    "Message",
    "Party",
    "ProtectedPerson",
    "ProtectionCategory",
    "ProtectionRecord",
    "ProtectionState",
    "PublishedConclusion",
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
