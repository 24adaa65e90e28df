"""`minhbach demo`: only in demo mode; credentials file that really opens the accounts."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from casework import followup
from casework.categories import DEFAULT_CATEGORIES
from casework.dates import unit_today
from cli.escrow import load_escrow_file
from cli.inspectors import keyring_of
from crypto import Argon2Params, FollowUpCode, RecoveryCode, public_bytes
from store.models import Case, CaseEvent, CaseTransfer, Inspector, Track, Unit
from tests.cli.helpers import Invoke, assert_ok, assert_refused

DEMO = {"MINHBACH_DEMO": "1"}
FAST_CODES = Argon2Params(ops=1, memory_kib=8)  # as tests/cli/conftest.py sets


def credentials(instance: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((instance / "demo.json").read_text(encoding="utf-8"))
    return document


def test_demo_is_refused_unless_demo_mode_is_explicit(invoke: Invoke, instance: Path) -> None:
    assert_refused(invoke("demo"), "set MINHBACH_DEMO=1")
    assert_refused(invoke("demo", env={"MINHBACH_DEMO": "0"}), "set MINHBACH_DEMO=1")
    assert not instance.exists()  # refused before creating anything


def test_demo_sets_up_a_unit_and_accounts_that_open_with_demo_json(
    invoke: Invoke, instance: Path, database: sessionmaker[Session]
) -> None:
    result = invoke("demo", "--review-url", "https://review.example/", env=DEMO)
    output = assert_ok(result)

    path = instance / "demo.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = credentials(instance)
    assert document["submit_url"] == "http://127.0.0.1:5000"
    assert document["review_url"] == "https://review.example"
    assert set(document["escrow"]) == {"file", "passphrase"}
    users = document["users"]
    assert sorted(user["role"] for user in users) == [
        "admin",
        "custodian",
        "inspector",
        "inspector",
        "inspector",
        "supervisor",
    ]

    escrow_file = Path(document["escrow"]["file"])
    assert escrow_file == instance / "demo-escrow.json"
    assert stat.S_IMODE(escrow_file.stat().st_mode) == 0o600
    escrow = load_escrow_file(escrow_file, document["escrow"]["passphrase"])

    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == "demo"))
        assert unit is not None
        assert "bản thử" in unit.name
        assert unit.profile == "vn-denunciation-2026"
        assert unit.categories == list(DEFAULT_CATEGORIES)
        assert unit.reception_schedule
        assert unit.escrow_public_key == public_bytes(escrow)
        # Two levels of government: the commune's directly superior unit is the province's.
        commune = session.scalar(select(Unit).where(Unit.slug == "demo-xa"))
        assert commune is not None
        assert (commune.superior, unit.superior) == (unit, None)
        for user in users:
            assert {"username", "passphrase", "totp_secret", "role"} <= set(user)
            assert len(user["passphrase"]) >= 16
            inspector = session.scalar(
                select(Inspector).where(Inspector.username == user["username"])
            )
            assert inspector is not None
            assert inspector.unit.slug == ("demo-xa" if user["username"] == "tuan" else "demo")
            assert inspector.role.value == user["role"]
            assert inspector.totp_secret == user["totp_secret"]
            pyotp.TOTP(user["totp_secret"]).now()  # a valid base32 secret
            keyring = keyring_of(inspector)
            assert public_bytes(keyring.unlock(user["passphrase"])) == inspector.public_key
            recovery = RecoveryCode.parse(user["recovery_code"])
            assert public_bytes(keyring.recover(recovery)) == inspector.public_key
            if inspector.unit_id == unit.id:  # the second demo unit has no escrow key
                assert public_bytes(keyring.recover_with_escrow(escrow)) == inspector.public_key
            assert user["passphrase"] in output  # demo data: shown on purpose
        assert len(session.scalars(select(Inspector)).all()) == 6

    assert "https://review.example" in output
    assert ".venv/bin/minhbach demo totp USERNAME" in output


def test_demo_runs_once_then_refuses_or_reuses(invoke: Invoke, instance: Path) -> None:
    assert_ok(invoke("demo", env=DEMO))
    before = credentials(instance)

    assert_refused(
        invoke("demo", env=DEMO), "already set up; remove the instance folder", "--reuse"
    )
    output = assert_ok(invoke("demo", "--reuse", env=DEMO))
    assert credentials(instance) == before
    for user in before["users"]:
        assert user["passphrase"] in output


def test_demo_totp_prints_the_code_that_signs_the_user_in_now(
    invoke: Invoke, instance: Path, database: sessionmaker[Session]
) -> None:
    assert_ok(invoke("demo", env=DEMO))
    output = assert_ok(invoke("demo", "totp", "lan", env=DEMO))
    code = output.split()[0]
    with database() as session:
        secret = session.scalar(select(Inspector.totp_secret).where(Inspector.username == "lan"))
    assert secret is not None
    # The step printed is this one, or the one before if the test crossed a 30 s boundary.
    assert pyotp.TOTP(secret).verify(code, valid_window=1)
    assert "valid for" in output


def test_demo_totp_follows_a_reset_secret(
    invoke: Invoke, instance: Path, database: sessionmaker[Session]
) -> None:
    assert_ok(invoke("demo", env=DEMO))
    reset = pyotp.random_base32()
    with database() as session:
        person = session.scalar(select(Inspector).where(Inspector.username == "son"))
        assert person is not None
        person.totp_secret = reset
        session.commit()
    code = assert_ok(invoke("demo", "totp", "son", env=DEMO)).split()[0]
    assert pyotp.TOTP(reset).verify(code, valid_window=1)


def test_demo_totp_is_for_demo_users_in_demo_mode_only(
    invoke: Invoke, instance: Path, tmp_path: Path
) -> None:
    assert_refused(invoke("demo", "totp", "lan", env=DEMO), "demo.json is missing")
    assert_ok(invoke("demo", env=DEMO))
    assert_refused(invoke("demo", "totp", "lan"), "set MINHBACH_DEMO=1")
    secret = tmp_path / "passphrase.txt"
    secret.write_text("a real passphrase here\n", encoding="utf-8")
    assert_ok(
        invoke(
            "inspector", "add", "--unit", "demo", "--username", "real", "--display-name", "Real",
            "--role", "inspector", "--passphrase-file", str(secret), "--no-qr",
        )
    )  # fmt: skip
    assert_refused(invoke("demo", "totp", "real", env=DEMO), "real is not a demo user")


def test_reuse_without_demo_json_is_refused(invoke: Invoke, instance: Path) -> None:
    assert_ok(invoke("demo", env=DEMO))
    (instance / "demo.json").unlink()
    result = invoke("demo", "--reuse", env=DEMO)
    assert_refused(result, f"already set up, but {instance / 'demo.json'} is gone")


def test_demo_refuses_clashing_user_names(invoke: Invoke, instance: Path, tmp_path: Path) -> None:
    assert_ok(invoke("init"))
    assert_ok(invoke("unit", "add", "--slug", "real", "--name", "Real unit"))
    secret = tmp_path / "passphrase.txt"
    secret.write_text("a real passphrase here\n", encoding="utf-8")
    assert_ok(
        invoke(
            "inspector", "add", "--unit", "real", "--username", "lan", "--display-name", "Lan",
            "--role", "inspector", "--passphrase-file", str(secret), "--no-qr",
        )
    )  # fmt: skip
    assert_refused(invoke("demo", env=DEMO), "already has accounts named lan", "fresh instance")
    assert not (instance / "demo.json").exists()
    assert not (instance / "demo-escrow.json").exists()


def test_a_failed_demo_leaves_no_files_behind(
    invoke: Invoke, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_commit(_session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    assert_refused(invoke("demo", env=DEMO), "database error: database is locked")
    assert not (instance / "demo.json").exists()
    assert not (instance / "demo-escrow.json").exists()


def test_demo_urls_must_be_http(invoke: Invoke, instance: Path) -> None:
    result = invoke("demo", "--submit-url", "javascript:alert(1)", env=DEMO)
    assert_refused(result, "Invalid value for '--submit-url'")


def test_the_demo_cases_spread_across_statuses_and_deadlines(
    invoke: Invoke, instance: Path, database: sessionmaker[Session]
) -> None:
    assert_ok(invoke("demo", env=DEMO))
    codes = credentials(instance)["sample_codes"]
    today = unit_today()
    with database() as session:
        unit = session.scalar(select(Unit).where(Unit.slug == "demo"))
        assert unit is not None
        cases = session.scalars(select(Case).where(Case.unit_id == unit.id)).all()
        statuses = {case.status for case in cases}
        assert {"received", "triage", "verifying", "closed", "not_accepted"} <= statuses
        assert len(statuses) >= 8
        assert {case.track for case in cases} == set(Track)
        assert any(case.next_due is not None and case.next_due < today for case in cases)
        assert any(case.next_due is not None and case.next_due >= today for case in cases)
        assert any(case.protections for case in cases)
        assert any(case.retaliation_incidents for case in cases)
        assert any(case.closed_on is not None for case in cases)
        forwarded = session.scalars(select(CaseTransfer)).all()
        assert [record.to_unit.slug for record in forwarded] == ["demo-xa", "demo-xa"]
        # One forwarded case fell overdue at the commune: escalated to the province's head.
        escalated = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalation")).all()
        assert {"demo", "demo-xa"} == {event.case.unit.slug for event in escalated}
        addressed = {event.data["to_unit"] for event in escalated}
        assert addressed == {"demo"}
        assert len(codes) == 3
        for code in codes:
            token = FollowUpCode.parse(code).lookup_token()
            assert followup.find_case(session, unit, token, FAST_CODES) is not None
