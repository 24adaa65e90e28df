"""`minhbach cases upgrade`: a unit's protocol 1 cases moved to protocol 2 with its escrow key
(docs/crypto.md §13.7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import crypto
from casework.records import CaseKeys, Trust, ref_of
from cli.escrow import load_escrow_file
from crypto import bound
from crypto.envelope import Kind
from store.models import AuditEntry, Case, Inspector, RecipientKind, Unit, WrapPurpose
from tests.cli.helpers import (
    ESCROW_PASSPHRASE,
    PASSPHRASE,
    UNIT,
    Invoke,
    add_unit,
    assert_ok,
    assert_refused,
    create_escrow,
    passphrase_file,
)
from tests.protocol1 import GROUNDS, REPORTER_NOTE, protocol_1_case


@pytest.fixture
def escrow_file(invoke: Invoke, initialised: Path, tmp_path: Path) -> Path:
    add_unit(invoke)
    path = create_escrow(invoke, tmp_path)
    assert_ok(
        invoke(
            "inspector", "add", "--unit", UNIT, "--username", "lan",
            "--display-name", "Nguyễn Thị Lan", "--role", "inspector", "--no-qr",
            input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
        )
    )  # fmt: skip
    return path


def _old_case(database: sessionmaker[Session]) -> tuple[str, bytes]:
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == UNIT))
        lan = session.scalar(select(Inspector).where(Inspector.username == "lan"))
        assert unit is not None
        assert lan is not None
        old = protocol_1_case(session, unit, [lan])
        session.commit()
        return old.case.public_id, old.case_key


def _upgrade(invoke: Invoke, escrow_file: Path, tmp_path: Path) -> str:
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE, "escrow-secret.txt")
    return assert_ok(
        invoke(
            "cases", "upgrade", "--unit", UNIT,
            "--escrow-file", str(escrow_file), "--escrow-passphrase-file", str(secret),
        )
    )  # fmt: skip


def test_the_units_notes_leave_the_codes_reach_and_are_signed_by_the_escrow_key(
    invoke: Invoke, escrow_file: Path, tmp_path: Path, database: sessionmaker[Session]
) -> None:
    public_id, case_key = _old_case(database)
    assert "Upgraded 1 case(s)" in _upgrade(invoke, escrow_file, tmp_path)
    escrow = load_escrow_file(escrow_file, ESCROW_PASSPHRASE)
    with database() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        assert case is not None
        assert case.protocol == 2
        event = case.events[0]
        grounds = event.grounds
        assert grounds is not None
        assert grounds[0] == 2
        with pytest.raises(crypto.CryptoError):  # the case key no longer opens it
            bound.open_bound(case_key, Kind.NOTE, grounds, case.unit.escrow_signing_key or b"")
        unit_wrap = next(
            w
            for w in case.key_wraps
            if w.purpose is WrapPurpose.UNIT_KEY and w.recipient_kind is RecipientKind.ESCROW
        )
        unit_key = crypto.unwrap(unit_wrap.wrapped, escrow, crypto.Purpose.UNIT_KEY, public_id)
        reading = CaseKeys(case=case_key, unit=unit_key).open_note(
            case, event, "grounds", "grounds"
        )
        assert reading is not None
        assert reading.trust is Trust.SIGNED
        assert reading.text() == GROUNDS
        place = bound.read_place(Kind.NOTE, grounds)
        assert (place.author, dict(place.facts)) == ("escrow", {"carried": True})
        assert place.ref == ref_of(event)  # bound to the row it is kept in
        holders = {
            (w.recipient_kind, w.inspector_id)
            for w in case.key_wraps
            if w.purpose is WrapPurpose.UNIT_KEY
        }
        assert RecipientKind.REPORTER not in {kind for kind, _ in holders}
        assert len(holders) == 2  # lan and the escrow key
        assert [m.seq for m in case.messages] == [1]
        note = case.retaliation_incidents[0].details
        assert note is not None
        assert crypto.open_json(case_key, Kind.NOTE, public_id, note)["text"] == REPORTER_NOTE
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.case_public_id == public_id)
        ).all()
        assert "case_upgraded" in audited
    assert "Upgraded 0 case(s)" in _upgrade(invoke, escrow_file, tmp_path)


def test_another_units_escrow_file_is_refused_before_anything_changes(
    invoke: Invoke, escrow_file: Path, tmp_path: Path, database: sessionmaker[Session]
) -> None:
    public_id, _key = _old_case(database)
    add_unit(invoke, "khac")
    (tmp_path / "other").mkdir()
    other = create_escrow(invoke, tmp_path / "other", "khac")
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE, "escrow-secret.txt")
    result = invoke(
        "cases", "upgrade", "--unit", UNIT,
        "--escrow-file", str(other), "--escrow-passphrase-file", str(secret),
    )  # fmt: skip
    assert_refused(result, f"but unit '{UNIT}' uses")
    with database() as session:
        case = session.scalar(select(Case).where(Case.public_id == public_id))
        assert case is not None
        assert case.protocol == 1
