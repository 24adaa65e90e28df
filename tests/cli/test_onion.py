"""``minhbach onion client-key``: the two halves of an inspector's onion client key.

tests/deploy/test_tor.py shows that the real tor loads both files; here: that they are
one key pair for the given address, that the private half never reaches the terminal
and is its owner's alone, and that bad input is refused before anything is written.
"""

from __future__ import annotations

import base64
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests.cli.helpers import Invoke, assert_ok, assert_refused

# The example address of torrc(5) (HiddenServiceOnionBalanceInstance): a real v3 address.
ADDRESS = "wrxdvcaqpuzakbfww5sxs6r2uybczwijzfn2ezy2osaj7iox7kl7nhad"
PUBLIC_LINE = re.compile(r"descriptor:x25519:([A-Z2-7]{52})\n")
PRIVATE_LINE = re.compile(rf"{ADDRESS}:descriptor:x25519:([A-Z2-7]{{52}})\n")


def decode(text: str) -> bytes:
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    assert len(raw) == 32
    return raw


def make_key(invoke: Invoke, private_out: Path, *extra: str, address: str = ADDRESS) -> str:
    result = invoke(
        "onion",
        "client-key",
        "--name",
        "lan",
        "--address",
        address,
        "--private-out",
        str(private_out),
        *extra,
    )
    return assert_ok(result)


def test_prints_the_public_half_and_writes_the_private_half_alone(
    invoke: Invoke, tmp_path: Path
) -> None:
    private_out = tmp_path / "lan.auth_private"
    output = make_key(invoke, private_out, address=ADDRESS.upper() + ".onion")

    written = private_out.read_text(encoding="ascii")
    private = PRIVATE_LINE.fullmatch(written)
    assert private, written
    public = PUBLIC_LINE.search(output)
    assert public, output
    key = X25519PrivateKey.from_private_bytes(decode(private.group(1)))
    assert key.public_key().public_bytes_raw() == decode(public.group(1))  # one pair
    assert stat.S_IMODE(private_out.stat().st_mode) == 0o600
    assert private.group(1) not in output
    assert str(private_out) in output  # says where the secret went


def test_stdout_is_exactly_the_auth_file(invoke: Invoke, tmp_path: Path) -> None:
    """So that ``… > lan.auth`` makes the file, with the messages on stderr."""
    result = invoke(
        "onion", "client-key", "--name", "lan", "--address", ADDRESS,
        "--private-out", str(tmp_path / "lan.auth_private"),
    )  # fmt: skip
    assert_ok(result)
    assert PUBLIC_LINE.fullmatch(result.stdout), result.stdout


def test_writes_the_public_half_into_authorized_clients(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "authorized_clients"
    folder.mkdir()
    output = make_key(invoke, tmp_path / "lan.auth_private", "--authorized-clients", str(folder))
    written = (folder / "lan.auth").read_text(encoding="ascii")
    assert PUBLIC_LINE.fullmatch(written), written
    assert written not in output
    assert [path.name for path in folder.iterdir()] == ["lan.auth"]


def test_every_key_is_new(invoke: Invoke, tmp_path: Path) -> None:
    first, second = tmp_path / "a.auth_private", tmp_path / "b.auth_private"
    public = [PUBLIC_LINE.search(make_key(invoke, path)) for path in (first, second)]
    assert public[0]
    assert public[1]
    assert public[0].group(1) != public[1].group(1)
    assert first.read_bytes() != second.read_bytes()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (ADDRESS[:-1] + "b", "checksum"),  # one letter mistyped
        (ADDRESS[:-2] + "d", "56 letters"),  # one letter lost
        ("facebookcorewwwi.onion", "56 letters"),  # a retired v2 address
        (ADDRESS.replace("a", "1", 1), "56 letters"),  # not base32
    ],
)
def test_refuses_a_wrong_address(
    invoke: Invoke, tmp_path: Path, address: str, message: str
) -> None:
    result = invoke(
        "onion", "client-key", "--name", "lan", "--address", address,
        "--private-out", str(tmp_path / "lan.auth_private"),
    )  # fmt: skip
    assert_refused(result, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../lan", "lan/x", "", ".hidden", "x" * 65])
def test_refuses_a_name_that_is_not_a_plain_file_name(
    invoke: Invoke, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "authorized_clients"
    folder.mkdir()
    result = invoke(
        "onion", "client-key", "--name", name, "--address", ADDRESS,
        "--private-out", str(tmp_path / "lan.auth_private"), "--authorized-clients", str(folder),
    )  # fmt: skip
    assert_refused(result, "--name")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["authorized_clients"]
    assert list(folder.iterdir()) == []


def test_refuses_a_private_file_tor_would_not_read(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(
        "onion", "client-key", "--name", "lan", "--address", ADDRESS,
        "--private-out", str(tmp_path / "lan.txt"),
    )  # fmt: skip
    assert_refused(result, ".auth_private")
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_either_half(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "authorized_clients"
    folder.mkdir()
    (folder / "lan.auth").write_text("descriptor:x25519:OLD\n", encoding="ascii")
    private_out = tmp_path / "lan.auth_private"
    arguments = ["--authorized-clients", str(folder)]
    result = invoke(
        "onion", "client-key", "--name", "lan", "--address", ADDRESS,
        "--private-out", str(private_out), *arguments,
    )  # fmt: skip
    assert_refused(result, "already exists")
    assert not private_out.exists()  # no half a pair left behind
    assert (folder / "lan.auth").read_text(encoding="ascii") == "descriptor:x25519:OLD\n"

    private_out.write_text("kept\n", encoding="ascii")
    result = invoke(
        "onion", "client-key", "--name", "other", "--address", ADDRESS,
        "--private-out", str(private_out),
    )  # fmt: skip
    assert_refused(result, "already exists")
    assert private_out.read_text(encoding="ascii") == "kept\n"
