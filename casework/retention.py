"""Retention: purging closed cases once their unit's period has run.

A case enters its profile's final status (``closed``) and ``Case.closed_on`` is set
(casework.workflow). After the unit's retention period (``Unit.retention_days``, or the
profile's ``retention_days`` when the unit sets none) its contents go for good:

- deleted: key wraps, conflict-of-interest exclusions, messages, attachments (rows, then
  their blobs), notes on retaliation incidents, read markers;
- wiped: the report body, the identity section, the follow-up lookup (hash emptied, index
  zeroed, reporter key zeroed: no code can ever find the case again), the grounds of every
  event, the details of protection records and incidents, the stored deadlines, and the
  date the reporter last came back;
- kept, because the unit's figures and accountability need them: the case row (unit,
  track, status, category, dates, flags, ``purged_on``), protection records and incidents
  without their details, events without their grounds, transfers, and the audit log,
  which gains one ``case_purge`` entry per case and is never edited.

``due_for_purge`` lists what is due (a dry run shows it and stops there); ``purge``
purges it. Unlike the rest of casework, ``purge`` owns its transactions (call it with
nothing else pending in the session): it commits every ``BATCH_SIZE`` cases, so a first
purge of years of cases never holds one huge transaction, and it deletes a batch's blobs
only after that batch's commit, so a failed commit never leaves rows pointing at deleted
files. A crash between the two leaves blobs whose keys
are already gone: unreadable ciphertext, listed by nothing. Running it again is harmless:
a purged case is never due again.

Pure Python: no Flask.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ScalarSelect, Select, delete, func, select, update
from sqlalchemy.orm import Session

from casework import archive_export, audit
from casework.intake import public_reference
from casework.profiles import load_profile
from store.blobs import BlobError, BlobStore
from store.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseRead,
    EventWrap,
    KeyWrap,
    Message,
    ProtectionRecord,
    RetaliationIncident,
    RetaliationNote,
    Unit,
)
from store.models.cases import LOOKUP_INDEX_SIZE
from store.models.organisation import PUBLIC_KEY_SIZE

PURGE_ACTION = "case_purge"
BATCH_SIZE = 200  # cases per transaction
# What the NOT NULL lookup columns hold once purged: values that no code derives to.
# The index and the key keep their CHECKed sizes; the hash is empty, which no Argon2id
# verification accepts.
PURGED_LOOKUP_INDEX = bytes(LOOKUP_INDEX_SIZE)
PURGED_LOOKUP_HASH = b""
PURGED_REPORTER_KEY = bytes(PUBLIC_KEY_SIZE)


@dataclass(frozen=True)
class PurgeCandidate:
    """A closed case whose retention period has run. Nothing secret: fit to print."""

    case_id: int
    public_id: str
    reference: str  # intake.public_reference: what the unit's people quote
    unit_slug: str
    closed_on: date
    purge_on: date  # closed_on + retention_days: the first day the case may go
    retention_days: int
    attachments: int  # one blob each
    messages: int
    key_wraps: int
    # The unit's date of the latest export for the archives (casework.archive_export),
    # None if the case was never exported: the listing shows what would be lost for good.
    archived_on: date | None = None


@dataclass
class PurgeReport:
    purged: list[PurgeCandidate] = field(default_factory=list)
    # Listed, but no longer due when its batch ran: purged meanwhile by another run,
    # reopened, or moved to a unit that keeps cases longer.
    skipped: list[PurgeCandidate] = field(default_factory=list)
    blobs_deleted: int = 0
    blobs_missing: int = 0  # already gone: not an error (an earlier run, by hand)
    blobs_failed: list[str] = field(default_factory=list)  # ids: not secret
    # SQLite: whether the write-ahead log, which still holds purged pages, was emptied
    # (False while another process kept reading). None: not SQLite.
    log_truncated: bool | None = None


# --- what is due ----------------------------------------------------------------------------


def retention_days(unit: Unit) -> int:
    """The unit's own period, else its profile's default."""
    if unit.retention_days is not None:
        return unit.retention_days
    return load_profile(unit.profile).retention_days


def final_statuses(unit: Unit) -> list[str]:
    profile = load_profile(unit.profile)
    return sorted(status.name for status in profile.statuses.values() if status.final)


def due_for_purge(
    session: Session, today: date, unit_id: int | None = None
) -> list[PurgeCandidate]:
    """Every closed, unpurged case whose period has run by ``today``, unit by unit
    (by slug), oldest case first; only ``unit_id``'s cases when given."""
    query = select(Unit).order_by(Unit.slug)
    if unit_id is not None:
        query = query.where(Unit.id == unit_id)
    candidates: list[PurgeCandidate] = []
    for unit in session.scalars(query).all():
        candidates.extend(_due_in_unit(session, unit, today))
    return candidates


def _due_in_unit(session: Session, unit: Unit, today: date) -> list[PurgeCandidate]:
    days = retention_days(unit)
    cutoff = _cutoff(today, days)
    if cutoff is None:
        return []
    rows = session.execute(_due_query(unit, cutoff)).all()
    archived = archive_export.last_exports(session, [row.public_id for row in rows])
    return [
        PurgeCandidate(
            case_id=row.id,
            public_id=row.public_id,
            reference=public_reference(row.public_id),
            unit_slug=unit.slug,
            closed_on=row.closed_on,
            purge_on=row.closed_on + timedelta(days=days),
            retention_days=days,
            attachments=row.attachments,
            messages=row.messages,
            key_wraps=row.key_wraps,
            archived_on=archived.get(row.public_id),
        )
        for row in rows
    ]


def _cutoff(today: date, days: int) -> date | None:
    """The latest ``closed_on`` that is due: closed_on + days <= today. None when the
    period reaches back before the calendar starts (nothing can be due)."""
    try:
        return today - timedelta(days=days)
    except OverflowError:
        return None


def _due_query(unit: Unit, cutoff: date) -> Select[int, str, date | None, int, int, int]:
    # Comparing closed_on with a cutoff computed here (rather than date arithmetic in
    # SQL, which SQLite and PostgreSQL spell differently) keeps the query portable and
    # lets it walk the (unit_id, closed_on) index.
    return (
        select(
            Case.id,
            Case.public_id,
            Case.closed_on,
            _count(Attachment).label("attachments"),
            _count(Message).label("messages"),
            _count(KeyWrap).label("key_wraps"),
        )
        .where(
            Case.unit_id == unit.id,
            Case.purged_on.is_(None),
            Case.closed_on.is_not(None),
            Case.closed_on <= cutoff,
            # closed_on stays set if a case ever left its final status: only the status
            # says it is closed now.
            Case.status.in_(final_statuses(unit)),
        )
        .order_by(Case.closed_on, Case.id)
    )


def _count(child: type[Attachment | Message | KeyWrap]) -> ScalarSelect[int]:
    """SELECT count(*) of a child table's rows for the outer query's case."""
    return (
        select(func.count())
        .select_from(child)
        .where(child.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )


# --- purging --------------------------------------------------------------------------------


def purge(
    session: Session,
    blob_store: BlobStore,
    candidates: Sequence[PurgeCandidate],
    today: date,
    *,
    actor: str = audit.SYSTEM,
    batch_size: int = BATCH_SIZE,
) -> PurgeReport:
    """Purge ``candidates`` (from ``due_for_purge``) in batches, committing each batch
    and then deleting its blobs. Each case is checked again inside its batch, so a
    case purged or reopened since it was listed is skipped, never purged twice."""
    report = PurgeReport()
    for batch in _batches(candidates, batch_size):
        purged, skipped, blob_ids = purge_batch(session, batch, today, actor=actor)
        session.commit()
        report.purged.extend(purged)
        report.skipped.extend(skipped)
        _delete_blobs(blob_store, blob_ids, report)
    # Ends the read transaction of the listing too (even with nothing purged), which the
    # checkpoint would otherwise wait for.
    session.commit()
    # Even when nothing was purged: a run that could not empty the log last time, because
    # a process was reading, empties it now.
    report.log_truncated = checkpoint_sqlite(session)
    return report


def purge_batch(
    session: Session,
    candidates: Sequence[PurgeCandidate],
    today: date,
    *,
    actor: str = audit.SYSTEM,
) -> tuple[list[PurgeCandidate], list[PurgeCandidate], list[str]]:
    """Purge one batch in the caller's transaction (not committed): the candidates
    purged, those skipped, and the blob ids to delete once the caller has committed."""
    by_id = {candidate.case_id: candidate for candidate in candidates}
    cases = session.scalars(
        select(Case)
        .where(Case.id.in_(list(by_id)), Case.purged_on.is_(None))
        .order_by(Case.id)
        .with_for_update()  # PostgreSQL: no other run or inspector changes them meanwhile
    ).all()
    due = [case for case in cases if _still_due(case, today)]
    due_ids = [case.id for case in due]
    blob_ids = _blob_ids(session, due_ids)
    _delete_children(session, due_ids)
    _wipe_kept_rows(session, due_ids)
    for case in due:
        _wipe_case(case, today)
    session.flush()
    for case in due:
        audit.append(
            session,
            actor=actor,
            action=PURGE_ACTION,
            case_public_id=case.public_id,
            details={"retention_days": retention_days(case.unit)},
        )
    purged_ids = set(due_ids)
    purged = [by_id[case_id] for case_id in due_ids]
    skipped = [candidate for case_id, candidate in by_id.items() if case_id not in purged_ids]
    return purged, skipped, blob_ids


def _still_due(case: Case, today: date) -> bool:
    """The listing's conditions, checked again on the row as it is now."""
    if case.closed_on is None or case.status not in final_statuses(case.unit):
        return False
    cutoff = _cutoff(today, retention_days(case.unit))
    return cutoff is not None and case.closed_on <= cutoff


def _blob_ids(session: Session, case_ids: Sequence[int]) -> list[str]:
    if not case_ids:
        return []
    return list(
        session.scalars(
            select(Attachment.blob_id)
            .where(Attachment.case_id.in_(case_ids))
            .order_by(Attachment.id)
        )
    )


def _delete_children(session: Session, case_ids: Sequence[int]) -> None:
    """Rows that exist only for reading a case: gone with its contents."""
    if not case_ids:
        return
    incidents = select(RetaliationIncident.id).where(RetaliationIncident.case_id.in_(case_ids))
    session.execute(delete(RetaliationNote).where(RetaliationNote.incident_id.in_(incidents)))
    # The keys of escalation steps' records, whose ciphertext is wiped below.
    events = select(CaseEvent.id).where(CaseEvent.case_id.in_(case_ids))
    session.execute(delete(EventWrap).where(EventWrap.event_id.in_(events)))
    # Attachments before messages: they point at them.
    for model in (Attachment, Message, KeyWrap, CaseExclusion, CaseRead):
        session.execute(delete(model).where(model.case_id.in_(case_ids)))


def _wipe_kept_rows(session: Session, case_ids: Sequence[int]) -> None:
    """Rows the figures count: kept, without the ciphertext they carried."""
    if not case_ids:
        return
    session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).values(grounds=None))
    session.execute(
        update(ProtectionRecord).where(ProtectionRecord.case_id.in_(case_ids)).values(details=None)
    )
    session.execute(
        update(RetaliationIncident)
        .where(RetaliationIncident.case_id.in_(case_ids))
        .values(details=None)
    )


def _wipe_case(case: Case, today: date) -> None:
    case.purged_on = today  # first: the CHECK allows a NULL body only once it is set
    case.body = None
    case.identity = None
    case.lookup_hash = PURGED_LOOKUP_HASH
    case.lookup_index = PURGED_LOOKUP_INDEX
    case.reporter_public_key = PURGED_REPORTER_KEY
    case.reporter_signing_key = None  # derived from the code too: it would confirm a guess
    case.deadlines = []
    case.next_due = None
    case.last_reporter_activity_on = None


def _delete_blobs(blob_store: BlobStore, blob_ids: Sequence[str], report: PurgeReport) -> None:
    for blob_id in blob_ids:
        try:
            existed = blob_store.delete(blob_id)
        except (BlobError, OSError):
            # The rows are gone and committed; the operator removes the file by hand.
            report.blobs_failed.append(blob_id)
            continue
        if existed:
            report.blobs_deleted += 1
        else:
            report.blobs_missing += 1


def checkpoint_sqlite(session: Session) -> bool | None:
    """On SQLite, copy the write-ahead log into the database file and truncate it.

    ``secure_delete`` zeroes purged content in the database file, but the WAL still holds
    earlier images of the changed pages until it is truncated. Returns whether that
    happened (False while another connection is reading); None on other databases, whose
    operators handle old row versions and logs themselves (docs/retention.md).
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    # Outside any transaction: a checkpoint cannot truncate past a read this connection
    # itself holds open.
    with bind.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        busy = autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
    return busy == 0


def _batches(items: Sequence[PurgeCandidate], size: int) -> Iterator[Sequence[PurgeCandidate]]:
    if size < 1:
        raise ValueError("a batch holds at least one case")
    for start in range(0, len(items), size):
        yield items[start : start + size]
