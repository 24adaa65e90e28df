"""`minhbach inspector recover-with-escrow`: a lost key restored with the escrow key."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import crypto
from casework.keyrings import KeyringAction, keyring_of
from review import session_store
from store.models import AuditEntry, Inspector, ReviewSession
from store.types import utc_now
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
    recovery_code,
)

NEW = "một passphrase mới sau khi khôi phục"


def add_lan(invoke: Invoke, unit: str = UNIT, username: str = "lan") -> crypto.RecoveryCode:
    output = assert_ok(
        invoke(
            "inspector", "add", "--unit", unit, "--username", username,
            "--display-name", "Nguyễn Thị Lan", "--role", "inspector", "--no-qr",
            input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
        )
    )  # fmt: skip
    return recovery_code(output)


def stored(database: sessionmaker[Session], username: str = "lan") -> Inspector:
    with database() as session:
        inspector = session.scalar(select(Inspector).where(Inspector.username == username))
    assert inspector is not None
    return inspector


def recover(
    invoke: Invoke, escrow_file: Path, tmp_path: Path, *, username: str = "lan", typed: str = ""
) -> Result:
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE, "escrow-secret.txt")
    return invoke(
        "inspector", "recover-with-escrow", "--username", username,
        "--escrow-file", str(escrow_file), "--escrow-passphrase-file", str(secret),
        input=typed or f"{NEW}\n{NEW}\n",
    )  # fmt: skip


def open_session(database: sessionmaker[Session], private_key: X25519PrivateKey) -> None:
    """A review-app session of Lan's, as a login leaves it."""
    with database() as session:
        lan = session.scalar(select(Inspector).where(Inspector.username == "lan"))
        assert lan is not None
        limits = session_store.Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
        session_store.create(session, lan, private_key, now=utc_now(), timeouts=limits)
        session.commit()


@pytest.fixture
def escrow_file(invoke: Invoke, initialised: Path, tmp_path: Path) -> Path:
    add_unit(invoke)
    return create_escrow(invoke, tmp_path)


def test_escrow_recovery_reseals_the_same_key_so_old_case_wraps_still_open(
    invoke: Invoke, database: sessionmaker[Session], escrow_file: Path, tmp_path: Path
) -> None:
    old_code = add_lan(invoke)
    before = stored(database)
    # A case key wrapped to Lan before the loss, as intake does.
    case_id, case_key = str(uuid.uuid4()), secrets.token_bytes(32)
    wrapped = crypto.wrap(
        case_key, crypto.load_public_key(before.public_key), crypto.Purpose.CASE_KEY, case_id
    )
    open_session(database, keyring_of(before).unlock(PASSPHRASE))

    result = recover(invoke, escrow_file, tmp_path)
    output = assert_ok(result)
    new_code = recovery_code(output.replace("New recovery code:", "Recovery code:"))
    assert output.count(new_code.display()) == 1
    assert "will not be shown again" in output
    assert NEW not in output
    assert ESCROW_PASSPHRASE not in output

    after = stored(database)
    assert after.public_key == before.public_key
    keyring = keyring_of(after)
    private_key = keyring.unlock(NEW)
    assert crypto.unwrap(wrapped, private_key, crypto.Purpose.CASE_KEY, case_id) == case_key
    assert crypto.public_bytes(keyring.recover(new_code)) == after.public_key
    with pytest.raises(crypto.WrongPassphrase):
        keyring.unlock(PASSPHRASE)
    with pytest.raises(crypto.WrongRecoveryCode):
        keyring.recover(old_code)
    assert after.sealed_key_escrow == before.sealed_key_escrow  # still recoverable again

    with database() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == KeyringAction.RECOVERED_WITH_ESCROW)
        ).all()
    assert (entry.actor, entry.actor_id, entry.target) == ("cli", None, "lan")
    assert entry.details["sessions_ended"] == 1  # whoever had the old passphrase is out
    with database() as session:
        assert session.scalars(select(ReviewSession)).all() == []
    logged = str(entry.details)
    for secret in (NEW, ESCROW_PASSPHRASE, new_code.display()):
        assert secret not in logged


def test_a_wrong_escrow_passphrase_changes_nothing(
    invoke: Invoke, database: sessionmaker[Session], escrow_file: Path, tmp_path: Path
) -> None:
    add_lan(invoke)
    before = stored(database)
    result = invoke(
        "inspector", "recover-with-escrow", "--username", "lan", "--escrow-file", str(escrow_file),
        input=f"not the escrow passphrase\n{NEW}\n{NEW}\n",
    )  # fmt: skip
    output = assert_refused(result, "does not open the escrow file")
    assert "not the escrow passphrase" not in output
    assert stored(database).sealed_key_passphrase == before.sealed_key_passphrase


def test_unknown_accounts_are_refused(invoke: Invoke, escrow_file: Path, tmp_path: Path) -> None:
    assert_refused(recover(invoke, escrow_file, tmp_path, username="nobody"), "no account")


def test_an_escrow_file_of_another_unit_is_refused_before_its_passphrase_is_asked(
    invoke: Invoke, database: sessionmaker[Session], escrow_file: Path, tmp_path: Path
) -> None:
    add_lan(invoke)
    add_unit(invoke, "other-unit")
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    foreign = create_escrow(invoke, other_dir, "other-unit")
    before = stored(database)
    assert_refused(recover(invoke, foreign, tmp_path), f"but unit '{UNIT}' uses")
    assert stored(database).sealed_key_passphrase == before.sealed_key_passphrase


def test_an_account_without_escrow_copy_is_refused(
    invoke: Invoke, initialised: Path, tmp_path: Path
) -> None:
    add_unit(invoke)
    add_lan(invoke)  # enrolled before the unit had an escrow key
    escrow_file = create_escrow(invoke, tmp_path)
    assert_refused(recover(invoke, escrow_file, tmp_path), "has no escrow copy")


def test_a_damaged_escrow_file_is_refused(
    invoke: Invoke, escrow_file: Path, tmp_path: Path
) -> None:
    add_lan(invoke)
    escrow_file.write_text("{}", encoding="utf-8")
    assert_refused(recover(invoke, escrow_file, tmp_path), "not a minhbach escrow key file")


def test_a_short_new_passphrase_is_asked_again(
    invoke: Invoke, database: sessionmaker[Session], escrow_file: Path, tmp_path: Path
) -> None:
    add_lan(invoke)
    result = recover(invoke, escrow_file, tmp_path, typed=f"short\n{NEW}\n{NEW}\n")
    assert "use at least 12 characters" in assert_ok(result)
    keyring_of(stored(database)).unlock(NEW)
