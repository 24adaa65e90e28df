"""Assertions and set-up steps shared by the CLI tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from crypto import RecoveryCode

UNIT = "thanh-tra"
PASSPHRASE = "mật khẩu rất dài của Lan"  # Vietnamese marks: NFC matters
ESCROW_PASSPHRASE = "escrow passphrase kept in the safe"

Invoke = Callable[..., Result]


def assert_ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def assert_refused(result: Result, *fragments: str) -> str:
    """Refused the way an operator should see it: a message and a non-zero exit.

    CliRunner swallows tracebacks, so "no traceback" is checked by the kind of exception:
    click's own exit (SystemExit), not whatever the command raised.
    """
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result.output


def passphrase_file(directory: Path, passphrase: str, name: str = "passphrase.txt") -> Path:
    path = directory / name
    path.write_text(passphrase + "\n", encoding="utf-8")
    return path


def add_unit(invoke: Invoke, slug: str = UNIT, *extra: str) -> None:
    assert_ok(invoke("unit", "add", "--slug", slug, "--name", "Thanh tra tỉnh", *extra))


def create_escrow(invoke: Invoke, directory: Path, slug: str = UNIT) -> Path:
    out = directory / f"{slug}-escrow.json"
    secret = passphrase_file(directory, ESCROW_PASSPHRASE, "escrow-passphrase.txt")
    assert_ok(
        invoke(
            "escrow", "create", "--unit", slug, "--out", str(out), "--passphrase-file", str(secret)
        )
    )
    return out


def recovery_code(output: str) -> RecoveryCode:
    match = re.search(r"Recovery code: (\S+)", output)
    assert match, output
    return RecoveryCode.parse(match.group(1))


def otpauth_uri(output: str) -> str:
    match = re.search(r"otpauth://\S+", output)
    assert match, output
    return match.group(0)
