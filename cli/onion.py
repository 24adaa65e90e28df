"""``minhbach onion client-key``: an inspector's key pair for the review onion service.

The review app's onion service is client-authorised (deploy/tor/torrc): Tor publishes its
descriptor encrypted to the X25519 public keys in ``authorized_clients/``, so whoever lacks
one of the private keys cannot even find the service's introduction points, let alone
try a password. Each inspector gets a pair of their own, so one can be revoked (delete the
``.auth`` file, restart Tor) without re-keying the others.

The two halves, in the formats of torrc(5), "CLIENT AUTHORIZATION":

- the service's ``<name>.auth``: ``descriptor:x25519:<base32 public key>``, printed on
  standard output (it is not secret) or written into ``--authorized-clients DIR``;
- the inspector's ``<name>.auth_private``:
  ``<56-character address without .onion>:descriptor:x25519:<base32 private key>``,
  only ever written to the ``--private-out`` file (mode 0600, never an existing file),
  never printed: a terminal's scrollback or a shell's captured output is a log.

Keys are raw 32-byte X25519 keys in RFC 4648 base32 without padding, as Tor writes them.
The address is checked (its checksum and version byte): a typo would otherwise give the
inspector a key that Tor files under a service that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from cli.output import refuse_existing, write_private_file

ONION_SUFFIX = ".onion"
PUBLIC_SUFFIX = ".auth"
PRIVATE_SUFFIX = ".auth_private"
AUTH_TYPE = "descriptor:x25519"
_V3_VERSION = b"\x03"
_CHECKSUM_LABEL = b".onion checksum"
_ADDRESS = re.compile(r"[a-z2-7]{56}")
# A file name Tor will read and no path: letters, digits, '-' and '_' only.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def base32(raw: bytes) -> str:
    """Tor's base32: RFC 4648 alphabet, no padding."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def onion_address(text: str) -> str:
    """The 56-character v3 address in ``text`` (with or without ``.onion``), checked."""
    candidate = text.strip().lower().removesuffix(ONION_SUFFIX)
    if not _ADDRESS.fullmatch(candidate):
        raise click.BadParameter(
            "expected a v3 onion address: 56 letters a-z and digits 2-7, then .onion "
            "(the review service's hostname file holds it)"
        )
    raw = base64.b32decode(candidate.upper())
    public_key, checksum, version = raw[:32], raw[32:34], raw[34:]
    expected = hashlib.sha3_256(_CHECKSUM_LABEL + public_key + _V3_VERSION).digest()[:2]
    if version != _V3_VERSION or checksum != expected:
        raise click.BadParameter("this onion address has a typo: its checksum does not match")
    return candidate


@dataclass(frozen=True)
class ClientKey:
    """One inspector's client-authorisation key pair for one onion address."""

    address: str
    private_key: X25519PrivateKey

    @classmethod
    def generate(cls, address: str) -> ClientKey:
        return cls(onion_address(address), X25519PrivateKey.generate())

    def service_line(self) -> str:
        """The contents of the service's ``authorized_clients/<name>.auth``."""
        return f"{AUTH_TYPE}:{base32(self.private_key.public_key().public_bytes_raw())}\n"

    def client_line(self) -> str:
        """The contents of the inspector's ``<name>.auth_private``. Secret."""
        return f"{self.address}:{AUTH_TYPE}:{base32(self.private_key.private_bytes_raw())}\n"


def _check_address(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    return onion_address(value)


def _check_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise click.BadParameter("use 1-64 letters, digits, '-' or '_', starting with one")
    return value


@click.group()
def onion() -> None:
    """Tor onion services (deploy/tor/README.md)."""


@onion.command("client-key")
@click.option(
    "--name",
    required=True,
    callback=_check_name,
    help="Whose key this is, e.g. the inspector's user name: names the .auth file.",
)
@click.option(
    "--address",
    required=True,
    callback=_check_address,
    help="The review onion's address (its HiddenServiceDir/hostname).",
)
@click.option(
    "--private-out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the inspector's half here (new file, mode 0600, ends in .auth_private).",
)
@click.option(
    "--authorized-clients",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Write NAME.auth into this folder instead of printing it.",
)
def client_key(name: str, address: str, private_out: Path, authorized_clients: Path | None) -> None:
    """Make a client-authorisation key pair for the review onion service.

    Prints the service's half (the line for authorized_clients/NAME.auth) unless
    --authorized-clients is given; the inspector's half only goes to --private-out.
    """
    if private_out.suffix != PRIVATE_SUFFIX:
        raise click.BadParameter(
            f"Tor only reads files ending in {PRIVATE_SUFFIX}", param_hint="'--private-out'"
        )
    public_out = None if authorized_clients is None else authorized_clients / (name + PUBLIC_SUFFIX)
    refuse_existing(private_out)
    if public_out is not None:
        refuse_existing(public_out)
    key = ClientKey.generate(address)
    write_private_file(private_out, key.client_line().encode("ascii"))
    if public_out is None:
        click.echo(key.service_line(), nl=False)
    else:
        try:
            write_private_file(public_out, key.service_line().encode("ascii"))
        except BaseException:
            private_out.unlink(missing_ok=True)  # half a pair is no use to anyone
            raise
        click.echo(f"Wrote the service's half to {public_out}: restart Tor to apply it.", err=True)
    click.echo(
        f"Wrote the inspector's half to {private_out} (mode 0600): hand it to {name} "
        "in person, then delete it here.",
        err=True,
    )
