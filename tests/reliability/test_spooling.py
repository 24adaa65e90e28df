"""No posted file is ever written to a temporary file, on any route of either app.

Werkzeug's form parser writes the file parts of a multipart body to temporary files
(plaintext) as soon as anything reads ``request.form``; Flask-WTF's global CSRF check
does, on every POST. Here a large multipart body with a unique canary goes to every route
that takes a body, on both apps (signed in to the review app), with and without an
anti-forgery token, with a declared length and chunked; the temporary folder is the
test's own and every temporary file made there is kept (on Linux Python's TemporaryFile
has no name at all, so it would otherwise leave no trace). Nothing may appear in it, the
canary may be in no file anywhere under the test's folder, Werkzeug's multipart parser
may never run, and no answer may be a 5xx.
"""

from __future__ import annotations

import io
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug import formparser
from werkzeug.test import TestResponse

import review
import submit
from casework.settings import Settings
from tests.review.conftest import csrf_token, give_credentials, post_login, review_settings
from tests.submit.conftest import TEST_ENV
from tests.worlds import World
from web.multipart import streams_multipart

MIB = 1024 * 1024
BOUNDARY = "spoolingboundary7d1f"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Past Werkzeug's 500 KB in-memory threshold; the smaller one is also below the review
# app's body limit, so that the limit alone cannot be what keeps it off the disk.
SIZES = (8 * MIB, 1 * MIB)
FILE_FIELDS = {"/report": "files", "/followup/reply": "reply_files"}


@dataclass
class Spool:
    """The test's temporary folder, and what tried to parse multipart bodies."""

    folder: Path
    parsed: list[str] = field(default_factory=list)

    def made(self) -> list[Path]:
        return sorted(self.folder.rglob("*"))


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Spool:
    folder = tmp_path / "tmp"
    folder.mkdir()
    spool = Spool(folder)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    named: Callable[..., IO[Any]] = tempfile.NamedTemporaryFile

    def visible(*args: Any, **kwargs: Any) -> IO[Any]:
        # What SpooledTemporaryFile rolls over to, named and kept, so it can be found.
        return named(*args, delete=False, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", visible)
    parse = formparser.MultiPartParser.parse

    def recorded(parser: formparser.MultiPartParser, *args: Any, **kwargs: Any) -> Any:
        spool.parsed.append("multipart")
        return parse(parser, *args, **kwargs)

    monkeypatch.setattr(formparser.MultiPartParser, "parse", recorded)
    return spool


@pytest.fixture
def submit_app(engine: Engine, tmp_path: Path, world: World) -> Flask:
    settings = Settings.from_env(
        {
            **TEST_ENV,
            "MINHBACH_INSTANCE": str(tmp_path / "submit-instance"),
            "MINHBACH_DATABASE_URL": str(engine.url),
            "MINHBACH_RATE_LIMIT_SCALE": "1000",  # every route is reached, not a 429
        }
    )
    app = submit.create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def review_client(engine: Engine, tmp_path: Path, session: Session, world: World) -> FlaskClient:
    accounts = give_credentials(session, world)
    app = review.create_app(
        review_settings(engine, tmp_path / "review", MINHBACH_RATE_LIMIT_SCALE="1000")
    )
    app.config["TESTING"] = True
    client = app.test_client()
    assert post_login(client, accounts["lan"]).status_code == 303
    return client


def routes(app: Flask) -> Iterator[tuple[str, str]]:
    """Every route that takes a body, with its variables filled in, and its method."""
    for rule in app.url_map.iter_rules():
        for method in sorted(set(METHODS) & (rule.methods or set())):
            yield method, re.sub(r"<[^>]+>", "1", rule.rule)


def multipart(path: str, token: str | None, payload: bytes) -> bytes:
    head = b""
    if token is not None:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        ).encode()
    name = FILE_FIELDS.get(path, "file")
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        'filename="evidence.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    return head + part + payload + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_everywhere(client: FlaskClient, token: str, canary: bytes) -> list[str]:
    """Post to every route; the answers that were 5xx, described."""
    app = client.application
    problems = []
    for size in SIZES:
        payload = (canary + b"\n") * (size // (len(canary) + 1))
        for method, path in routes(app):
            for sent_token in (token, None):
                for chunked in (False, True):
                    if chunked and size != min(SIZES):
                        continue  # one chunked size is enough
                    body = multipart(path, sent_token, payload)
                    response = send(client, method, path, body, sent_token, chunked=chunked)
                    if response.status_code >= 500:
                        problems.append(f"{method} {path} {size} {response.status_code}")
                    response.close()
    return problems


def send(
    client: FlaskClient,
    method: str,
    path: str,
    body: bytes,
    token: str | None,
    *,
    chunked: bool = False,
) -> TestResponse:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if token is not None:
        headers["X-CSRFToken"] = token  # as the JSON API takes it
    if chunked:
        # No length, as a chunked request arrives through gunicorn: the server says the
        # stream ends by itself, and Werkzeug would read it to the end.
        return client.open(
            path,
            method=method,
            input_stream=io.BytesIO(body),
            headers=headers,
            environ_overrides={"wsgi.input_terminated": True},
        )
    return client.open(path, method=method, data=body, headers=headers)


def files_with(root: Path, canary: bytes) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and contains(path, canary):
            found.append(path)
    return found


def contains(path: Path, needle: bytes) -> bool:
    overlap = b""
    with path.open("rb") as stream:
        while piece := stream.read(MIB):
            if needle in overlap + piece:
                return True
            overlap = piece[-len(needle) :]
    return False


def test_no_route_of_the_public_app_spools_a_posted_file(
    submit_app: Flask, spool: Spool, tmp_path: Path
) -> None:
    client = submit_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/report").text)
    assert token is not None
    canary = f"spool-canary-{uuid.uuid4().hex}".encode()
    assert len(list(routes(submit_app))) > 10  # the enumeration found the app's routes
    problems = post_everywhere(client, token.group(1), canary)
    assert problems == []
    assert spool.made() == []
    assert files_with(tmp_path, canary) == []
    assert spool.parsed == []


def test_no_route_of_the_review_app_spools_a_posted_file(
    review_client: FlaskClient, spool: Spool, tmp_path: Path
) -> None:
    token = csrf_token(review_client, "/")
    canary = f"spool-canary-{uuid.uuid4().hex}".encode()
    assert len(list(routes(review_client.application))) > 10
    problems = post_everywhere(review_client, token, canary)
    assert problems == []
    assert spool.made() == []
    assert files_with(tmp_path, canary) == []
    assert spool.parsed == []


def test_the_two_streaming_views_still_take_files(submit_app: Flask, spool: Spool) -> None:
    """The guard lets the marked views through: their answer is their own (a form to
    correct, or the code form), never the guard's 415."""
    client = submit_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/report").text)
    assert token is not None
    for path in FILE_FIELDS:
        body = multipart(path, token.group(1), b"x" * MIB)
        response = send(client, "POST", path, body, token.group(1))
        assert response.status_code in (400, 401), (path, response.status_code)
    assert spool.made() == []
    assert spool.parsed == []


@pytest.mark.parametrize("path", ["/followup", "/api/v1/pow", "/followup/leave"])
def test_a_multipart_body_elsewhere_is_refused_clearly(submit_app: Flask, path: str) -> None:
    client = submit_app.test_client()
    response = send(client, "POST", path, multipart(path, None, b"x"), None)
    assert response.status_code == 415
    text = response.get_data(as_text=True)
    assert "multipart/form-data" in text
    assert "Nothing you sent was read or kept." in text


def test_a_streaming_view_that_reads_the_form_by_mistake_spools_nothing(
    submit_app: Flask, spool: Spool, tmp_path: Path
) -> None:
    """The second line of defence: past the guard, Werkzeug's parser still gets no file to
    write a file part to (the request class refuses it), so the answer is a 415."""

    @submit_app.post("/careless")
    @streams_multipart
    def careless() -> str:
        return str(len(request.files))

    submit_app.extensions["csrf"].exempt(careless)
    canary = f"spool-canary-{uuid.uuid4().hex}".encode()
    client = submit_app.test_client()
    body = multipart("/careless", None, (canary + b"\n") * (MIB // len(canary)))
    response = send(client, "POST", "/careless", body, None)
    assert response.status_code == 415
    assert spool.made() == []
    assert files_with(tmp_path, canary) == []
