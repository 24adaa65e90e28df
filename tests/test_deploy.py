"""The gunicorn settings write no access log, trust no proxy headers and name no server."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests import gunicorn
from tests.instances import instance

CONF = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


def test_gunicorn_logs_no_requests() -> None:
    namespace: dict[str, object] = {}
    exec(compile(CONF.read_text(encoding="utf-8"), str(CONF), "exec"), namespace)  # noqa: S102
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    assert config.accesslog is None
    assert config.forwarded_allow_ips == []
    assert config.loglevel == "warning"


# --- no Server header, under a real gunicorn ------------------------------------------------

APPS = {
    # app: requests (method, path) covering pages, redirects, static files, refusals
    "submit:create_app()": [
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/report"),
        ("GET", "/language/en?next=/report"),
        ("GET", "/static/css/site.css"),
        ("GET", "/api/v1/recipients"),
        ("GET", "/no-such-page"),
        ("POST", "/followup"),  # no anti-forgery token: refused
        ("DELETE", "/"),
    ],
    "review:create_app()": [
        ("GET", "/"),
        ("HEAD", "/login"),
        ("GET", "/login"),
        ("GET", "/language/en?next=/login"),
        ("GET", "/static/css/review.css"),
        ("GET", "/no-such-page"),
        ("POST", "/login"),  # no anti-forgery token: refused
    ],
}


def _answers(port: int, method: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(gunicorn.HOST, port, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _raw_answer(port: int, data: bytes) -> bytes:
    """What gunicorn itself answers to a request it cannot parse (the app never sees it)."""
    with socket.create_connection((gunicorn.HOST, port), timeout=30) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("app", sorted(APPS))
def test_no_response_names_the_server(app: str, tmp_path: Path) -> None:
    with (
        instance("sqlite", tmp_path) as ready,
        gunicorn.running(app, ready.env, tmp_path / "gunicorn.log", workers=1, threads=2) as server,
    ):
        for method, path in APPS[app]:
            response = _answers(server.port, method, path)
            assert response.status < 500, (method, path, response.status)
            assert response.getheader("Server") is None, (method, path, response.getheaders())
        refused = _raw_answer(server.port, b"NOT A REQUEST\r\n\r\n")
        head = refused.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 400")
        assert b"\r\nserver:" not in head


# --- a worker's memory ------------------------------------------------------------------------

# Run in a fresh interpreter: the hook changes gunicorn's classes and the allocator for good.
# It counts the blocks glibc maps for themselves once a 4 MiB block was freed (which, left
# alone, makes glibc keep blocks up to 4 MiB in its arenas) and a 1 MiB piece allocated,
# and the arenas (malloc_info's heaps) once three threads have allocated.
_WORKER_MEMORY = """
import ctypes, os, runpy, sys, tempfile, threading
from gunicorn.http.unreader import SocketUnreader

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
if sys.argv[2] == "hooked":
    runpy.run_path(sys.argv[1])["on_starting"](None)
freed = bytearray(4 << 20)
del freed
piece = bytearray(1 << 20)
kept = []
threads = [threading.Thread(target=lambda: kept.append(bytearray(100_000))) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
path = os.path.join(tempfile.mkdtemp(), "malloc.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
arenas = open(path).read().count("<heap nr=")
print(SocketUnreader.max_body_chunk, libc.mallinfo2().hblks, arenas)
"""


def _worker_memory(hooked: bool) -> tuple[int, int, int]:
    command = [sys.executable, "-c", _WORKER_MEMORY, str(CONF), "hooked" if hooked else "no"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    recv, mapped, arenas = done.stdout.split()
    return int(recv), int(mapped), int(arenas)


def test_workers_read_bodies_in_small_recvs_and_keep_no_idle_memory() -> None:
    """deploy/gunicorn.conf.py bounds what one recv() of a body takes (gunicorn's reader
    holds copies of it), makes glibc map a piece of an upload for itself, so that it goes
    back to the system when freed instead of staying in an arena, and keeps one arena for
    all threads."""
    default_recv, default_mapped, default_arenas = _worker_memory(hooked=False)
    recv, mapped, arenas = _worker_memory(hooked=True)
    assert default_recv == 1024 * 1024
    assert recv == 128 * 1024
    assert mapped > default_mapped
    assert default_arenas > 1
    assert arenas == 1


# --- the production install -----------------------------------------------------------------


def test_the_production_install_brings_the_drivers_of_its_services() -> None:
    """docs/operations.md installs without the dev extras: PostgreSQL's and Redis's client
    libraries must be plain dependencies, not test tools."""
    plain = {
        re.split(r"[\[<>=; ]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.requires("minhbach") or []
        if "extra ==" not in requirement
    }
    assert {"psycopg", "redis", "gunicorn"} <= plain
