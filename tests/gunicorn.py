"""Run an app under gunicorn with the production settings (``deploy/gunicorn.conf.py``):
several workers with several threads each, as ``make run`` and a real unit run it.

For what a server in a thread cannot show: requests racing between processes, a worker
killed half-way through a request, the load benchmark. The server gets a socket we bound
(no race for a free port; early clients wait in the backlog) and its own session, so a
Ctrl-C reaches the caller only, which then stops it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
HOST = "127.0.0.1"
STARTUP_SECONDS = 60
STOP_SECONDS = 15


class ServerError(RuntimeError):
    """The server did not start, or died; the message ends with its log."""


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the master)."""
        return children_of(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None


@contextlib.contextmanager
def running(
    app: str,
    env: Mapping[str, str],
    log: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    ready_path: str = "/",
) -> Iterator[Gunicorn]:
    """Serve ``app`` (``"submit:create_app()"``) with ``env``; yield once every worker is up
    and ``ready_path`` answers below 500."""
    listener = socket.create_server((HOST, 0))
    port = listener.getsockname()[1]
    settings = {
        **env,
        "MINHBACH_GUNICORN_WORKERS": str(workers),
        "MINHBACH_GUNICORN_THREADS": str(threads),
    }
    try:
        process = _spawn(app, listener.fileno(), settings, log)
    finally:
        listener.close()  # gunicorn holds its own copy
    server = Gunicorn(process, port, log)
    try:
        _wait_ready(server, workers, ready_path)
        yield server
    finally:
        _stop(server)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):  # gone while we looked
                if int(_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first, start time 19th)."""
    text = (Path("/proc") / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    return text.rpartition(")")[2].split()


def _spawn(app: str, fd: int, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        *("-c", str(CONFIG)),
        *("--bind", f"fd://{fd}"),
        *("--graceful-timeout", "5"),
        app,
    ]
    with log.open("ab") as output:
        # Our own interpreter and arguments, no shell: nothing untrusted reaches it.
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(server: Gunicorn, workers: int, path: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while len(server.workers()) < workers or not _answers(server.port, path):
        if not server.alive():
            raise ServerError(f"gunicorn exited at startup:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            raise ServerError(f"gunicorn did not get ready:\n{server.log_tail()}")
        time.sleep(0.1)


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _stop(server: Gunicorn) -> None:
    workers = {pid: _started(pid) for pid in server.workers()}
    try:
        if server.alive():
            server.process.terminate()
            server.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if server.alive():
            server.process.kill()
            server.process.wait()
        for pid, started in workers.items():
            # A worker stuck in its own shutdown must not outlive its master; the start
            # time tells it from another process that got its pid since.
            if started is not None and _started(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _started(pid: int) -> str | None:
    try:
        return _stat(pid)[19]
    except (OSError, IndexError):
        return None
