"""Blobs against the database, both ways: what ``minhbach fsck`` reports and what
``minhbach uploads collect`` removes.

Nothing here is left behind by a request that fails: intake deletes or gives back its
blobs. A process killed at the wrong moment, though, can leave a blob that no attachment
refers to (killed between writing a report's files and committing the case, or between a
retention purge's commit and its deletes), and a disk restored from an older backup than
the database can lack a blob that an attachment needs.

A blob that no attachment refers to is an *orphan* only once it is old enough that no
submission can still be on its way to committing it. Blob times are coarse (the
filesystem store keeps the day only), so the age counts from the end of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.blobs import BlobStore
from store.models import Attachment, Case

# Blob times are kept to the day: a blob dated D may have been written until D + 1 day.
TIME_GRAIN = timedelta(days=1)


@dataclass(frozen=True)
class MissingBlob:
    case_public_id: str
    attachment_id: int
    blob_id: str


@dataclass(frozen=True)
class Consistency:
    missing: list[MissingBlob]  # attachments whose ciphertext is gone: data lost
    orphans: list[str]  # blobs nothing refers to, old enough to remove
    unclaimed: int  # blobs nothing refers to yet, too young to tell from a report on its way

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.orphans


def check(session: Session, store: BlobStore, now: datetime, grace: timedelta) -> Consistency:
    """Compare the blob store with the attachments; ``grace`` is how long a submission
    may take between writing its first blob and committing (the upload lifetime)."""
    referenced = _referenced(session)
    on_disk = set(store.blob_ids())
    missing = [
        MissingBlob(public_id, attachment_id, blob_id)
        for public_id, attachment_id, blob_id in _attachments(session)
        if blob_id not in on_disk
    ]
    orphans = orphan_blobs(session, store, now, grace, referenced)
    unclaimed = len(on_disk - referenced) - len(orphans)
    return Consistency(missing, orphans, unclaimed)


def orphan_blobs(
    session: Session,
    store: BlobStore,
    now: datetime,
    grace: timedelta,
    referenced: set[str] | None = None,
) -> list[str]:
    """Blobs no attachment refers to, written before ``now - grace`` (and the time grain)."""
    old = store.blob_ids(modified_before=now - grace - TIME_GRAIN)
    known = _referenced(session) if referenced is None else referenced
    return [blob_id for blob_id in old if blob_id not in known]


def _referenced(session: Session) -> set[str]:
    return set(session.scalars(select(Attachment.blob_id)))


def _attachments(session: Session) -> list[tuple[str, int, str]]:
    rows = session.execute(
        select(Case.public_id, Attachment.id, Attachment.blob_id)
        .join(Case, Attachment.case_id == Case.id)
        .order_by(Attachment.id)
    )
    return [(public_id, attachment_id, blob_id) for public_id, attachment_id, blob_id in rows]
