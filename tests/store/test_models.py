"""Models against the migrated schema: round trips, and what the database refuses."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from store.models import (
    ActorKind,
    Attachment,
    AuditEntry,
    Base,
    Case,
    CaseEvent,
    CaseExclusion,
    CaseRead,
    Inspector,
    InspectorRole,
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
    Track,
    Upload,
    WrapPurpose,
    normalize_username,
)
from tests.store.factories import (
    TODAY,
    add_case,
    add_inspector,
    add_unit,
    add_wrap,
    ciphertext,
)


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_case_with_children_round_trips(session: Session) -> None:
    unit = add_unit(session)
    inspector = add_inspector(session, unit)
    body, identity = ciphertext(1000), ciphertext(200)
    case = add_case(
        session,
        unit,
        track=Track.NAMED,
        identity=identity,
        body=body,
        next_due=date(2026, 4, 1),
        urgent=True,
    )
    message = Message(case=case, author=Party.REPORTER, body=ciphertext(), created_on=TODAY)
    session.add(message)
    session.flush()
    session.add_all(
        [
            Attachment(
                case=case,
                blob_id="ab" * 16,
                meta=ciphertext(),
                stored_size=65_536,
                origin=Party.REPORTER,
                message_id=message.id,
                created_on=TODAY,
            ),
            CaseEvent(
                case=case,
                kind="extension",
                actor_kind=ActorKind.INSPECTOR,
                inspector=inspector,
                occurred_on=TODAY,
                occurred_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
                grounds=ciphertext(),
                data={"days": 30},
            ),
        ]
    )
    add_wrap(session, case, RecipientKind.INSPECTOR, inspector)
    add_wrap(session, case, RecipientKind.REPORTER)
    add_wrap(session, case, RecipientKind.REPORTER, purpose=WrapPurpose.IDENTITY_KEY)
    session.commit()
    case_id = case.id
    session.expunge_all()

    loaded = session.get_one(Case, case_id)
    assert loaded.track is Track.NAMED
    assert (loaded.body, loaded.identity) == (body, identity)
    assert loaded.next_due == date(2026, 4, 1)
    assert loaded.urgent is True
    assert loaded.protection_requested is False  # a default
    assert [m.author for m in loaded.messages] == [Party.REPORTER]
    assert loaded.attachments[0].message_id == loaded.messages[0].id
    assert loaded.events[0].data == {"days": 30}
    assert loaded.events[0].occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert loaded.unit.categories == ["land", "procurement"]
    assert sorted((w.purpose, w.recipient_kind) for w in loaded.key_wraps) == [
        (WrapPurpose.CASE_KEY, RecipientKind.INSPECTOR),
        (WrapPurpose.CASE_KEY, RecipientKind.REPORTER),
        (WrapPurpose.IDENTITY_KEY, RecipientKind.REPORTER),
    ]
    # Enumerations are stored as their values, readable by SQL and other tools.
    stored = session.execute(text("SELECT track FROM cases WHERE id = :id"), {"id": case_id})
    assert stored.scalar_one() == "named"


def test_public_id_is_unique(session: Session) -> None:
    unit = add_unit(session)
    first = add_case(session, unit)
    with pytest.raises(IntegrityError, match="public_id"):
        add_case(session, unit, public_id=first.public_id)


@pytest.mark.parametrize(
    "public_id",
    ["not-a-uuid", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff8b86d011b42d00c04fc964ff", ""],
)
def test_public_id_must_be_canonical(session: Session, public_id: str) -> None:
    # Never normalised: the id is bound into the envelopes exactly as the browser sent it.
    with pytest.raises(ValueError, match="canonical"):
        add_case(session, add_unit(session), public_id=public_id)


def test_foreign_keys_are_enforced(session: Session) -> None:
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        session.execute(
            text(
                "INSERT INTO inspectors (unit_id, username, display_name, role, active,"
                " public_key, sealed_key_passphrase, sealed_key_recovery, totp_secret,"
                " failed_logins, created_at, passphrase_changed_at)"
                " VALUES (999, 'x', 'X', 'inspector', 1, :key, x'01', x'01', 's', 0,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"key": bytes(32)},
        )


class TestKeyWrapRecipients:
    def test_inspector_wrap_needs_an_inspector(self, session: Session) -> None:
        case = add_case(session, add_unit(session))
        with pytest.raises(IntegrityError, match="inspector_iff_kind"):
            add_wrap(session, case, RecipientKind.INSPECTOR, inspector=None)

    @pytest.mark.parametrize("kind", [RecipientKind.REPORTER, RecipientKind.ESCROW])
    def test_shared_recipients_name_no_inspector(
        self, session: Session, kind: RecipientKind
    ) -> None:
        unit = add_unit(session)
        inspector = add_inspector(session, unit)
        case = add_case(session, unit)
        with pytest.raises(IntegrityError, match="inspector_iff_kind"):
            add_wrap(session, case, kind, inspector)

    @pytest.mark.parametrize("kind", [RecipientKind.REPORTER, RecipientKind.ESCROW])
    def test_one_reporter_or_escrow_wrap_per_purpose(
        self, session: Session, kind: RecipientKind
    ) -> None:
        # inspector_id is NULL here, and NULLs never collide in a UNIQUE constraint: the
        # partial unique index is what refuses the duplicate.
        case = add_case(session, add_unit(session))
        add_wrap(session, case, kind)
        add_wrap(session, case, kind, purpose=WrapPurpose.IDENTITY_KEY)
        with pytest.raises(IntegrityError, match="UNIQUE"):
            add_wrap(session, case, kind)

    def test_one_wrap_per_inspector_and_purpose(self, session: Session) -> None:
        unit = add_unit(session)
        first = add_inspector(session, unit, "first")
        second = add_inspector(session, unit, "second")
        case = add_case(session, unit)
        add_wrap(session, case, RecipientKind.INSPECTOR, first)
        add_wrap(session, case, RecipientKind.INSPECTOR, second)
        with pytest.raises(IntegrityError, match="UNIQUE"):
            add_wrap(session, case, RecipientKind.INSPECTOR, first)


def _populate_case(session: Session) -> tuple[Case, Inspector]:
    """A case with a row in every table that hangs off it, and one audit entry."""
    unit = add_unit(session)
    inspector = add_inspector(session, unit)
    excluded = add_inspector(session, unit, "excluded")
    case = add_case(session, unit)
    add_wrap(session, case, RecipientKind.INSPECTOR, inspector)
    add_wrap(session, case, RecipientKind.REPORTER)
    message = Message(
        case=case, author=Party.INSPECTOR, inspector=inspector, body=ciphertext(), created_on=TODAY
    )
    protection = ProtectionRecord(
        case=case,
        person=ProtectedPerson.REPORTER,
        category=ProtectionCategory.JOB,
        state=ProtectionState.REQUESTED,
        requested_by=Party.REPORTER,
        requested_on=TODAY,
    )
    session.add_all([message, protection])
    session.flush()
    session.add_all(
        [
            Attachment(
                case=case,
                blob_id=secrets.token_hex(16),
                meta=ciphertext(),
                stored_size=4096,
                origin=Party.INSPECTOR,
                message_id=message.id,
                created_on=TODAY,
            ),
            Attachment(
                case=case,
                blob_id=secrets.token_hex(16),
                meta=ciphertext(),
                stored_size=4096,
                origin=Party.REPORTER,
                created_on=TODAY,
            ),
            CaseEvent(case=case, kind="received", actor_kind=ActorKind.REPORTER, occurred_on=TODAY),
            RetaliationIncident(
                case=case,
                kind=RetaliationKind.DEMOTION,
                reported_on=TODAY,
                source=Party.REPORTER,
                protection_id=protection.id,
            ),
            CaseExclusion(case=case, inspector=excluded),
            CaseRead(inspector_id=inspector.id, case_id=case.id, last_read_message_id=message.id),
            AuditEntry(
                seq=1,
                actor_id=inspector.id,
                actor=inspector.username,
                action="case.decrypt",
                case_public_id=case.public_id,
                prev_hash=bytes(32),
                entry_hash=secrets.token_bytes(32),
            ),
        ]
    )
    session.commit()
    return case, inspector


CASE_CHILDREN: list[type[Base]] = [
    KeyWrap,
    Message,
    Attachment,
    CaseEvent,
    ProtectionRecord,
    RetaliationIncident,
    CaseExclusion,
    CaseRead,
]


def test_deleting_a_case_cascades_to_its_rows_but_not_to_the_audit_log(session: Session) -> None:
    case, _ = _populate_case(session)
    assert all(count(session, model) > 0 for model in CASE_CHILDREN)
    session.expunge_all()  # nothing loaded: the database alone must do the cascade

    session.delete(session.get_one(Case, case.id))
    session.commit()

    assert {model.__name__: count(session, model) for model in CASE_CHILDREN} == dict.fromkeys(
        (model.__name__ for model in CASE_CHILDREN), 0
    )
    audit = session.scalars(select(AuditEntry)).one()
    assert audit.case_public_id == case.public_id


def test_an_inspector_with_audit_entries_cannot_be_deleted(session: Session) -> None:
    _, inspector = _populate_case(session)
    session.execute(text("DELETE FROM key_wraps"))
    session.execute(text("DELETE FROM messages"))
    delete = text("DELETE FROM inspectors WHERE id = :id")
    with session.begin_nested(), pytest.raises(IntegrityError, match="FOREIGN KEY"):
        session.execute(delete, {"id": inspector.id})
    # The audit entry was the only thing in the way.
    session.execute(text("DELETE FROM audit_entries"))
    session.execute(delete, {"id": inspector.id})
    assert session.get(Inspector, inspector.id, populate_existing=True) is None


def test_attachment_cannot_point_at_another_cases_message(session: Session) -> None:
    unit = add_unit(session)
    mine, other = add_case(session, unit), add_case(session, unit)
    foreign = Message(case=other, author=Party.REPORTER, body=ciphertext(), created_on=TODAY)
    session.add(foreign)
    session.flush()
    session.add(
        Attachment(
            case=mine,
            blob_id=secrets.token_hex(16),
            meta=ciphertext(),
            stored_size=1,
            origin=Party.REPORTER,
            message_id=foreign.id,
            created_on=TODAY,
        )
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        session.flush()


def test_incident_cannot_trigger_another_cases_protection(session: Session) -> None:
    unit = add_unit(session)
    mine, other = add_case(session, unit), add_case(session, unit)
    protection = ProtectionRecord(
        case=other,
        person=ProtectedPerson.CHILD,
        category=ProtectionCategory.LIFE_HEALTH,
        state=ProtectionState.ACTIVE,
        requested_by=Party.INSPECTOR,
        requested_on=TODAY,
    )
    session.add(protection)
    session.flush()
    session.add(
        RetaliationIncident(
            case=mine,
            kind=RetaliationKind.INTIMIDATION,
            reported_on=TODAY,
            source=Party.INSPECTOR,
            protection_id=protection.id,
        )
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        session.flush()


class TestUsernames:
    def test_stored_in_lower_case_and_unique_regardless_of_case(self, session: Session) -> None:
        unit = add_unit(session)
        inspector = add_inspector(session, unit, " An.Nguyen ")
        assert inspector.username == "an.nguyen" == normalize_username("AN.NGUYEN")
        with pytest.raises(IntegrityError, match="username"):
            add_inspector(session, unit, "AN.NGUYEN")

    def test_database_refuses_mixed_case_written_around_the_model(self, session: Session) -> None:
        inspector = add_inspector(session, add_unit(session))
        with pytest.raises(IntegrityError, match="username_lower_case"):
            session.execute(
                text("UPDATE inspectors SET username = 'An.Nguyen' WHERE id = :id"),
                {"id": inspector.id},
            )

    @pytest.mark.parametrize("username", ["", "an nguyen", "ân", "-an", "a" * 65])
    def test_refuses_unusable_names(self, session: Session, username: str) -> None:
        with pytest.raises(ValueError, match="user name"):
            add_inspector(session, add_unit(session), username)


@pytest.mark.parametrize(
    ("column", "size"),
    [("reporter_public_key", 31), ("reporter_public_key", 33), ("lookup_index", 4)],
)
def test_fixed_size_binary_columns_refuse_other_sizes(
    session: Session, column: str, size: int
) -> None:
    with pytest.raises(IntegrityError, match="CHECK"):
        add_case(session, add_unit(session), **{column: bytes(size)})


def test_anonymous_case_cannot_carry_an_identity(session: Session) -> None:
    with pytest.raises(IntegrityError, match="identity_only_named"):
        add_case(session, add_unit(session), track=Track.ANONYMOUS, identity=ciphertext())


def test_body_may_only_be_missing_after_a_purge(session: Session) -> None:
    unit = add_unit(session)
    purged = add_case(session, unit, body=None, purged_on=TODAY)
    assert purged.body is None
    with pytest.raises(IntegrityError, match="body_until_purged"):
        add_case(session, unit, body=None)


class TestReporterActionsHaveNoTime:
    @pytest.mark.parametrize("actor", [ActorKind.REPORTER, ActorKind.SYSTEM])
    def test_event_time_is_refused_unless_an_inspector_acted(
        self, session: Session, actor: ActorKind
    ) -> None:
        case = add_case(session, add_unit(session))
        session.add(
            CaseEvent(
                case=case,
                kind="withdrawal",
                actor_kind=actor,
                occurred_on=TODAY,
                occurred_at=datetime(2026, 3, 2, 8, 15, tzinfo=UTC),
            )
        )
        with pytest.raises(IntegrityError, match="time_only_for_inspectors"):
            session.flush()

    def test_only_reviewed_columns_hold_times(self) -> None:
        # Whatever a reporter does is stored as a date. A new timestamp column must be
        # reviewed for that rule and then added here.
        reviewed = {
            "units.created_at",
            "inspectors.locked_until",
            "inspectors.created_at",
            "inspectors.passphrase_changed_at",
            "inspectors.digest_sent_at",  # a summary sent to staff, counts only (casework.notify)
            "case_reads.last_opened_at",
            "case_events.occurred_at",
            "case_transfers.forwarded_at",  # an inspector's act, never the reporter's
            "published_conclusions.posted_at",  # staff record a posting: not the reporter
            "audit_entries.at",
            "uploads.expires_at",
            # An inspector's session, never a reporter's: times are fine.
            "review_sessions.created_at",
            "review_sessions.last_seen_at",
            "review_sessions.expires_at",
        }
        timestamps = {
            f"{table.name}.{column.name}"
            for table in Base.metadata.tables.values()
            for column in table.columns
            if column.type.python_type in (datetime, time)
        }
        assert timestamps == reviewed


def test_message_author_and_inspector_agree(session: Session) -> None:
    unit = add_unit(session)
    inspector = add_inspector(session, unit)
    case = add_case(session, unit)
    session.add(
        Message(
            case=case,
            author=Party.REPORTER,
            inspector=inspector,
            body=ciphertext(),
            created_on=TODAY,
        )
    )
    with pytest.raises(IntegrityError, match="inspector_iff_author"):
        session.flush()


class TestEnumerations:
    def test_model_refuses_unknown_value(self, session: Session) -> None:
        unit = add_unit(session)
        inspector = add_inspector(session, unit)
        inspector.role = "superuser"  # type: ignore[assignment]
        with pytest.raises(StatementError, match="superuser"):
            session.flush()

    def test_database_refuses_unknown_value(self, session: Session) -> None:
        inspector = add_inspector(session, add_unit(session), role=InspectorRole.CUSTODIAN)
        with pytest.raises(IntegrityError, match="ck_inspectors_role"):
            session.execute(
                text("UPDATE inspectors SET role = 'superuser' WHERE id = :id"),
                {"id": inspector.id},
            )


def test_upload_offset_stays_within_declared_size(session: Session) -> None:
    unit = add_unit(session)
    expires = datetime.now(UTC) + timedelta(hours=6)
    upload = Upload(
        id=secrets.token_hex(16), unit_id=unit.id, declared_size=100, expires_at=expires
    )
    session.add(upload)
    session.flush()
    assert upload.offset == 0
    upload.offset = 101
    with pytest.raises(IntegrityError, match="offset_in_range"):
        session.flush()


def test_audit_chain_cannot_fork(session: Session) -> None:
    # Two writers appending after the same entry would both use its hash as prev_hash.
    tail = secrets.token_bytes(32)
    for seq in (1, 2):
        session.add(
            AuditEntry(
                seq=seq,
                actor="system",
                action="x",
                prev_hash=tail,
                entry_hash=secrets.token_bytes(32),
            )
        )
    with pytest.raises(IntegrityError, match="prev_hash"):
        session.flush()
