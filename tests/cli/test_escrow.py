"""`minhbach escrow create|check` and the escrow file loader."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import click
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cli.escrow import (
    EscrowFileError,
    load_escrow_file,
    read_escrow_file,
    store_escrow_key,
)
from crypto import WrongPassphrase, fingerprint, public_bytes
from store.models import Unit
from tests.cli.helpers import (
    ESCROW_PASSPHRASE,
    UNIT,
    Invoke,
    add_unit,
    assert_ok,
    assert_refused,
    create_escrow,
    passphrase_file,
)


def escrow_key(database: sessionmaker[Session], slug: str = UNIT) -> bytes | None:
    with database() as session:
        return session.scalar(select(Unit.escrow_public_key).where(Unit.slug == slug))


@pytest.fixture
def unit(invoke: Invoke, initialised: Path) -> str:
    add_unit(invoke)
    return UNIT


def test_escrow_create_writes_a_private_file_that_opens_with_the_passphrase(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    out = tmp_path / "escrow.json"
    result = invoke(
        "escrow", "create", "--unit", unit, "--out", str(out),
        input=f"{ESCROW_PASSPHRASE}\n{ESCROW_PASSPHRASE}\n",
    )  # fmt: skip
    output = assert_ok(result)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text(encoding="utf-8"))
    assert set(document) == {
        "format", "version", "unit", "public_key", "fingerprint", "sealed_private_key",
    }  # fmt: skip
    assert (document["format"], document["version"], document["unit"]) == (
        "minhbach-escrow-key",
        1,
        unit,
    )
    stored = escrow_key(database)
    assert stored is not None
    assert document["public_key"] == stored.hex()
    assert document["fingerprint"] == fingerprint(stored)
    assert public_bytes(load_escrow_file(out, ESCROW_PASSPHRASE)) == stored
    assert f"Fingerprint: {fingerprint(stored)}" in output
    assert "offline" in output
    assert ESCROW_PASSPHRASE not in result.output


def test_loader_refuses_a_wrong_passphrase(invoke: Invoke, unit: str, tmp_path: Path) -> None:
    out = create_escrow(invoke, tmp_path)
    with pytest.raises(WrongPassphrase):
        load_escrow_file(out, "not the escrow passphrase")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a minhbach escrow key file"),
        ({"version": 2}, "unsupported escrow file version 2"),
        ({"public_key": "zz" * 32}, "public_key is not valid hex"),
        ({"public_key": "00" * 31}, "not an X25519 key"),
        ({"sealed_private_key": 12}, "has no sealed_private_key"),
        ({"fingerprint": "AAAA-BBBB"}, "fingerprint does not match"),
    ],
)
def test_loader_refuses_damaged_files(
    invoke: Invoke, unit: str, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    out = create_escrow(invoke, tmp_path)
    document = json.loads(out.read_text(encoding="utf-8"))
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({**document, **change}), encoding="utf-8")
    with pytest.raises(EscrowFileError, match=message):
        load_escrow_file(damaged, ESCROW_PASSPHRASE)


def test_loader_refuses_files_that_are_not_json(tmp_path: Path) -> None:
    path = tmp_path / "escrow.json"
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(EscrowFileError, match="not JSON"):
        read_escrow_file(path)
    with pytest.raises(EscrowFileError, match="cannot read"):
        read_escrow_file(tmp_path / "missing.json")


def test_escrow_check_confirms_the_file_and_passphrase(
    invoke: Invoke, unit: str, tmp_path: Path
) -> None:
    out = create_escrow(invoke, tmp_path)
    result = invoke("escrow", "check", "--unit", unit, "--file", str(out), input="x\n")
    assert_refused(result, "this passphrase does not open the escrow file")

    result = invoke(
        "escrow", "check", "--unit", unit, "--file", str(out), input=f"{ESCROW_PASSPHRASE}\n"
    )
    assert "opens with this passphrase" in assert_ok(result)
    assert ESCROW_PASSPHRASE not in result.output


def test_escrow_check_needs_a_unit_with_an_escrow_key(
    invoke: Invoke, unit: str, tmp_path: Path
) -> None:
    add_unit(invoke, "other")
    out = create_escrow(invoke, tmp_path, "other")
    result = invoke("escrow", "check", "--unit", unit, "--file", str(out))
    assert_refused(result, f"unit '{unit}' has no escrow key")


def test_escrow_check_refuses_another_units_key(invoke: Invoke, unit: str, tmp_path: Path) -> None:
    add_unit(invoke, "other")
    create_escrow(invoke, tmp_path, unit)
    other = create_escrow(invoke, tmp_path, "other")
    result = invoke("escrow", "check", "--unit", unit, "--file", str(other))
    assert_refused(result, f"but unit '{unit}' uses")


def test_escrow_check_reports_invalid_hex_clearly(
    invoke: Invoke, unit: str, tmp_path: Path
) -> None:
    out = create_escrow(invoke, tmp_path)
    document = json.loads(out.read_text(encoding="utf-8"))
    out.write_text(json.dumps({**document, "public_key": "not hex"}), encoding="utf-8")
    result = invoke("escrow", "check", "--unit", unit, "--file", str(out))
    assert_refused(result, "the escrow file's public_key is not valid hex")


def test_a_unit_gets_one_escrow_key_only(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    create_escrow(invoke, tmp_path)
    first = escrow_key(database)
    second = tmp_path / "second.json"
    result = invoke("escrow", "create", "--unit", unit, "--out", str(second))
    assert_refused(result, f"unit '{unit}' already has an escrow key ({fingerprint(first or b'')})")
    assert not second.exists()
    assert escrow_key(database) == first


def test_an_existing_output_file_is_never_overwritten(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    out = tmp_path / "escrow.json"
    out.write_text("precious", encoding="utf-8")
    result = invoke("escrow", "create", "--unit", unit, "--out", str(out))
    assert_refused(result, f"{out} already exists; refusing to overwrite it")
    assert "Passphrase" not in result.output  # refused before asking
    assert out.read_text(encoding="utf-8") == "precious"
    assert escrow_key(database) is None


def test_output_folder_must_exist(invoke: Invoke, unit: str, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "escrow.json"
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE)
    result = invoke(
        "escrow", "create", "--unit", unit, "--out", str(out), "--passphrase-file", str(secret)
    )
    assert_refused(result, f"cannot create {out}")


def test_no_escrow_file_is_left_behind_when_the_commit_fails(
    invoke: Invoke,
    database: sessionmaker[Session],
    unit: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_commit(_session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    out = tmp_path / "escrow.json"
    secret = passphrase_file(tmp_path, ESCROW_PASSPHRASE)
    result = invoke(
        "escrow", "create", "--unit", unit, "--out", str(out), "--passphrase-file", str(secret)
    )
    assert_refused(result, "database error: disk I/O error")
    assert not out.exists()
    monkeypatch.undo()
    assert escrow_key(database) is None


def test_unknown_unit_is_refused(invoke: Invoke, initialised: Path, tmp_path: Path) -> None:
    result = invoke("escrow", "create", "--unit", "nowhere", "--out", str(tmp_path / "e.json"))
    assert_refused(result, "no unit 'nowhere'")
    assert not (tmp_path / "e.json").exists()


def test_concurrent_escrow_creation_cannot_replace_the_first_key(
    invoke: Invoke, database: sessionmaker[Session], unit: str, tmp_path: Path
) -> None:
    """Both administrators passed the early check; only the first key may be stored."""
    with database() as slow:
        stale = slow.scalars(select(Unit).where(Unit.slug == unit)).one()
        slow.commit()  # the object keeps its (now stale) "no escrow key" state
        create_escrow(invoke, tmp_path)  # the other administrator is faster
        with pytest.raises(click.ClickException, match="already has an escrow key"):
            store_escrow_key(slow, stale, bytes(32))
    first = escrow_key(database)
    assert first is not None
    assert first != bytes(32)
