"""deploy/redis/minhbach.conf, run by the real redis-server: the apps' user can keep limits
and spent challenges and nothing more, nobody else can do anything, and nothing is written
to disk."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from limits.storage import Storage, storage_from_string

from submit import pow
from tests.deploy.nginx_helpers import HOST, accepts, free_port
from tests.programs import require_program

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "redis" / "minhbach.conf"
PASSWORD = "a-test-password-" + "7" * 16
START_SECONDS = 10


@dataclass(frozen=True)
class Server:
    port: int
    data: Path

    def client(self, **credentials: str) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, **credentials)  # type: ignore[arg-type]

    @property
    def uri(self) -> str:
        """As the public app's settings carry it (deploy/systemd/submit.env.example)."""
        return f"redis://minhbach:{PASSWORD}@{HOST}:{self.port}/0"


def render(folder: Path, port: int, maxmemory: str) -> Path:
    """The deploy file with only its port, paths, password and (to fill it in a test)
    memory limit replaced."""
    text = CONFIG.read_text(encoding="utf-8")
    replacements = {
        "maxmemory 64mb\n": f"maxmemory {maxmemory}\n",
        "port 6380\n": f"port {port}\n",
        "pidfile /run/redis-minhbach/redis-server.pid": f"pidfile {folder / 'redis.pid'}",
        "dir /var/lib/redis": f"dir {folder / 'data'}",
        ">change-this-password": f">{PASSWORD}",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "minhbach.conf"
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def running(folder: Path, maxmemory: str = "64mb") -> Iterator[Server]:
    (folder / "data").mkdir()
    port = free_port()
    config = render(folder, port, maxmemory)
    log = (folder / "redis.log").open("wb")
    process = subprocess.Popen(
        [require_program("redis-server"), str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    server = Server(port, folder / "data")
    try:
        deadline = time.monotonic() + START_SECONDS
        while not accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start:\n" + (folder / "redis.log").read_text())
            time.sleep(0.02)
        yield server
    finally:
        process.terminate()  # SIGTERM: Redis would write a snapshot now if it kept any
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("redis")) as started:
        yield started


def test_the_apps_user_keeps_limits_and_spent_challenges(server: Server) -> None:
    storage = storage_from_string(server.uri)
    assert isinstance(storage, Storage)
    assert storage.check()
    assert storage.incr("minhbach-submit/all/report", 60) == 1
    assert storage.incr("minhbach-submit/all/report", 60, amount=2) == 3
    assert storage.get("minhbach-submit/all/report") == 3
    assert storage.get_expiry("minhbach-submit/all/report") > time.time()
    storage.clear("minhbach-submit/all/report")
    assert storage.get("minhbach-submit/all/report") == 0
    spent = bytes(range(16))
    pow.spend(storage, spent, int(time.time()) + 60)
    with pytest.raises(pow.PowError, match="pow_replayed"):
        pow.spend(storage, spent, int(time.time()) + 60)


@pytest.mark.parametrize(
    "command",
    [
        ("CONFIG", "GET", "*"),
        ("FLUSHALL",),
        ("KEYS", "*"),
        ("SET", "LIMITS:x", "1"),  # only the commands the limits library sends
        ("GET", "elsewhere"),  # only its own keys
        ("DEBUG", "SLEEP", "0"),
        ("SHUTDOWN",),
        ("SAVE",),
    ],
)
def test_the_apps_user_may_do_nothing_else(server: Server, command: tuple[str, ...]) -> None:
    refused = pytest.raises(redis.exceptions.ResponseError, match=r"no permissions|not allowed")
    with server.client(username="minhbach", password=PASSWORD) as client, refused:
        client.execute_command(*command)


def test_without_the_password_nothing_is_allowed(server: Server) -> None:
    with server.client() as client, pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()
    with (
        server.client(username="minhbach", password="wrong") as client,
        pytest.raises(redis.exceptions.AuthenticationError),
    ):
        client.ping()


def test_nothing_reaches_the_disk(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        storage = storage_from_string(server.uri)
        for number in range(100):
            storage.incr(f"counter-{number}", 60)
    assert list((tmp_path / "data").iterdir()) == []


def test_full_memory_refuses_new_counts_and_evicts_no_spent_challenge(tmp_path: Path) -> None:
    """An evicted spent challenge could be spent again: a full Redis must refuse the write
    (the ledger then fails closed) and keep every key it has."""
    with running(tmp_path, maxmemory="2mb") as server:
        storage = storage_from_string(server.uri)
        assert isinstance(storage, Storage)
        spent, refusal = _spend_until_full(storage)
        assert isinstance(refusal, redis.exceptions.OutOfMemoryError), refusal
        assert len(spent) > 100  # it did fill up, rather than refuse from the start
        for challenge in spent:  # none was evicted to make room
            assert storage.get("minhbach/pow/" + challenge.hex()) == 1
        with pytest.raises((pow.PowError, redis.exceptions.ResponseError)):
            pow.spend(storage, spent[0], int(time.time()) + 600)  # refused either way


def _spend_until_full(storage: Storage) -> tuple[list[bytes], Exception]:
    """Spend new challenges until Redis refuses one; those spent, and the refusal."""
    spent: list[bytes] = []
    for number in range(200_000):  # about 100 bytes each: full long before the end
        challenge = number.to_bytes(16, "big")
        try:
            pow.spend(storage, challenge, int(time.time()) + 600)
        except redis.exceptions.ResponseError as refusal:
            return spent, refusal
        spent.append(challenge)
    raise AssertionError("Redis never filled up: is maxmemory set?")
