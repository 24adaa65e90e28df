"""The audit chain: appends link by hash; verify finds the first edit, insertion or deletion.

Tampering is done the way an attacker with database access would do it: with SQL behind
the application's back, then ``verify`` reads in a fresh session.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casework import audit
from casework.audit import BrokenReason
from store.db import (
    alembic_config,
    make_engine,
    migration_connection,
    session_factory,
    upgrade_to_head,
)
from store.models import AuditEntry, Inspector
from tests.store.factories import add_inspector, add_unit, sqlite_url


@pytest.fixture
def inspector(session: Session) -> Inspector:
    person = add_inspector(session, add_unit(session), "lan.nguyen")
    session.commit()
    return person


@pytest.fixture
def fresh(engine: Engine) -> Iterator[Session]:
    """A second session, as `minhbach audit verify` would open: nothing cached."""
    with session_factory(engine)() as other:
        yield other


def chain(session: Session, inspector: Inspector, length: int = 5) -> list[AuditEntry]:
    entries = []
    for number in range(length):
        entries.append(
            audit.append(
                session,
                actor=inspector,
                action="case_opened" if number % 2 else audit.Action.LOGIN,
                case_public_id="0b7c6f3e-5d7a-4a43-9c54-3f1e0f9d2a11" if number % 2 else None,
                target=f"attachment {number}",
                details={"session": "ab12cd34ef56ab78", "number": number, "ok": True},
            )
        )
    session.commit()
    return entries


def execute(session: Session, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)
    session.commit()


# --- appending ------------------------------------------------------------------------------


def test_entries_are_numbered_and_each_links_to_the_one_before(
    session: Session, inspector: Inspector
) -> None:
    entries = chain(session, inspector, 3)
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[0].prev_hash == bytes(32)
    assert entries[1].prev_hash == entries[0].entry_hash
    assert entries[2].prev_hash == entries[1].entry_hash
    assert len({entry.entry_hash for entry in entries}) == 3
    assert (entries[0].actor_id, entries[0].actor) == (inspector.id, "lan.nguyen")


def test_the_hash_is_sha256_of_the_previous_hash_and_the_documented_canonical_json(
    session: Session, inspector: Inspector
) -> None:
    [first, second] = chain(session, inspector, 2)
    stored = session.scalars(select(AuditEntry).where(AuditEntry.id == second.id)).one()
    document = {
        "action": "case_opened",
        "actor": "lan.nguyen",
        "actor_id": inspector.id,
        "at": stored.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "case_public_id": "0b7c6f3e-5d7a-4a43-9c54-3f1e0f9d2a11",
        "details": {"number": 1, "ok": True, "session": "ab12cd34ef56ab78"},
        "seq": 2,
        "target": "attachment 1",
    }
    canonical = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    expected = hashlib.sha256(first.entry_hash + canonical.encode()).digest()
    assert stored.entry_hash == expected


def test_non_person_actors_have_no_account(session: Session) -> None:
    entry = audit.append(session, actor=audit.SYSTEM, action="retention_purge")
    assert (entry.actor_id, entry.actor, entry.details) == (None, "system", {})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", ""),
        ("action", "x" * 65),
        ("target", "t" * 201),
        ("case_public_id", "c" * 37),
    ],
)
def test_text_that_would_not_fit_its_column_is_refused_before_writing(
    session: Session, inspector: Inspector, field: str, value: str
) -> None:
    arguments: dict[str, Any] = {"action": "login", field: value}
    with pytest.raises(ValueError, match=field):
        audit.append(session, actor=inspector, **arguments)
    assert session.scalars(select(AuditEntry)).all() == []


def test_details_must_be_canonical_json(session: Session, inspector: Inspector) -> None:
    with pytest.raises(ValueError, match="floating-point"):
        audit.append(session, actor=inspector, action="x", details={"ratio": 0.5})
    assert session.scalars(select(AuditEntry)).all() == []


def test_a_writer_that_lost_the_race_for_the_tail_retries_on_the_new_tail(
    session: Session, inspector: Inspector, monkeypatch: pytest.MonkeyPatch
) -> None:
    [first] = chain(session, inspector, 1)
    real_tail = audit.tail
    calls: list[tuple[int, bytes]] = []

    def stale_once(on: Session) -> tuple[int, bytes]:
        # The first look at the tail happened before `first` was committed by another
        # writer: it sees an empty log, computes entry 1 again and must collide.
        answer = (0, audit.GENESIS) if not calls else real_tail(on)
        calls.append(answer)
        return answer

    monkeypatch.setattr(audit, "tail", stale_once)
    second = audit.append(session, actor=inspector, action="logout")
    session.commit()
    assert calls == [(0, audit.GENESIS), (1, first.entry_hash)]
    assert (second.seq, second.prev_hash) == (2, first.entry_hash)
    assert audit.verify(session).ok


def test_a_chain_that_keeps_losing_gives_up_with_a_clear_error(
    session: Session, inspector: Inspector, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain(session, inspector, 1)
    monkeypatch.setattr(audit, "tail", lambda _on: (0, audit.GENESIS))
    with pytest.raises(audit.AuditError, match="busy"):
        audit.append(session, actor=inspector, action="logout")
    # The caller's transaction survived the failed savepoints and holds one entry still.
    assert [entry.seq for entry in session.scalars(select(AuditEntry))] == [1]


def test_append_joins_the_callers_transaction(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    audit.append(session, actor=inspector, action="login")
    session.rollback()
    assert fresh.scalars(select(AuditEntry)).all() == []


# --- verifying ------------------------------------------------------------------------------


def test_an_empty_log_verifies(session: Session) -> None:
    result = audit.verify(session)
    assert (result.ok, result.count, result.head) == (True, 0, bytes(32))


def test_a_clean_chain_verifies_with_its_head_and_count(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    entries = chain(session, inspector)
    result = audit.verify(fresh)
    assert result.ok
    assert (result.count, result.head) == (5, entries[-1].entry_hash)
    assert audit.verify(fresh, entries[-1].entry_hash).ok
    assert audit.verify(fresh, entries[2].entry_hash).ok  # an older head is still in it


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE audit_entries SET action = 'nothing_to_see' WHERE seq = 3",
        "UPDATE audit_entries SET actor = 'minh' WHERE seq = 3",
        "UPDATE audit_entries SET actor_id = NULL WHERE seq = 3",
        "UPDATE audit_entries SET case_public_id = 'x' WHERE seq = 3",
        "UPDATE audit_entries SET target = 'attachment 9' WHERE seq = 3",
        "UPDATE audit_entries SET details = '{}' WHERE seq = 3",
        "UPDATE audit_entries SET at = '2020-01-01 00:00:00.000000' WHERE seq = 3",
    ],
)
def test_an_edit_of_any_field_breaks_that_entry(
    session: Session, inspector: Inspector, fresh: Session, edit: str
) -> None:
    entries = chain(session, inspector)
    execute(session, edit)
    result = audit.verify(fresh)
    assert result.broken == audit.BrokenLink(entries[2].id, 3, BrokenReason.HASH)
    assert (result.count, result.head) == (2, entries[1].entry_hash)


def test_an_edited_hash_breaks_the_link_of_the_next_entry(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    # Edit entry 3 and recompute its own hash: the edit hides in 3, and shows in 4.
    entries = chain(session, inspector)
    execute(session, "UPDATE audit_entries SET action = 'x' WHERE seq = 3")
    edited = fresh.scalars(select(AuditEntry).where(AuditEntry.seq == 3)).one()
    forged = audit.entry_hash(edited.prev_hash, audit.hashed_content(edited))
    execute(session, "UPDATE audit_entries SET entry_hash = :h WHERE seq = 3", h=forged)
    fresh.rollback()
    assert audit.verify(fresh).broken == audit.BrokenLink(entries[3].id, 4, BrokenReason.LINK)


def test_a_deletion_in_the_middle_breaks_the_numbering(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    entries = chain(session, inspector)
    execute(session, "DELETE FROM audit_entries WHERE seq = 3")
    result = audit.verify(fresh)
    assert result.broken == audit.BrokenLink(entries[3].id, 4, BrokenReason.SEQUENCE)
    assert "deleted" in result.broken.describe()


def test_a_deletion_hidden_by_renumbering_breaks_the_link(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    entries = chain(session, inspector)
    execute(session, "DELETE FROM audit_entries WHERE seq = 3")
    execute(session, "UPDATE audit_entries SET seq = seq + 100 WHERE seq > 3")
    execute(session, "UPDATE audit_entries SET seq = seq - 101 WHERE seq > 100")
    assert audit.verify(fresh).broken == audit.BrokenLink(entries[3].id, 3, BrokenReason.LINK)


def test_an_inserted_entry_breaks_the_chain_where_it_was_put(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    # A forger makes room after entry 2 and writes an entry that hashes correctly over
    # its own content. It cannot point at entry 2's hash (that prev_hash is taken), and
    # whatever it points at, entry 3 still points at entry 2.
    entries = chain(session, inspector)
    execute(session, "UPDATE audit_entries SET seq = seq + 100 WHERE seq > 2")
    execute(session, "UPDATE audit_entries SET seq = seq - 99 WHERE seq > 100")
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    content: dict[str, Any] = {
        "action": "login",
        "actor": "minh",
        "actor_id": None,
        "at": audit.format_time(moment),
        "case_public_id": None,
        "details": {},
        "seq": 3,
        "target": None,
    }
    prev_hash = secrets.token_bytes(32)
    execute(
        session,
        "INSERT INTO audit_entries (seq, at, actor, action, details, prev_hash, entry_hash)"
        " VALUES (3, :at, 'minh', 'login', '{}', :prev, :hash)",
        at=moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
        prev=prev_hash,
        hash=audit.entry_hash(prev_hash, content),
    )
    inserted = fresh.scalars(select(AuditEntry).where(AuditEntry.seq == 3)).one()
    assert inserted.id not in {entry.id for entry in entries}
    result = audit.verify(fresh)
    assert result.broken == audit.BrokenLink(inserted.id, 3, BrokenReason.LINK)


def test_the_unique_prev_hash_refuses_an_insertion_linked_to_a_taken_hash(
    session: Session, inspector: Inspector
) -> None:
    entries = chain(session, inspector, 3)
    with pytest.raises(IntegrityError, match="prev_hash"):
        execute(
            session,
            "INSERT INTO audit_entries (seq, at, actor, action, details, prev_hash, entry_hash)"
            " VALUES (99, '2026-03-02 09:00:00.000000', 'minh', 'login', '{}', :prev, :hash)",
            prev=entries[1].entry_hash,
            hash=secrets.token_bytes(32),
        )


def test_a_deletion_at_the_tail_is_found_only_against_a_recorded_head(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    entries = chain(session, inspector)
    recorded = audit.verify(fresh).head
    execute(session, "DELETE FROM audit_entries WHERE seq >= 4")
    fresh.rollback()
    assert audit.verify(fresh).ok  # the chain alone looks fine
    result = audit.verify(fresh, recorded)
    assert result.broken == audit.BrokenLink(None, None, BrokenReason.HEAD_MISSING)
    assert (result.count, result.head) == (3, entries[2].entry_hash)


def test_a_rewritten_chain_is_found_against_a_recorded_head(
    session: Session, inspector: Inspector, fresh: Session
) -> None:
    chain(session, inspector, 3)
    recorded = audit.verify(fresh).head
    # Someone with write access deletes everything and writes a new, valid history.
    execute(session, "DELETE FROM audit_entries")
    audit.append(session, actor=audit.SYSTEM, action="nothing_happened")
    session.commit()
    fresh.rollback()
    assert audit.verify(fresh).ok
    assert audit.verify(fresh, recorded).broken == audit.BrokenLink(
        None, None, BrokenReason.HEAD_MISSING
    )


def test_verify_reads_the_database_not_the_sessions_cache(
    session: Session, inspector: Inspector
) -> None:
    entries = chain(session, inspector, 2)
    session.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 1"))
    assert entries[0].action != "x"  # the loaded object still shows the old value
    assert audit.verify(session).broken == audit.BrokenLink(entries[0].id, 1, BrokenReason.HASH)


# --- the migration that added seq -----------------------------------------------------------


def test_migration_numbers_older_rows_in_id_order_and_keeps_ids_unused(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "old.sqlite3"))
    try:
        with migration_connection(engine) as connection:
            command.upgrade(alembic_config(connection), "0001")
        with engine.begin() as connection:
            for _ in range(3):
                connection.execute(
                    text(
                        "INSERT INTO audit_entries (at, actor, action, details, prev_hash,"
                        " entry_hash) VALUES ('2026-03-02 09:00:00', 'system', 'x', '{}',"
                        " randomblob(32), randomblob(32))"
                    )
                )
            connection.execute(text("DELETE FROM audit_entries WHERE id = 3"))
        upgrade_to_head(engine)
        with session_factory(engine)() as session:
            rows = session.execute(select(AuditEntry.id, AuditEntry.seq)).all()
            assert [tuple(row) for row in rows] == [(1, 1), (2, 2)]
            # Entries never covered by a seq do not pass for a valid chain.
            assert audit.verify(session).broken is not None
            entry = audit.append(session, actor=audit.SYSTEM, action="x")
            assert entry.id == 4  # AUTOINCREMENT survived the table rebuild: 3 stays unused
    finally:
        engine.dispose()
