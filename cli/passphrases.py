"""Passphrases in and out: hidden prompts, passphrase files, generated demo passphrases.

A passphrase never appears in output or in an error message: click masks it in its own
prompt errors, and every message here describes the problem without the value.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from cli.errors import FileProblem
from crypto.encoding import crockford_encode, group
from crypto.keyring import MIN_PASSPHRASE_LENGTH

F = TypeVar("F", bound=Callable[..., object])

# 80 bits as 16 Crockford characters in four groups of four: easy to type, and above the
# minimum length even without the dashes.
GENERATED_BYTES = 10


def passphrase_file_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"{help_text} Only its first line is read. For automation; omit to be asked.",
    )


def check_new_passphrase(passphrase: str) -> str:
    """Refuse passphrases too short to resist guessing, counted as the keyring counts them."""
    if len(unicodedata.normalize("NFC", passphrase)) < MIN_PASSPHRASE_LENGTH:
        raise click.BadParameter(
            f"the passphrase is too short: use at least {MIN_PASSPHRASE_LENGTH} characters "
            "(several words are easiest to remember)"
        )
    return passphrase


def read_passphrase_file(path: Path) -> str:
    """The first line of ``path``, without its line ending. Other white space is kept: it
    may be part of the passphrase."""
    try:
        with path.open(encoding="utf-8") as file:
            line = file.readline()
    except OSError as exc:
        raise FileProblem(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FileProblem(f"the passphrase file {path} is not UTF-8 text") from None
    passphrase = line.rstrip("\r\n")
    if not passphrase:
        raise FileProblem(f"the passphrase file {path} has an empty first line")
    return passphrase


def new_passphrase(passphrase_file: Path | None, prompt: str) -> str:
    """A passphrase being set: from the file, or typed twice without echo."""
    if passphrase_file is None:
        return click.prompt(
            prompt, hide_input=True, confirmation_prompt=True, value_proc=check_new_passphrase
        )
    passphrase = read_passphrase_file(passphrase_file)
    try:
        return check_new_passphrase(passphrase)
    except click.BadParameter as exc:
        exc.param_hint = "'--passphrase-file'"
        raise


def existing_passphrase(passphrase_file: Path | None, prompt: str) -> str:
    """A passphrase that was set before: asked once, no strength rule (it is what it is)."""
    if passphrase_file is None:
        value: str = click.prompt(prompt, hide_input=True)
        return value
    return read_passphrase_file(passphrase_file)


def generate_passphrase() -> str:
    """A random passphrase for demo accounts, e.g. ``7K2M-9QXD-3H8T-W1RB``."""
    return group(crockford_encode(secrets.token_bytes(GENERATED_BYTES)))
