"""The real nginx, unprivileged, serving the files of ``deploy/nginx/`` from a prefix of
the test's own.

The deploy files are copied as they are, with only their placeholders replaced (the
apps' addresses, the ports, paths, certificate files); each placeholder must be found, so
a renamed one fails the test instead of silently testing something else. Around them, a
main ``nginx.conf`` plays Debian's: it turns on for the whole http block what Debian's
does (an access log, gzip, old TLS versions), so the tests show that the site files undo
it; it puts every temporary folder and log under the prefix, where the tests look.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.gunicorn import ROOT, children_of

DEPLOY = ROOT / "deploy" / "nginx"
HOST = "127.0.0.1"
STARTUP_SECONDS = 20
STOP_SECONDS = 10
TEMP_FOLDERS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")

# Where each deploy file goes on Debian, relative to /etc/nginx (the -c file's folder here).
INSTALLED = {
    "minhbach-submit-upstream.conf": "conf.d",
    "submit-onion.conf": "sites-enabled",
    "submit-clearnet.conf": "sites-enabled",
    "review.conf": "sites-enabled",
}

MAIN = """\
{user}worker_processes 1;
error_log {prefix}/logs/main-error.log warn;
events {{
    worker_connections 256;
}}
http {{
    # As Debian's /etc/nginx/nginx.conf has them: the site files must undo these.
    access_log {prefix}/logs/access.log;
    gzip on;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;

    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;

    include conf.d/*.conf;
    include sites-enabled/*.conf;
}}
"""


class NginxError(RuntimeError):
    """nginx refused its configuration or did not start; the message ends with its output."""


@dataclass
class Nginx:
    prefix: Path
    process: subprocess.Popen[bytes]

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "minhbach-error.log"

    def files(self) -> list[Path]:
        """Every file nginx has under its prefix but its configuration (logs, its pid, a
        temporary file kept), and every file its processes hold open there: nginx unlinks
        a temporary file as soon as it has opened it, so while a request is under way its
        body or answer on disk is reachable only through /proc."""
        config = self.prefix / "conf"
        named = [p for p in self.prefix.rglob("*") if p.is_file() and config not in p.parents]
        return named + self._open_files()

    def holding(self, canary: bytes) -> list[str]:
        """The files of ``files()`` whose bytes contain ``canary``, described."""
        found = []
        for path in self.files():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                if canary in path.read_bytes():
                    found.append(f"{path} ({_target(path)})")
        return found

    def _open_files(self) -> list[Path]:
        opened = []
        for pid in [self.process.pid, *children_of(self.process.pid)]:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for descriptor in (Path("/proc") / str(pid) / "fd").iterdir():
                    if _target(descriptor).startswith(f"{self.prefix}/"):
                        opened.append(descriptor)
        return opened


def _target(descriptor: Path) -> str:
    try:
        return os.readlink(descriptor)
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def render(name: str, replacements: Mapping[str, str]) -> str:
    """The deploy file ``name`` with each placeholder replaced; every one must be there."""
    text = (DEPLOY / name).read_text(encoding="utf-8")
    for placeholder, value in replacements.items():
        if placeholder not in text:
            raise AssertionError(f"{name} no longer has {placeholder!r}")
        text = text.replace(placeholder, value)
    return text


def install(prefix: Path, files: Mapping[str, Mapping[str, str]]) -> Path:
    """Lay out ``prefix`` as /etc/nginx and /var: the snippets, ``files`` (deploy file ->
    its placeholders) each rendered where Debian keeps it, and the main file. Returns the
    main file."""
    conf = prefix / "conf"
    for folder in ("conf.d", "sites-enabled", "snippets"):
        (conf / folder).mkdir(parents=True)
    for folder in ("logs", *(f"temp/{name}" for name in TEMP_FOLDERS)):
        (prefix / folder).mkdir(parents=True)
    logs = {
        "/var/log/nginx/": f"{prefix}/logs/",
        "root /usr/share/minhbach;": f"root {prefix}/share;",
    }
    errors = prefix / "share" / "minhbach-errors"
    errors.mkdir(parents=True)
    for page in (DEPLOY / "errors").glob("*.html"):  # as /usr/share/minhbach/minhbach-errors/
        (errors / page.name).write_bytes(page.read_bytes())
    for snippet in sorted((DEPLOY / "snippets").glob("*.conf")):
        wanted = logs if snippet.name == "minhbach-proxy.conf" else {}
        text = render(f"snippets/{snippet.name}", wanted)
        (conf / "snippets" / snippet.name).write_text(text, encoding="utf-8")
    for name, replacements in files.items():
        (conf / INSTALLED[name] / name).write_text(render(name, replacements), encoding="utf-8")
    # Run as root (a CI container), nginx would hand its workers to "nobody", who may not
    # enter the test's folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = conf / "nginx.conf"
    main.write_text(MAIN.format(prefix=prefix, user=user), encoding="utf-8")
    return main


def command(nginx: str, prefix: Path, main: Path, *extra: str) -> list[str]:
    pid = prefix / "nginx.pid"
    return [nginx, "-p", str(prefix), "-c", str(main), "-g", f"daemon off; pid {pid};", *extra]


def check(nginx: str, prefix: Path, main: Path) -> str:
    """``nginx -t``: its report, or NginxError if it refuses the configuration."""
    done = subprocess.run(
        command(nginx, prefix, main, "-t"), capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise NginxError(f"nginx -t refused the configuration:\n{done.stderr}")
    return done.stderr


@contextlib.contextmanager
def running(nginx: str, prefix: Path, main: Path, ports: list[int]) -> Iterator[Nginx]:
    """nginx in the foreground, stopped (and waited for) when the block ends; yields once
    each of ``ports`` accepts connections."""
    check(nginx, prefix, main)
    output = prefix / "stderr.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command(nginx, prefix, main),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Nginx(prefix, process)
    try:
        _wait_ready(server, ports, output)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Nginx, ports: list[int], output: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not all(accepts(port) for port in ports):
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise NginxError(f"nginx did not start:\n{output.read_text(errors='replace')}")
        time.sleep(0.05)


def accepts(port: int) -> bool:
    """Whether something listens on ``port`` of the loopback address yet."""
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # fast shutdown: open connections are closed
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: master and workers
            process.wait()
