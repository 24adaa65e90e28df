"""The nginx configurations of ``deploy/nginx/``, run by the real nginx in front of both
apps under gunicorn with the production settings (2 workers x 4 threads each).

One nginx serves all four files at once, as a single host would: the onion site and the
review site on loopback ports, the clearnet site over HTTP and HTTPS with a throwaway
certificate. What is shown, each claim of deploy/nginx/README.md in turn:

- a 50 MiB no-JavaScript report, and its file downloaded decrypted through the review
  site, leave no canary in any file nginx has (temporary folders, logs); a chunked body
  neither;
- twenty connections sending their request heads a byte at a time do not hold up a
  normal request, and nginx drops them at its header timeout;
- HTTPS: TLS 1.2 and 1.3 only, forward-secret AEAD suites only, no HSTS of nginx's own,
  HTTP redirected to the configured name, certificate renewals served;
- clearnet requests are limited per address, and no address is written anywhere;
- no access log, no compression, the review site only for the addresses it allows;
- each body limit is the app's own for that route, at the default settings.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import http.server
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select as query

import review
from casework.settings import Settings
from store.models import Case
from submit.views import report
from tests import gunicorn
from tests.deploy import nginx_helpers
from tests.deploy.nginx_helpers import DEPLOY, HOST, Nginx, free_port
from tests.gunicorn import ROOT
from tests.instances import Instance, instance
from tests.programs import require_program
from tests.reliability.conftest import CHEAP
from tests.reliability.helpers import CATEGORY, evidence, report_form, session_of, sign_in
from tests.visitor import FORM_TOKEN, Reply, Tally, Visitor, multipart, token_in
from web.health import HEALTHY

MiB = 1024 * 1024
REPORT_FILE_SIZE = 50 * MiB
LAST_PIECE = 1024  # of a body, held back while nginx's disk is searched
IN_FLIGHT_SECONDS = 1.0
SERVER_NAME = "reports.example.org"
SLOW_CONNECTIONS = 20
# A normal request behind twenty slow clients: it takes milliseconds when nginx holds
# them. The bound is generous for a loaded test machine; stalled behind gunicorn's eight
# threads it would wait for nginx's or gunicorn's own timeouts, never under this.
PROMPT_SECONDS = 5.0
# Past the burst of the per-address limit (100, then 20 a second) on a slow machine too.
LIMITED_REQUESTS = 300
STATIC = ROOT / "submit" / "static"
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host",
                      "X-Forwarded-Proto")  # fmt: skip


def _seconds(setting: str) -> int:
    found = re.search(rf"^{setting} (\d+)s;", _snippet("minhbach-proxy.conf"), re.MULTILINE)
    assert found is not None, setting
    return int(found.group(1))


def _snippet(name: str) -> str:
    return (DEPLOY / "snippets" / name).read_text(encoding="utf-8")


HEADER_TIMEOUT = _seconds("client_header_timeout")


@dataclass
class Stack:
    place: Instance
    nginx: Nginx
    ports: dict[str, int]  # onion, review, http, https
    certificate: Path

    def url(self, site: str) -> str:
        return f"http://{HOST}:{self.ports[site]}"

    def visitor(self, site: str, source: str | None = None) -> Visitor:
        return Visitor(self.url(site), Tally(), source=source)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = require_program("nginx")
    root = tmp_path_factory.mktemp("nginx-stack")
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)  # 50 MiB of blobs
        yield cleanup.enter_context(_stack(nginx, root))


@contextlib.contextmanager
def _stack(nginx: str, root: Path) -> Iterator[Stack]:
    with instance("sqlite", root) as place:
        env = {**place.env, **CHEAP}
        with (
            gunicorn.running("submit:create_app()", env, root / "submit.log", ready_path="/health")
            as submit_app,
            gunicorn.running("review:create_app()", env, root / "review.log", ready_path="/health")
            as review_app,
        ):  # fmt: skip
            ports = {site: free_port() for site in ("onion", "review", "http", "https")}
            prefix, certs = root / "nginx", root / "certs"
            certificate = self_signed(certs)
            main = nginx_helpers.install(
                prefix,
                {
                    "minhbach-submit-upstream.conf": {
                        "server 127.0.0.1:5000;": f"server {HOST}:{submit_app.port};",
                    },
                    "submit-onion.conf": {
                        "listen 127.0.0.1:8080;": f"listen {HOST}:{ports['onion']};",
                    },
                    "submit-clearnet.conf": {
                        "listen 80;": f"listen {HOST}:{ports['http']};",
                        "listen 443 ssl;": f"listen {HOST}:{ports['https']} ssl;",
                        f"/etc/letsencrypt/live/{SERVER_NAME}/": f"{certs}/",
                        "/var/www/letsencrypt": f"{prefix}/acme",
                    },
                    "review.conf": {
                        "server 127.0.0.1:5001;": f"server {HOST}:{review_app.port};",
                        "listen 127.0.0.1:8081;": f"listen {HOST}:{ports['review']};",
                    },
                },
            )
            with nginx_helpers.running(nginx, prefix, main, list(ports.values())) as server:
                yield Stack(place, server, ports, certificate)


def self_signed(folder: Path) -> Path:
    """A throwaway P-256 certificate for SERVER_NAME, where the clearnet site expects it."""
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path = folder / "fullchain.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


# --- no plaintext on nginx's disk -----------------------------------------------------------


def test_a_50_mib_report_and_its_download_leave_no_canary_in_nginx(stack: Stack) -> None:
    """nginx deletes its temporary files when a request ends, so they are looked for while
    each transfer is under way: the report's body all sent but its last piece (a buffering
    nginx holds it on disk then, waiting for the rest), and the download asked for but not
    read (a buffering nginx takes the app's answer onto its disk meanwhile)."""
    canary = f"CANARY-{uuid.uuid4().hex}"
    data = evidence(canary, REPORT_FILE_SIZE)
    tipster = stack.visitor("onion")
    body, content_type = multipart(report_form(tipster, canary, data))
    sending = tipster.start("POST", "/report", {"Content-Type": content_type}, len(body))
    sending.send(body[:-LAST_PIECE])
    while_sending = nginx_keeps(stack, canary)
    sending.send(body[-LAST_PIECE:])
    sent = sending.finish()
    assert sent.status == 200, sent.text[:300]

    with session_of(stack.place) as session:
        case = session.scalars(query(Case).order_by(Case.id.desc())).first()
        assert case is not None
        [attachment] = case.attachments
        path = f"/cases/{case.public_id}/files/{attachment.id}"
    inspector = stack.visitor("review")
    sign_in(inspector, stack.place.accounts["lan"])
    asking = inspector.start("GET", path, {}, 0)
    while_downloading = nginx_keeps(stack, canary)
    downloaded = asking.finish()
    assert downloaded.status == 200
    assert downloaded.body == data  # the report arrived whole, and came back decrypted

    assert while_sending == while_downloading == []
    assert stack.nginx.files() != []  # the scans look at something: nginx's logs
    assert stack.nginx.holding(canary.encode()) == []


def test_a_chunked_body_is_not_written_to_nginx_temporary_files(stack: Stack) -> None:
    """A body without a declared length, which nginx buffers to disk when it speaks
    HTTP/1.0 to the app whatever proxy_request_buffering says."""
    canary = f"CANARY-{uuid.uuid4().hex}"
    connection = http.client.HTTPConnection(HOST, stack.ports["onion"], timeout=60)
    connection.request("GET", "/report")  # the form's cookie and token, as a browser gets them
    form = connection.getresponse()
    cookie = str(form.getheader("Set-Cookie")).split(";", 1)[0]
    token = token_in(Reply(form.status, {}, form.read()), FORM_TOKEN)
    fields: list[tuple[str, str | bytes]] = [
        ("csrf_token", token), ("category", CATEGORY), ("what", canary),
        ("files", evidence(canary, 2 * MiB)),
    ]  # fmt: skip
    body, content_type = multipart(fields)
    seen: list[str] = []

    def pieces() -> Iterator[bytes]:
        yield body[:-LAST_PIECE]
        seen.extend(nginx_keeps(stack, canary))
        yield body[-LAST_PIECE:]

    try:
        connection.request(
            "POST",
            "/report",
            body=pieces(),
            headers={"Content-Type": content_type, "Cookie": cookie},
            encode_chunked=True,
        )
        status = connection.getresponse().status
    finally:
        connection.close()
    assert status == 200, status
    assert seen == []
    assert stack.nginx.holding(canary.encode()) == []


def nginx_keeps(stack: Stack, canary: str) -> list[str]:
    """The files under nginx's prefix holding ``canary`` once nginx has had a moment to
    write what it was sent (on loopback, a buffering nginx writes 50 MiB well within it)."""
    time.sleep(IN_FLIGHT_SECONDS)
    return stack.nginx.holding(canary.encode())


# --- slow clients -------------------------------------------------------------------------------


def test_twenty_slow_header_connections_do_not_stall_a_normal_request(stack: Stack) -> None:
    started = time.monotonic()  # nginx's header timer starts as each connection does
    slow = [
        socket.create_connection((HOST, stack.ports["onion"]), timeout=5)
        for _ in range(SLOW_CONNECTIONS)
    ]
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            dropped = pool.submit(dribble, slow, started, HEADER_TIMEOUT + 5)
            time.sleep(1.0)  # every slow client has begun its head
            asked = time.monotonic()
            page = stack.visitor("onion").get("/report")
            answered = time.monotonic() - asked
            closed_after = dropped.result()
    finally:
        for connection in slow:
            connection.close()
    assert page.status == 200
    assert answered < PROMPT_SECONDS, f"a normal request took {answered:.1f} s"
    assert len(closed_after) == SLOW_CONNECTIONS, "nginx kept a slow client past its timeout"
    # Dropped by nginx's header timeout, not earlier for another reason.
    assert min(closed_after) >= HEADER_TIMEOUT - 1, closed_after


def dribble(connections: list[socket.socket], started: float, seconds: float) -> list[float]:
    """Send a request head a byte at a time on each connection, never finishing it, until
    the server closes them all or ``seconds`` after ``started``; the seconds after
    ``started`` at which each was found closed."""
    deadline = started + seconds
    for connection in connections:
        connection.sendall(b"GET /report HTTP/1.1\r\nHost: onion\r\nX-Slow: ")
    open_ = list(connections)
    closed: list[float] = []
    while open_ and time.monotonic() < deadline:
        for connection in list(open_):
            if _closed_by_server(connection):
                closed.append(time.monotonic() - started)
                open_.remove(connection)
        time.sleep(0.25)
    return closed


def _closed_by_server(connection: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if readable and connection.recv(1024) == b"":
            return True
        if not readable:
            connection.sendall(b"a")
        return bool(readable)  # anything answered to a head never finished ends it too
    except OSError:  # reset: nginx drops timed-out connections so (reset_timedout_connection)
        return True


# --- the clearnet site ----------------------------------------------------------------------------


class _NamedConnection(http.client.HTTPSConnection):
    """HTTPS to the local nginx under SERVER_NAME (SNI and certificate check), from the
    loopback address ``source``."""

    def __init__(self, port: int, context: ssl.SSLContext, source: str) -> None:
        super().__init__(SERVER_NAME, port, timeout=30)
        self._tls, self._source = context, source

    def connect(self) -> None:
        raw = socket.create_connection((HOST, self.port), self.timeout, (self._source, 0))
        self.sock = self._tls.wrap_socket(raw, server_hostname=SERVER_NAME)


def client_context(stack: Stack) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(stack.certificate))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def https(stack: Stack, source: str = HOST) -> http.client.HTTPSConnection:
    return _NamedConnection(stack.ports["https"], client_context(stack), source)


def handshake(stack: Stack, context: ssl.SSLContext) -> tuple[str | None, ssl.SSLSession | None]:
    """The version and session of a TLS handshake with the clearnet site, or ssl.SSLError."""
    raw = socket.create_connection((HOST, stack.ports["https"]), timeout=10)
    with raw, context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls:
        return tls.version(), tls.session


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_clearnet_speaks_tls_1_2_and_1_3(stack: Stack, version: ssl.TLSVersion) -> None:
    context = client_context(stack)
    context.minimum_version = context.maximum_version = version
    spoken, session = handshake(stack, context)
    assert spoken == ("TLSv1.2" if version.name == "TLSv1_2" else "TLSv1.3")
    if version.name == "TLSv1_2":  # resumption from nginx's memory, never from a ticket
        assert session is not None
        assert not session.has_ticket
        assert session.id != b""


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_clearnet_refuses_tls_1_1_and_suites_without_forward_secrecy_or_aead(
    stack: Stack,
) -> None:
    old = client_context(stack)
    old.minimum_version = ssl.TLSVersion.TLSv1_1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError):
        handshake(stack, old)
    for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"):
        weak = client_context(stack)
        weak.maximum_version = ssl.TLSVersion.TLSv1_2
        weak.set_ciphers(suite)  # OpenSSL offers each of these by default over TLS 1.2
        with pytest.raises(ssl.SSLError):
            handshake(stack, weak)
    protocols = re.search(r"^ssl_protocols (.+);", _snippet("minhbach-tls.conf"), re.MULTILINE)
    assert protocols is not None
    assert protocols.group(1) == "TLSv1.2 TLSv1.3"


def test_clearnet_serves_the_app_and_leaves_hsts_to_it(stack: Stack) -> None:
    connection = https(stack)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        assert (response.status, response.read().decode()) == (200, HEALTHY)
        # The app sends HSTS itself when MINHBACH_PUBLIC_HTTPS is set (not here); nginx
        # adds none of its own, so the header is never sent twice, nor by nginx alone.
        assert response.getheader("Strict-Transport-Security") is None
        # gunicorn's is dropped; nginx's own cannot be without a third-party module, but
        # server_tokens off keeps its version out.
        assert response.getheader("Server") == "nginx"
    finally:
        connection.close()


def test_clearnet_http_goes_to_https_under_the_configured_name(stack: Stack) -> None:
    moved = stack.visitor("http").get("/report?lang=vi")
    assert moved.status == 301
    assert moved.headers["Location"] == f"https://{SERVER_NAME}/report?lang=vi"
    challenge = stack.nginx.prefix / "acme" / ".well-known" / "acme-challenge" / "token-1"
    challenge.parent.mkdir(parents=True)
    challenge.write_text("token-1.thumbprint", encoding="ascii")
    renewal = stack.visitor("http").get("/.well-known/acme-challenge/token-1")
    assert (renewal.status, renewal.text) == (200, "token-1.thumbprint")


def test_clearnet_limits_requests_per_address_and_writes_no_address(stack: Stack) -> None:
    busy, other = "127.0.0.2", "127.0.0.3"
    connection = https(stack, source=busy)  # one kept-alive connection: requests come fast
    statuses, refusal = [], b""
    try:
        for _ in range(LIMITED_REQUESTS):
            connection.request("GET", "/health")
            response = connection.getresponse()
            body = response.read()
            statuses.append(response.status)
            refusal = body if response.status == 429 else refusal
    finally:
        connection.close()
    burst = re.search(r"burst=(\d+) ", (DEPLOY / "submit-clearnet.conf").read_text())
    assert burst is not None
    # Every answer is no-store: each page fetches its stylesheet and script modules again.
    page = 1 + sum(1 for path in STATIC.rglob("*") if path.is_file())
    assert int(burst.group(1)) >= 2 * page  # two pages at once, from one address
    assert set(statuses[: int(burst.group(1))]) == {200}
    assert 429 in statuses
    # nginx's refusal is the bilingual page of deploy/nginx/errors, not its English one.
    assert "Chưa thực hiện được yêu cầu".encode() in refusal
    assert b"A report has been received only once you see its follow-up code." in refusal
    fresh = https(stack, source=other)
    try:
        fresh.request("GET", "/health")
        assert fresh.getresponse().status == 200  # another address is not held back
    finally:
        fresh.close()
    assert stack.nginx.holding(busy.encode()) == []
    assert stack.nginx.holding(other.encode()) == []
    assert stack.nginx.error_log.stat().st_size == 0  # at crit: no line for any of this


# --- every site ---------------------------------------------------------------------------------


@pytest.mark.parametrize("site", ["onion", "review"])
def test_no_access_log_and_no_compression(stack: Stack, site: str) -> None:
    page = stack.visitor(site).request("GET", "/login" if site == "review" else "/report",
                                       headers={"Accept-Encoding": "gzip"})  # fmt: skip
    assert page.status == 200
    assert "Content-Encoding" not in page.headers
    access_log = stack.nginx.prefix / "logs" / "access.log"  # Debian's, on for all sites
    assert access_log.exists()
    assert access_log.stat().st_size == 0


def test_review_site_admits_only_the_addresses_it_allows(stack: Stack) -> None:
    assert stack.visitor("review").get("/health").status == 200
    outsider = stack.visitor("review", source="127.0.0.2")
    refused = outsider.get("/health")
    assert refused.status == 403
    assert HEALTHY not in refused.text


def test_review_site_refuses_a_body_over_the_app_limit_unread(stack: Stack) -> None:
    sending = stack.visitor("review").start(
        "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"},
        review.MAX_BODY + 1,
    )  # fmt: skip
    assert sending.finish().status == 413  # nginx answers before a byte of the body


class _Recorder(http.server.BaseHTTPRequestHandler):
    """An app stand-in that keeps the head of every request it gets."""

    protocol_version = "HTTP/1.1"
    heads: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.heads.append((self.request_version, dict(self.headers.items())))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_the_app_gets_no_client_address_or_forwarding_header(tmp_path: Path) -> None:
    """What the app behind sees: HTTP/1.1, the Host asked for, and none of the forwarding
    headers a client may write (the apps trust none, and record no address)."""
    nginx = require_program("nginx")
    recorder = http.server.ThreadingHTTPServer((HOST, 0), _Recorder)
    serving = threading.Thread(target=recorder.serve_forever, daemon=True)
    serving.start()
    try:
        port = free_port()
        main = nginx_helpers.install(
            tmp_path / "nginx",
            {
                "minhbach-submit-upstream.conf": {
                    "server 127.0.0.1:5000;": f"server {HOST}:{recorder.server_address[1]};"
                },
                "submit-onion.conf": {"listen 127.0.0.1:8080;": f"listen {HOST}:{port};"},
            },
        )
        with nginx_helpers.running(nginx, tmp_path / "nginx", main, [port]):
            forged = dict.fromkeys(FORWARDING_HEADERS, "198.51.100.7")
            reply = Visitor(f"http://{HOST}:{port}", Tally()).request(
                "GET", "/report", headers=forged
            )
    finally:
        recorder.shutdown()
        recorder.server_close()
        serving.join()
    assert reply.status == 200
    [(version, head)] = _Recorder.heads
    assert version == "HTTP/1.1"
    assert head["Host"] == HOST  # the name the client asked for (nginx drops the port)
    sent = {name.lower() for name in head}
    assert sent.isdisjoint(name.lower() for name in FORWARDING_HEADERS), head
    assert "198.51.100.7" not in str(head)


# --- the limits written down -------------------------------------------------------------------


def body_limits(text: str) -> dict[str, int]:
    """location (as written) -> its client_max_body_size in bytes."""
    found = {}
    for match in re.finditer(r"location ([^{]+?) \{([^}]*)\}", text):
        size = re.search(r"client_max_body_size (\d+);", match.group(2))
        assert size is not None, f"{match.group(1)} sets no body limit"
        found[match.group(1)] = int(size.group(1))
    return found


def test_each_body_limit_is_the_apps_own_for_that_route() -> None:
    """The files hold what deploy/nginx/body_limits.py prints at the default settings:
    the app's own limit for each route (max_body, the views' text allowances, the upload's
    ciphertext limit, the largest JSON document, the review app's MAX_BODY)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
    printed = subprocess.run(
        [sys.executable, str(DEPLOY / "body_limits.py")],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    routes, _, review_part = printed.partition("# review.conf")
    assert body_limits(_snippet("minhbach-submit-routes.conf")) == body_limits(routes)
    assert body_limits(routes)["= /report"] == Settings.from_env({}).max_report_size + (
        report.TEXT_ALLOWANCE
    )
    review_limit = re.search(r"client_max_body_size \d+;", review_part)
    assert review_limit is not None
    assert review_limit.group(0) == f"client_max_body_size {review.MAX_BODY};"
    assert review_limit.group(0) in (DEPLOY / "review.conf").read_text(encoding="utf-8")
