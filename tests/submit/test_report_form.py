"""The report form and its no-JavaScript submission, streamed and encrypted on arrival.

Limits are small here (set through the settings' environment) so that crossing them takes
kilobytes. The helpers at the top build raw multipart bodies, to control the order of
parts exactly, and open a stored case with an inspector's private key.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import flask
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework import records, transcript
from casework.categories import DEFAULT_CATEGORIES
from casework.dates import unit_today
from casework.records import Trust
from casework.settings import Settings
from crypto import bound
from crypto.envelope import VERSION_2
from crypto.places import Place
from store.blobs import FilesystemBlobStore
from store.models import (
    Attachment,
    Case,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionState,
    RecipientKind,
    RetaliationKind,
    Track,
    WrapPurpose,
)
from submit.views import report
from tests.conftest import FAST_ARGON2, settings_for
from tests.submit.conftest import TEST_ENV
from tests.worlds import World
from web import labels

BOUNDARY = "----minhbachTestBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MAX_FILE_SIZE = 200 * 1024
MAX_REPORT_SIZE = 300 * 1024
CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}\b")
TEXT_NAMES = (
    "what",
    "who",
    "where",
    "when",
    "how_known",
    "evidence",
    "identity_name",
    "identity_contact",
    "identity_address",
    "identity_position",
    "identity_notes",
    "protection_details",
)
ALL_NAMES = {
    "category",
    *TEXT_NAMES,
    "files",
    "protection_people",
    "protection_kinds",
    "excluded",
    "identity_choice",
    "identity_asked",
}


# --- helpers, also used by the live-server and browser tests ------------------------------


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    type: str
    content: bytes


Part = tuple[str, str] | FilePart


def multipart(parts: list[Part], boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body with the parts in exactly this order, as a browser sends."""
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        if isinstance(part, FilePart):
            out += (
                f'Content-Disposition: form-data; name="{part.name}"; '
                f'filename="{part.filename}"\r\nContent-Type: {part.type}\r\n\r\n'
            ).encode()
            out += part.content
        else:
            name, value = part
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += value.encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def csrf_token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, "the form carries no CSRF token"
    return match.group(1)


def case_key(case: Case, inspector_id: int, private: X25519PrivateKey) -> bytes:
    [wrap] = [
        w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.CASE_KEY and w.inspector_id == inspector_id
    ]
    return crypto.unwrap(wrap.wrapped, private, crypto.Purpose.CASE_KEY, case.public_id)


def open_report(case: Case, key: bytes) -> Any:
    """The report as a reader opens it: entry 0 of the transcript, protocol 2, signed with
    the reporter's key, in its place (its category and its files, docs/crypto.md §13.6)."""
    assert case.body is not None
    assert case.body[0] == VERSION_2
    report = transcript.read_checked(case, key)[0]
    assert report.message is None
    assert report.reading.trust is Trust.SIGNED
    return report.reading.document


def open_identity(case: Case, key: bytes) -> Any:
    """The identity section, signed with the reporter's key and in its place."""
    expected = Place(case.public_id, "identity", records.REPORTER)
    reading = records.open_record(key, crypto.Kind.IDENTITY, case, case.identity, expected)
    assert reading is not None
    assert reading.trust is Trust.SIGNED
    return reading.document


def open_attachment(
    store: FilesystemBlobStore, case: Case, key: bytes, attachment: Attachment
) -> tuple[crypto.FileMeta, bytes]:
    """A file as a reader opens it: its description signed by its author and in its place."""
    meta, trust = records.open_file_meta(key, case, attachment)
    assert meta is not None
    assert trust is Trust.SIGNED
    with store.open_reader(attachment.blob_id) as reader:
        pieces = crypto.read_pieces(reader)
        plaintext = b"".join(crypto.decrypt_stream(key, case.public_id, meta, pieces))
    return meta, plaintext


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(
        engine,
        tmp_path / "instance",
        **TEST_ENV,
        MINHBACH_MAX_FILE_SIZE=str(MAX_FILE_SIZE),
        MINHBACH_MAX_REPORT_SIZE=str(MAX_REPORT_SIZE),
    )


@pytest.fixture
def token(client: FlaskClient) -> str:
    response = client.get("/report")
    assert response.status_code == 200
    return csrf_token_of(response.text)


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


def post(client: FlaskClient, parts: list[Part]) -> TestResponse:
    return client.post("/report", data=multipart(parts), content_type=CONTENT_TYPE)


def cases(session: Session) -> list[Case]:
    session.expire_all()
    return list(session.scalars(select(Case)).all())


def assert_nothing_kept(session: Session, settings: Settings) -> None:
    assert cases(session) == []
    assert stored_files(settings.blob_path) == []


def report_parts(token: str, **values: str) -> list[Part]:
    parts: list[Part] = [("csrf_token", token), ("category", "land")]
    parts += list(values.items())
    return parts


# --- the form ------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Start tags in document order, and which of them lie inside the report form."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.in_form: list[tuple[str, dict[str, str]]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if tag == "form" and values.get("id") == "report-form":
            self._inside = True
        elif self._inside:
            self.in_form.append((tag, values))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def test_form_has_every_field_labelled_with_the_token_first_and_files_last(
    client: FlaskClient,
) -> None:
    response = client.get("/report")
    assert response.status_code == 200
    tags = parse(response.text)
    [form] = [attrs for tag, attrs in tags.tags if tag == "form"]
    assert form["id"] == "report-form"
    assert form["method"] == "post"
    assert form["enctype"] == "multipart/form-data"
    assert form["action"] == "/report"
    controls = [(t, a) for t, a in tags.in_form if t in ("input", "select", "textarea")]
    assert controls[0][1] == {
        "type": "hidden",
        "name": "csrf_token",
        "value": controls[0][1]["value"],
    }
    assert controls[-1][1]["name"] == "files"
    assert controls[-1][1]["type"] == "file"
    assert "multiple" in controls[-1][1]
    assert {a["name"] for _t, a in controls[1:]} == ALL_NAMES
    ids = {a["id"] for _t, a in tags.tags if "id" in a}
    labelled = {a["for"] for t, a in tags.tags if t == "label"}
    for _tag, attrs in controls[1:]:
        if attrs.get("type") == "hidden":
            continue  # identity_asked: what the page asked, for the server
        assert attrs["id"] in labelled, f"{attrs['name']} has no label"
        for described in attrs.get("aria-describedby", "").split():
            assert described in ids, f"{attrs['id']} refers to a missing {described}"
    for name in TEXT_NAMES:
        assert name in ids
    assert "encryption-mode" in ids
    assert "200 kB" in response.text
    assert "300 kB" in response.text


def test_form_lists_readers_for_exclusion_but_not_supervisors_or_admins(
    client: FlaskClient, world: World, session: Session
) -> None:
    for name, person in world.people.items():
        person.display_name = f"Person {name.title()}"
    session.commit()
    page = client.get("/report").text
    excludable = {
        attrs["value"]
        for tag, attrs in parse(page).in_form
        if tag == "input" and attrs.get("name") == "excluded"
    }
    assert excludable == {str(world.people[n].id) for n in ("lan", "minh", "hoa")}
    for name in ("Lan", "Minh", "Hoa"):
        assert f"Person {name}" in page
    assert "Person Son" not in page
    assert "Person Admin" not in page


def test_form_has_no_inline_script_style_or_event_handler(client: FlaskClient) -> None:
    page = client.get("/report").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert all(" src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page
    for _tag, attrs in parse(page).tags:
        assert "style" not in attrs
        assert not [name for name in attrs if name.startswith("on")]


def test_every_value_a_page_shows_has_a_translated_label(app: Flask) -> None:
    assert set(labels.PROTECTED_PEOPLE) == set(ProtectedPerson)
    assert set(labels.PROTECTION_KINDS) == set(ProtectionCategory)
    assert set(labels.RETALIATION_KINDS) == set(RetaliationKind)
    assert set(labels.CATEGORIES) == set(DEFAULT_CATEGORIES)
    with app.test_request_context():
        assert labels.category_label("land-management") == "Land management"
        assert labels.category_label("a-unit-own-slug") == "a-unit-own-slug"
        assert labels.status_label("not_accepted") == "Not accepted"
        assert labels.file_size(MAX_FILE_SIZE) == "200 kB"
        assert labels.file_size(3 * 1024**3 // 2) == "1.5 GB"
        assert labels.file_size(1023) == "1,023 byte"


# --- submissions that are accepted ---------------------------------------------------------


def test_anonymous_report_with_a_file_is_stored_encrypted_and_opens(
    client: FlaskClient,
    token: str,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
) -> None:
    content = bytes(range(256)) * 300  # 76,800 bytes: more than one chunk
    parts = report_parts(
        token,
        what="Nhận hối lộ\r\nđể cấp phép",
        who="Trưởng phòng",
        where="UBND xã",
        when="Tháng 3",
        how_known="Tôi thấy",
        evidence="Biên lai",
    )
    parts += [
        ("protection_details", ""),
        # A full path, quoted as RFC 2616 says (backslashes escaped): only the name is kept.
        FilePart("files", "C:\\\\Users\\\\an\\\\Biên bản họp.pdf", "application/pdf", content),
        FilePart("files", "", "application/octet-stream", b""),  # an unused file input
    ]
    response = post(client, parts)
    assert response.status_code == 200, response.text
    shown = CODE.findall(response.text)
    assert len(shown) == 1
    [case] = cases(session)
    assert case.track is Track.ANONYMOUS
    assert case.identity is None
    assert case.submitted_with_js is False
    assert case.category == "land"
    assert case.status == "received"
    assert case.received_on == unit_today()
    assert f"MB-{case.public_id[:8].upper()}" in response.text
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert open_report(case, key) == {
        "schema": 1,
        "language": "en",
        "category": "land",
        "what": "Nhận hối lộ\nđể cấp phép",
        "who": "Trưởng phòng",
        "where": "UBND xã",
        "when": "Tháng 3",
        "how_known": "Tôi thấy",
        "evidence": "Biên lai",
    }
    [attachment] = case.attachments
    meta, plaintext = open_attachment(store, case, key, attachment)
    assert (meta.name, meta.type, meta.size) == ("Biên bản họp.pdf", "application/pdf", 76_800)
    assert plaintext == content
    assert attachment.stored_size == store.size(attachment.blob_id)
    # The code on the page is the reporter's: its key opens the reporter's wrap.
    code = crypto.FollowUpCode.parse(shown[0])
    [reporter_wrap] = [
        w
        for w in case.key_wraps
        if w.recipient_kind is RecipientKind.REPORTER and w.purpose is WrapPurpose.CASE_KEY
    ]
    assert (
        crypto.unwrap(
            reporter_wrap.wrapped,
            code.reporter_private_key(),
            crypto.Purpose.CASE_KEY,
            case.public_id,
        )
        == key
    )
    assert case.lookup_index == crypto.lookup_index(code.lookup_token())
    assert crypto.verify_lookup_token(code.lookup_token(), [case.lookup_hash], FAST_ARGON2) == 0
    assert len(stored_files(store.root)) == 1


def test_identity_makes_a_named_report_only_the_custodian_can_open(
    client: FlaskClient, token: str, session: Session, world: World
) -> None:
    identity = {
        "identity_name": "Nguyễn Thị Bình",
        "identity_contact": "0900 000 000",
        "identity_address": "",
        "identity_position": "Kế toán, Sở Tài chính",
        "identity_notes": "Gọi sau 18h",
    }
    response = post(client, report_parts(token, what="Chi sai quỹ", **identity))
    assert response.status_code == 200, response.text
    [case] = cases(session)
    assert case.track is Track.NAMED
    assert case.identity is not None
    identity_wraps = {
        w.inspector_id: w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.recipient_kind is RecipientKind.INSPECTOR
    }
    assert set(identity_wraps) == {world.people["hoa"].id}
    key = crypto.unwrap(
        identity_wraps[world.people["hoa"].id].wrapped,
        world.key_of("hoa"),
        crypto.Purpose.IDENTITY_KEY,
        case.public_id,
    )
    assert open_identity(case, key) == {
        "schema": 1,
        "name": "Nguyễn Thị Bình",
        "contact": "0900 000 000",
        "address": "",
        "position": "Kế toán, Sở Tài chính",
        "notes": "Gọi sau 18h",
    }
    # An ordinary inspector reads the report but not the identity.
    lan_key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert open_report(case, lan_key)["what"] == "Chi sai quỹ"
    assert case.reporter_signing_key is not None
    with pytest.raises(crypto.DecryptionFailed):
        bound.open_bound_json(
            lan_key, crypto.Kind.IDENTITY, case.identity, case.reporter_signing_key
        )


def test_protection_request_is_recorded_in_plaintext_and_detailed_in_the_report(
    client: FlaskClient, token: str, session: Session, world: World
) -> None:
    parts = report_parts(token, what="Bị đe doạ")
    parts += [
        ("protection_people", "child"),
        ("protection_people", "reporter"),
        ("protection_kinds", "job"),
        ("protection_kinds", "life_health"),
        ("protection_details", "Có người theo dõi"),
    ]
    response = post(client, parts)
    assert response.status_code == 200, response.text
    [case] = cases(session)
    assert case.protection_requested
    assert case.urgent
    assert {(p.person, p.category) for p in case.protections} == {
        (ProtectedPerson.REPORTER, ProtectionCategory.JOB),
        (ProtectedPerson.REPORTER, ProtectionCategory.LIFE_HEALTH),
        (ProtectedPerson.CHILD, ProtectionCategory.JOB),
        (ProtectedPerson.CHILD, ProtectionCategory.LIFE_HEALTH),
    }
    assert {p.state for p in case.protections} == {ProtectionState.REQUESTED}
    key = case_key(case, world.people["minh"].id, world.key_of("minh"))
    assert open_report(case, key)["protection"] == {
        "people": ["reporter", "child"],
        "kinds": ["job", "life_health"],
        "details": "Có người theo dõi",
    }


def test_excluded_reader_gets_no_key(
    client: FlaskClient, token: str, session: Session, world: World
) -> None:
    minh = world.people["minh"].id
    parts = [*report_parts(token, what="Xung đột lợi ích"), ("excluded", str(minh))]
    response = post(client, parts)
    assert response.status_code == 200, response.text
    [case] = cases(session)
    assert [e.inspector_id for e in case.exclusions] == [minh]
    assert minh not in {w.inspector_id for w in case.key_wraps}
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert open_report(case, key)["what"] == "Xung đột lợi ích"


def test_report_language_is_the_page_language(
    client: FlaskClient, session: Session, world: World
) -> None:
    client.get("/language/vi")
    token = csrf_token_of(client.get("/report").text)
    assert post(client, report_parts(token, what="Tham nhũng")).status_code == 200
    [case] = cases(session)
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    assert open_report(case, key)["language"] == "vi"


def test_submission_never_uses_werkzeugs_form_parser(
    client: FlaskClient,
    token: str,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def spooling(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("request.form, .files or .get_data() was used")

    monkeypatch.setattr(flask.Request, "_load_form_data", spooling)
    monkeypatch.setattr(flask.Request, "get_data", spooling)
    parts = [
        *report_parts(token, what="Gian lận"),
        FilePart("files", "a.txt", "text/plain", b"x" * 1000),
    ]
    assert post(client, parts).status_code == 200
    assert len(cases(session)) == 1


def test_posting_the_same_form_again_is_refused(
    client: FlaskClient, token: str, session: Session
) -> None:
    body = multipart(report_parts(token, what="Một lần thôi"))
    assert client.post("/report", data=body, content_type=CONTENT_TYPE).status_code == 200
    again = client.post("/report", data=body, content_type=CONTENT_TYPE)
    assert again.status_code == 400
    assert "expired" in again.text
    assert len(cases(session)) == 1


# --- refusals ------------------------------------------------------------------------------


BIG_FILE = FilePart("files", "big.bin", "application/octet-stream", b"\x00" * (150 * 1024))


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(None, id="missing"),
        pytest.param("not-a-token", id="wrong"),
    ],
)
def test_bad_csrf_token_is_refused_before_any_file_is_read(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    first: str | None,
) -> None:
    client.get("/report")  # a session exists; only the token is missing or wrong
    parts: list[Part] = [] if first is None else [("csrf_token", first)]
    body = multipart([*parts, ("what", "x"), BIG_FILE])
    stream = io.BytesIO(body)
    response = client.post(
        "/report", input_stream=stream, content_length=len(body), content_type=CONTENT_TYPE
    )
    assert response.status_code == 400
    assert "nothing was kept" in response.text
    assert stream.tell() < len(body) // 2, "the file was read"
    assert_nothing_kept(session, settings)


def test_token_after_a_file_is_refused(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    response = post(client, [BIG_FILE, ("csrf_token", token), ("what", "x")])
    assert response.status_code == 400
    assert_nothing_kept(session, settings)


def test_unknown_category_shows_the_form_again_with_the_text(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    parts: list[Part] = [
        ("csrf_token", token),
        ("category", "bribes"),
        ("what", "Giữ lại <b>văn bản</b> này"),
        FilePart("files", "a.txt", "text/plain", b"evidence"),
    ]
    response = post(client, parts)
    assert response.status_code == 400
    assert "Choose what your report is about." in response.text
    assert "Giữ lại &lt;b&gt;văn bản&lt;/b&gt; này" in response.text
    assert "choose them again" in response.text
    assert 'role="alert"' in response.text
    select = [a for t, a in parse(response.text).in_form if t == "select"]
    assert select[0]["aria-invalid"] == "true"
    assert "category-error" in select[0]["aria-describedby"].split()
    assert_nothing_kept(session, settings)


def test_missing_what_shows_the_form_again(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    response = post(client, report_parts(token, what="  \r\n ", who="Ông Tư"))
    assert response.status_code == 400
    assert "Describe what happened." in response.text
    assert "Ông Tư" in response.text
    [what] = [a for t, a in parse(response.text).in_form if a.get("name") == "what"]
    assert what["aria-invalid"] == "true"
    assert_nothing_kept(session, settings)


def test_overlong_field_is_refused_and_shown_shortened(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    response = post(client, report_parts(token, what="ô" * (report.MAX_CHARS + 1)))
    assert response.status_code == 400
    assert "longer than 20,000 characters" in response.text
    assert "ô" * report.MAX_CHARS in response.text
    assert "ô" * (report.MAX_CHARS + 1) not in response.text
    assert_nothing_kept(session, settings)


def test_a_line_break_counts_as_one_character(
    client: FlaskClient, token: str, session: Session
) -> None:
    text = "a\r\n" * (report.MAX_CHARS // 2)  # 20,000 characters once normalised
    assert post(client, report_parts(token, what=text)).status_code == 200
    assert len(cases(session)) == 1


@pytest.mark.parametrize(
    ("people", "kinds"),
    [(["reporter"], []), ([], ["job"]), (["cousin"], ["job"]), (["reporter"], ["money"])],
)
def test_incomplete_or_forged_protection_request_is_refused(
    client: FlaskClient,
    token: str,
    session: Session,
    settings: Settings,
    people: list[str],
    kinds: list[str],
) -> None:
    parts = report_parts(token, what="x")
    parts += [("protection_people", p) for p in people]
    parts += [("protection_kinds", k) for k in kinds]
    response = post(client, parts)
    assert response.status_code == 400
    assert 'class="field-error"' in response.text
    assert_nothing_kept(session, settings)


@pytest.mark.parametrize("who", ["all", "unknown", "not-a-number"])
def test_bad_exclusions_are_refused(
    client: FlaskClient,
    token: str,
    session: Session,
    settings: Settings,
    world: World,
    who: str,
) -> None:
    values = {
        "all": [str(world.people[n].id) for n in ("lan", "minh", "hoa")],
        "unknown": [str(world.people["son"].id)],  # a supervisor is not a reader
        "not-a-number": ["x"],
    }[who]
    parts = report_parts(token, what="x") + [("excluded", value) for value in values]
    response = post(client, parts)
    assert response.status_code == 400
    assert 'id="excluded-error"' in response.text
    assert_nothing_kept(session, settings)


def test_named_report_must_leave_a_custodian_to_open_the_name(
    client: FlaskClient, token: str, session: Session, settings: Settings, world: World
) -> None:
    parts = [
        *report_parts(token, what="x", identity_name="Lê Văn D"),
        ("excluded", str(world.people["hoa"].id)),
    ]
    response = post(client, parts)
    assert response.status_code == 400
    assert "Only the head of the unit can open your name" in response.text
    assert_nothing_kept(session, settings)


def test_file_over_the_file_limit_is_refused_keeping_the_text(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    parts = [
        *report_parts(token, what="Hồ sơ đính kèm"),
        FilePart("files", "ok.txt", "text/plain", b"fine"),
        FilePart("files", "huge.bin", "application/octet-stream", b"\x01" * (MAX_FILE_SIZE + 1)),
    ]
    response = post(client, parts)
    assert response.status_code == 413, response.text
    assert "A file is larger than 200 kB." in response.text
    assert "Hồ sơ đính kèm" in response.text
    assert "choose them again" in response.text
    assert_nothing_kept(session, settings)


def test_files_over_the_report_limit_are_refused_and_earlier_blobs_deleted(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    piece = b"\x02" * (MAX_REPORT_SIZE // 2)
    parts = [
        *report_parts(token, what="Nhiều tệp"),
        FilePart("files", "one.bin", "application/octet-stream", piece),
        FilePart("files", "two.bin", "application/octet-stream", piece),
        FilePart("files", "three.bin", "application/octet-stream", b"\x03"),
    ]
    response = post(client, parts)
    assert response.status_code == 413
    assert "Together, the files are larger than 300 kB." in response.text
    assert_nothing_kept(session, settings)


def test_body_larger_than_any_report_is_refused_before_reading(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    body = multipart(report_parts(token, what="x"))
    declared = MAX_REPORT_SIZE + report.TEXT_ALLOWANCE + 1
    stream = io.BytesIO(body)
    response = client.post(
        "/report",
        input_stream=stream,
        content_type=CONTENT_TYPE,
        environ_overrides={"CONTENT_LENGTH": str(declared)},
    )
    assert response.status_code == 413
    assert stream.tell() == 0
    assert_nothing_kept(session, settings)


def test_too_many_parts_are_refused(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    parts = report_parts(token, what="x") + [("padding", "")] * 500
    response = post(client, parts)
    assert response.status_code == 413
    assert_nothing_kept(session, settings)


def test_too_much_text_in_total_is_refused(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    parts = report_parts(token) + [("what", "x" * report.MAX_CHARS)] * 120
    response = post(client, parts)
    assert response.status_code == 413
    assert_nothing_kept(session, settings)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data", b"--x\r\n", id="no-boundary"),
        pytest.param("application/x-www-form-urlencoded", b"what=x", id="not-multipart"),
        pytest.param(CONTENT_TYPE, b"this is not multipart at all", id="garbage"),
        pytest.param(
            CONTENT_TYPE,
            f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            id="no-content-disposition",
        ),
        pytest.param(
            CONTENT_TYPE, f"--{BOUNDARY}\r\nContent-Disposition: form-da".encode(), id="cut-short"
        ),
        pytest.param(
            CONTENT_TYPE,
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode()
            + b"\xff\xfe\r\n"
            + f"--{BOUNDARY}--\r\n".encode(),
            id="token-not-utf8",
        ),
    ],
)
def test_malformed_bodies_get_a_clear_400(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    content_type: str,
    body: bytes,
) -> None:
    client.get("/report")
    response = client.post("/report", data=body, content_type=content_type)
    assert response.status_code == 400
    assert "Nothing was kept" in response.text
    assert_nothing_kept(session, settings)


def test_file_cut_short_leaves_no_blob(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    body = multipart(
        [
            *report_parts(token, what="x"),
            FilePart("files", "a.bin", "application/octet-stream", b"\x04" * 100000),
        ]
    )
    cut = body[: len(body) - 40_000]
    response = client.post("/report", data=cut, content_type=CONTENT_TYPE)
    assert response.status_code == 400
    assert_nothing_kept(session, settings)


# --- the steps, and the named or anonymous choice ------------------------------------------

CANARY_NAME = "Phạm Văn CANARYSTEPNAME"
IDENTITY_TYPED = {
    "identity_name": CANARY_NAME,
    "identity_contact": "0900 111 222 CANARYSTEPPHONE",
    "identity_address": "",
    "identity_position": "Kế toán CANARYSTEPJOB",
    "identity_notes": "",
}


def asked(token: str, choice: str | None, **values: str) -> list[Part]:
    """The form as the page in steps sends it: it says it asked the question, and sends the
    answer if one was chosen (a radio button left unchosen sends nothing)."""
    parts = [*report_parts(token, **values), ("identity_asked", "1")]
    return parts if choice is None else [*parts, ("identity_choice", choice)]


def steps_of(page: str) -> list[tuple[str, bool]]:
    """Each step of the form, in order, and whether the server marked it current."""
    return [
        (attrs["id"], "step-current" in attrs["class"].split())
        for tag, attrs in parse(page).in_form
        if tag == "section" and "step" in attrs.get("class", "").split()
    ]


def current_step(page: str) -> str:
    [current] = [step for step, marked in steps_of(page) if marked]
    return current


def test_the_choice_comes_first_is_required_and_starts_the_first_of_four_steps(
    client: FlaskClient,
) -> None:
    page = client.get("/report").text
    assert steps_of(page) == [
        ("step-you", True),
        ("step-what", False),
        ("step-protection", False),
        ("step-send", False),
    ]
    controls = [a for t, a in parse(page).in_form if t in ("input", "select", "textarea")]
    [first, second] = [a for a in controls if a.get("type") == "radio"][:2]
    assert controls.index(first) == 2  # after the token and identity_asked: the first question
    assert (first["name"], first["value"], second["value"]) == (
        "identity_choice",
        "anonymous",
        "named",
    )
    assert "required" in first
    assert "checked" not in first  # asked, not assumed
    assert "checked" not in second
    [form] = [a for t, a in parse(page).tags if t == "form"]
    assert "novalidate" in form  # the server's messages, in the page's language
    assert 'href="#step-what"' in page  # Next: a link, without JavaScript too
    assert "Step 1 of 4:" in page


def test_an_anonymous_report_drops_the_identity_typed_before_choosing_it(
    client: FlaskClient, token: str, session: Session, world: World
) -> None:
    response = post(client, asked(token, "anonymous", what="Chi sai quỹ", **IDENTITY_TYPED))
    assert response.status_code == 200, response.text
    [case] = cases(session)
    assert case.track is Track.ANONYMOUS
    assert case.identity is None
    assert not [w for w in case.key_wraps if w.purpose is WrapPurpose.IDENTITY_KEY]
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    report_text = repr(open_report(case, key))
    assert "CANARYSTEP" not in report_text
    assert "Chi sai quỹ" in report_text
    assert "CANARYSTEP" not in response.text


def test_a_named_report_needs_a_name_and_a_contact_and_opens_the_first_step(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    parts = asked(token, "named", what="Chi sai quỹ", identity_position="Kế toán")
    response = post(client, parts)
    assert response.status_code == 400
    assert "Write your full name, or choose to report anonymously." in response.text
    assert 'id="identity_contact-error"' in response.text
    assert current_step(response.text) == "step-you"
    [named] = [a for t, a in parse(response.text).in_form if a.get("id") == "identity_choice-named"]
    assert "checked" in named
    assert 'value="Kế toán"' in response.text
    assert_nothing_kept(session, settings)

    token = csrf_token_of(client.get("/report").text)
    identity = {"identity_name": "Lê Thị E", "identity_contact": "0900 000 000"}
    assert post(client, asked(token, "named", what="Chi sai quỹ", **identity)).status_code == 200
    session.rollback()  # end the read above: its snapshot predates the case
    [case] = cases(session)
    assert case.track is Track.NAMED


@pytest.mark.parametrize("choice", [None, "", "maybe"])
def test_a_page_that_asked_must_have_an_answer(
    client: FlaskClient, token: str, session: Session, settings: Settings, choice: str | None
) -> None:
    response = post(client, asked(token, choice, what="Chi sai quỹ", **IDENTITY_TYPED))
    assert response.status_code == 400
    assert "Choose whether you give your name or report anonymously." in response.text
    assert 'href="#identity_choice-anonymous"' in response.text  # the summary's link
    assert current_step(response.text) == "step-you"
    assert_nothing_kept(session, settings)


@pytest.mark.parametrize(
    ("identity", "track"), [({}, Track.ANONYMOUS), (IDENTITY_TYPED, Track.NAMED)]
)
def test_a_page_opened_before_the_question_keeps_its_rule(
    client: FlaskClient,
    token: str,
    session: Session,
    identity: dict[str, str],
    track: Track,
) -> None:
    """A page without identity_asked (open during an upgrade): any detail makes it named."""
    response = post(client, report_parts(token, what="Chi sai quỹ", **identity))
    assert response.status_code == 200, response.text
    [case] = cases(session)
    assert case.track is track
    assert (case.identity is not None) is bool(identity)


def test_a_page_opened_before_the_question_is_shown_again_with_its_answer(
    client: FlaskClient, token: str
) -> None:
    response = post(client, report_parts(token, what="", identity_name=CANARY_NAME))
    assert response.status_code == 400
    [named] = [a for t, a in parse(response.text).in_form if a.get("id") == "identity_choice-named"]
    assert "checked" in named


@pytest.mark.parametrize(
    ("values", "step"),
    [
        ({"what": ""}, "step-what"),
        ({"what": "x", "protection_details": "Bị đe doạ"}, "step-protection"),
    ],
)
def test_a_refused_report_opens_the_step_of_its_first_mistake(
    client: FlaskClient, token: str, values: dict[str, str], step: str
) -> None:
    response = post(client, asked(token, "anonymous", **values))
    assert response.status_code == 400
    assert current_step(response.text) == step


def test_a_refused_file_opens_the_last_step(
    client: FlaskClient, token: str, session: Session, settings: Settings
) -> None:
    big = FilePart("files", "big.bin", "application/octet-stream", b"\0" * (MAX_FILE_SIZE + 1))
    response = post(client, [*asked(token, "anonymous", what="x"), big])
    assert response.status_code == 413
    assert current_step(response.text) == "step-send"
    assert_nothing_kept(session, settings)
