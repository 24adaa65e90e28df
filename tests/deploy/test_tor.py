"""deploy/tor/torrc under the real tor: valid, hardened, and its onion services load.

The file is rendered into a temporary folder with only its paths moved there (tor wants
its data and service folders 0700 and its own). ``--verify-config`` checks the options;
it does not read the services' client keys, so a second test starts tor for real with
the network off, long enough to create both services' keys and read the keys of
``authorized_clients/`` and of a client folder, then stops it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from cli.onion import onion_address
from tests.programs import require_program

ROOT = Path(__file__).resolve().parents[2]
TORRC = ROOT / "deploy" / "tor" / "torrc"
DEPLOYED_DATA = "/var/lib/tor"
SUBMIT, REVIEW = "minhbach-submit", "minhbach-review"
START_SECONDS = 20.0
STOP_SECONDS = 10.0
# Printed once tor has acted on its options: every onion service and client key file is
# read by then (with the network off, bootstrapping goes no further).
STARTED = "Bootstrapped 0%"
LOADED = "Loaded a client authorization key file {}."
TRIED = "Loading a client authorization key file {}..."


@dataclass(frozen=True)
class Rendered:
    torrc: Path
    data: Path

    def service(self, name: str) -> Path:
        return self.data / name


def render(root: Path, text: str | None = None) -> Rendered:
    """The deploy torrc (or ``text``) with its data folder moved under ``root``."""
    data = root / "tor"
    data.mkdir(mode=0o700)
    for name in (SUBMIT, REVIEW):
        (data / name).mkdir(mode=0o700)
    source = TORRC.read_text(encoding="utf-8") if text is None else text
    assert DEPLOYED_DATA in source
    torrc = root / "torrc"
    torrc.write_text(source.replace(DEPLOYED_DATA, str(data)), encoding="utf-8")
    return Rendered(torrc, data)


def options(text: str) -> list[tuple[str, str]]:
    """(option, value) pairs in file order, as tor reads them: comments and blanks skipped."""
    pairs = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition(" ")
            pairs.append((name, value.strip()))
    return pairs


def services(text: str) -> dict[str, dict[str, list[str]]]:
    """Each onion service's options, keyed by its folder's name."""
    blocks: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for name, value in options(text):
        if name == "HiddenServiceDir":
            current = blocks.setdefault(Path(value).name, {})
        elif name.startswith("HiddenService") and current is not None:
            current.setdefault(name, []).append(value)
    return blocks


def verify(tor: str, torrc: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tor, "--verify-config", "-f", str(torrc)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@dataclass(frozen=True)
class Tor:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return _read(self.log)


@contextmanager
def running_tor(tor: str, rendered: Rendered, *extra: str) -> Iterator[Tor]:
    """Tor on the rendered file with the network off, once it has acted on its options
    (its log is at info level). Stopped and waited for when the block ends."""
    log = rendered.torrc.parent / "tor.log"
    log.unlink(missing_ok=True)
    run = rendered.torrc.with_name("running.torrc")
    lines = [rendered.torrc.read_text(encoding="utf-8"), "DisableNetwork 1", f"Log info file {log}"]
    run.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    process = subprocess.Popen(
        [tor, "-f", str(run)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Tor(process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while STARTED not in running.text():
            assert process.poll() is None, f"tor exited ({process.returncode}):\n{running.text()}"
            assert time.monotonic() < deadline, f"tor did not start:\n{running.text()}"
            time.sleep(0.05)
        yield running
    finally:
        # SIGINT, as Debian's tor@default.service stops it (KillSignal=SIGINT): under
        # Sandbox 1, tor 0.4.9 now and then leaves a SIGTERM pending and never exits.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


@pytest.fixture
def tor() -> str:
    return require_program("tor")


def test_deploy_torrc_passes_verify_config(tor: str, tmp_path: Path) -> None:
    rendered = render(tmp_path)
    done = verify(tor, rendered.torrc)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration was valid" in done.stdout


@pytest.mark.parametrize(
    ("line", "broken"),
    [
        ("HiddenServicePoWDefensesEnabled 1", "HiddenServicePoWDefensesEnabled on"),
        ("HiddenServicePort 80 127.0.0.1:8081", "HiddenServicePort 80 127.0.0.1:808100"),
    ],
)
def test_verify_config_refuses_a_broken_file(
    tor: str, tmp_path: Path, line: str, broken: str
) -> None:
    """The check above can fail: the same file with one option spoiled is refused."""
    text = TORRC.read_text(encoding="utf-8")
    assert text.count(line) == 1
    done = verify(tor, render(tmp_path, text.replace(line, broken)).torrc)
    assert done.returncode != 0, done.stdout


def test_public_service_has_proof_of_work_and_review_service_stays_private() -> None:
    text = TORRC.read_text(encoding="utf-8")
    blocks = services(text)
    assert set(blocks) == {SUBMIT, REVIEW}
    submit, review = blocks[SUBMIT], blocks[REVIEW]
    assert submit["HiddenServicePoWDefensesEnabled"] == ["1"]
    assert submit["HiddenServiceEnableIntroDoSDefense"] == ["1"]
    for block in (submit, review):
        assert block["HiddenServiceVersion"] == ["3"]
        assert block["HiddenServiceMaxStreamsCloseCircuit"] == ["1"]
        for port in block["HiddenServicePort"]:
            virtual, target = port.split()
            assert virtual == "80"
            assert target.startswith("127.0.0.1:"), port  # loopback only
    assert submit["HiddenServicePort"] != review["HiddenServicePort"]


def test_host_is_no_proxy_relay_or_single_hop_service() -> None:
    pairs = options(TORRC.read_text(encoding="utf-8"))
    host = [(name, value) for name, value in pairs if not name.startswith("HiddenService")]
    settings = dict(host)
    assert len(settings) == len(host)  # each set once: no later line undoes an earlier one
    assert settings["SocksPort"] == "0"  # overrides Debian's default proxy on 9050
    assert settings["ORPort"] == "0"
    assert settings["ExitRelay"] == "0"
    assert settings["ExitPolicy"] == "reject *:*"
    assert settings["Sandbox"] == "1"
    assert settings["NoExec"] == "1"
    assert settings["SafeLogging"] == "1"
    assert "ClientOnionAuthDir" not in settings
    assert "ControlPort" not in settings
    # Single-hop services reveal the host's address to their relays: never.
    for name, _ in pairs:
        assert name not in ("HiddenServiceNonAnonymousMode", "HiddenServiceSingleHopMode")


def make_client_key(rendered: Rendered, client: Path, name: str) -> Path:
    """``minhbach onion client-key`` for the review service: its .auth file's path."""
    address = (rendered.service(REVIEW) / "hostname").read_text(encoding="ascii").strip()
    authorized = rendered.service(REVIEW) / "authorized_clients"
    private_out = client / f"{name}.auth_private"
    command = f"onion client-key --name {name} --address {address} --private-out {private_out}"
    result = CliRunner().invoke(cli, [*command.split(), "--authorized-clients", str(authorized)])
    assert result.exit_code == 0, result.output
    assert os.stat(private_out).st_mode & 0o777 == 0o600
    return authorized / f"{name}.auth"


def test_tor_creates_the_services_and_loads_an_inspectors_key(tor: str, tmp_path: Path) -> None:
    rendered = render(tmp_path)
    with running_tor(tor, rendered) as running:
        text = running.text()
    assert text.count("Service PoW defenses are enabled") == 1  # the public service's
    address = (rendered.service(REVIEW) / "hostname").read_text(encoding="ascii").strip()
    assert onion_address(address) == address.removesuffix(".onion")  # its checksum holds
    assert (rendered.service(SUBMIT) / "hostname").read_text(encoding="ascii") != address

    client = tmp_path / "client"
    client.mkdir(mode=0o700)
    auth = make_client_key(rendered, client, "lan")
    # A malformed key beside it: tor must tell the two apart, or the check proves nothing.
    (auth.parent / "broken.auth").write_text("descriptor:x25519:NOT-A-KEY\n", encoding="ascii")
    (client / "broken.auth_private").write_text(f"{address}:descriptor\n", encoding="ascii")

    with running_tor(tor, rendered, f"ClientOnionAuthDir {client}") as running:
        text = running.text()
    assert LOADED.format("lan.auth") in text  # the review service's side
    assert LOADED.format("lan.auth_private") in text  # the inspector's tor, same format
    assert TRIED.format("broken.auth") in text
    assert TRIED.format("broken.auth_private") in text
    assert LOADED.format("broken.auth") not in text
    assert LOADED.format("broken.auth_private") not in text

    auth.unlink()  # revoked: a restart applies it
    with running_tor(tor, rendered) as running:
        assert TRIED.format("lan.auth") not in running.text()


def test_reload_under_the_sandbox_stops_tor(tor: str, tmp_path: Path) -> None:
    """Why the README says restart, not reload, after enrolling or revoking: with
    Sandbox 1, tor 0.4.9 cannot reopen the service folders on SIGHUP, and exits."""
    rendered = render(tmp_path)
    with running_tor(tor, rendered) as running:
        running.process.send_signal(signal.SIGHUP)
        returncode = running.process.wait(timeout=STOP_SECONDS)
        text = running.text()
    assert returncode != 0
    assert "Restart failed" in text, text


def test_each_onion_service_reaches_an_address_nginx_listens_on() -> None:
    """The two halves of the path agree: tor forwards to where deploy/nginx listens."""
    nginx = "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "deploy" / "nginx").glob("*.conf")
    )
    listening = set(re.findall(r"^\s*listen\s+(127\.0\.0\.1:\d+)\s*;", nginx, re.MULTILINE))
    for name, block in services(TORRC.read_text(encoding="utf-8")).items():
        for port in block["HiddenServicePort"]:
            assert port.split()[1] in listening, (name, port, listening)
