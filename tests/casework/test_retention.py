"""Retention: which closed cases are due, and what a purge removes and keeps."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

import crypto
from casework import audit, followup, intake, retention, workflow
from casework.intake import AttachmentIn
from casework.profiles import load_profile
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from crypto.kdf import Argon2Params
from store.blobs import FilesystemBlobStore
from store.models import (
    Attachment,
    AuditEntry,
    Base,
    Case,
    CaseExclusion,
    CaseRead,
    CaseTransfer,
    EventWrap,
    KeyWrap,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RecipientKind,
    RetaliationIncident,
    RetaliationKind,
    RetaliationNote,
    Unit,
)
from tests.store.factories import add_unit
from tests.worlds import World, verified_in_person

CLOSED_ON = date(2021, 3, 15)
DEFAULT_DAYS = load_profile("vn-denunciation-2018").retention_days
DUE_ON = CLOSED_ON + timedelta(days=DEFAULT_DAYS)
NOW = datetime(2021, 3, 15, 3, 0, tzinfo=UTC)
# A body the test knows byte for byte, to look for in the database file after the purge.
CANARY = b"\x02canary-ciphertext-" + secrets.token_bytes(48)


@dataclass
class Built:
    """A closed case with something in every table a purge touches."""

    keys: NewCaseKeys
    case: Case
    blob_ids: list[str]
    # Every ciphertext the case put in the database, to look for after the purge.
    secrets: list[bytes] = field(default_factory=list)


@pytest.fixture
def blobs(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blob-store")


def sealed(keys: NewCaseKeys, text: str) -> bytes:
    return crypto.seal_json(keys.case_key, crypto.Kind.NOTE, keys.case_id, {"text": text})


def write_blob(store: FilesystemBlobStore) -> str:
    blob_id = store.new_blob_id()
    with store.open_writer(blob_id) as writer:
        writer.write(secrets.token_bytes(4166))
    return blob_id


def file_meta(keys: NewCaseKeys, name: str) -> bytes:
    meta = crypto.FileMeta(name=name, type="text/plain", size=5, stream=bytes(32))
    return crypto.seal_file_meta(keys.case_key, keys.case_id, meta)


def build_closed_case(
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    params: Argon2Params,
    *,
    closed_on: date = CLOSED_ON,
    close: bool = True,
) -> Built:
    """A named report with files, a thread, protection, an incident with a note, events,
    a read marker, an exclusion and a transfer, closed on ``closed_on``."""
    keys = NewCaseKeys()
    received = closed_on - timedelta(days=90)
    report_files = [write_blob(store), write_blob(store)]
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"schema": 1, "what": "Nhận hối lộ"},
        identity={"schema": 1, "name": "Nguyễn Văn A"},
        attachments=[
            AttachmentIn(blob_id=blob_id, meta=file_meta(keys, f"{n}.txt"), stored_size=4166)
            for n, blob_id in enumerate(report_files)
        ],
        excluded=frozenset({world.people["minh"].id}),
    )
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, params), received
    )
    session.flush()
    case.body = CANARY
    lan = world.people["lan"]
    verified_in_person(case, lan, received)
    question = Message(
        author=Party.INSPECTOR, inspector_id=lan.id, body=sealed(keys, "Ai?"), created_on=received
    )
    answer = Message(author=Party.REPORTER, body=sealed(keys, "Ông B"), created_on=received)
    case.messages.extend([question, answer])
    session.flush()
    reply_file = write_blob(store)
    case.attachments.append(
        Attachment(
            blob_id=reply_file,
            meta=file_meta(keys, "reply.pdf"),
            stored_size=4166,
            origin=Party.INSPECTOR,
            message_id=question.id,
            created_on=received,
        )
    )
    record = ProtectionRecord(
        person=ProtectedPerson.REPORTER,
        category=ProtectionCategory.JOB,
        state=ProtectionState.ACTIVE,
        requested_by=Party.REPORTER,
        requested_on=received,
        started_on=received,
        details=sealed(keys, "Giữ bí mật danh tính"),
    )
    case.protections.append(record)
    session.flush()
    incident = RetaliationIncident(
        kind=RetaliationKind.DEMOTION,
        occurred_on=received,
        reported_on=received,
        source=Party.REPORTER,
        protection_id=record.id,
        details=sealed(keys, "Bị giáng chức"),
    )
    case.retaliation_incidents.append(incident)
    incident.notes.append(
        RetaliationNote(source=Party.INSPECTOR, added_on=received, details=sealed(keys, "Ghi"))
    )
    session.add(CaseRead(inspector_id=lan.id, case_id=case.id, last_read_message_id=answer.id))
    other = add_unit(session, f"chuyen-{secrets.token_hex(3)}")
    session.add(
        CaseTransfer(
            case=case,
            from_unit=other,
            to_unit=world.unit,
            inspector=lan,
            forwarded_on=received,
            sender_keeps_access=False,
        )
    )
    if close:
        for status, day in (("not_accepted", received), ("closed", closed_on)):
            workflow.transition(
                case, status, today=day, inspector=lan, now=NOW, grounds=sealed(keys, status)
            )
    session.commit()
    built = Built(keys, case, [*report_files, reply_file])
    built.secrets = ciphertexts_of(session, case)
    return built


def ciphertexts_of(session: Session, case: Case) -> list[bytes]:
    values = [case.body, case.identity, case.lookup_hash]
    values += [wrap.wrapped for wrap in case.key_wraps]
    values += [message.body for message in case.messages]
    values += [item.meta for item in case.attachments]
    values += [e.grounds for e in case.events]
    values += [r.details for r in case.protections]
    for incident in case.retaliation_incidents:
        values += [incident.details, *(note.details for note in incident.notes)]
    return [value for value in values if value]


def candidates(session: Session, today: date, unit: Unit | None = None) -> list[Any]:
    return retention.due_for_purge(session, today, None if unit is None else unit.id)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read afresh."""
    session.expire_all()
    return {
        table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
        for table in Base.metadata.sorted_tables
    }


def blob_files(store: FilesystemBlobStore) -> dict[str, bytes]:
    return {
        str(path.relative_to(store.root)): path.read_bytes()
        for path in sorted(store.root.rglob("*"))
        if path.is_file()
    }


def count(session: Session, model: type[Base], case: Case) -> int:
    return len(session.scalars(select(model).where(model.case_id == case.id)).all())  # type: ignore[attr-defined]


def database_bytes(engine: Engine) -> bytes:
    path = Path(str(engine.url.database))
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(file.read_bytes() for file in files if file.exists())


@pytest.fixture
def built(
    session: Session, world: World, blobs: FilesystemBlobStore, fast_argon2: Argon2Params
) -> Built:
    return build_closed_case(session, world, blobs, fast_argon2)


# --- what is due ----------------------------------------------------------------------------


def test_nothing_is_due_the_day_before_the_period_ends(session: Session, built: Built) -> None:
    assert candidates(session, DUE_ON - timedelta(days=1)) == []


def test_the_case_is_listed_from_the_day_its_period_ends(session: Session, built: Built) -> None:
    [candidate] = candidates(session, DUE_ON)
    assert candidate == retention.PurgeCandidate(
        case_id=built.case.id,
        public_id=built.case.public_id,
        reference=intake.public_reference(built.case.public_id),
        unit_slug=built.case.unit.slug,
        closed_on=CLOSED_ON,
        purge_on=DUE_ON,
        retention_days=DEFAULT_DAYS,
        attachments=3,
        messages=2,
        key_wraps=len(built.case.key_wraps),
    )
    assert candidate.key_wraps > 2  # case and identity keys, to several people


def test_a_dry_run_changes_nothing(
    session: Session, built: Built, blobs: FilesystemBlobStore
) -> None:
    before, files = snapshot(session), blob_files(blobs)
    assert len(candidates(session, DUE_ON + timedelta(days=400))) == 1
    assert snapshot(session) == before
    assert blob_files(blobs) == files
    assert len(files) == 3


def test_a_case_never_closed_is_never_due_however_old(
    session: Session, world: World, blobs: FilesystemBlobStore, fast_argon2: Argon2Params
) -> None:
    build_closed_case(session, world, blobs, fast_argon2, closed_on=date(1990, 1, 1), close=False)
    assert candidates(session, date(2100, 1, 1)) == []


def test_a_case_reopened_after_closing_is_not_due(session: Session, built: Built) -> None:
    # Whatever leaves the final status, closed_on stays set; the status decides.
    built.case.status = "verifying"
    session.commit()
    assert candidates(session, DUE_ON + timedelta(days=4000)) == []


def test_the_units_own_period_overrides_the_profiles(
    session: Session, world: World, built: Built
) -> None:
    world.unit.retention_days = 30
    session.commit()
    assert candidates(session, CLOSED_ON + timedelta(days=29)) == []
    [candidate] = candidates(session, CLOSED_ON + timedelta(days=30))
    assert (candidate.retention_days, candidate.purge_on) == (30, CLOSED_ON + timedelta(days=30))
    world.unit.retention_days = None
    session.commit()
    assert candidates(session, CLOSED_ON + timedelta(days=30)) == []
    assert retention.retention_days(world.unit) == DEFAULT_DAYS


def test_a_unit_filter_lists_only_that_units_cases(
    session: Session, world: World, built: Built
) -> None:
    other = add_unit(session, "don-vi-khac")
    session.commit()
    assert candidates(session, DUE_ON, other) == []
    assert [c.case_id for c in candidates(session, DUE_ON, world.unit)] == [built.case.id]


def test_a_period_reaching_before_the_calendar_lists_nothing(
    session: Session, world: World, built: Built
) -> None:
    world.unit.retention_days = 10**9
    session.commit()
    assert candidates(session, DUE_ON) == []


# --- purging --------------------------------------------------------------------------------


def test_a_purge_removes_the_contents_and_keeps_the_figures(
    session: Session, built: Built, blobs: FilesystemBlobStore
) -> None:
    case = built.case
    # An escalation step's record key, wrapped to the reporter (casework.escalation).
    case.events[-1].wraps.append(EventWrap(recipient_kind=RecipientKind.REPORTER, wrapped=b"w"))
    session.commit()
    kept_events = [(e.kind, e.from_status, e.to_status, e.occurred_on) for e in case.events]
    assert case.reporter_signing_key == built.keys.signer.verifying_key
    report = retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert [c.case_id for c in report.purged] == [case.id]
    assert (report.blobs_deleted, report.blobs_missing, report.blobs_failed) == (3, 0, [])
    assert blob_files(blobs) == {}
    session.expire_all()
    # The case row: its figures stay, its contents and its lookup go.
    assert (case.status, case.category, case.closed_on, case.purged_on) == (
        "closed",
        "land",
        CLOSED_ON,
        DUE_ON,
    )
    assert (case.body, case.identity, case.next_due, case.deadlines) == (None, None, None, [])
    assert case.lookup_hash == b""
    assert case.lookup_index == bytes(5)
    assert case.reporter_public_key == bytes(32)
    # the verifying key is derived from the code as the public key is: gone with it
    assert case.reporter_signing_key is None
    assert case.last_reporter_activity_on is None
    for model in (KeyWrap, Message, Attachment, CaseRead, CaseExclusion):
        assert count(session, model, case) == 0, model
    assert session.scalars(select(RetaliationNote)).all() == []
    assert session.scalars(select(EventWrap)).all() == []
    # Kept without their ciphertext.
    assert [(e.kind, e.from_status, e.to_status, e.occurred_on) for e in case.events] == (
        kept_events
    )
    assert all(e.grounds is None for e in case.events)
    [record] = case.protections
    assert (record.person, record.category, record.state, record.details) == (
        ProtectedPerson.REPORTER,
        ProtectionCategory.JOB,
        ProtectionState.ACTIVE,
        None,
    )
    [incident] = case.retaliation_incidents
    assert (incident.kind, incident.source, incident.protection_id, incident.details) == (
        RetaliationKind.DEMOTION,
        Party.REPORTER,
        record.id,
        None,
    )
    assert count(session, CaseTransfer, case) == 1


def test_a_purge_writes_one_audit_entry_per_case_and_the_chain_verifies(
    session: Session, world: World, blobs: FilesystemBlobStore, fast_argon2: Argon2Params
) -> None:
    first = build_closed_case(session, world, blobs, fast_argon2)
    second = build_closed_case(session, world, blobs, fast_argon2)
    retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON, actor=audit.CLI)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == retention.PURGE_ACTION)
    ).all()
    assert sorted((e.case_public_id, e.actor, e.actor_id, e.details) for e in entries) == sorted(
        (built.case.public_id, audit.CLI, None, {"retention_days": DEFAULT_DAYS})
        for built in (first, second)
    )
    assert audit.verify(session).ok


def test_a_purged_case_is_not_found_with_its_code(
    session: Session,
    world: World,
    built: Built,
    blobs: FilesystemBlobStore,
    fast_argon2: Argon2Params,
) -> None:
    token = built.keys.code.lookup_token()
    assert followup.find_case(session, world.unit, token, fast_argon2) is not None
    retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert followup.find_case(session, world.unit, token, fast_argon2) is None
    assert followup.get_case(session, world.unit, built.case.public_id) is None


def test_no_ciphertext_of_the_case_is_left_in_the_database_file(
    session: Session, engine: Engine, built: Built, blobs: FilesystemBlobStore
) -> None:
    assert CANARY in built.secrets
    assert CANARY in database_bytes(engine)  # the scan can see what it looks for
    retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    session.close()
    on_disk = database_bytes(engine)
    for secret in built.secrets:
        middle = secret[len(secret) // 2 - 8 : len(secret) // 2 + 8]
        assert middle not in on_disk, secret[:16]


def test_a_second_run_purges_nothing_more(
    session: Session, built: Built, blobs: FilesystemBlobStore
) -> None:
    listed = candidates(session, DUE_ON)
    retention.purge(session, blobs, listed, DUE_ON)
    assert candidates(session, DUE_ON + timedelta(days=1)) == []
    after_first = snapshot(session)
    again = retention.purge(session, blobs, listed, DUE_ON + timedelta(days=1))
    assert (again.purged, again.skipped) == ([], listed)
    assert snapshot(session) == after_first  # no second audit entry, no new purge date


def test_a_case_reopened_between_listing_and_purge_is_skipped(
    session: Session, built: Built, blobs: FilesystemBlobStore
) -> None:
    listed = candidates(session, DUE_ON)
    built.case.status = "verifying"
    session.commit()
    report = retention.purge(session, blobs, listed, DUE_ON)
    assert (report.purged, report.skipped) == ([], listed)
    session.expire_all()
    assert built.case.body == CANARY
    assert len(blob_files(blobs)) == 3


def test_a_blob_already_missing_is_not_an_error(
    session: Session, built: Built, blobs: FilesystemBlobStore
) -> None:
    assert blobs.delete(built.blob_ids[0])
    report = retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert (report.blobs_deleted, report.blobs_missing, report.blobs_failed) == (2, 1, [])


def test_a_blob_that_cannot_be_deleted_is_reported_by_id(
    session: Session, built: Built, blobs: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = built.blob_ids[1]
    real = blobs.delete

    def failing(blob_id: str) -> bool:
        if blob_id == stuck:
            raise PermissionError(13, "Permission denied")
        return real(blob_id)

    monkeypatch.setattr(blobs, "delete", failing)
    report = retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert [c.case_id for c in report.purged] == [built.case.id]
    assert (report.blobs_deleted, report.blobs_failed) == (2, [stuck])


def test_blobs_are_deleted_only_after_the_commit(
    session: Session, built: Built, blobs: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused() -> None:
        raise RuntimeError("commit failed")

    monkeypatch.setattr(session, "commit", refused)
    with pytest.raises(RuntimeError):
        retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert len(blob_files(blobs)) == 3
    session.rollback()
    assert session.get(Case, built.case.id).purged_on is None  # type: ignore[union-attr]


def test_a_large_purge_commits_batch_by_batch(
    session: Session,
    engine: Engine,
    world: World,
    blobs: FilesystemBlobStore,
    fast_argon2: Argon2Params,
) -> None:
    for _ in range(3):
        build_closed_case(session, world, blobs, fast_argon2)
    commits: list[int] = []
    blobs_at_commit: list[int] = []

    @event.listens_for(engine, "commit")  # the database's COMMIT, not a savepoint's
    def counted(_connection: object) -> None:
        commits.append(1)
        blobs_at_commit.append(len(blob_files(blobs)))

    report = retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON, batch_size=2)
    assert len(report.purged) == 3
    assert len(commits) == 2
    # Each batch's blobs go after its own commit: all 9 exist at the first, 3 at the second.
    assert blobs_at_commit == [9, 3]
    assert blob_files(blobs) == {}


def test_only_due_cases_are_purged(
    session: Session, world: World, blobs: FilesystemBlobStore, fast_argon2: Argon2Params
) -> None:
    due = build_closed_case(session, world, blobs, fast_argon2)
    later = build_closed_case(
        session, world, blobs, fast_argon2, closed_on=CLOSED_ON + timedelta(days=1)
    )
    report = retention.purge(session, blobs, candidates(session, DUE_ON), DUE_ON)
    assert [c.case_id for c in report.purged] == [due.case.id]
    session.expire_all()
    assert later.case.purged_on is None
    assert later.case.body == CANARY
    assert all(blobs.exists(blob_id) for blob_id in later.blob_ids)
