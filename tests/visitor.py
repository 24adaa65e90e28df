"""A browser without JavaScript, or a page's script, as seen from the server: cookies,
forms, multipart bodies with a file, JSON with the anti-forgery header. Over real HTTP to a
real server (``tests.gunicorn``), one request per connection, every status tallied.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Tally:
    """Every answer's status, from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()

    def count(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class Visitor:
    """One browser: its own cookies, one request at a time; from ``source`` (a loopback
    address) and with ``user_agent`` if given, for tests that look for them afterwards."""

    def __init__(
        self, base_url: str, tally: Tally, *, source: str | None = None, user_agent: str = ""
    ) -> None:
        self._port = int(base_url.rsplit(":", 1)[1])
        self._cookies: dict[str, str] = {}
        self._tally = tally
        self._source = None if source is None else (source, 0)
        self._agent = {"User-Agent": user_agent} if user_agent else {}

    def moved_to(self, base_url: str) -> Visitor:
        """This browser, its cookies shared, sent to another server: as a load balancer or
        an onion service with several back ends sends one visitor's requests to any host."""
        other = Visitor(base_url, self._tally, user_agent=self._agent.get("User-Agent", ""))
        other._cookies = self._cookies
        other._source = self._source
        return other

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] = {}
    ) -> Reply:
        sending = self.start(method, path, headers, len(body))
        sending.send(body)
        return sending.finish()

    def start(self, method: str, path: str, headers: Mapping[str, str], length: int) -> Sending:
        """Send the head of a request whose body of ``length`` bytes follows in pieces."""
        connection = http.client.HTTPConnection(
            HOST, self._port, timeout=300, source_address=self._source
        )
        cookie = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        connection.putrequest(method, path, skip_accept_encoding=True)
        sent = {**self._agent, **headers, "Cookie": cookie, "Content-Length": str(length)}
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        return Sending(self, connection)

    def record(self, response: http.client.HTTPResponse) -> Reply:
        reply = Reply(response.status, dict(response.getheaders()), response.read())
        for value in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(value).items():
                self._cookies[name] = morsel.value
        self._tally.count(reply.status)
        return reply

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> Reply:
        body = urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": FORM})

    def post_multipart(self, path: str, parts: list[tuple[str, str | bytes]]) -> Reply:
        body, content_type = multipart(parts)
        return self.request("POST", path, body, {"Content-Type": content_type})

    def post_json(self, path: str, document: object, token: str) -> Reply:
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        return self.request("POST", path, body, headers)


class Sending:
    """A request whose head is sent: its body follows in pieces, then its answer."""

    def __init__(self, visitor: Visitor, connection: http.client.HTTPConnection) -> None:
        self._visitor, self._connection = visitor, connection

    def send(self, data: bytes) -> None:
        if data:
            self._connection.send(data)

    def finish(self) -> Reply:
        try:
            return self._visitor.record(self._connection.getresponse())
        finally:
            self._connection.close()


def multipart(parts: list[tuple[str, str | bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends a form, in the order given: a ``str``
    value is a field, ``bytes`` a file; and its content type. (The report form's
    anti-forgery token must come first.)"""
    boundary = secrets.token_hex(16)
    encoded = []
    for name, value in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if isinstance(value, bytes):
            head += '; filename="evidence.bin"\r\nContent-Type: application/octet-stream'
            encoded.append(f"{head}\r\n\r\n".encode() + value + b"\r\n")
        else:
            encoded.append(f"{head}\r\n\r\n{value}\r\n".encode())
    encoded.append(f"--{boundary}--\r\n".encode())
    return b"".join(encoded), f"multipart/form-data; boundary={boundary}"


def token_in(reply: Reply, pattern: re.Pattern[str]) -> str:
    found = pattern.search(reply.text)
    if found is None:
        raise AssertionError(f"no anti-forgery token in a {reply.status} page")
    return found.group(1)
