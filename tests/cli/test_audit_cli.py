"""`minhbach audit verify`: a clean chain passes and prints its head; every kind of
tampering fails with the first broken entry's id and the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from casework import audit
from tests.cli.helpers import Invoke, assert_ok, assert_refused

ENTRIES = 5


@pytest.fixture
def ids(initialised: Path, database: sessionmaker[Session]) -> list[int]:
    """A chain of five entries in the instance's database; their ids in order."""
    with database() as session:
        entries = [
            audit.append(session, actor=audit.SYSTEM, action="login", target=f"entry {n}")
            for n in range(ENTRIES)
        ]
        session.commit()
        return [entry.id for entry in entries]


def tamper(database: sessionmaker[Session], *statements: str) -> None:
    with database() as session:
        for statement in statements:
            session.execute(text(statement))
        session.commit()


def printed_head(output: str) -> str:
    match = re.search(r"Head: ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def test_a_clean_chain_passes_and_prints_its_head_and_count(
    invoke: Invoke, ids: list[int], database: sessionmaker[Session]
) -> None:
    output = assert_ok(invoke("audit", "verify"))
    assert f"intact: {ENTRIES} entries" in output
    with database() as session:
        assert printed_head(output) == audit.verify(session).head.hex()
    again = assert_ok(invoke("audit", "verify", "--expect-head", printed_head(output)))
    assert "expected head is in the chain" in again


def test_an_empty_log_passes(invoke: Invoke, initialised: Path) -> None:
    output = assert_ok(invoke("audit", "verify"))
    assert "intact: 0 entries" in output
    assert printed_head(output) == "0" * 64


def test_an_edit_is_reported_at_the_edited_entry(
    invoke: Invoke, ids: list[int], database: sessionmaker[Session]
) -> None:
    tamper(database, "UPDATE audit_entries SET action = 'nothing' WHERE seq = 2")
    assert_refused(invoke("audit", "verify"), f"entry {ids[1]} (#2)", "edited")


def test_an_insertion_is_reported_where_it_was_made(
    invoke: Invoke, ids: list[int], database: sessionmaker[Session]
) -> None:
    tamper(
        database,
        "UPDATE audit_entries SET seq = seq + 100 WHERE seq > 2",
        "UPDATE audit_entries SET seq = seq - 99 WHERE seq > 100",
        "INSERT INTO audit_entries (id, seq, at, actor, action, details, prev_hash, entry_hash)"
        " VALUES (77, 3, '2026-03-02 09:00:00', 'system', 'login', '{}', randomblob(32),"
        " randomblob(32))",
    )
    assert_refused(invoke("audit", "verify"), "entry 77 (#3)", "inserted")


def test_a_deletion_in_the_middle_is_reported_at_the_next_entry(
    invoke: Invoke, ids: list[int], database: sessionmaker[Session]
) -> None:
    tamper(database, "DELETE FROM audit_entries WHERE seq = 3")
    output = assert_refused(invoke("audit", "verify"), f"entry {ids[3]} (#4)", "deleted")
    assert "Checked 2 entries before the break" in output


def test_a_deletion_at_the_tail_is_reported_against_the_expected_head(
    invoke: Invoke, ids: list[int], database: sessionmaker[Session]
) -> None:
    head = printed_head(assert_ok(invoke("audit", "verify")))
    tamper(database, "DELETE FROM audit_entries WHERE seq = 5")
    assert_ok(invoke("audit", "verify"))  # the shorter chain is valid on its own
    assert_refused(
        invoke("audit", "verify", "--expect-head", head),
        "expected head is not in the chain",
        "deleted from the end",
    )


@pytest.mark.parametrize("head", ["abc", "zz" * 32, "00" * 31])
def test_a_malformed_expected_head_is_refused(invoke: Invoke, initialised: Path, head: str) -> None:
    result = invoke("audit", "verify", "--expect-head", head)
    assert result.exit_code == 2
    assert "64 hexadecimal digits" in result.output


def test_an_uninitialised_instance_is_a_clear_error(invoke: Invoke, instance: Path) -> None:
    assert_refused(invoke("audit", "verify"), "minhbach init")
