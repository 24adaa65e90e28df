"""Failures every command shares: settings, missing database, and no tracebacks, ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store.db import head_revision
from tests.cli.helpers import Invoke, assert_ok, assert_refused

COMMANDS_NEEDING_A_DATABASE = [
    ("unit", "list"),
    ("unit", "add", "--slug", "x", "--name", "X"),
    ("inspector", "list", "--unit", "x"),
    (
        "inspector",
        "add",
        "--unit",
        "x",
        "--username",
        "a",
        "--display-name",
        "A",
        "--role",
        "admin",
    ),
    ("escrow", "create", "--unit", "x", "--out", "escrow.json"),
]


@pytest.mark.parametrize("args", COMMANDS_NEEDING_A_DATABASE)
def test_commands_ask_for_init_first_and_create_nothing(
    invoke: Invoke, instance: Path, args: tuple[str, ...]
) -> None:
    assert_refused(invoke(*args), "the database is not initialised: run `minhbach init` first")
    assert not instance.exists()


def test_an_empty_database_file_asks_for_init(invoke: Invoke, instance: Path) -> None:
    instance.mkdir()
    (instance / "minhbach.sqlite3").touch()
    assert_refused(invoke("unit", "list"), "run `minhbach init` first")


def test_an_outdated_schema_asks_for_init(invoke: Invoke, initialised: Path) -> None:
    engine = create_engine(f"sqlite:///{initialised / 'minhbach.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    result = invoke("unit", "list")
    assert_refused(result, f"at revision 0000, this version of minhbach needs {head_revision()}")
    assert "run `minhbach init`" in result.output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MINHBACH_DEMO", "maybe", "configuration error: MINHBACH_DEMO must be"),
        (
            "MINHBACH_PASSPHRASE_ARGON2",
            "fast",
            "MINHBACH_PASSPHRASE_ARGON2 must be 'OPS,MEMORY_KIB'",
        ),
        ("MINHBACH_CODE_ARGON2", "1,1", "MINHBACH_CODE_ARGON2 must be"),
        ("MINHBACH_DATABASE_URL", "not a url", "MINHBACH_DATABASE_URL is not a valid database URL"),
        ("MINHBACH_DATABASE_URL", "nosuchdb://x/y", "unknown database type 'nosuchdb'"),
    ],
)
def test_bad_settings_are_one_clear_line(
    invoke: Invoke, instance: Path, variable: str, value: str, message: str
) -> None:
    output = assert_refused(invoke("init", env={variable: value}), message)
    assert output.count("\n") == 1


def test_help_works_even_with_bad_settings(invoke: Invoke, instance: Path) -> None:
    output = assert_ok(invoke("unit", "--help", env={"MINHBACH_DEMO": "maybe"}))
    assert "add" in output


def test_the_installed_command_shows_one_line_and_no_traceback(instance: Path) -> None:
    """CliRunner hides tracebacks; the real entry point shows what an operator would see."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
    env["MINHBACH_INSTANCE"] = str(instance)
    process = subprocess.run(
        [str(Path(sys.executable).with_name("minhbach")), "inspector", "list", "--unit", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 1
    assert process.stderr == "Error: the database is not initialised: run `minhbach init` first\n"
    assert process.stdout == ""


def test_help_lists_every_command(invoke: Invoke) -> None:
    output = assert_ok(invoke("--help"))
    for command in ("init", "unit", "escrow", "inspector", "demo"):
        assert f"  {command} " in output
