"""Hostile input to the public app: every refusal is a 4xx that says what happened, never a 5xx.

Properties, each checked with Hypothesis over inputs no browser sends:

- the no-JavaScript multipart parser (``web.streaming.read_form``, fed from memory)
  reads a well-formed form back exactly however the reads split it, and answers anything
  else (arbitrary bytes, a cut body, another boundary, bad UTF-8, huge part headers, too
  many parts, oversize text or files) with a ``FormError`` of the right kind: never
  another exception, never a truncated form taken as complete, never a file read before
  the anti-forgery token;
- the app's form endpoints (POST /report, POST /followup/reply) answer such bodies, and
  wrong content types or declared lengths, with a 4xx HTML page carrying an alert, and
  keep nothing;
- the JSON API answers bodies that are not the documented object (arbitrary bytes,
  non-objects, deeply nested JSON, huge integers, bad UTF-8, wrong content types,
  declared lengths it will not read) with a 4xx it documents for the operation and the
  error object ``{"error": {"code", "message"}}``, whose message never repeats a value
  sent; so does a report envelope with a solved proof of work and a hostile value anywhere
  in it, keeping no case; ids of 2**63 and more (no database can hold them) and any upload
  id that was not given out are "not found";
- stateful: the resumable upload protocol, driven by valid and hostile requests mixed, keeps
  every upload's offset exactly where a model of the protocol says it is; and hostile
  requests of every kind to the follow-up endpoints neither end a reporter's session nor
  change their case.

Rate limits are switched off (``without_rate_limits``) so that each example reaches the
code under test rather than a 429; the limits have their own tests.
"""

from __future__ import annotations

import io
import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import flask
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from casework.dates import unit_today
from casework.intake import AttachmentIn
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from casework.uploads import ciphertext_limit
from store.models import Case, Message
from store.types import MAX_ID as MAX_DATABASE_ID  # the largest id a column holds
from submit import create_app, followup_session
from submit.limits import EXTENSION, Limits
from submit.views.report import MAX_CHARS
from tests.conftest import settings_for
from tests.submit.conftest import TEST_ENV
from tests.submit.test_api_support import (
    API_PREFIX,
    SPEC,
    Api,
    csrf_token,
    envelope_of,
    resolve,
)
from tests.submit.test_followup_pages import Story, new_case
from tests.submit.test_report_form import csrf_token_of
from tests.worlds import World
from web.database import db
from web.streaming import (
    BYTES_PER_CHAR,
    DECODER_BUFFER,
    FileRefused,
    FormError,
    FormSpec,
    FormTooLarge,
    MalformedForm,
    MissingToken,
    ReceivedForm,
    TooManyFiles,
    clean_file_name,
    clean_file_type,
    read_form,
)

MAX_FILE_SIZE = 64 * 1024
MAX_REPORT_SIZE = 96 * 1024
OFFSET_STREAM = "application/offset+octet-stream"
ERROR_CODE = re.compile(r"[a-z][a-z0-9_]*")
# Examples share one app and database per test: state accumulates, as on a live server.
SHARED_APP = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- helpers, also used by test_openapi_fuzz --------------------------------------------------


def without_rate_limits(app: Flask) -> Flask:
    """Switch the app's rate limits off (their storage stays: it records spent proofs of work),
    so that hostile examples reach the code under test instead of a 429."""
    limits: Limits = app.extensions[EXTENSION]
    limits.limiter.enabled = False
    return app


def start_followup(
    app: Flask, client: FlaskClient, case_id: str, reporter_key: X25519PrivateKey | None = None
) -> str:
    """Put a follow-up session for ``case_id`` into ``client``'s cookie, as opening it with
    the code does (with ``reporter_key``: the no-JavaScript session); returns the new
    anti-forgery token."""
    with app.test_request_context(method="POST"):  # a writing request, as opening one is
        case = db().scalars(select(Case).where(Case.public_id == case_id)).one()
        token = followup_session.start(db(), case, unit_today(), reporter_key)
        db().commit()
        values = dict(flask.session)
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie.update(values)
    return token


def assert_api_refusal(response: TestResponse, *, documented: Iterable[str] = ()) -> str:
    """A 4xx with the error object of openapi.json (and a status the operation documents,
    if ``documented`` is given); returns the error code."""
    where = f"{response.request.method} {response.request.path}"
    detail = response.get_data()[:300]
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {detail!r}"
    allowed = set(documented)
    assert not allowed or str(response.status_code) in allowed, f"{where}: undocumented status"
    if response.request.method == "HEAD":
        return ""
    assert response.mimetype == "application/json", f"{where}: {response.mimetype}"
    document = response.get_json()
    assert isinstance(document, dict), detail
    assert set(document) == {"error"}, detail
    error = document["error"]
    assert isinstance(error, dict), detail
    assert set(error) == {"code", "message"}, detail
    code, message = error["code"], error["message"]
    assert isinstance(code, str), detail
    assert ERROR_CODE.fullmatch(code), detail
    assert isinstance(message, str), detail
    assert message.strip(), detail
    return code


class _Alerts(HTMLParser):
    """The text inside elements with role "alert" or "status": what a screen reader
    announces, and what a sighted reader sees highlighted."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._depth = 0  # open elements since (and including) the outermost alert

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self._depth or dict(attrs).get("role") in ("alert", "status"):
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag not in self.VOID:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and data.strip():
            self.text.append(data.strip())


def alert_text(page: str) -> str:
    parser = _Alerts()
    parser.feed(page)
    return " ".join(parser.text)


def assert_page_refusal(response: TestResponse) -> None:
    """A 4xx HTML page that tells the reader what happened (an alert or status with text)."""
    where = f"{response.request.method} {response.request.path}"
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code}"
    assert response.mimetype == "text/html", f"{where}: {response.mimetype}"
    assert alert_text(response.get_data(as_text=True)), f"{where}: the page says nothing"


# --- the multipart parser, fed from memory -----------------------------------------------------

PARSER_SPEC = FormSpec(
    token_field="csrf_token",
    text_fields=frozenset({"what", "who"}),
    file_field="files",
    max_chars=40,
    max_text_bytes=1400,
    max_parts=16,
    max_files=3,
    max_file_size=300,
    max_files_size=600,
)
TOKEN = "token-value"
BOUNDARY_CHARS = string.ascii_letters + string.digits + "'()+_,-./:=?"


@dataclass(frozen=True)
class Text:
    name: str
    raw: bytes  # as sent


@dataclass(frozen=True)
class Upload:
    name: str
    filename: str
    type: str  # "" sends no Content-Type
    content: bytes


Part = Text | Upload


def encode_form(parts: list[Part], boundary: str, token: str | None = TOKEN) -> bytes:
    """A multipart/form-data body as a browser sends it: the token first (unless None),
    then ``parts``."""
    out = bytearray()
    first = [] if token is None else [Text("csrf_token", token.encode())]
    for part in [*first, *parts]:
        out += f"--{boundary}\r\n".encode()
        if isinstance(part, Upload):
            out += (
                f'Content-Disposition: form-data; name="{part.name}"; '
                f'filename="{part.filename}"\r\n'
            ).encode()
            if part.type:
                out += f"Content-Type: {part.type}\r\n".encode()
            out += b"\r\n" + part.content
        else:
            out += f'Content-Disposition: form-data; name="{part.name}"\r\n\r\n'.encode()
            out += part.raw
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def normalised(text: str) -> str:
    return re.sub(r"\r\n?", "\n", text)


class Trickle(io.BytesIO):
    """A request stream whose reads return at most the next of ``steps`` bytes, as a slow
    connection does: the parser must not depend on where reads end."""

    def __init__(self, data: bytes, steps: list[int]) -> None:
        super().__init__(data)
        self._steps = steps
        self._reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        step = self._steps[self._reads % len(self._steps)]
        self._reads += 1
        return super().read(step if size is None or size < 0 else min(step, size))


@dataclass
class Sink:
    """A file sink that records what reaches it, and that no file came before the token."""

    token_checked: list[str] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    received: list[int] = field(default_factory=list)  # bytes taken from each file, so far

    def check_token(self, token: str) -> None:
        self.token_checked.append(token)

    def seal(self, name: str, type_: str, pieces: Iterable[bytes]) -> AttachmentIn:
        assert self.token_checked, "a file was read before the anti-forgery token was checked"
        self.received.append(0)
        content = bytearray()
        for piece in pieces:
            content += piece
            self.received[-1] += len(piece)
        self.files.append((name, type_, bytes(content)))
        return AttachmentIn(blob_id=str(len(self.files)), meta=b"", stored_size=len(content))


def parse(body: bytes, boundary: str, sink: Sink, steps: list[int] | None = None) -> ReceivedForm:
    stream = Trickle(body, steps or [1 << 20])
    return read_form(stream, boundary.encode(), PARSER_SPEC, sink, sink.check_token)


boundaries = st.text(BOUNDARY_CHARS, min_size=1, max_size=40).map(lambda tail: "hyp" + tail)
# Any text, with line breaks of every kind more often than chance would give them.
line_breaks = st.sampled_from(["\r\n", "\r", "\n"])
texts = st.lists(st.characters(codec="utf-8") | line_breaks, max_size=40).map("".join)
file_names = st.text(
    st.characters(codec="utf-8", exclude_characters='"\\\r\n', exclude_categories=["Cc"]),
    max_size=20,
)
file_types = st.sampled_from(["", "application/pdf", "image/png; name=x", "text/plain"])


@st.composite
def text_parts(draw: st.DrawFn) -> Text:
    text = draw(texts.filter(lambda value: len(normalised(value)) <= PARSER_SPEC.max_chars))
    return Text(draw(st.sampled_from(["what", "who", "unknown"])), text.encode())


@st.composite
def upload_parts(draw: st.DrawFn) -> Upload:
    name = draw(st.sampled_from(["files", "files", "other"]))
    content = draw(st.binary(max_size=100))
    return Upload(name, draw(file_names), draw(file_types), content)


@st.composite
def forms(draw: st.DrawFn) -> tuple[list[Part], str]:
    """A well-formed form within every limit of ``PARSER_SPEC``, and its boundary."""
    parts: list[Part] = draw(st.lists(text_parts() | upload_parts(), max_size=8))
    chosen = [p for p in parts if isinstance(p, Upload) and p.name == "files" and p.filename]
    assume(len(chosen) <= PARSER_SPEC.max_files)
    boundary = draw(boundaries)
    delimiter = f"\r\n--{boundary}".encode()
    for part in parts:
        content = part.content if isinstance(part, Upload) else part.raw
        assume(delimiter not in b"\r\n" + content + b"\r\n")
    return parts, boundary


@settings(max_examples=150, deadline=None)
@given(forms(), st.lists(st.integers(1, 64), min_size=1, max_size=5))
def test_a_well_formed_form_reads_back_exactly_however_the_reads_split_it(
    form: tuple[list[Part], str], steps: list[int]
) -> None:
    """Text comes back decoded with line breaks as "\\n", per name and in order; unknown
    parts and empty file inputs are dropped; each chosen file reaches the sink intact with a
    clean name and type; the token is checked once, before any file."""
    parts, boundary = form
    sink = Sink()
    received = parse(encode_form(parts, boundary), boundary, sink, steps)
    expected: dict[str, list[str]] = {}
    for part in parts:
        if isinstance(part, Text) and part.name in PARSER_SPEC.text_fields:
            expected.setdefault(part.name, []).append(normalised(part.raw.decode()))
    chosen = [p for p in parts if isinstance(p, Upload) and p.name == "files" and p.filename]
    assert sink.token_checked == [TOKEN]
    assert received.values == expected
    assert received.overlong == set()
    assert received.files_chosen == len(chosen)
    assert sink.files == [
        (clean_file_name(p.filename), clean_file_type(p.type or None), p.content) for p in chosen
    ]
    assert [a.stored_size for a in received.attachments] == [len(p.content) for p in chosen]


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A well-formed body with bytes cut out, put in or changed somewhere."""
    parts, boundary = draw(forms())
    body = bytearray(encode_form(parts, boundary).replace(boundary.encode(), b"B"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        junk = draw(st.binary(max_size=12) | st.sampled_from([b"--B", b"\r\n", b'"', b"\xff"]))
        cut = draw(st.integers(0, 12))
        body[at : at + cut] = junk
    return bytes(body)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=400) | mangled(),
    st.sampled_from(["B", "hyp"]) | boundaries,
    st.lists(st.integers(1, 64), min_size=1, max_size=3),
)
def test_any_body_is_read_as_a_form_or_refused_as_a_form_error(
    body: bytes, boundary: str, steps: list[int]
) -> None:
    """Whatever the bytes, the parser returns a form or raises a ``FormError`` (which the
    views answer with a 4xx): no other exception, and no file before the token."""
    sink = Sink()
    refused: FormError | None = None
    try:
        received = parse(body, boundary, sink, steps)
    except FormError as error:
        refused = error
    if refused is not None:
        assert 400 <= refused.status < 500
        return
    assert len(sink.token_checked) == 1
    assert len(received.attachments) <= PARSER_SPEC.max_files


@settings(max_examples=150, deadline=None)
@given(forms(), st.data())
def test_a_form_cut_short_is_refused_never_read_as_complete(
    form: tuple[list[Part], str], data: st.DataObject
) -> None:
    """A body that ends before its closing delimiter (a dropped connection, say) is
    malformed: what arrived is never taken for the whole form. Only the line break after
    the closing delimiter may be missing."""
    parts, boundary = form
    body = encode_form(parts, boundary)
    cut = data.draw(st.integers(0, len(body) - len(b"\r\n") - 1), label="cut")
    with pytest.raises(MalformedForm):
        parse(body[:cut], boundary, Sink())


@settings(max_examples=100, deadline=None)
@given(forms(), boundaries)
def test_a_form_read_with_another_boundary_is_refused(
    form: tuple[list[Part], str], other: str
) -> None:
    """A Content-Type whose boundary is not the body's finds no part: malformed."""
    parts, boundary = form
    body = encode_form(parts, boundary)
    assume(f"--{other}".encode() not in body)
    with pytest.raises(MalformedForm):
        parse(body, other, Sink())


@settings(max_examples=100, deadline=None)
@given(forms())
def test_a_form_whose_first_part_is_not_the_token_is_refused_before_any_file(
    form: tuple[list[Part], str],
) -> None:
    """The anti-forgery token must come first, so that a forged cross-site post never gets a
    byte of a file encrypted or stored: without it, ``MissingToken`` and the sink untouched."""
    parts, boundary = form
    sink = Sink()
    with pytest.raises(MissingToken):
        parse(encode_form(parts, boundary, token=None), boundary, sink)
    assert sink.token_checked == []
    assert sink.files == []


# Valid text around a sequence that is invalid UTF-8 whatever surrounds it: a byte that never
# occurs, a lone continuation byte, an overlong form, a surrogate, a code point past U+10FFFF.
INVALID_SEQUENCES = [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]


def _around(before: str, bad: bytes, after: str) -> bytes:
    return before.encode() + bad + after.encode()


invalid_utf8 = st.builds(
    _around,
    st.text(max_size=8),
    st.sampled_from(INVALID_SEQUENCES),
    st.text(max_size=1),
).filter(lambda raw: not _is_utf8(raw) and len(raw) <= PARSER_SPEC.max_chars)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=100, deadline=None)
@given(forms(), invalid_utf8, st.sampled_from(["csrf_token", "what", "who"]), boundaries)
def test_a_value_that_is_not_utf8_is_refused(
    form: tuple[list[Part], str], raw: bytes, name: str, boundary: str
) -> None:
    """The page is UTF-8, so a browser sends UTF-8: a token or kept text value that is not
    is malformed, never decoded into something else."""
    parts, _ = form
    assume(f"--{boundary}".encode() not in raw)
    if name == "csrf_token":
        body = encode_form(parts, boundary, token="").replace(b'"\r\n\r\n', b'"\r\n\r\n' + raw, 1)
    else:
        body = encode_form([Text(name, raw), *parts], boundary)
    with pytest.raises(MalformedForm):
        parse(body, boundary, Sink())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.characters(codec="utf-8") | line_breaks, min_size=41, max_size=300).map("".join),
    st.sampled_from(["what", "who"]),
    boundaries,
)
def test_overlong_text_is_cut_to_the_limit_and_marked(text: str, name: str, boundary: str) -> None:
    """A value longer than ``max_chars`` (in characters, or in bytes beyond what that many
    characters can take) comes back as the start of what was sent, at most ``max_chars``
    long, its name marked as overlong, whatever its bytes: the reporter sees it again."""
    assume(len(normalised(text)) > PARSER_SPEC.max_chars)
    assume(f"--{boundary}" not in text)
    received = parse(encode_form([Text(name, text.encode())], boundary), boundary, Sink())
    [value] = received.values[name]
    assert received.overlong == {name}
    assert 0 < len(value) <= PARSER_SPEC.max_chars
    assert normalised(text).startswith(value)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["header", "parts", "text"]),
    st.integers(1, 3 * DECODER_BUFFER),
    boundaries,
)
def test_endless_headers_parts_or_text_are_refused_as_too_large(
    kind: str, excess: int, boundary: str
) -> None:
    """Part headers the decoder cannot hold, more parts than the form has, or more text in
    all than the form can take: 413, however much more it is."""
    if kind == "header":
        padding = b"X-Padding: " + b"a" * (DECODER_BUFFER + excess % DECODER_BUFFER)
        first = b'Content-Disposition: form-data; name="csrf_token"'
        body = encode_form([], boundary).replace(first, padding + b"\r\n" + first, 1)
    elif kind == "parts":
        extra = PARSER_SPEC.max_parts + excess % 50
        body = encode_form([Text("unknown", b"") for _ in range(extra)], boundary)
    else:  # values of the most bytes each keeps (and cuts), past the total
        kept = PARSER_SPEC.max_chars * BYTES_PER_CHAR
        count = PARSER_SPEC.max_text_bytes // kept + 1 + excess % 4
        body = encode_form([Text("what", b"w" * kept) for _ in range(count)], boundary)
    with pytest.raises(FormTooLarge):
        parse(body, boundary, Sink())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a.pdf", ""]), st.integers(0, 400)), min_size=1, max_size=6
    ),
    st.lists(st.integers(1, 64), min_size=1, max_size=3),
    boundaries,
)
def test_files_past_a_limit_are_refused_before_a_byte_past_it_is_used(
    files: list[tuple[str, int]], steps: list[int], boundary: str
) -> None:
    """Too many files, one too large, or all together too large: a ``FileRefused`` that
    keeps the text read before it, and the sink never gets a byte past a limit. Within the
    limits every file arrives whole."""
    parts: list[Part] = [Text("what", b"before the files")]
    parts += [Upload("files", name, "", b"f" * size) for name, size in files]
    chosen = [size for name, size in files if name]
    running = [sum(chosen[: i + 1]) for i in range(len(chosen))]
    crossed = (
        len(chosen) > PARSER_SPEC.max_files
        or any(size > PARSER_SPEC.max_file_size for size in chosen[: PARSER_SPEC.max_files])
        or any(total > PARSER_SPEC.max_files_size for total in running[: PARSER_SPEC.max_files])
    )
    sink = Sink()
    refused: FileRefused | None = None
    try:
        received = parse(encode_form(parts, boundary), boundary, sink, steps)
    except FileRefused as error:
        refused = error
    if refused is not None:
        assert crossed
        assert refused.form.values == {"what": ["before the files"]}
        if isinstance(refused, TooManyFiles):
            assert len(chosen) > PARSER_SPEC.max_files
    else:
        assert not crossed
        assert [len(content) for _n, _t, content in sink.files] == chosen
        assert received.files_chosen == len(chosen)
    assert all(size <= PARSER_SPEC.max_file_size for size in sink.received)
    assert sum(sink.received) <= PARSER_SPEC.max_files_size
    assert len(sink.received) <= PARSER_SPEC.max_files


# --- the app ------------------------------------------------------------------------------------


@pytest.fixture
def settings_(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(
        engine,
        tmp_path / "instance",
        **TEST_ENV,
        MINHBACH_MAX_FILE_SIZE=str(MAX_FILE_SIZE),
        MINHBACH_MAX_REPORT_SIZE=str(MAX_REPORT_SIZE),
    )


@pytest.fixture
def app(settings_: Settings, world: World) -> Flask:
    app = create_app(settings_)
    app.config["TESTING"] = True
    return without_rate_limits(app)


@pytest.fixture
def story(session: Session, world: World, settings_: Settings) -> Story:
    """A case, with no files, incidents or protection: every id in a path is unknown."""
    return new_case(session, world, settings_)


@dataclass
class Kept:
    """What the service holds: counted before and after a hostile request."""

    cases: int
    messages: int
    files: int

    @classmethod
    def now(cls, session: Session, blobs: Path) -> Kept:
        session.rollback()  # a new snapshot: SQLite's WAL keeps a reader on the old one
        files = [path for path in blobs.rglob("*") if path.is_file()] if blobs.exists() else []
        return cls(
            cases=session.scalar(select(func.count(Case.id))) or 0,
            messages=session.scalar(select(func.count(Message.id))) or 0,
            files=len(files),
        )


# --- the form endpoints (no JavaScript) ---------------------------------------------------------

BOUNDARY = "----hostileBoundary1d9cQ"
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
# Header values a client may put in Content-Type: Latin-1 without line breaks (WSGI's range).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
wrong_content_types = st.sampled_from(
    [
        "",
        "text/plain",
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "b" * 71,
        "multipart/form-data; boundary=é",
        f"multipart/mixed; boundary={BOUNDARY}",
    ]
) | header_text.filter(lambda value: BOUNDARY not in value)


@dataclass
class FormPost:
    """Where a no-JavaScript form posts, and a client ready to post it."""

    path: str
    client: FlaskClient
    token: str
    text_field: str


def form_post(app: Flask, story: Story, path: str, with_session: bool) -> FormPost:
    client = app.test_client()
    if path == "/report":
        token = csrf_token_of(client.get("/report").get_data(as_text=True))
        return FormPost(path, client, token, "what")
    token = csrf_token(app, client)
    if with_session:
        token = start_followup(
            app, client, story.case.public_id, story.keys.code.reporter_private_key()
        )
    return FormPost(path, client, token, "reply_text")


def report_parts(post: FormPost, text: str) -> list[Part]:
    if post.path == "/report":
        return [Text("category", b"land"), Text("what", text.encode())]
    return [Text("reply_text", text.encode())]


FORM_PATHS = st.sampled_from(["/report", "/followup/reply"])


@settings(SHARED_APP, max_examples=40)
@given(
    path=FORM_PATHS,
    with_session=st.booleans(),
    content_type=st.just(FORM_TYPE) | wrong_content_types,
    body=st.binary(max_size=600),
)
def test_a_form_endpoint_answers_unreadable_bodies_with_a_page_and_keeps_nothing(
    app: Flask,
    story: Story,
    session: Session,
    settings_: Settings,
    path: str,
    with_session: bool,
    content_type: str,
    body: bytes,
) -> None:
    """Arbitrary bytes, under the form's own Content-Type or a wrong one: a 4xx page with
    an alert, and no case, message or file kept."""
    post = form_post(app, story, path, with_session)
    before = Kept.now(session, settings_.blob_path)
    response = post.client.post(path, data=body, content_type=content_type or None)
    assert_page_refusal(response)
    assert Kept.now(session, settings_.blob_path) == before


@settings(SHARED_APP, max_examples=40)
@given(
    path=FORM_PATHS,
    with_session=st.booleans(),
    text=st.text(max_size=200),
    data=st.data(),
)
def test_a_form_cut_short_or_sent_with_another_boundary_is_refused_and_nothing_kept(
    app: Flask,
    story: Story,
    session: Session,
    settings_: Settings,
    path: str,
    with_session: bool,
    text: str,
    data: st.DataObject,
) -> None:
    """A real form with its real token, cut before its closing delimiter or declared with a
    boundary it does not use: 400, with or without a session, and nothing kept."""
    assume(BOUNDARY not in text)
    post = form_post(app, story, path, with_session)
    body = encode_form(
        [
            *report_parts(post, text),
            Upload(
                "files" if path == "/report" else "reply_files", "a.pdf", "application/pdf", b"%PDF"
            ),
        ],
        BOUNDARY,
        post.token,
    )
    content_type = FORM_TYPE
    if data.draw(st.booleans(), label="cut"):
        body = body[: data.draw(st.integers(0, len(body) - 3), label="at")]
    else:
        other = data.draw(boundaries, label="boundary")
        assume(f"--{other}".encode() not in body)
        content_type = f"multipart/form-data; boundary={other}"
    before = Kept.now(session, settings_.blob_path)
    response = post.client.post(path, data=body, content_type=content_type)
    assert_page_refusal(response)
    assert response.status_code == 400
    assert Kept.now(session, settings_.blob_path) == before


@settings(SHARED_APP, max_examples=30)
@given(path=FORM_PATHS, raw=invalid_utf8)
def test_a_form_field_that_is_not_utf8_is_refused_and_nothing_kept(
    app: Flask, story: Story, session: Session, settings_: Settings, path: str, raw: bytes
) -> None:
    """The form's page is UTF-8: a text field that is not is refused with 400, nothing kept."""
    post = form_post(app, story, path, with_session=True)
    parts = [
        p if not isinstance(p, Text) or p.name != post.text_field else Text(p.name, raw)
        for p in report_parts(post, "x")
    ]
    before = Kept.now(session, settings_.blob_path)
    response = post.client.post(
        path, data=encode_form(parts, BOUNDARY, post.token), content_type=FORM_TYPE
    )
    assert_page_refusal(response)
    assert response.status_code == 400
    assert Kept.now(session, settings_.blob_path) == before


@settings(SHARED_APP, max_examples=24)
@given(
    path=FORM_PATHS,
    kind=st.sampled_from(["text", "file", "files", "header", "declared"]),
    excess=st.integers(1, 4096),
)
def test_an_oversize_form_is_refused_with_a_page_and_nothing_kept(
    app: Flask,
    story: Story,
    session: Session,
    settings_: Settings,
    path: str,
    kind: str,
    excess: int,
) -> None:
    """Text over 20,000 characters (the form comes back, the field marked), a file or the
    files over their limit, part headers past the decoder's buffer, or a declared length
    past anything the form can be (refused unread): a 4xx page, nothing kept."""
    post = form_post(app, story, path, with_session=True)
    file_field = "files" if path == "/report" else "reply_files"
    parts = report_parts(post, "x")
    environ: dict[str, str] = {}
    if kind == "text":
        parts = report_parts(post, "é" * (MAX_CHARS + excess))
    elif kind == "file":
        parts.append(Upload(file_field, "big.bin", "", b"\0" * (MAX_FILE_SIZE + excess)))
    elif kind == "files":
        half = MAX_REPORT_SIZE // 2 + excess
        parts += [Upload(file_field, f"{n}.bin", "", b"\1" * half) for n in range(2)]
    elif kind == "header":  # a part whose headers never end within the decoder's buffer
        padding = "X-Padding: " + "p" * (DECODER_BUFFER + excess)
        parts.append(Text('unknown"\r\n' + padding + '\r\nX-End: "', b""))
    else:
        environ["CONTENT_LENGTH"] = str(10**30 + excess)
    body = encode_form(parts, BOUNDARY, post.token)
    before = Kept.now(session, settings_.blob_path)
    response = post.client.post(path, data=body, content_type=FORM_TYPE, environ_overrides=environ)
    assert_page_refusal(response)
    expected = {"text": 400, "file": 413, "files": 413, "header": 413, "declared": 413}
    assert response.status_code == expected[kind]
    if kind == "text":
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert Kept.now(session, settings_.blob_path) == before


# --- the JSON API -------------------------------------------------------------------------------


def spec_operations() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                found.append((path, method, operation))
    return found


JSON_OPERATIONS = [
    (path, method, operation)
    for path, method, operation in spec_operations()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]
ID_OPERATIONS = [
    (path, method, operation)
    for path, method, operation in spec_operations()
    if re.search(r"\{(incident_id|record_id|attachment_id)\}", path)
]


def documented(operation: dict[str, Any]) -> set[str]:
    return set(operation["responses"])


def fields_of(operation: dict[str, Any]) -> list[str]:
    schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    return sorted(schema.get("properties", {})) or ["x"]


def concrete(path: str, value: object = 1) -> str:
    return API_PREFIX + re.sub(r"\{[^}]+\}", str(value), path)


huge_integers = (
    st.integers(min_value=2**63, max_value=2**256)
    | st.integers(min_value=-(2**256), max_value=-(2**63) - 1)
    | st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**100])
)
CANARY = "canary-7f3a9e"  # a value that no refusal may repeat
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=10) | huge_integers,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@st.composite
def hostile_json(draw: st.DrawFn, fields: list[str]) -> bytes:
    """A body that is not the operation's object, each kind drawn as often as the others."""
    kind = draw(
        st.sampled_from(
            ["bytes", "not_object", "deep_list", "deep_object", "huge", "digits", "utf8", "canary"]
        )
    )
    name = draw(st.sampled_from(fields))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "not_object":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return json.dumps(value).encode()
    if kind == "deep_list":
        depth = draw(st.integers(1000, 7000))
        inner = b"[" * depth + b"]" * depth
        return b'{"' + name.encode() + b'": ' + inner + b"}" if draw(st.booleans()) else inner
    if kind == "deep_object":
        depth = draw(st.integers(1000, 2500))
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "huge":
        return json.dumps({field_: draw(huge_integers) for field_ in fields}).encode()
    if kind == "digits":  # more digits than Python turns into an int, or a float overflow
        number = draw(st.sampled_from(["9" * 5000, "-" + "1" * 4301, "1e999", "-1e400"]))
        return b'{"' + name.encode() + b'": ' + number.encode() + b"}"
    if kind == "utf8":
        raw = draw(invalid_utf8)
        return b'{"' + name.encode() + b'": "' + raw + b'"}'
    return json.dumps({field_: f"{CANARY}{field_}" for field_ in fields}).encode()


@dataclass
class Caller:
    """A client of the API in one of three states: no anti-forgery token, a token, or a
    token and an open follow-up session."""

    client: FlaskClient
    headers: dict[str, str]


def caller(app: Flask, story: Story, state: str) -> Caller:
    client = app.test_client()
    if state == "anonymous":
        return Caller(client, {})
    token = csrf_token(app, client)
    if state == "session":
        token = start_followup(app, client, story.case.public_id)
    return Caller(client, {"X-CSRFToken": token})


CALLER_STATES = st.sampled_from(["anonymous", "token", "session"])


@settings(SHARED_APP, max_examples=120)
@given(
    operation=st.sampled_from(JSON_OPERATIONS),
    state=CALLER_STATES,
    content_type=st.sampled_from(["application/json"] * 4 + ["text/plain", ""]) | header_text,
    data=st.data(),
)
def test_a_body_that_is_not_the_documented_object_is_refused_with_the_error_object(
    app: Flask,
    story: Story,
    operation: tuple[str, str, dict[str, Any]],
    state: str,
    content_type: str,
    data: st.DataObject,
) -> None:
    """Arbitrary bytes, JSON that is not an object, nesting thousands deep, integers past
    any column's range or Python's parser, bad UTF-8, values where other types belong,
    under the JSON type or another: a 4xx the operation documents, with the error object,
    whose message repeats none of the values sent."""
    path, method, spec = operation
    body = data.draw(hostile_json(fields_of(spec)), label="body")
    who = caller(app, story, state)
    response = who.client.open(
        concrete(path),
        method=method.upper(),
        data=body,
        headers=who.headers,
        content_type=content_type or None,
    )
    assert_api_refusal(response, documented=documented(spec))
    assert CANARY not in response.get_data(as_text=True)


big_lengths = st.integers(10**9, 10**30).map(str)  # past every operation's limit


@settings(SHARED_APP, max_examples=40)
@given(
    operation=st.sampled_from(JSON_OPERATIONS),
    state=CALLER_STATES,
    declared=st.sampled_from(["", "-1", "abc", "1e3", " 12"]) | big_lengths,
)
def test_a_length_that_cannot_be_read_is_refused_unread(
    app: Flask,
    story: Story,
    operation: tuple[str, str, dict[str, Any]],
    state: str,
    declared: str,
) -> None:
    """A Content-Length that is empty, not a number or larger than the operation reads: a
    documented 4xx with the error object, 413 for a length past the limit once the token
    (and the session, where one is needed) let the request reach its body."""
    path, method, spec = operation
    who = caller(app, story, state)
    response = who.client.open(
        concrete(path),
        method=method.upper(),
        data=b"{}",
        headers=who.headers,
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": declared},
    )
    code = assert_api_refusal(response, documented=documented(spec))
    needs_session = path.startswith("/followup/") and path != "/followup/session"
    reaches_body = state == "session" or (state == "token" and not needs_session)
    if declared.isdigit() and reaches_body:
        assert response.status_code == 413, code


ids = (
    st.integers(min_value=MAX_DATABASE_ID + 1, max_value=2**256)
    | st.sampled_from([2**63, 2**64, 10**30])
    | st.integers(min_value=-(2**70), max_value=0)
    | st.integers(min_value=1, max_value=MAX_DATABASE_ID)
)


@settings(SHARED_APP, max_examples=60)
@given(operation=st.sampled_from(ID_OPERATIONS), id_=ids)
def test_an_id_in_an_api_path_that_no_record_has_is_not_found(
    app: Flask, story: Story, operation: tuple[str, str, dict[str, Any]], id_: int
) -> None:
    """In an open session, an id of a file, incident or protection the case does not have,
    2**63 and beyond (past any database integer) included: 404 with the error object."""
    path, method, spec = operation
    who = caller(app, story, "session")
    body = {"envelope": "AAAA", "ask": "change"} if "asks" in path else {"envelope": "AAAA"}
    response = who.client.open(
        concrete(path, id_),
        method=method.upper(),
        json=body if method == "post" else None,
        headers=who.headers,
    )
    assert_api_refusal(response, documented=documented(spec))
    assert response.status_code == 404


ENVELOPE_PLACES: list[tuple[str | int, ...]] = [
    ("case_id",),
    ("category",),
    ("report",),
    ("identity",),
    ("reporter_public_key",),
    ("reporter_signing_key",),
    ("lookup_token",),
    ("wraps",),
    ("wraps", 0),
    ("wraps", 0, "recipient"),
    ("wraps", 0, "inspector_id"),
    ("wraps", 0, "purpose"),
    ("wraps", 0, "envelope"),
    ("attachments",),
    ("excluded",),
    ("protection",),
]
# Values no field of the envelope takes (None and [] are left out: optional fields take them).
hostile_values = (
    huge_integers
    | st.lists(huge_integers, min_size=1, max_size=3)
    | st.floats()
    | st.booleans()
    | st.just(CANARY)
    | st.dictionaries(st.text(max_size=5), huge_integers, min_size=1, max_size=2)
    | st.integers(1, 900).map(lambda depth: _nested(depth))
)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [CANARY]
    for _ in range(depth):
        value = [value]
    return value


def paid_envelope(api: Api, session: Session, world: World) -> dict[str, Any]:
    """A report envelope sealed as the browser seals it, with a solved proof of work."""
    submission = seal_submission(
        NewCaseKeys(),
        unit_recipients(session, world.unit),
        category="land",
        report={"schema": 1, "what": "what happened"},
        identity=None,
    )
    return envelope_of(submission, api.solution("report"))


def test_a_paid_envelope_unchanged_is_accepted(app: Flask, session: Session, world: World) -> None:
    """The control for the property below: the envelope it changes is accepted as it is."""
    api = Api(app, app.test_client())
    response = api.post("/reports", paid_envelope(api, session, world))
    assert response.status_code == 201, response.get_data(as_text=True)


@settings(SHARED_APP, max_examples=40)
@given(place=st.sampled_from(ENVELOPE_PLACES), value=hostile_values)
def test_a_paid_report_envelope_with_a_hostile_value_is_refused_and_nothing_kept(
    app: Flask,
    session: Session,
    world: World,
    settings_: Settings,
    place: tuple[str | int, ...],
    value: object,
) -> None:
    """Past the proof of work, into the envelope's parsing and intake: a huge integer, a
    wrong type, nesting hundreds deep or a string where another value belongs, anywhere
    in the envelope, is refused with a documented 4xx and the error object, repeats
    nothing sent, and keeps no case."""
    api = Api(app, app.test_client())
    document: Any = paid_envelope(api, session, world)
    target = document
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = value
    before = Kept.now(session, settings_.blob_path)
    response = api.post("/reports", document)
    assert_api_refusal(response, documented=documented(SPEC["paths"]["/reports"]["post"]))
    assert CANARY not in response.get_data(as_text=True)
    assert Kept.now(session, settings_.blob_path) == before


PAGE_ID_PATHS = [
    "/followup/files/{}",
    "/followup/incidents/{}/notes",
    "/followup/protection/{}/asks",
]


@settings(SHARED_APP, max_examples=40)
@given(path=st.sampled_from(PAGE_ID_PATHS), id_=ids)
def test_an_id_in_a_page_path_that_no_record_has_is_not_found(
    app: Flask, story: Story, path: str, id_: int
) -> None:
    """The no-JavaScript pages, in an open session: the same ids, a 404 page."""
    client = app.test_client()
    token = start_followup(
        app, client, story.case.public_id, story.keys.code.reporter_private_key()
    )
    url = path.format(id_)
    if url.startswith("/followup/files/"):
        response = client.get(url)
    else:
        form = {"csrf_token": token, "incident_text": "x", "ask_kind": "end", "ask_text": "x"}
        response = client.post(url, data=form)
    assert_page_refusal(response)
    assert response.status_code == 404


# One path segment: "/" would make another path (which Werkzeug redirects to its canonical form).
upload_ids = st.text(
    st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=80
).map(lambda text: quote(text, safe="")) | st.sampled_from(
    ["%FF%FE", "%00", "A" * 43, "_" * 43, "A" * 4096]
)


@settings(SHARED_APP, max_examples=60)
@given(method=st.sampled_from(["HEAD", "PATCH", "DELETE"]), upload_id=upload_ids)
def test_any_upload_id_that_was_not_given_out_is_not_found(
    app: Flask, method: str, upload_id: str
) -> None:
    """An upload id is a capability: any other text in its place is "not found" (404),
    whatever its characters or length."""
    api = Api(app, app.test_client())
    headers = {**api.headers, "Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
    response = api.client.open(
        f"{API_PREFIX}/uploads/{upload_id}", method=method, data=b"x", headers=headers
    )
    operation = SPEC["paths"]["/uploads/{upload_id}"][method.lower()]
    assert_api_refusal(response, documented=documented(operation))
    assert response.status_code == 404


# --- stateful: the resumable upload protocol ------------------------------------------------------


malformed_offsets = st.sampled_from(["-1", "", " 1", "x", "٣", "0" * 21])


@dataclass
class UploadModel:
    size: int
    offset: int = 0


def upload_machine(api: Api) -> type[RuleBasedStateMachine]:
    """A state machine over ``api``'s app: uploads created, appended to (at the right
    offset or not, within the declared size or past it, as the right type or not), asked
    where they stand and deleted, each answer checked against a model of every upload."""
    limit = ciphertext_limit(MAX_FILE_SIZE)

    class UploadProtocol(RuleBasedStateMachine):
        uploads = Bundle("uploads")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, UploadModel] = {}

        @rule(target=uploads, size=st.integers(1, 2000))
        def create(self, size: int) -> str:
            response = api.post("/uploads", {"size": size, "pow": api.solution("upload")})
            assert response.status_code == 201, response.get_data(as_text=True)
            token: str = response.get_json()["id"]
            self.model[token] = UploadModel(size)
            return token

        @rule(size=st.integers(max_value=0) | st.integers(limit + 1) | huge_integers)
        def create_refused(self, size: int) -> None:
            response = api.post("/uploads", {"size": size, "pow": api.solution("upload")})
            code = assert_api_refusal(response)
            assert (response.status_code, code) in ((400, "invalid_size"), (413, "too_large"))

        @rule(
            token=uploads,
            data=st.binary(max_size=700),
            offset=st.none() | st.integers(0, 3000) | malformed_offsets,
            content_type=st.sampled_from([OFFSET_STREAM] * 5 + ["application/octet-stream"]),
        )
        def append(
            self, token: str, data: bytes, offset: int | str | None, content_type: str
        ) -> None:
            upload = self.model.get(token)
            current = upload.offset if upload is not None else 0
            raw = str(current) if offset is None else str(offset)
            response = api.client.patch(
                f"{API_PREFIX}/uploads/{token}",
                data=data,
                headers={**api.headers, "Upload-Offset": raw, "Content-Type": content_type},
            )
            header = response.headers.get("Upload-Offset")
            if content_type != OFFSET_STREAM:
                expected = 415
            elif not (raw.isascii() and raw.isdigit() and len(raw) <= 20):
                expected = 400
            elif upload is None:
                expected = 404
            elif int(raw) != upload.offset:
                expected, sent = 409, upload.offset
            elif upload.offset + len(data) > upload.size:
                expected, sent = 413, upload.offset
            else:
                upload.offset += len(data)
                expected, sent = 204, upload.offset
            assert response.status_code == expected, response.get_data(as_text=True)
            if expected in (204, 409, 413):
                assert header == str(sent)
            if expected != 204:
                assert_api_refusal(response)

        @rule(token=uploads)
        def head(self, token: str) -> None:
            response = api.client.head(f"{API_PREFIX}/uploads/{token}")
            upload = self.model.get(token)
            if upload is None:
                assert response.status_code == 404
                return
            assert response.status_code == 200
            assert response.headers["Upload-Offset"] == str(upload.offset)
            assert response.headers["Upload-Length"] == str(upload.size)

        @rule(token=uploads)
        def delete(self, token: str) -> None:
            response = api.client.delete(f"{API_PREFIX}/uploads/{token}", headers=api.headers)
            if self.model.pop(token, None) is None:
                assert_api_refusal(response)
                assert response.status_code == 404
            else:
                assert response.status_code == 204

    return UploadProtocol


def test_the_upload_protocol_keeps_every_offset_where_the_model_says(app: Flask) -> None:
    """Stateful: whatever valid and hostile appends, asks and deletions come in whatever
    order, every answer is the one the protocol's model gives, with the offset it gives."""
    machine = upload_machine(Api(app, app.test_client()))
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


FOLLOWUP_JSON_OPERATIONS = [
    operation
    for operation in JSON_OPERATIONS
    if operation[0].startswith("/followup/") and operation[0] != "/followup/session"
]
TEXT_FORMS = {
    "/followup/retaliation": {"retaliation_kind": CANARY, "retaliation_text": "x"},
    "/followup/withdraw": {"withdraw_reason": "x"},  # not confirmed
    "/followup/escalate": {"escalate_text": "x"},  # nothing is overdue
    "/followup/re-denounce": {"redenounce_text": "x"},  # nothing is concluded
    "/followup/protection": {"protection_person": CANARY, "protection_category": "job"},
}


def session_machine(app: Flask, story: Story) -> type[RuleBasedStateMachine]:
    """A state machine over a reporter's follow-up session (the no-JavaScript kind, which
    the API accepts too): hostile requests of every kind to the follow-up endpoints, the
    session left and opened again, and after every step the case view checked."""
    reporter_key = story.keys.code.reporter_private_key()
    case_id = story.case.public_id

    class FollowUpSession(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.client = app.test_client()
            self.token = start_followup(app, self.client, case_id, reporter_key)
            self.open = True
            self.initial = self.client.get(f"{API_PREFIX}/followup/case").get_json()

        @rule(operation=st.sampled_from(FOLLOWUP_JSON_OPERATIONS), data=st.data())
        def hostile_body(
            self, operation: tuple[str, str, dict[str, Any]], data: st.DataObject
        ) -> None:
            path, method, spec = operation
            body = data.draw(hostile_json(fields_of(spec)), label="body")
            response = self.client.open(
                concrete(path),
                method=method.upper(),
                data=body,
                headers={"X-CSRFToken": self.token},
                content_type="application/json",
            )
            assert_api_refusal(response, documented=documented(spec))

        @rule(operation=st.sampled_from(ID_OPERATIONS), id_=ids)
        def unknown_id(self, operation: tuple[str, str, dict[str, Any]], id_: int) -> None:
            path, method, spec = operation
            response = self.client.open(
                concrete(path, id_),
                method=method.upper(),
                json={"envelope": "AAAA", "ask": "end"} if method == "post" else None,
                headers={"X-CSRFToken": self.token},
            )
            assert_api_refusal(response, documented=documented(spec))

        @rule(
            body=st.binary(max_size=300) | mangled(),
            content_type=st.just(FORM_TYPE) | wrong_content_types,
        )
        def hostile_reply(self, body: bytes, content_type: str) -> None:
            response = self.client.post(
                "/followup/reply", data=body, content_type=content_type or None
            )
            assert_page_refusal(response)

        @rule(path=st.sampled_from(sorted(TEXT_FORMS)))
        def refused_form(self, path: str) -> None:
            form = {"csrf_token": self.token, **TEXT_FORMS[path]}
            response = self.client.post(path, data=form)
            if self.open:
                assert_page_refusal(response)
            else:  # the code form again, with the text to copy
                assert response.status_code == 401

        @precondition(lambda self: self.open)
        @rule()
        def leave(self) -> None:
            response = self.client.post(
                f"{API_PREFIX}/followup/leave", headers={"X-CSRFToken": self.token}
            )
            assert response.status_code == 204
            self.token, self.open = response.headers["X-CSRFToken"], False

        @precondition(lambda self: not self.open)
        @rule()
        def reopen(self) -> None:
            self.token = start_followup(app, self.client, case_id, reporter_key)
            self.open = True

        @invariant()
        def the_session_and_the_case_are_as_they_were(self) -> None:
            response = self.client.get(f"{API_PREFIX}/followup/case")
            if self.open:
                assert response.status_code == 200
                assert response.get_json() == self.initial
            else:
                assert response.status_code == 401

    return FollowUpSession


def test_no_hostile_request_ends_a_session_or_changes_the_case(app: Flask, story: Story) -> None:
    """Stateful: whatever hostile requests come, in whatever order, each is refused, the
    reporter's session stays open until they leave it, and their case stays as it was:
    nothing hostile is kept, and nothing of the reporter's is lost."""
    run_state_machine_as_test(
        session_machine(app, story),
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
