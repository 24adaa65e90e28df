"""`minhbach inspector add|list`: keyrings, recovery code, TOTP, passphrase handling."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pyotp
import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli import inspectors
from cli.escrow import load_escrow_file
from cli.inspectors import keyring_of, qr_code
from crypto import fingerprint, public_bytes
from store.models import Inspector, InspectorRole
from tests.cli.helpers import (
    ESCROW_PASSPHRASE,
    PASSPHRASE,
    UNIT,
    Invoke,
    add_unit,
    assert_ok,
    assert_refused,
    create_escrow,
    otpauth_uri,
    passphrase_file,
    recovery_code,
)


@pytest.fixture
def unit(invoke: Invoke, initialised: Path) -> str:
    add_unit(invoke)
    return UNIT


def add_lan(invoke: Invoke, *extra: str, passphrase: str = PASSPHRASE) -> Result:
    return invoke(
        "inspector", "add", "--unit", UNIT, "--username", "Lan",
        "--display-name", "Nguyễn Thị Lan", "--role", "inspector", *extra,
        input=f"{passphrase}\n{passphrase}\n",
    )  # fmt: skip


def stored(database: sessionmaker[Session], username: str = "lan") -> Inspector | None:
    with database() as session:
        return session.scalar(select(Inspector).where(Inspector.username == username))


def test_enrolment_stores_a_keyring_that_opens_three_ways(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    escrow_file = create_escrow(invoke, tmp_path)
    result = add_lan(invoke)
    output = assert_ok(result)

    inspector = stored(database)
    assert inspector is not None
    assert (inspector.display_name, inspector.role, inspector.active) == (
        "Nguyễn Thị Lan",
        InspectorRole.INSPECTOR,
        True,
    )
    keyring = keyring_of(inspector)
    # Typed with decomposed marks, it is still the same passphrase (NFC).
    assert public_bytes(keyring.unlock(unicodedata.normalize("NFD", PASSPHRASE))) == (
        inspector.public_key
    )
    code = recovery_code(output)
    assert public_bytes(keyring.recover(code)) == inspector.public_key
    escrow = load_escrow_file(escrow_file, ESCROW_PASSPHRASE)
    assert public_bytes(keyring.recover_with_escrow(escrow)) == inspector.public_key

    assert output.count(code.display()) == 1  # shown once
    assert "will not be shown again" in output
    assert f"Key fingerprint: {fingerprint(inspector.public_key)}" in output
    assert PASSPHRASE not in result.output


def test_totp_enrolment_matches_the_stored_secret(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    output = assert_ok(add_lan(invoke))
    inspector = stored(database)
    assert inspector is not None

    uri = otpauth_uri(output)
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    assert totp.secret == inspector.totp_secret
    assert totp.issuer == "minhbach"
    assert totp.name == f"lan@{UNIT}"
    assert qr_code(uri) in output  # the QR drawn is that of the URI printed


def test_no_qr_leaves_out_only_the_qr_code(invoke: Invoke, unit: str) -> None:
    output = assert_ok(add_lan(invoke, "--no-qr"))
    assert "otpauth://" in output
    assert "█" not in output


def test_enrolment_without_escrow_key_warns_and_has_no_escrow_copy(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    result = add_lan(invoke)
    assert_ok(result)
    assert "has no escrow key" in result.stderr
    inspector = stored(database)
    assert inspector is not None
    assert inspector.sealed_key_escrow is None


def test_passphrase_file_is_read_and_not_echoed(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    secret = passphrase_file(tmp_path, "  spaces count too  ")
    result = invoke(
        "inspector", "add", "--unit", UNIT, "--username", "hoa", "--display-name", "Lê Thị Hoa",
        "--role", "custodian", "--passphrase-file", str(secret), "--no-qr",
    )  # fmt: skip
    assert_ok(result)
    inspector = stored(database, "hoa")
    assert inspector is not None
    assert inspector.role is InspectorRole.CUSTODIAN
    keyring_of(inspector).unlock("  spaces count too  ")
    assert "spaces count too" not in result.output


def test_inspector_list_shows_accounts_of_the_unit(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    assert "no accounts yet" in assert_ok(invoke("inspector", "list", "--unit", UNIT))
    assert_ok(add_lan(invoke, "--no-qr"))
    inspector = stored(database)
    assert inspector is not None

    lines = assert_ok(invoke("inspector", "list", "--unit", UNIT)).splitlines()
    assert lines[0].split() == [
        "username",
        "display",
        "name",
        "role",
        "active",
        "key",
        "fingerprint",
    ]
    assert lines[1].split() == [
        "lan", "Nguyễn", "Thị", "Lan", "inspector", "yes", fingerprint(inspector.public_key),
    ]  # fmt: skip
    assert len(lines) == 2


def test_user_names_are_unique_whatever_the_case(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    assert_ok(add_lan(invoke, "--no-qr"))
    result = invoke(
        "inspector", "add", "--unit", UNIT, "--username", "LAN", "--display-name", "x",
        "--role", "admin",
    )  # fmt: skip
    assert_refused(result, "the user name 'lan' is already taken")
    assert "Passphrase" not in result.output  # refused before asking


def test_user_name_taken_meanwhile_is_caught_by_the_database_friendly(
    invoke: Invoke, database: sessionmaker[Session], unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_ok(add_lan(invoke, "--no-qr"))
    monkeypatch.setattr(inspectors, "refuse_taken_username", lambda _session, _name: None)
    result = add_lan(invoke, "--no-qr")
    output = assert_refused(result, "this user name is already taken")
    assert "Recovery code" not in output  # nothing shown for an account never stored
    assert "INSERT" not in output
    with database() as session:
        assert len(session.scalars(select(Inspector)).all()) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--unit", "nowhere"), "no unit 'nowhere'"),
        (("--role", "boss"), "Invalid value for '--role'"),
        (("--username", "lan nguyen"), "Invalid value for '--username': a user name is 1-64"),
        (("--display-name", " "), "Invalid value for '--display-name': must not be empty"),
        (("--passphrase-file", "/nonexistent/passphrase"), "cannot read the passphrase file"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    invoke: Invoke,
    database: sessionmaker[Session],
    unit: str,
    change: tuple[str, str],
    message: str,
) -> None:
    options = {"--unit": UNIT, "--username": "lan", "--display-name": "Lan", "--role": "inspector"}
    options.update([change])
    args = [item for pair in options.items() for item in pair]
    result = invoke("inspector", "add", *args, input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert_refused(result, message)
    assert PASSPHRASE not in result.output
    with database() as session:
        assert session.scalars(select(Inspector)).all() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "has an empty first line"),
        (b"\nsecond line is ignored\n", "has an empty first line"),
        (b"\xff\xfe\xfa", "is not UTF-8 text"),
        (b"short one\n", "the passphrase is too short: use at least 12 characters"),
        # 11 characters, 14 code points when decomposed: counted after NFC.
        (unicodedata.normalize("NFD", "Việt Nam ơi").encode(), "too short"),
    ],
)
def test_unusable_passphrase_files_are_refused(
    invoke: Invoke,
    database: sessionmaker[Session],
    unit: str,
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    path = tmp_path / "passphrase.txt"
    path.write_bytes(content)
    result = invoke(
        "inspector", "add", "--unit", UNIT, "--username", "lan", "--display-name", "Lan",
        "--role", "inspector", "--passphrase-file", str(path),
    )  # fmt: skip
    output = assert_refused(result, message)
    assert "short one" not in output
    assert stored(database) is None


def test_short_typed_passphrase_is_asked_again_without_echo(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    result = add_lan(invoke, passphrase="tiny-secret")
    output = assert_refused(result, "the passphrase is too short", "Aborted")
    assert output.count("Passphrase:") == 3  # asked again after each refusal, until EOF
    assert "tiny-secret" not in output
    assert stored(database) is None


def test_mismatched_confirmation_stores_nothing(
    invoke: Invoke, database: sessionmaker[Session], unit: str
) -> None:
    result = invoke(
        "inspector", "add", "--unit", UNIT, "--username", "lan", "--display-name", "Lan",
        "--role", "inspector", input=f"{PASSPHRASE}\n{PASSPHRASE}!\n",
    )  # fmt: skip
    output = assert_refused(result, "The two entered values do not match")
    assert PASSPHRASE not in output
    assert stored(database) is None
