"""Nothing a no-JavaScript reporter sends reaches disk or logs in plaintext.

A real server (the test client does not stream) receives a report with a 50 MiB attachment,
sent piece by piece. Canaries sit in every text field, the identity, the file name and the
file's contents. Afterwards every byte of the database (with its -wal and -shm files), the
instance folder with the blob store, new files in the system temp directory, the captured
logs and output are searched for each canary, in the encodings a careless copy would use.
The case must still open with an inspector's key: the data is there, encrypted. Neither the
client's address nor its User-Agent may be found either, and every file the process opens
for writing during the request must be in the blob store.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import crypto
from casework import records
from casework.records import Trust
from casework.sealing import NewCaseKeys
from casework.settings import LIMITS_FILE, Settings
from crypto.encoding import b64u_encode
from store.blobs import FilesystemBlobStore
from store.models import Case, Track, WrapPurpose
from tests.live import serve
from tests.reliability.helpers import ApiVisitor
from tests.submit.test_api_reports import sealed as sealed_report
from tests.submit.test_api_support import envelope_of, seal_file
from tests.submit.test_report_form import (
    BOUNDARY,
    CODE,
    CONTENT_TYPE,
    case_key,
    csrf_token_of,
    open_identity,
    open_report,
)
from tests.visitor import Tally, Visitor
from tests.worlds import World

FILE_SIZE = 50 * 1024 * 1024
PIECE = 1024 * 1024
CLIENT_ADDRESS = "127.0.0.73"  # any loopback address works on Linux; this one is unusual
TEXT_FIELDS = ("what", "who", "where", "when", "how_known", "evidence", "protection_details")
IDENTITY_FIELDS = (
    "identity_name",
    "identity_contact",
    "identity_address",
    "identity_position",
    "identity_notes",
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


# --- what a careless copy of a canary would look like --------------------------------------


def encodings(secret: bytes) -> set[bytes]:
    """The canary raw, as UTF-16, hex, and base64 (both alphabets) at every alignment.

    Base64 of a longer text containing the canary depends on where it starts modulo 3, so
    for each offset the part of the encoding that depends on the canary alone is kept.
    """
    forms = {secret, secret.decode().encode("utf-16-le"), secret.hex().encode()}
    for shift in range(3):
        padded = b"\0" * shift + secret
        start = -(-shift * 4 // 3)  # characters that also encode the zero bytes, rounded up
        usable = (len(padded) // 3) * 4  # whole groups only: the tail depends on what follows
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(padded)[start:usable])
    return forms


def canary(label: str) -> str:
    return f"MBCANARY-{label}-{uuid.uuid4().hex}"


# --- where to look -------------------------------------------------------------------------


def files_under(root: Path) -> Iterator[Path]:
    """Every file below ``root``; folders that vanish while they are walked (another
    process's temporary files) are passed over."""
    if root.is_file():
        yield root
        return
    for folder, _folders, names in os.walk(root, onerror=lambda _error: None):
        for name in names:
            path = Path(folder) / name
            if path.is_file():
                yield path


def own_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder for this process alone, in place of the system's: whatever the
    app under test spools goes there, and other processes cannot add or remove entries."""
    folder = tmp_path / "tmp"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


SYSTEM_TEMP = Path(tempfile.gettempdir())


def system_temp_listing() -> set[Path]:
    return set(files_under(SYSTEM_TEMP))


def found_in_file(path: Path, needles: dict[str, set[bytes]]) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError:  # removed since it was listed, or not ours to read
        return []
    return [f"{name} in {path}" for name, forms in needles.items() if any(f in data for f in forms)]


def found_in_text(text: str, where: str, needles: dict[str, set[bytes]]) -> list[str]:
    data = text.encode("utf-8", "replace")
    return [
        f"{name} in {where}" for name, forms in needles.items() if any(f in data for f in forms)
    ]


class WriteRecorder:
    """Every path opened for writing while recording, from any thread (an audit hook).

    Audit hooks cannot be removed, so one is installed per process and stays idle unless
    a recorder is active.
    """

    _active: WriteRecorder | None = None
    _installed = False
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __enter__(self) -> WriteRecorder:
        with WriteRecorder._lock:
            if not WriteRecorder._installed:
                sys.addaudithook(WriteRecorder._hook)
                WriteRecorder._installed = True
            WriteRecorder._active = self
        return self

    def __exit__(self, *_exc: object) -> None:
        WriteRecorder._active = None

    @staticmethod
    def _hook(event: str, args: tuple[object, ...]) -> None:
        recorder = WriteRecorder._active
        if recorder is None or event != "open":
            return
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing:
            recorder.paths.append(_path_of(path))


def _path_of(opened: object) -> str:
    """A path, or the file behind a descriptor (os.fdopen opens by number)."""
    if isinstance(opened, int):
        try:
            return os.readlink(f"/proc/self/fd/{opened}")
        except OSError:
            return f"descriptor {opened}"
    return os.fsdecode(opened) if isinstance(opened, str | bytes) else repr(opened)


# --- the request, streamed -----------------------------------------------------------------


def file_contents(marker: bytes) -> Iterator[bytes]:
    """FILE_SIZE bytes in PIECE-sized pieces: the marker over and over, never all in memory."""
    piece = (marker * (PIECE // len(marker) + 1))[:PIECE]
    for _ in range(FILE_SIZE // PIECE):
        yield piece


def field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def stream_report(
    base: str, user_agent: str, values: dict[str, str], filename: str, marker: bytes
) -> tuple[int, str]:
    """GET the form, then POST the report with its file, sent piece by piece."""
    address = urlsplit(base)
    host, port = address.hostname, address.port
    assert host is not None
    assert port is not None

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(
            host, port, timeout=300, source_address=(CLIENT_ADDRESS, 0)
        )

    connection = connect()
    connection.request("GET", "/report", headers={"User-Agent": user_agent})
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    connection.close()
    head = field("csrf_token", csrf_token_of(page)) + field("category", "land")
    head += b"".join(field(name, value) for name, value in values.items())
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    connection = connect()
    connection.putrequest("POST", "/report", skip_accept_encoding=True)
    for name, value in (
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(head) + FILE_SIZE + len(tail))),
        ("Cookie", cookie),
        ("User-Agent", user_agent),
    ):
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(head)
    for piece in file_contents(marker):
        connection.send(piece)
    connection.send(tail)
    response = connection.getresponse()
    answer = response.read().decode()
    connection.close()
    return response.status, answer


# --- the test ------------------------------------------------------------------------------


def test_a_streamed_report_leaves_no_plaintext_anywhere(
    app: Flask,
    settings: Settings,
    engine: Engine,
    session: Session,
    world: World,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    values = {name: f"{canary(name)} Tiếng Việt có dấu" for name in TEXT_FIELDS}
    values |= {name: canary(name) for name in IDENTITY_FIELDS}
    values["protection_people"] = "reporter"
    values["protection_kinds"] = "job"
    filename = f"{canary('filename')} biên bản.pdf"
    marker = canary("contents").encode()
    user_agent = f"Mozilla/5.0 ({canary('useragent')})"
    system_before = system_temp_listing()
    temp = own_temp(tmp_path, monkeypatch)

    with serve(app) as base, WriteRecorder() as writes:
        status, answer = stream_report(base, user_agent, values, filename, marker)
    assert status == 200, answer
    [code] = CODE.findall(answer)

    secrets = {name: value.split(" ", 1)[0] for name, value in values.items() if "-" in value}
    secrets |= {"filename": filename.split(" ", 1)[0], "user agent": user_agent}
    needles = {name: encodings(value.encode()) for name, value in secrets.items()}
    needles["file contents"] = encodings(marker)
    needles["follow-up code"] = {code.encode(), code.replace("-", "").encode()}
    database = Path(engine.url.database or "")
    places = [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")]
    places += [settings.instance_path, temp]  # all of the app's own temporary folder
    leaks: list[str] = []
    for place in places:
        for path in files_under(place):
            leaks += found_in_file(path, {**needles, "client address": {CLIENT_ADDRESS.encode()}})
    # Other processes share the system's temporary folder, so only canaries (unique to this
    # test) are looked for in new files there; the written-files check below covers this
    # process.
    for path in system_temp_listing() - system_before:
        leaks += found_in_file(path, needles)
    messages = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records)])
    output = capfd.readouterr()
    for text, where in ((messages, "logs"), (output.out, "stdout"), (output.err, "stderr")):
        leaks += found_in_text(
            text, where, {**needles, "client address": {CLIENT_ADDRESS.encode()}}
        )
    assert leaks == []

    # Besides the blobs, only the rate-limit counters (HMAC'd keys and counts, no request
    # content; searched for every canary above with the rest of the instance folder).
    blobs = settings.blob_path.resolve()
    counters = (settings.instance_path / LIMITS_FILE).resolve()
    unexpected = [
        p
        for p in (Path(path).resolve() for path in writes.paths)
        if not p.is_relative_to(blobs)
        and not (p.parent == counters.parent and p.name.startswith(counters.name))
    ]
    assert unexpected == []

    assert_case_opens(session, world, settings, values, filename, marker)


def assert_case_opens(
    session: Session,
    world: World,
    settings: Settings,
    values: dict[str, str],
    filename: str,
    marker: bytes,
) -> None:
    """The canaries are in the case after all, encrypted: an inspector's key opens them."""
    [case] = session.scalars(select(Case)).all()
    assert case.track is Track.NAMED
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    document = open_report(case, key)
    for name in TEXT_FIELDS:
        assert document.get(name, document.get("protection", {}).get("details")) == values[name]
    wrap = next(
        w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == world.people["hoa"].id
    )
    identity_key = crypto.unwrap(
        wrap.wrapped, world.key_of("hoa"), crypto.Purpose.IDENTITY_KEY, case.public_id
    )
    assert case.identity is not None
    identity = open_identity(case, identity_key)
    assert identity["name"] == values["identity_name"]
    [attachment] = case.attachments
    meta, trust = records.open_file_meta(key, case, attachment)
    assert meta is not None
    assert trust is Trust.SIGNED
    assert (meta.name, meta.type, meta.size) == (filename, "application/pdf", FILE_SIZE)
    expected, actual = hashlib.sha256(), hashlib.sha256()
    for piece in file_contents(marker):
        expected.update(piece)
    store = FilesystemBlobStore(settings.blob_path)
    with store.open_reader(attachment.blob_id) as reader:
        for piece in crypto.decrypt_stream(key, case.public_id, meta, crypto.read_pieces(reader)):
            actual.update(piece)
    assert actual.digest() == expected.digest()


def test_canary_encodings_catch_base64_at_any_offset() -> None:
    secret = canary("self-test").encode()
    forms = encodings(secret)
    for prefix in (b"", b"a", b"ab", b"abc"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(prefix + secret + b"tail")
            assert any(form in encoded for form in forms)
    assert not any(form in base64.b64encode(b"unrelated" * 20) for form in forms)


def test_the_javascript_path_records_no_address_and_no_browser(
    app: Flask,
    settings: Settings,
    engine: Engine,
    session: Session,
    world: World,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A report as the page's script sends it (proof of work, an upload, the envelope) and a
    follow-up with its code, from an unusual address with a marked User-Agent: neither is
    found afterwards in the database, the instance folder or the logs."""
    caplog.set_level(logging.DEBUG)
    user_agent = f"Mozilla/5.0 ({canary('useragent')})"
    keys = NewCaseKeys()
    data = canary("contents").encode() * 100
    sealed = seal_file(keys.case_key, keys.case_id, data, "a.pdf", "application/pdf", keys.signer)
    keys, submission = sealed_report(session, world, keys=keys, files=[sealed.meta])
    with serve(app) as base:
        browser = Visitor(base, Tally(), source=CLIENT_ADDRESS, user_agent=user_agent)
        api = ApiVisitor(base, browser)
        upload = api.create_upload(len(sealed.stream))
        assert api.append(upload, 0, sealed.stream).status == 204
        document = envelope_of(submission, api.solution("report"), [(upload, sealed.meta)])
        assert browser.post_json("/api/v1/reports", document, api.token).status == 201
        lookup = b64u_encode(keys.code.lookup_token())
        signing_key = b64u_encode(keys.signer.verifying_key)
        opened = {
            "lookup_token": lookup,
            "pow": api.solution("followup"),
            "signing_key": signing_key,
        }
        assert browser.post_json("/api/v1/followup/session", opened, api.token).status == 200

    needles = {
        "client address": {CLIENT_ADDRESS.encode()},
        "user agent": encodings(user_agent.encode()),
    }
    database = Path(engine.url.database or "")
    places = [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")]
    leaks = [
        found
        for place in [*places, settings.instance_path]
        for path in files_under(place)
        for found in found_in_file(path, needles)
    ]
    output = capfd.readouterr()
    for text, where in ((caplog.text, "logs"), (output.out, "stdout"), (output.err, "stderr")):
        leaks += found_in_text(text, where, needles)
    assert leaks == []
    assert session.scalars(select(Case)).one().submitted_with_js
