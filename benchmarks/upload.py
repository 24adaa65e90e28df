"""Upload benchmark: the encrypted resumable API against a plain upload, on the same server.

Runs the real submit app under gunicorn (one worker, a few threads, loopback) with one extra
route, ``POST /bench/plain`` (see ``benchmarks/_upload_server.py``), that stores a request
body the way the upload service stores an append, minus everything else. For each repeat it
sends the same synthetic file through both: plain, and encrypted by the client with
``FileEncryptor`` (as the browser does) then uploaded through ``/api/v1/uploads`` in one
PATCH or in PATCHes of ``--request-size``, into each blob store of ``--blob-store`` (files
on disk, or rows of PostgreSQL). Prints the throughput ratios and the server worker's peak
RSS at two file sizes. Every run gets a fresh server, so one run's
high-water mark cannot hide or inflate another's.

Not part of the test suite; run it by hand from the repository root (see README.md):

    scripts/with-services .venv/bin/python -m benchmarks.upload     # 1 GiB, both blob stores
    .venv/bin/python -m benchmarks.upload --blob-store files --size 64M   # a quick look

The exit status is 0 only if every target is met, 1 if one is missed, 2 if a run failed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, Protocol

import cryptography
from sqlalchemy import Engine

from benchmarks import _harness as harness
from benchmarks._harness import BenchmarkError, GiB, MiB, Plaintext, Verdict, describe_size
from benchmarks._upload_server import PLAIN_DIR, PLAIN_PATH, RATE_LIMIT_SCALE
from casework.settings import BLOB_STORE_DATABASE, BLOB_STORE_FILES
from casework.uploads import ciphertext_limit, storage_id
from crypto.errors import CryptoError
from crypto.files import FileEncryptor, FileMeta, decrypt_stream, read_pieces
from store.blobs import new_id
from store.blobs.postgres import PostgresBlobStore
from store.db import make_engine, session_factory, upgrade_to_head
from store.fs import create_private_dirs
from submit import pow
from tests import postgres
from tests.worlds import build_world

RATIO_TARGET = 0.6
MEMORY_TARGET = harness.MemoryTarget("server peak RSS", limit=100 * MiB)

WHOLE = 0  # --request-size 0 (or "all"): the whole ciphertext in one PATCH
INTO_FILE, INTO_STORE = "file", "store"  # where a plain upload puts the bytes
PLAIN_LABELS = {INTO_FILE: "to a file", INTO_STORE: "store's writer"}
# What clients send: one request (the service's advice) and the browser's batches, which
# grow to 16 MiB; smaller sizes (--request-size 4M, 1M) measure the fixed cost per request.
DEFAULT_REQUEST_SIZES = (WHOLE, 16 * MiB)
DEFAULT_REPEAT = 3
# MINHBACH_BLOB_STORE of the server: "files" on SQLite, as a single host runs; "database" on
# PostgreSQL (a fresh database of MINHBACH_TEST_POSTGRES_URL), as several hosts run.
STORES = (BLOB_STORE_FILES, BLOB_STORE_DATABASE)
STORE_DESCRIPTIONS = {
    BLOB_STORE_FILES: "blobs in files of $TMPDIR",
    BLOB_STORE_DATABASE: "blobs in rows of the database",
}
LABEL_WIDTH = 30
MAX_SIZE = 16 * GiB  # the server's file size limit is set to twice --size, at most 64 GiB
MAX_SCRATCH_SIZE = 1024 * GiB  # the most the setting allows

READ_SIZE = MiB  # plaintext handed to the encryptor (and the plain body) per piece
HOST = "127.0.0.1"
THREADS = 4
POW_DIFFICULTY = 4  # the benchmark measures transfer, not proof of work
CLIENT_TIMEOUT = 600.0  # seconds without progress on one socket operation
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
KEY_SIZE = 32
API = "/api/v1"
OFFSET_STREAM = "application/offset+octet-stream"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PLAIN_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Variant:
    """One way of getting the file to the server."""

    encrypted: bool
    store: str  # the blob store of the server's instance (STORES)
    request_size: int = WHOLE  # ciphertext bytes per PATCH; WHOLE: one request
    into: str = INTO_FILE  # plain only: where it puts the bytes (INTO_FILE, INTO_STORE)

    @property
    def label(self) -> str:
        if not self.encrypted:
            if self.store == BLOB_STORE_FILES:
                return f"{self.store}: plain"
            return f"{self.store}: plain, {PLAIN_LABELS[self.into]}"
        if self.request_size == WHOLE:
            return f"{self.store}: API, 1 PATCH"
        return f"{self.store}: API, {describe_size(self.request_size)} PATCHes"

    @property
    def baseline(self) -> Variant:
        """The plain upload on the same server as this one, into the same storage: a file
        (what the filesystem store's append does) or the database store's own writer."""
        into = INTO_FILE if self.store == BLOB_STORE_FILES else INTO_STORE
        return Variant(encrypted=False, store=self.store, into=into)

    @property
    def reference(self) -> Variant | None:
        """For the database store, the plain upload to a file as well: what storing in
        PostgreSQL costs, shown but not judged."""
        if self.store == BLOB_STORE_FILES:
            return None
        return Variant(encrypted=False, store=self.store, into=INTO_FILE)


class StoredBytes(Protocol):
    """What the server stored, to read back once it has stopped, then remove."""

    def open(self) -> BinaryIO: ...

    def remove(self) -> None: ...


class StoredFile:
    """A file: the plain upload, or an upload's scratch file in the filesystem store."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        # Commit the removal now (with the discard the filesystem may issue for it), so
        # that its disk work does not land in the next run's fsyncs.
        os.sync()


class StoredBlob:
    """A blob in the database store (the plain upload into the store's writer), read with
    the store's own reader."""

    def __init__(self, database_url: str, blob_id: str) -> None:
        self._database_url = database_url
        self._blob_id = blob_id

    def open(self) -> BinaryIO:
        with self._store() as store:
            return store.open_reader(self._blob_id)

    def remove(self) -> None:
        with self._store() as store:
            store.delete(self._blob_id)
            self._forget(store)

    @staticmethod
    def _forget(store: PostgresBlobStore) -> None:
        # As os.sync() does for files: the deleted rows' space made reusable and dirty
        # pages written now, not during the next run.
        with store.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("VACUUM blob_chunks, blob_objects")
            connection.exec_driver_sql("CHECKPOINT")
        os.sync()

    @contextlib.contextmanager
    def _store(self) -> Iterator[PostgresBlobStore]:
        engine = make_engine(self._database_url)
        try:
            yield PostgresBlobStore(engine)
        finally:
            engine.dispose()


class StoredRows(StoredBlob):
    """An upload's scratch file in the database store, read through a commit to a blob (as
    a report's claim does) with the store's own reader."""

    def __init__(self, database_url: str, upload_id: str) -> None:
        super().__init__(database_url, new_id())
        self._upload_id = upload_id

    def open(self) -> BinaryIO:
        with self._store() as store:
            store.scratch_commit(self._upload_id, self._blob_id)
            return store.open_reader(self._blob_id)

    def remove(self) -> None:
        with self._store() as store:
            store.delete(self._blob_id)
            store.scratch_discard(self._upload_id)  # if it was never read
            self._forget(store)


@dataclass(frozen=True)
class Stored:
    """Where the server put the bytes, and how to read the user's file back from them."""

    where: StoredBytes
    key: bytes | None = None  # encrypted runs: case key, case id and stream salt
    case_id: str = ""
    salt: bytes = b""


@dataclass(frozen=True)
class Run:
    variant: Variant
    size: int  # the user's file
    wire_bytes: int  # what went into request bodies: the plaintext, or the ciphertext
    requests: int  # timed requests (for the API: POST /pow, POST /uploads, PATCHes, HEAD)
    wall: float  # elapsed time from the first timed request to the last response
    client_cpu: float  # the client's CPU time meanwhile (encryption, sending)
    server_cpu: float  # the worker's user + system CPU time meanwhile
    database_cpu: float | None  # PostgreSQL's backends for this database meanwhile (local)
    encrypt_wall: float  # elapsed time inside FileEncryptor calls on the client
    encrypt_cpu: float  # CPU time inside them
    rss_before: int  # the worker's VmRSS just before the timed requests
    peak_rss: int  # the worker's VmHWM after them: its peak over its whole life


# --- The server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """A fresh instance folder with a migrated database, a unit with real keys, and the
    blob store ``store``."""

    path: Path
    env: dict[str, str]
    store: str
    database_url: str
    database: str  # the database and its durability settings, for the heading

    @classmethod
    @contextlib.contextmanager
    def created(cls, root: Path, max_file_size: int, store: str) -> Iterator[Instance]:
        path = create_private_dirs(root / store / "instance")
        with _database(store, path) as database_url:
            engine = make_engine(database_url)
            try:
                upgrade_to_head(engine)
                with session_factory(engine)() as session:
                    build_world(session)  # commits
                database = describe_database(engine)
            finally:
                engine.dispose()
            # Only our settings: a MINHBACH_* variable of the caller's shell (a blob
            # directory, Redis) must not point the benchmark server at real data.
            env = {
                name: value
                for name, value in os.environ.items()
                if not name.startswith("MINHBACH_")
            }
            env.update(
                MINHBACH_INSTANCE=str(path),
                MINHBACH_DATABASE_URL=database_url,
                MINHBACH_BLOB_STORE=store,
                MINHBACH_POW_DIFFICULTY=str(POW_DIFFICULTY),
                MINHBACH_RATE_LIMIT_SCALE=str(RATE_LIMIT_SCALE),
                MINHBACH_MAX_FILE_SIZE=str(max_file_size),
                # No upload is ever claimed here: their reservations would add up to the
                # default cap (4 GiB) over the runs and refuse the next one.
                MINHBACH_MAX_SCRATCH_SIZE=str(MAX_SCRATCH_SIZE),
                MINHBACH_DEFAULT_LANGUAGE="en",
            )
            yield cls(path, env, store, database_url, database)


@contextlib.contextmanager
def _database(store: str, instance: Path) -> Iterator[str]:
    """SQLite in the instance folder for the filesystem store, as one host runs; a fresh
    PostgreSQL database for the database store (it needs PostgreSQL)."""
    if store == BLOB_STORE_FILES:
        yield f"sqlite:///{instance / 'minhbach.sqlite3'}"
        return
    server = postgres.server_url()
    if server is None:
        raise BenchmarkError(f"--blob-store {store} runs on PostgreSQL: {postgres.NOT_SET}")
    with postgres.fresh_database(server, "minhbach_bench") as url:
        yield url.render_as_string(hide_password=False)


def describe_database(engine: Engine) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return f"SQLite {connection.exec_driver_sql('SELECT sqlite_version()').scalar_one()}"
        version = connection.exec_driver_sql("SHOW server_version").scalar_one()
        fsync = connection.exec_driver_sql("SHOW fsync").scalar_one()
        commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    return f"PostgreSQL {version.split()[0]} (fsync {fsync}, synchronous_commit {commit})"


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    try:
        return harness.status_bytes(field, pid)
    except FileNotFoundError:
        raise BenchmarkError(f"server process {pid} is gone") from None


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state is the first)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def backend_cpu(instance: Instance) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend serving the instance's database (the app's
    connections and the blob store's), if the server runs on this machine; None for
    SQLite or a server elsewhere."""
    if instance.store != BLOB_STORE_DATABASE:
        return None
    engine = make_engine(instance.database_url)
    try:
        with engine.connect() as connection:
            pids = connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalars()
            found = {}
            for pid in pids:
                with contextlib.suppress(OSError):  # exited meanwhile, or not on this machine
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                        found[pid] = cpu_seconds(pid)
    finally:
        engine.dispose()
    return found or None


def cpu_since(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """CPU time spent between two ``backend_cpu`` readings; a backend that connected
    meanwhile counts from zero."""
    if before is None or after is None:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # exited while we looked
                if int(proc_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return found


# The app gunicorn serves: by default the submit app plus the baseline route; the
# page-load benchmark serves its own (benchmarks/_page_server.py).
BENCH_APP = "benchmarks._upload_server:create_bench_app()"


class Server:
    """The submit app (plus the baseline route) under gunicorn, in its own process."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self._process, self.port, self._log = process, port, log
        self.worker = 0
        self._worker_started = ""  # its start time: tells it apart from a reused pid

    @classmethod
    @contextlib.contextmanager
    def running(cls, instance: Instance, log: Path, app: str = BENCH_APP) -> Iterator[Server]:
        # We bind the port and hand gunicorn the socket: no race for a free port, and
        # clients connecting early simply wait in the backlog until the worker is up.
        listener = socket.create_server((HOST, 0))
        port = listener.getsockname()[1]
        try:
            process = cls._spawn(listener.fileno(), instance, log, app)
        finally:
            listener.close()  # gunicorn holds its own copy
        server = cls(process, port, log)
        try:
            server._wait_ready()
            yield server
        finally:
            server._stop()

    @staticmethod
    def _spawn(fd: int, instance: Instance, log: Path, app: str) -> subprocess.Popen[bytes]:
        command = harness.python_command(
            "gunicorn",
            # Production's settings (deploy/), then what this benchmark sets its own way.
            *("--config", str(harness.REPO_ROOT / "deploy" / "gunicorn.conf.py")),
            *("--bind", f"fd://{fd}", "--workers", "1", "--threads", str(THREADS)),
            *("--timeout", "600", "--graceful-timeout", "5", "--no-control-socket"),
            *("--error-logfile", "-", "--log-level", "warning"),
            app,
        )
        with log.open("ab") as output:
            # Our own interpreter and arguments, no shell: nothing untrusted reaches it.
            return subprocess.Popen(  # noqa: S603
                command,
                cwd=harness.REPO_ROOT,
                env=instance.env,
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Out of the terminal's process group: a Ctrl-C reaches only us, and we stop
                # the master. Signalled by the terminal as well, the worker can deadlock in
                # its own shutdown and outlive everything.
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise BenchmarkError(f"the server exited at startup:\n{self.log_tail()}")
            workers = children_of(self._process.pid)
            if len(workers) == 1:
                break
            if time.monotonic() > deadline:
                raise BenchmarkError(f"the server did not start a worker:\n{self.log_tail()}")
            time.sleep(0.05)
        self.worker = workers[0]
        self._worker_started = proc_stat(self.worker)[19]
        # The first response proves the app loaded (gunicorn loads it after forking).
        client = Client(self.port)
        try:
            client.open_page()
        except (OSError, http.client.HTTPException) as error:
            message = f"the server did not answer ({error!r}):\n{self.log_tail()}"
            raise BenchmarkError(message) from None
        finally:
            client.close()

    def _stop(self) -> None:
        try:
            if self._process.poll() is None:
                # Graceful: our connection is closed, so the worker has nothing to finish.
                # (Quick shutdown, SIGINT or SIGQUIT, shuts the thread pool down inside a
                # signal handler, and the worker sometimes deadlocks there.)
                self._process.terminate()
                self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        finally:
            # Also reached when a Ctrl-C cut the wait short: leave nothing running.
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self._reap_worker()

    def _reap_worker(self) -> None:
        """Kill the worker if it outlived its master (stuck in its shutdown)."""
        if not self.worker:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                fields = proc_stat(self.worker)
            except OSError:
                return  # exited and reaped
            if fields[0] in ("Z", "X") or fields[19] != self._worker_started:
                return  # exited, or the pid went to another process
            time.sleep(0.05)
        os.kill(self.worker, signal.SIGKILL)

    def peak_rss(self) -> int:
        return proc_status(self.worker, "VmHWM")

    def rss(self) -> int:
        return proc_status(self.worker, "VmRSS")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.worker)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self._log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:]) or "(the server log is empty)"


# --- The client ------------------------------------------------------------------------------


Body = bytes | Iterator[memoryview] | None


class Client:
    """One browser tab: a keep-alive connection, the session cookie and the CSRF token."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
        self._cookies: dict[str, str] = {}
        self._token = ""
        self.requests = 0

    def close(self) -> None:
        self._connection.close()

    def open_page(self) -> None:
        """Load the report page, as the browser does: it sets the session and CSRF token."""
        response, body = self.request("GET", "/report")
        expect(response, body, 200)
        match = CSRF_META.search(body.decode("utf-8", errors="replace"))
        if match is None:
            raise BenchmarkError("the report page has no csrf-token meta element")
        self._token = match.group(1)

    def request(
        self, method: str, path: str, body: Body = None, headers: dict[str, str] | None = None
    ) -> tuple[http.client.HTTPResponse, bytes]:
        sent = {"X-CSRFToken": self._token, **(headers or {})}
        if self._cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        # A body from a generator needs a Content-Length header, or http.client chunks it.
        self._connection.request(method, path, body=body, headers=sent)
        response = self._connection.getresponse()
        data = response.read()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.partition(";")[0].partition("=")
            self._cookies[name.strip()] = value.strip()
        self.requests += 1
        return response, data

    def post_json(self, path: str, document: object) -> tuple[http.client.HTTPResponse, Any]:
        body = json.dumps(document).encode()
        response, data = self.request("POST", path, body, {"Content-Type": "application/json"})
        return response, parse_json(response, data)


def parse_json(response: http.client.HTTPResponse, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        text = body[:500].decode("utf-8", errors="replace")
        raise BenchmarkError(f"expected JSON, got {response.status}: {text}") from None


def expect(response: http.client.HTTPResponse, body: bytes, status: int) -> None:
    if response.status != status:
        text = body[:500].decode("utf-8", errors="replace")
        raise BenchmarkError(f"expected {status}, got {response.status}: {text}")


class Stopwatch:
    """Adds up the wall and CPU time spent between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def stop(self) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.thread_time() - self._cpu


def ciphertext(encryptor: FileEncryptor, plaintext: Plaintext, watch: Stopwatch) -> Iterator[bytes]:
    """The encrypted file, produced as it is sent; only the encryptor's calls are timed."""
    for window in plaintext.pieces(READ_SIZE):
        watch.start()
        sealed = encryptor.update(window)
        watch.stop()
        if sealed:
            yield sealed
    tail = encryptor.finalize()  # lazy: each next() pads and seals
    while True:
        watch.start()
        sealed = next(tail, b"")
        watch.stop()
        if not sealed:
            return
        yield sealed


class Rechunker:
    """Cuts a stream of pieces into request bodies of exact sizes, without copying."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._left = memoryview(b"")

    def take(self, count: int) -> Iterator[memoryview]:
        while count:
            if not self._left:
                piece = next(self._pieces, None)
                if piece is None:
                    raise BenchmarkError("the ciphertext ended before its computed size")
                self._left = memoryview(piece)
            part = self._left[:count]
            self._left = self._left[len(part) :]
            count -= len(part)
            yield part

    def finish(self) -> None:
        if self._left or next(self._pieces, None) is not None:
            raise BenchmarkError("the ciphertext is longer than its computed size")


@dataclass(frozen=True)
class Sent:
    """What the client measured and where the server stored the bytes."""

    elapsed: Stopwatch  # the timed requests, from the first one's start to the last answer
    encryption: Stopwatch  # inside FileEncryptor calls
    wire_bytes: int
    requests: int
    stored: Stored


def send_plain(client: Client, plaintext: Plaintext, instance: Instance, into: str) -> Sent:
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(plaintext.size)}
    before, elapsed = client.requests, Stopwatch()
    elapsed.start()
    path = f"{PLAIN_PATH}?into={into}"
    response, body = client.request("POST", path, plaintext.pieces(READ_SIZE), headers)
    elapsed.stop()
    expect(response, body, 200)
    answer = parse_json(response, body)
    if answer.get("size") != plaintext.size or not PLAIN_NAME.fullmatch(str(answer.get("name"))):
        raise BenchmarkError(f"the plain upload stored {answer.get('size')} bytes")
    where: StoredBytes
    if into == INTO_STORE and instance.store == BLOB_STORE_DATABASE:
        where = StoredBlob(instance.database_url, answer["name"])
    else:  # the filesystem store's baseline is the file, as its appends are
        where = StoredFile(instance.path / PLAIN_DIR / answer["name"])
    stored = Stored(where)
    return Sent(elapsed, Stopwatch(), plaintext.size, client.requests - before, stored)


def send_encrypted(
    client: Client, plaintext: Plaintext, request_size: int, instance: Instance
) -> Sent:
    key, case_id = secrets.token_bytes(KEY_SIZE), str(uuid.uuid4())
    total = ciphertext_limit(plaintext.size)  # the exact ciphertext size of such a file
    before, elapsed, encryption = client.requests, Stopwatch(), Stopwatch()
    elapsed.start()
    encryptor = FileEncryptor(key, case_id)
    token, location = create_upload(client, total)
    source = Rechunker(ciphertext(encryptor, plaintext, encryption))
    offset = 0
    while offset < total:
        count = total - offset if request_size == WHOLE else min(request_size, total - offset)
        offset = append(client, location, offset, count, source.take(count))
    confirm(client, location, total)
    elapsed.stop()
    source.finish()
    upload_id = storage_id(token)
    if upload_id is None:
        raise BenchmarkError("the server answered with a malformed upload id")
    scratch: StoredBytes
    if instance.store == BLOB_STORE_DATABASE:
        scratch = StoredRows(instance.database_url, upload_id)
    else:  # the files of instance/blobs keep an upload in scratch/<its storage id>
        scratch = StoredFile(instance.path / "blobs" / "scratch" / upload_id)
    stored = Stored(scratch, key, case_id, encryptor.salt)
    return Sent(elapsed, encryption, total, client.requests - before, stored)


def create_upload(client: Client, size: int) -> tuple[str, str]:
    """Pay the proof of work and create an upload; returns its id and its URL path."""
    response, answer = client.post_json(f"{API}/pow", {"purpose": "upload"})
    if response.status != 200:
        raise BenchmarkError(f"POST /pow answered {response.status}: {answer}")
    solution = pow.solve(answer["challenge"], answer["difficulty"])
    response, answer = client.post_json(f"{API}/uploads", {"size": size, "pow": solution})
    if response.status != 201:
        raise BenchmarkError(f"POST /uploads answered {response.status}: {answer}")
    location = response.getheader("Location") or f"{API}/uploads/{answer['id']}"
    return str(answer["id"]), location


def append(
    client: Client, location: str, offset: int, count: int, body: Iterator[memoryview]
) -> int:
    headers = {
        "Content-Type": OFFSET_STREAM,
        "Content-Length": str(count),
        "Upload-Offset": str(offset),
    }
    response, answer = client.request("PATCH", location, body, headers)
    expect(response, answer, 204)
    reached = response.getheader("Upload-Offset")
    if reached != str(offset + count):
        raise BenchmarkError(f"append from {offset} of {count} bytes ended at {reached}")
    return offset + count


def confirm(client: Client, location: str, total: int) -> None:
    """HEAD, as a client does before claiming: the server must have every byte."""
    response, body = client.request("HEAD", location)
    expect(response, body, 200)
    offset, length = response.getheader("Upload-Offset"), response.getheader("Upload-Length")
    if offset != str(total) or length != str(total):
        raise BenchmarkError(f"HEAD says {offset} of {length} bytes, expected {total}")


def verify(stored: Stored, plaintext: Plaintext) -> None:
    """Read back what the server stored; the user's file must come out of it exactly."""
    checker = harness.OutputChecker(plaintext)
    try:
        with stored.where.open() as file:
            pieces = read_pieces(file, READ_SIZE)
            if stored.key is not None:
                meta = FileMeta(
                    "benchmark.bin", "application/octet-stream", plaintext.size, stored.salt
                )
                pieces = decrypt_stream(stored.key, stored.case_id, meta, pieces)
            for piece in pieces:
                checker.check(piece)
    except (OSError, CryptoError) as error:
        raise BenchmarkError(f"cannot read the stored upload back: {error!r}") from None
    checker.finish()


# --- Orchestration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Config(harness.CommonConfig):
    request_sizes: tuple[int, ...]
    stores: tuple[str, ...]

    @property
    def variants(self) -> list[Variant]:
        return [
            variant
            for store in self.stores
            for variant in (
                Variant(encrypted=False, store=store).baseline,
                *([] if store == BLOB_STORE_FILES else [Variant(False, store, into=INTO_FILE)]),
                *(Variant(encrypted=True, store=store, request_size=r) for r in self.request_sizes),
            )
        ]


@dataclass
class Measurements:
    timed: dict[Variant, list[Run]]  # every repeat at the full size
    small: dict[Variant, list[Run]]  # every repeat at the small size: memory flatness only


def run_once(variant: Variant, size: int, instance: Instance, workdir: Path) -> Run:
    """One upload through a fresh server; the stored bytes are checked, then removed."""
    plaintext = Plaintext(size, longest_window=READ_SIZE)
    with Server.running(instance, workdir / "server.log") as server:
        client = Client(server.port)
        try:
            client.open_page()  # not timed: the page is loaded before a file is picked
            rss_before, cpu_before = server.rss(), server.cpu_seconds()
            backends_before = backend_cpu(instance)
            try:
                if variant.encrypted:
                    sent = send_encrypted(client, plaintext, variant.request_size, instance)
                else:
                    sent = send_plain(client, plaintext, instance, variant.into)
            except (OSError, http.client.HTTPException) as error:
                raise BenchmarkError(f"{error!r}; server log:\n{server.log_tail()}") from error
            server_cpu = server.cpu_seconds() - cpu_before
            database_cpu = cpu_since(backends_before, backend_cpu(instance))
            peak = server.peak_rss()
        finally:
            client.close()
    try:
        verify(sent.stored, plaintext)  # the server has stopped: nothing else is timed
    finally:
        sent.stored.where.remove()
    return Run(
        variant=variant,
        size=size,
        wire_bytes=sent.wire_bytes,
        requests=sent.requests,
        wall=sent.elapsed.wall,
        client_cpu=sent.elapsed.cpu,
        server_cpu=server_cpu,
        database_cpu=database_cpu,
        encrypt_wall=sent.encryption.wall,
        encrypt_cpu=sent.encryption.cpu,
        rss_before=rss_before,
        peak_rss=peak,
    )


def show_progress(run: Run, label: str) -> None:
    encryption = f", encrypt {run.encrypt_wall:.2f} s" if run.variant.encrypted else ""
    harness.progress(
        f"  {label:<9} {run.variant.label:<{LABEL_WIDTH}} {describe_size(run.size):>8} "
        f"{run.wall:6.2f} s {run.size / MiB / run.wall:5.0f} MiB/s  ({run.requests} requests"
        f"{encryption}; CPU client {run.client_cpu:.2f} s, server {run.server_cpu:.2f} s)  "
        f"peak RSS {run.peak_rss / MiB:.1f} MiB"
    )


def measure(config: Config, instances: dict[str, Instance], workdir: Path) -> Measurements:
    data = Measurements({}, {})
    for repeat in range(config.repeat):
        label = harness.run_label(repeat, config.repeat)
        order = harness.alternate(config.variants, repeat)
        # As many runs at each size: the allocator's peak varies by a few MiB from run to
        # run, and comparing the highest of three with a single run would show growth.
        for size, runs in ((config.size, data.timed), (config.small_size, data.small)):
            for variant in order:
                run = run_once(variant, size, instances[variant.store], workdir)
                show_progress(run, label)
                runs.setdefault(variant, []).append(run)
    return data


# --- Report ----------------------------------------------------------------------------------


def throughput_table(config: Config, data: Measurements) -> harness.Table:
    rows = [
        f"{'upload':<{LABEL_WIDTH}} {'requests':>8} {'best s':>7} {'file MiB/s':>10} "
        + harness.RATIO_HEADINGS
    ]
    verdicts = []
    for variant in config.variants:
        runs = data.timed[variant]
        best = min(r.wall for r in runs)
        head = (
            f"{variant.label:<{LABEL_WIDTH}} {runs[0].requests:8,} {best:7.2f} "
            f"{config.size / MiB / best:10.0f}"
        )
        if not variant.encrypted:
            role = "baseline" if variant == variant.baseline else "reference"
            rows.append(f"{head} {'-':>11} {'-':>13} {'-':>11}  {role}")
            continue
        plains = [r.wall for r in data.timed[variant.baseline]]
        ratio = harness.Ratio.of(plains, [r.wall for r in runs])
        passed = ratio.best >= RATIO_TARGET
        rows.append(f"{head} {ratio.columns(passed)}")
        detail = f"{ratio.best:.3f} with {variant.label}"
        verdicts.append(Verdict("throughput", passed, detail, ratio.best - RATIO_TARGET))
    references = [reference_row(variant, data) for variant in config.variants if variant.encrypted]
    caption = [
        "End to end: elapsed time from the first request to the confirming HEAD, client",
        "encryption included; ratio = plain time / API time for the same file on the same",
        "server into the same storage (the baseline: a file for the filesystem store, the",
        "store's own writer for the database store), higher is better",
    ]
    rows += [row for row in references if row]
    return harness.Table(caption, rows, verdicts)


def reference_row(variant: Variant, data: Measurements) -> str:
    """The API against the plain upload to a file on a database-store server: no target."""
    if variant.reference is None:
        return ""
    ratio = harness.Ratio.of(
        [r.wall for r in data.timed[variant.reference]], [r.wall for r in data.timed[variant]]
    )
    return (
        f"  {variant.label} / {variant.reference.label}: ratio best {ratio.best:.3f}, "
        f"median {statistics.median(ratio.paired):.2f} (information)"
    )


def server_seconds(run: Run) -> float:
    # The kernel counts CPU time in ticks (10 ms): a tiny upload may show none at all.
    return max(run.server_cpu, 1 / os.sysconf("SC_CLK_TCK"))


def breakdown_table(config: Config, data: Measurements) -> harness.Table:
    """Where the time goes, in CPU seconds: the client's (encryption) and the server's.

    The server's share is its CPU time, not elapsed time less the client's encryption: the
    socket buffers let the server go on receiving while the client encrypts, so that
    difference would leave out server work done in parallel. No target.
    """
    rows = [
        f"{'upload':<{LABEL_WIDTH}} {'wire bytes':>14} {'client CPU s':>13} {'encrypt s':>10} "
        f"{'server CPU s':>13} {'MiB/server s':>13} {'server ratio':>13} {'database CPU s':>15}"
    ]
    for variant in config.variants:
        run = min(data.timed[variant], key=lambda r: server_seconds(r) / r.wire_bytes)
        rate = run.wire_bytes / server_seconds(run)
        plain_rate = max(r.wire_bytes / server_seconds(r) for r in data.timed[variant.baseline])
        ratio = f"{rate / plain_rate:.3f}" if variant.encrypted else "-"
        encrypt = f"{run.encrypt_cpu:.2f}" if variant.encrypted else "-"
        rows.append(
            f"{variant.label:<{LABEL_WIDTH}} {run.wire_bytes:14,} {run.client_cpu:13.2f} "
            f"{encrypt:>10} {run.server_cpu:13.2f} {rate / MiB:13.0f} {ratio:>13} "
            f"{'-' if run.database_cpu is None else f'{run.database_cpu:.2f}':>15}"
        )
    caption = [
        "Where the time goes, CPU seconds of the run with the least server CPU per byte;",
        "server ratio = API wire bytes per server CPU second / plain bytes per server CPU second;",
        "database CPU = PostgreSQL's backends for the instance's database (not in server CPU)",
    ]
    return harness.Table(caption, rows)


def memory_table(config: Config, data: Measurements) -> harness.Table:
    peak_headings = harness.peak_headings(config.small_size, config.size, "peak at ", 16)
    rows = [f"{'upload':<{LABEL_WIDTH}} {'before':>8} {peak_headings}  result"]
    verdicts = []
    for variant in config.variants:
        runs = data.timed[variant]
        before = max(r.rss_before for r in runs)
        peaks = harness.Peaks(
            small=max(r.peak_rss for r in data.small[variant]),
            large=max(r.peak_rss for r in runs),
            small_size=config.small_size,
            size=config.size,
        )
        head = f"{variant.label:<{LABEL_WIDTH}} {before / MiB:8.1f} {peaks.cells(16)}"
        if not variant.encrypted:  # the baseline is ours, not the service's: shown for reference
            rows.append(f"{head}  {'baseline' if variant == variant.baseline else 'reference'}")
            continue
        verdict = MEMORY_TARGET.judge(variant.label, peaks)
        rows.append(f"{head}  {harness.pass_fail(verdict.passed)}")
        verdicts.append(verdict)
    caption = [
        "Server worker RSS, MiB: before = VmRSS with the page loaded; peak = VmHWM after the",
        "upload, highest over the repeats (a fresh server each)",
    ]
    return harness.Table(caption, rows, verdicts)


GOALS = {
    "throughput": f"API/plain >= {RATIO_TARGET:.2f}, end to end",
    MEMORY_TARGET.name: MEMORY_TARGET.goal,
}


def heading(config: Config, instances: dict[str, Instance]) -> str:
    padding = harness.padding_note(config.size)
    overhead = ciphertext_limit(config.size) - config.size
    gunicorn = importlib.metadata.version("gunicorn")
    stores = [
        f"{store}: {STORE_DESCRIPTIONS[store]}, {instances[store].database}"
        for store in config.stores
    ]
    return "\n".join(
        [
            f"{describe_size(config.size)} file ({padding}; ciphertext {overhead:+,} bytes), "
            f"best of {config.repeat}, a fresh server per run",
            f"gunicorn {gunicorn} (1 worker, {THREADS} threads, loopback), "
            + harness.versions(f"cryptography {cryptography.__version__}"),
            *stores,
        ]
    )


def report(config: Config, instances: dict[str, Instance], data: Measurements) -> tuple[str, bool]:
    tables = [
        throughput_table(config, data),
        breakdown_table(config, data),
        memory_table(config, data),
    ]
    return harness.render_report(heading(config, instances), tables, GOALS)


# --- Command line ----------------------------------------------------------------------------


def parse_request_size(text: str) -> int:
    """A PATCH size like ``4M``, or ``all`` / ``0`` for the whole file in one request."""
    if text.strip().lower() in ("all", "0"):
        return WHOLE
    return harness.parse_size(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.upload",
        description="Encrypted resumable uploads vs a plain upload on the same server: "
        "throughput and the server's peak memory.",
    )
    harness.add_size_arguments(parser, "file")
    parser.add_argument(
        "--request-size",
        type=parse_request_size,
        action="append",
        help="ciphertext bytes per PATCH, or 'all' for one request; repeat for several "
        "(default: all and 16M)",
    )
    parser.add_argument(
        "--blob-store",
        choices=STORES,
        action="append",
        help="the server's MINHBACH_BLOB_STORE; repeatable (default: both; database needs "
        f"{postgres.SERVER_VARIABLE}, which scripts/with-services sets)",
    )
    harness.add_repeat_argument(parser, DEFAULT_REPEAT, "each upload")
    args = parser.parse_args(argv)
    harness.require_at_least(parser, "--repeat", args.repeat, 1)
    if max(args.size, args.small_size or 0) > MAX_SIZE:
        parser.error(f"sizes above {describe_size(MAX_SIZE)} are not supported")
    return args


def config_from(args: argparse.Namespace) -> Config:
    request_sizes = harness.distinct(args.request_size, DEFAULT_REQUEST_SIZES)
    stores = tuple(dict.fromkeys(args.blob_store or STORES))
    return Config(*harness.CommonConfig.fields_from(args), request_sizes, stores)


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds like Ctrl-C does, so the server is stopped and files removed.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = config_from(args)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with (
        harness.scratch_dir("minhbach-bench-upload-") as workdir,  # instances, stored files
        contextlib.ExitStack() as databases,
    ):
        max_file_size = min(64 * GiB, max(2 * GiB, 2 * max(config.size, config.small_size)))
        instances = {
            store: databases.enter_context(Instance.created(workdir, max_file_size, store))
            for store in config.stores
        }
        data = measure(config, instances, workdir)
    return harness.print_report(*report(config, instances, data))


if __name__ == "__main__":
    # A Ctrl-C unwinds through main, which stops the server and removes the files.
    harness.run_main(main, handle_interrupt=True)
