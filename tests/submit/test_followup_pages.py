"""Following up without JavaScript: the code form, the case page, its forms and downloads.

A case is made through the one intake path; an inspector's reply with a file is sealed with
the case key an inspector's private key unwraps. The reporter then opens the case with the
code, as Tor Browser at "Safest" would: plain forms, the session in a signed cookie.
The helpers at the top are shared with the API and browser tests.
"""

from __future__ import annotations

import base64
import http.cookiejar
import logging
import re
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework import intake, protection, records, transcript
from casework.dates import unit_today
from casework.recipients import unit_recipients
from casework.records import Signer, Trust
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from casework.transcript import NewEntry
from crypto import kdf, signing
from crypto.encoding import b64u_encode
from store.blobs import FilesystemBlobStore
from store.models import (
    ActorKind,
    Attachment,
    Case,
    CaseEvent,
    FollowupSession,
    Message,
    Party,
    ProtectedPerson,
    ProtectionCategory,
    ProtectionRecord,
    ProtectionState,
    RetaliationIncident,
    RetaliationKind,
)
from submit import create_app, followup_session
from submit.views.followup import download_names, safe_file_name
from tests.conftest import settings_for
from tests.live import serve
from tests.protocol1 import protocol_1_case
from tests.submit.conftest import TEST_ENV
from tests.submit.test_report_form import (
    BOUNDARY,
    CONTENT_TYPE,
    FilePart,
    Part,
    case_key,
    csrf_token_of,
    multipart,
    parse,
    stored_files,
)
from tests.worlds import World, verified_in_person

MAX_FILE_SIZE = 200 * 1024
MAX_REPORT_SIZE = 300 * 1024
RECEIVED = date(2026, 11, 2)
REPLIED = date(2026, 11, 9)
UNIT_FILE = "Biên bản làm việc.pdf".encode() * 1000 + bytes(range(256)) * 300  # > 1 chunk
QUESTION = "Anh/chị có giữ biên lai gốc không?\nNếu có, xin gửi bản chụp."


# --- helpers, also used by the API and browser tests --------------------------------------


@dataclass
class Story:
    """A case as its reporter and its inspectors know it."""

    keys: NewCaseKeys
    case: Case

    @property
    def code(self) -> str:
        return self.keys.code.display()


def new_case(
    session: Session,
    world: World,
    settings: Settings,
    *,
    named: bool = False,
    received: date = RECEIVED,
    verified: bool = True,
) -> Story:
    """An anonymous case (the unit's own target dates), or a named one (statutory
    deadlines: received long enough ago, its triage is overdue and may be escalated),
    whose reporter came in person the day it arrived unless not ``verified`` (then it
    awaits that, like an unsigned report: LTC Art. 22-23, 25(1))."""
    keys = NewCaseKeys()
    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"schema": 1, "what": "Cán bộ địa chính nhận tiền"},
        identity={"schema": 1, "name": "Nguyễn Văn A"} if named else None,
    )
    case = intake.accept(
        session, submission, world.unit, intake.lookup_hash(submission, settings.code_kdf), received
    )
    if named and verified:
        verified_in_person(case, world.people["lan"], received)
    session.commit()
    return Story(keys, case)


def old_story(session: Session, world: World, settings: Settings) -> Story:
    """A case as protocol 1 left it (tests/protocol1.py), which its code finds: no
    reporter's signing key on record yet (docs/crypto.md §13.7)."""
    readers = [world.people[name] for name in ("lan", "minh", "hoa")]
    old = protocol_1_case(session, world.unit, readers)
    token = old.code.lookup_token()
    old.case.lookup_index = crypto.lookup_index(token)
    old.case.lookup_hash = crypto.hash_lookup_token(token, settings.code_kdf)
    session.commit()
    assert (old.case.protocol, old.case.reporter_signing_key) == (1, None)
    keys = NewCaseKeys(case_id=old.case.public_id, case_key=old.case_key, code=old.code)
    return Story(keys, old.case)


def unit_message(
    session: Session,
    store: FilesystemBlobStore,
    world: World,
    story: Story,
    text: str,
    files: tuple[tuple[str, bytes], ...] = (),
) -> Message:
    """A message from inspector "lan" as the review app writes it (docs/crypto.md §13.5):
    the next transcript entry, under the case key her own key unwraps, signed with her
    key, with files whose descriptions she signed too."""
    case = story.case
    lan = world.people["lan"]
    keys = world.staff_keys(session, case, "lan", REPLIED)
    assert keys.signer is not None
    rows = []
    for name, data in files:
        encryptor = crypto.FileEncryptor(keys.case, case.public_id)
        blob_id = store.new_blob_id()
        with store.open_writer(blob_id) as writer:
            for piece in crypto.encrypt_stream(encryptor, [data]):
                writer.write(piece)
        described = encryptor.metadata(name, "application/pdf")
        meta = records.seal_file_meta(keys.case, case.public_id, described, keys.signer)
        rows.append(
            Attachment(
                blob_id=blob_id,
                meta=meta,
                stored_size=store.size(blob_id),
                origin=Party.INSPECTOR,
                created_on=REPLIED,
            )
        )
    case.attachments.extend(rows)
    session.flush()
    entry = NewEntry("message", Party.INSPECTOR, inspector_id=lan.id, files=rows)
    document = {"schema": 1, "text": text}
    envelope = transcript.seal_entry(session, case, keys.case, entry, document, keys.signer)
    message = transcript.append(session, case, envelope, entry, REPLIED)
    session.commit()
    return message


def reload(session: Session, story: Story) -> Case:
    """The case as the app left it: a new transaction (SQLite's WAL keeps a reader on its
    snapshot until then) and no cached attributes."""
    session.commit()
    session.expire_all()
    case = session.get(Case, story.case.id)
    assert case is not None
    return case


def inspector_key(world: World, case: Case) -> bytes:
    return case_key(case, world.people["minh"].id, world.key_of("minh"))


def without_tokens(page: str) -> str:
    """A page with its anti-forgery tokens blanked, to compare two answers."""
    page = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)
    return re.sub(r'<meta name="csrf-token" content="[^"]+">', "", page)


def granted(session: Session, world: World, case: Case) -> ProtectionRecord:
    """Protection the reporter asked for in person, granted by inspector "lan": measures
    in place, which the reporter may ask to change, add to or end."""
    today = unit_today()
    keys, lan = world.staff_keys(session, case, "lan", today), world.people["lan"]
    now = datetime.now(UTC)
    record = protection.open_by_inspector(
        session,
        case,
        keys,
        lan,
        ProtectedPerson.REPORTER,
        ProtectionCategory.INFORMATION,
        False,
        protection.RequestDetails(),
        today,
        now,
    )
    protection.transition(
        session,
        record,
        keys,
        lan,
        ProtectionState.UNDER_REVIEW,
        protection.StepFields(),
        today,
        now,
    )
    fields = protection.StepFields(
        measures="Hồ sơ tách phần danh tính", responsible_body="Thanh tra tỉnh", started_on=today
    )
    protection.transition(session, record, keys, lan, ProtectionState.ACTIVE, fields, today, now)
    session.commit()
    return record


def entry_document(world: World, case: Case, message_id: int | None) -> dict[str, Any]:
    """A reporter's words as the unit reads them: the transcript entry ``message_id``,
    opened with inspector "minh"'s key, signed by the reporter, in its place and in order,
    its facts those of the rows that name it (docs/crypto.md §13.6)."""
    assert message_id is not None
    reading = transcript.entry_reading(case, inspector_key(world, case), message_id)
    assert reading.trust is Trust.SIGNED
    assert reading.document is not None
    return reading.document


# --- fixtures -----------------------------------------------------------------------------


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
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


@pytest.fixture
def story(session: Session, world: World, settings: Settings) -> Story:
    return new_case(session, world, settings)


@pytest.fixture
def replied(session: Session, world: World, store: FilesystemBlobStore, story: Story) -> Message:
    return unit_message(session, store, world, story, QUESTION, (("biên bản.pdf", UNIT_FILE),))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The follow-up session's clock, moved by the test: clock[0] is "now"."""
    now = [int(time.time())]
    monkeypatch.setattr(followup_session, "now", lambda: now[0])
    return now


def open_case(client: FlaskClient, code: str) -> TestResponse:
    token = csrf_token_of(client.get("/followup").text)
    return client.post("/followup", data={"csrf_token": token, "code": code})


@pytest.fixture
def opened(client: FlaskClient, story: Story) -> str:
    """The case page's text, once the reporter has opened the case with the code."""
    response = open_case(client, story.code)
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup/case"
    page = client.get("/followup/case")
    assert page.status_code == 200
    return page.text


def form_token(client: FlaskClient) -> str:
    return csrf_token_of(client.get("/followup/case").text)


def post_reply(client: FlaskClient, parts: list[Part]) -> TestResponse:
    return client.post("/followup/reply", data=multipart(parts), content_type=CONTENT_TYPE)


# --- the code form ------------------------------------------------------------------------


def test_the_code_form_is_labelled_hinted_and_ready_for_the_enhancement(
    client: FlaskClient,
) -> None:
    response = client.get("/followup")
    assert response.status_code == 200
    tags = parse(response.text)
    forms = [attrs for tag, attrs in tags.tags if tag == "form"]
    assert forms[0]["id"] == "followup-form"
    assert (forms[0]["method"], forms[0]["action"]) == ("post", "/followup")
    [code] = [attrs for tag, attrs in tags.tags if tag == "input" and attrs.get("name") == "code"]
    assert code["id"] == "code"
    assert code["type"] == "text"
    assert (code["autocomplete"], code["autocapitalize"], code["spellcheck"]) == (
        "off",
        "characters",
        "false",
    )
    assert "value" not in code
    assert [a["for"] for t, a in tags.tags if t == "label" and a.get("for") == "code"]
    ids = {attrs["id"] for _tag, attrs in tags.tags if "id" in attrs}
    assert code["aria-describedby"] == "code-hint"
    assert "code-hint" in ids
    assert "XXXX-XXXX-XXXX-XXXX-XXXX" in response.text
    assert re.search(r'</form>\s*<div id="followup-app" hidden></div>', response.text)
    assert_no_inline_code(response.text)


def assert_no_inline_code(page: str) -> None:
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert all(" src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page
    for _tag, attrs in parse(page).tags:
        assert "style" not in attrs
        assert not [name for name in attrs if name.startswith("on")]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "Enter your follow-up code."),
        ("7K3M-Q9TD", "A follow-up code has 20 letters and digits"),
        ("7K3M-Q9TD-2XWF-H4RB-C8N#", "a character that is not a letter or a digit"),
        ("X" * 500, "A follow-up code has 20 letters and digits"),
    ],
)
def test_a_malformed_code_says_what_is_wrong_without_showing_the_code(
    client: FlaskClient, typed: str, expected: str
) -> None:
    response = open_case(client, typed)
    assert response.status_code == 400
    assert expected in response.text
    assert 'role="alert"' in response.text
    [code] = [a for t, a in parse(response.text).tags if t == "input" and a.get("name") == "code"]
    assert code["aria-invalid"] == "true"
    assert code["aria-describedby"] == "code-hint code-error"
    assert "value" not in code
    if typed:
        assert typed not in response.text


def test_a_typo_in_a_real_code_is_caught_by_its_check_characters(
    client: FlaskClient, story: Story
) -> None:
    code = story.code
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = open_case(client, typo)
    assert response.status_code == 400
    assert "looks like it has a typo" in response.text
    assert typo not in response.text
    assert code not in response.text


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    runs: list[bytes] = []
    real = kdf.verify_hash

    def counting(encoded: bytes, secret: bytes) -> bool:
        runs.append(encoded)
        return real(encoded, secret)

    monkeypatch.setattr(crypto.code, "verify_hash", counting)
    return runs


def test_a_wrong_code_and_an_unknown_code_get_the_same_answer_for_the_same_work(
    client: FlaskClient, session: Session, story: Story, argon2_runs: list[bytes]
) -> None:
    wrong = crypto.FollowUpCode.generate()
    story.case.lookup_index = crypto.lookup_index(wrong.lookup_token())  # an index collision
    session.commit()
    unknown = crypto.FollowUpCode.generate()
    answers = []
    for code in (wrong, unknown):
        argon2_runs.clear()
        response = open_case(client, code.display())
        assert len(argon2_runs) == 1
        answers.append((response.status_code, without_tokens(response.text)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400
    assert "We could not find a report with this code" in answers[0][1]
    with client.session_transaction() as cookie:
        assert "followup" not in cookie


# --- the loop: open, read, download, reply, report retaliation, withdraw -------------------


def test_the_reporter_reads_the_units_reply_decrypted_in_memory(
    client: FlaskClient, story: Story, replied: Message, session: Session
) -> None:
    lowercase_with_spaces = story.code.lower().replace("-", " ")
    response = open_case(client, lowercase_with_spaces)
    assert response.status_code == 303
    page = client.get("/followup/case")
    assert page.status_code == 200
    text = page.text
    assert intake.public_reference(story.case.public_id) in text
    assert "Received, not yet read" in text
    assert "Anonymous report" in text
    assert "2 November 2026" in text  # received on, for the page's language
    assert "Decision on an anonymous report (the unit&#39;s target)" in text
    assert "Due by 16 November 2026." in text
    assert "own target: 10 working days." in text
    assert "Escalate" not in text  # a target date of the unit is not a legal deadline
    assert "9 November 2026" in text  # the message's date
    assert "From the unit" in text
    assert "Anh/chị có giữ biên lai gốc không?\nNếu có, xin gửi bản chụp." in text
    assert "biên bản.pdf" in text
    [attachment] = story.case.attachments
    assert f'href="/followup/files/{attachment.id}"' in text
    assert_no_inline_code(text)
    assert reload(session, story).last_reporter_activity_on == unit_today()


def test_the_session_holds_the_case_and_a_sealed_key_but_never_the_code(
    client: FlaskClient, story: Story, opened: str
) -> None:
    with client.session_transaction() as cookie:
        state = dict(cookie["followup"])
        everything = repr(dict(cookie))
    assert state["case"] == story.case.public_id
    assert isinstance(state["started"], int)
    assert isinstance(state["seen"], int)
    private = story.keys.code.reporter_private_key().private_bytes_raw()
    assert b64u_encode(private) not in everything
    assert private.hex() not in everything
    canonical = story.code.replace("-", "")
    for secret in (story.code, canonical, b64u_encode(story.keys.code.lookup_token())):
        assert secret not in everything
    assert len(state["key"]) == 80  # b64u of a 12-byte nonce, 32 bytes and a 16-byte tag


def test_an_inspectors_file_downloads_decrypted_with_safe_headers(
    client: FlaskClient, story: Story, replied: Message, opened: str
) -> None:
    [attachment] = story.case.attachments
    response = client.get(f"/followup/files/{attachment.id}")
    assert response.status_code == 200
    assert response.data == UNIT_FILE
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Length"] == str(len(UNIT_FILE))
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"bien ban.pdf\"; filename*=UTF-8''bi%C3%AAn%20b%E1%BA%A3n.pdf"
    )


def test_only_the_units_files_of_this_case_can_be_downloaded(
    client: FlaskClient,
    session: Session,
    world: World,
    settings: Settings,
    store: FilesystemBlobStore,
    story: Story,
    opened: str,
) -> None:
    other = new_case(session, world, settings)
    foreign = unit_message(session, store, world, other, "x", (("x.pdf", b"x"),))
    [foreign_file] = reload(session, other).attachments
    assert foreign_file.message_id == foreign.id
    own = post_reply(
        client,
        [
            ("csrf_token", form_token(client)),
            ("reply_text", "Đây"),
            FilePart("reply_files", "mine.txt", "text/plain", b"mine"),
        ],
    )
    assert own.status_code == 303
    [own_file] = reload(session, story).attachments
    for attachment_id in (foreign_file.id, own_file.id, 999_999):
        response = client.get(f"/followup/files/{attachment_id}")
        assert response.status_code == 404
        assert b"mine" not in response.data
    page = client.get("/followup/case").text
    assert "mine.txt" in page
    assert f"/followup/files/{own_file.id}" not in page  # listed, not offered back


def test_a_reply_with_a_file_is_encrypted_on_arrival_for_the_inspectors(
    client: FlaskClient,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    story: Story,
    replied: Message,
    opened: str,
) -> None:
    evidence = "Bản chụp biên lai.".encode() * 5000  # ~100 kB, several chunks
    response = post_reply(
        client,
        [
            ("csrf_token", form_token(client)),
            ("reply_text", "Có, tôi gửi kèm.\r\nXin cảm ơn."),
            FilePart("reply_files", "biên lai.jpg", "image/jpeg", evidence),
        ],
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup/case"
    case = reload(session, story)
    _question, answer = case.messages
    assert (answer.author, answer.inspector_id, answer.created_on) == (
        Party.REPORTER,
        None,
        unit_today(),
    )
    assert (answer.seq, answer.purpose) == (2, "message")
    key = inspector_key(world, case)
    [sent] = [a for a in case.attachments if a.message_id == answer.id]
    assert entry_document(world, case, answer.id) == {
        "schema": 1,
        "text": "Có, tôi gửi kèm.\nXin cảm ơn.",
        "attachments": [sent.id],
    }
    assert sent.origin is Party.REPORTER
    meta, trust = records.open_file_meta(key, case, sent)
    assert meta is not None
    assert trust is Trust.SIGNED
    assert (meta.name, meta.type, meta.size) == ("biên lai.jpg", "image/jpeg", len(evidence))
    with store.open_reader(sent.blob_id) as reader:
        data = b"".join(
            crypto.decrypt_stream(key, case.public_id, meta, crypto.read_pieces(reader))
        )
    assert data == evidence
    page = client.get(response.headers["Location"]).text
    assert "Your message was sent." in page
    assert "From you" in page
    assert "Có, tôi gửi kèm.\nXin cảm ơn." in page
    # Said once, after the real thing: neither a reload nor a crafted link repeats it.
    assert "Your message was sent." not in client.get("/followup/case?sent=message").text


def test_retaliation_is_reported_urgent_with_sealed_details(
    client: FlaskClient, session: Session, world: World, story: Story, opened: str
) -> None:
    response = client.post(
        "/followup/retaliation",
        data={
            "csrf_token": form_token(client),
            "retaliation_kind": "demotion",
            "retaliation_date": "2/11/2026",
            "retaliation_text": "Tôi bị chuyển xuống làm văn thư.",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup/case"
    case = reload(session, story)
    assert case.urgent
    assert case.retaliation_reported
    [incident] = session.scalars(select(RetaliationIncident)).all()
    assert (incident.kind, incident.source, incident.occurred_on, incident.reported_on) == (
        RetaliationKind.DEMOTION,
        Party.REPORTER,
        date(2026, 11, 2),
        unit_today(),
    )
    # Its words are the reporter's transcript entry, which binds its kind and date.
    assert incident.details is None
    [entry] = case.messages
    assert (entry.id, entry.purpose, entry.author) == (
        incident.message_id,
        "retaliation",
        Party.REPORTER,
    )
    assert entry_document(world, case, incident.message_id) == {
        "schema": 1,
        "text": "Tôi bị chuyển xuống làm văn thư.",
        "occurred_on": "2026-11-02",
    }
    assert "The unit sees it first" in client.get(response.headers["Location"]).text


def test_withdrawal_needs_confirmation_then_is_recorded_and_cannot_repeat(
    client: FlaskClient, session: Session, world: World, story: Story, opened: str
) -> None:
    token = form_token(client)
    reason = {"csrf_token": token, "withdraw_reason": "Tôi đã nói chuyện trực tiếp."}
    unconfirmed = client.post("/followup/withdraw", data=reason)
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.text
    assert "Tôi đã nói chuyện trực tiếp." in unconfirmed.text  # what was typed is kept
    assert reload(session, story).status == "received"
    response = client.post("/followup/withdraw", data={**reason, "withdraw_confirm": "yes"})
    assert response.status_code == 303
    case = reload(session, story)
    assert (case.status, case.status_changed_on) == ("withdrawn", unit_today())
    [event] = session.scalars(select(CaseEvent)).all()
    assert (event.actor_kind, event.to_status, event.occurred_at) == (
        ActorKind.REPORTER,
        "withdrawn",
        None,
    )
    assert event.grounds is None  # the reasons are the reporter's signed entry
    [entry] = case.messages
    assert (entry.id, entry.purpose) == (event.message_id, "withdrawal")
    reasons = entry_document(world, case, event.message_id)
    assert reasons == {"schema": 1, "text": "Tôi đã nói chuyện trực tiếp."}
    page = client.get("/followup/case").text
    assert "Withdrawn" in page
    assert "You have withdrawn this report. The unit must now decide" in page
    assert "if you were threatened or bribed into withdrawing" in page
    assert 'id="withdraw-form"' not in page
    again = client.post("/followup/withdraw", data={**reason, "withdraw_confirm": "yes"})
    assert again.status_code == 409
    assert "can no longer be withdrawn" in again.text
    assert 'href="#withdraw-ended"' in again.text
    case = reload(session, story)
    assert (len(case.events), len(case.messages)) == (1, 1)


def test_a_partial_withdrawal_says_which_part_and_the_report_goes_on(
    client: FlaskClient, session: Session, world: World, story: Story, opened: str
) -> None:
    page = client.get("/followup/case").text
    assert "you can withdraw all of it or part of it" in page
    assert 'id="withdraw_scope-part"' in page
    token = form_token(client)
    part = {"csrf_token": token, "withdraw_scope": "part", "withdraw_confirm": "yes"}
    unsaid = client.post("/followup/withdraw", data=part)
    assert unsaid.status_code == 400
    assert "Say which part of your report you withdraw." in unsaid.text
    assert 'id="withdraw_scope-part" name="withdraw_scope" value="part" checked' in unsaid.text
    assert reload(session, story).events == []
    words = "Tôi rút phần tố cáo về việc tuyển dụng."
    response = client.post("/followup/withdraw", data={**part, "withdraw_reason": words})
    assert response.status_code == 303
    case = reload(session, story)
    assert case.status == "received"
    [event] = case.events
    assert (event.kind, event.actor_kind, event.to_status) == (
        "partial_withdrawal",
        ActorKind.REPORTER,
        None,
    )
    [entry] = case.messages
    assert (entry.id, entry.purpose) == (event.message_id, "partial-withdrawal")
    assert entry_document(world, case, entry.id) == {"schema": 1, "text": words}
    page = client.get(response.headers["Location"]).text
    assert "The part of your report you named has been withdrawn." in page
    assert "Withdrawal of part of the report" in page
    assert 'id="withdraw-form"' in page  # the rest may still be withdrawn


# --- what the page trusts: signed entries, in their place and order -------------------------

ALTERED = "This record was altered in storage"
MISSING = "An earlier message is missing here, or this one was moved"


def thread_of(page: str) -> list[str]:
    """The page's messages, one text each, in the order shown."""
    start = page.index('<section aria-labelledby="messages">')
    thread = page[start : page.index("</section>", start)]
    return thread.split('<li class="message ')[1:]


def test_entries_altered_in_the_database_are_shown_altered_and_the_page_still_renders(
    client: FlaskClient,
    session: Session,
    world: World,
    story: Story,
    replied: Message,
    opened: str,
) -> None:
    """docs/crypto.md §13.6: a record that is not where it was written (its author, or a
    fact its row binds, changed in the database) reads as altered; the rest stays readable
    and in order, since no envelope changed."""
    told = client.post(
        "/followup/retaliation",
        data={
            "csrf_token": form_token(client),
            "retaliation_kind": "demotion",
            "retaliation_text": "Tôi bị giáng chức.",
        },
    )
    assert told.status_code == 303
    reply = post_reply(client, [("csrf_token", form_token(client)), ("reply_text", "Còn nữa.")])
    assert reply.status_code == 303
    before = thread_of(client.get("/followup/case").text)
    assert [ALTERED in item for item in before] == [False, False, False]
    assert "Retaliation reported" in before[1]
    assert "Tôi bị giáng chức." in before[1]

    case = reload(session, story)
    unit, told_entry, _reply = sorted(case.messages, key=lambda m: m.seq or 0)
    unit.inspector_id = world.people["minh"].id  # re-attributed: "lan" signed it
    [incident] = case.retaliation_incidents
    assert incident.message_id == told_entry.id
    incident.kind = RetaliationKind.DISMISSAL  # the row no longer says what was signed
    session.commit()

    page = client.get("/followup/case")
    assert page.status_code == 200
    after = thread_of(page.text)
    assert [ALTERED in item for item in after] == [True, True, False]
    assert QUESTION not in after[0]
    assert "Tôi bị giáng chức." not in after[1]
    assert "Còn nữa." in after[2]
    assert MISSING not in page.text


def test_an_entry_deleted_from_the_database_marks_the_one_after_it(
    client: FlaskClient, session: Session, story: Story, opened: str
) -> None:
    for text in ("Thứ nhất.", "Thứ hai.", "Thứ ba."):
        sent = post_reply(client, [("csrf_token", form_token(client)), ("reply_text", text)])
        assert sent.status_code == 303
    case = reload(session, story)
    session.delete(next(m for m in case.messages if m.seq == 2))
    session.commit()
    page = client.get("/followup/case")
    assert page.status_code == 200
    first, third = thread_of(page.text)
    assert ("Thứ nhất." in first, MISSING in first) == (True, False)
    assert ("Thứ ba." in third, MISSING in third, ALTERED in third) == (True, True, False)


def test_opening_a_case_with_its_code_registers_the_reporters_key_if_none_is_on_record(
    client: FlaskClient, session: Session, world: World, settings: Settings, story: Story
) -> None:
    """A case of protocol 1 gets the reporter's verifying key when they come back with the
    code, derived on the server (docs/crypto.md §13.7); a key on record is never replaced,
    and an entry that key does not verify is not stored."""
    old = old_story(session, world, settings)
    own = Signer.reporter(old.keys.code.reporter_private_key()).verifying_key
    assert open_case(client, old.code).status_code == 303
    assert reload(session, old).reporter_signing_key == own
    page = client.get("/followup/case")
    assert page.status_code == 200
    assert "Đã nhận." in page.text  # the unit's message of protocol 1, carried
    assert (
        post_reply(
            client, [("csrf_token", form_token(client)), ("reply_text", "Vâng.")]
        ).status_code
        == 303
    )
    assert [m.seq for m in sorted(reload(session, old).messages, key=lambda m: m.id)] == [1, 2]

    stranger = signing.verifying_bytes(signing.signing_key(crypto.generate_private_key()))
    case = reload(session, story)
    case.reporter_signing_key = stranger  # a key on record, not this code's
    session.commit()
    assert open_case(client, story.code).status_code == 303
    assert reload(session, story).reporter_signing_key == stranger  # not replaced
    refused = post_reply(client, [("csrf_token", form_token(client)), ("reply_text", "x")])
    assert refused.status_code == 400
    assert reload(session, story).messages == []


# --- mistakes keep what was typed ---------------------------------------------------------


def test_an_empty_reply_is_refused_with_the_field_marked(
    client: FlaskClient, session: Session, story: Story, opened: str
) -> None:
    response = post_reply(client, [("csrf_token", form_token(client)), ("reply_text", "  ")])
    assert response.status_code == 400
    assert "Write a message, or choose a file to send." in response.text
    [box] = [a for t, a in parse(response.text).tags if a.get("id") == "reply_text"]
    assert box["aria-invalid"] == "true"
    assert "reply_text-error" in box["aria-describedby"].split()
    assert reload(session, story).messages == []


def test_a_file_too_large_keeps_the_text_and_stores_nothing(
    client: FlaskClient, session: Session, settings: Settings, story: Story, opened: str
) -> None:
    before = stored_files(settings.blob_path)
    response = post_reply(
        client,
        [
            ("csrf_token", form_token(client)),
            ("reply_text", "Tài liệu đính kèm"),
            FilePart(
                "reply_files", "big.bin", "application/octet-stream", bytes(MAX_FILE_SIZE + 1)
            ),
        ],
    )
    assert response.status_code == 413
    assert "A file is larger than 200 kB." in response.text
    assert "Tài liệu đính kèm" in response.text
    assert "the files you chose were not kept" in response.text
    assert stored_files(settings.blob_path) == before
    assert reload(session, story).messages == []


def test_a_retaliation_report_with_mistakes_comes_back_as_typed(
    client: FlaskClient, session: Session, story: Story, opened: str
) -> None:
    future = (unit_today() + timedelta(days=2)).isoformat()
    response = client.post(
        "/followup/retaliation",
        data={
            "csrf_token": form_token(client),
            "retaliation_kind": "",
            "retaliation_date": future,
            "retaliation_text": "Họ dọa tôi.",
        },
    )
    assert response.status_code == 400
    assert "Choose what happened from the list." in response.text
    assert "This date is in the future." in response.text
    assert "Họ dọa tôi." in response.text
    assert f'value="{future}"' in response.text
    assert not reload(session, story).urgent
    assert session.scalars(select(RetaliationIncident)).all() == []
    nonsense = client.post(
        "/followup/retaliation",
        data={
            "csrf_token": form_token(client),
            "retaliation_kind": "intimidation",
            "retaliation_date": "31/2/2026",
        },
    )
    assert nonsense.status_code == 400
    assert "Enter the date as day/month/year" in nonsense.text
    assert 'value="intimidation" selected' in nonsense.text


# --- sessions: expiry, tampering, leaving, forgery ----------------------------------------


def test_the_session_expires_after_30_idle_minutes_and_moves_on_with_each_request(
    client: FlaskClient, story: Story, clock: list[int]
) -> None:
    assert open_case(client, story.code).status_code == 303
    clock[0] += 20 * 60
    assert client.get("/followup/case").status_code == 200
    clock[0] += 20 * 60  # 40 minutes after opening, 20 after the last request
    assert client.get("/followup/case").status_code == 200
    clock[0] += 30 * 60 + 1
    response = client.get("/followup/case")
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup?reason=expired"
    page = client.get(response.headers["Location"]).text
    assert "30 minutes passed without activity" in page
    with client.session_transaction() as cookie:
        assert "followup" not in cookie  # the sealed key is gone, not only stale
    assert client.get("/followup/case").headers["Location"] == "/followup?reason=none"


def test_an_expired_session_shows_an_unsent_reply_back_and_keeps_no_file(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    story: Story,
    opened: str,
    clock: list[int],
) -> None:
    token = form_token(client)
    clock[0] += 31 * 60
    response = post_reply(
        client,
        [
            ("csrf_token", token),
            ("reply_text", "Một câu trả lời dài và quan trọng"),
            FilePart("reply_files", "a.txt", "text/plain", b"secret evidence"),
        ],
    )
    assert response.status_code == 401
    assert "What you wrote has not been sent" in response.text
    assert "Một câu trả lời dài và quan trọng" in response.text
    assert 'id="followup-form"' in response.text
    assert stored_files(settings.blob_path) == []
    assert reload(session, story).messages == []


@pytest.mark.parametrize(
    ("path", "fields", "typed"),
    [
        ("/followup/retaliation", {"retaliation_kind": "harassment"}, "retaliation_text"),
        ("/followup/withdraw", {"withdraw_confirm": "yes"}, "withdraw_reason"),
    ],
)
def test_an_expired_session_shows_unsent_text_back_and_changes_nothing(
    client: FlaskClient,
    session: Session,
    story: Story,
    opened: str,
    clock: list[int],
    path: str,
    fields: dict[str, str],
    typed: str,
) -> None:
    token = form_token(client)
    clock[0] += 31 * 60
    data = {"csrf_token": token, **fields, typed: "Điều tôi muốn nói với đơn vị"}
    response = client.post(path, data=data)
    assert response.status_code == 401
    assert "Điều tôi muốn nói với đơn vị" in response.text
    assert "ended after 30 minutes without activity" in response.text
    case = reload(session, story)
    assert (case.status, case.urgent, case.events) == ("received", False, [])


def test_a_tampered_or_moved_key_in_the_session_is_refused(
    client: FlaskClient, session: Session, world: World, settings: Settings, story: Story
) -> None:
    other = new_case(session, world, settings)
    assert open_case(client, other.code).status_code == 303
    with client.session_transaction() as cookie:
        other_key = cookie["followup"]["key"]
    assert open_case(client, story.code).status_code == 303
    with client.session_transaction() as cookie:
        sealed = cookie["followup"]["key"]
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    for forged in (flipped, other_key):  # changed, or sealed for another case
        assert open_case(client, story.code).status_code == 303
        with client.session_transaction() as cookie:
            cookie["followup"] = {**cookie["followup"], "key": forged}
        response = client.get("/followup/case")
        assert response.status_code == 303
        assert response.headers["Location"] == "/followup?reason=invalid"
        with client.session_transaction() as cookie:
            assert "followup" not in cookie


def test_a_session_without_a_key_cannot_open_the_no_javascript_page(
    client: FlaskClient, story: Story, opened: str
) -> None:
    with client.session_transaction() as cookie:
        state = dict(cookie["followup"])
        del state["key"]
        cookie["followup"] = state
    response = client.get("/followup/case")
    assert response.headers["Location"] == "/followup?reason=invalid"


def test_leaving_ends_the_session_and_changes_the_anti_forgery_token(
    client: FlaskClient, story: Story, opened: str
) -> None:
    token = form_token(client)
    response = client.post("/followup/leave", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup?reason=left"
    assert "You have left your report" in client.get(response.headers["Location"]).text
    assert client.get("/followup/case").status_code == 303
    stale = client.post("/followup", data={"csrf_token": token, "code": story.code})
    assert stale.status_code == 400
    with client.session_transaction() as cookie:
        assert "followup" not in cookie


def test_a_copy_of_the_cookie_taken_before_leaving_is_refused_after(
    app: Flask, client: FlaskClient, story: Story, opened: str
) -> None:
    """Leaving ends the session on the server: someone who copied the cookie (a shared
    computer, a seized browser profile) cannot use it afterwards."""
    with client.session_transaction() as cookie:
        copied = dict(cookie)
    assert (
        client.post("/followup/leave", data={"csrf_token": form_token(client)}).status_code == 303
    )
    thief = app.test_client()
    with thief.session_transaction() as cookie:
        cookie.update(copied)
    answer = thief.get("/followup/case")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/followup?reason=ended"
    assert "please enter your code again" in thief.get(answer.headers["Location"]).text


def test_a_session_in_use_still_ends_two_hours_after_it_began(
    client: FlaskClient, story: Story, clock: list[int]
) -> None:
    """Each request moves the idle end on, never the absolute one: a copied cookie kept
    busy does not live for ever."""
    opened_at = clock[0]
    assert open_case(client, story.code).status_code == 303
    for minutes in (25, 50, 75, 100, 119):  # never idle for 30 minutes
        clock[0] = opened_at + minutes * 60
        assert client.get("/followup/case").status_code == 200
    clock[0] = opened_at + 121 * 60  # two minutes after the last request
    response = client.get("/followup/case")
    assert response.status_code == 303
    assert response.headers["Location"] == "/followup?reason=expired"


def test_rows_of_sessions_nobody_ended_are_purged_after_their_day(
    client: FlaskClient, session: Session, story: Story
) -> None:
    """The server keeps a row per live session, with its day only; a day later the next
    session to begin removes it."""
    assert open_case(client, story.code).status_code == 303
    session.execute(update(FollowupSession).values(started_on=date(2000, 1, 1)))
    session.commit()
    other = client.application.test_client()
    assert open_case(other, story.code).status_code == 303
    session.rollback()
    days = session.scalars(select(FollowupSession.started_on)).all()
    assert days == [unit_today()]
    assert client.get("/followup/case").headers["Location"] == "/followup?reason=ended"


def test_opening_a_case_changes_the_anti_forgery_token(client: FlaskClient, story: Story) -> None:
    before = csrf_token_of(client.get("/followup").text)
    assert (
        client.post("/followup", data={"csrf_token": before, "code": story.code}).status_code == 303
    )
    stale = client.post("/followup/leave", data={"csrf_token": before})
    assert stale.status_code == 400
    assert "nothing was sent" in stale.text


def test_every_form_is_refused_without_its_anti_forgery_token(
    client: FlaskClient, session: Session, settings: Settings, story: Story, opened: str
) -> None:
    assert client.post("/followup", data={"code": story.code}).status_code == 400
    retaliation = client.post("/followup/retaliation", data={"retaliation_kind": "dismissal"})
    assert retaliation.status_code == 400
    withdrawal = client.post("/followup/withdraw", data={"withdraw_confirm": "yes"})
    assert withdrawal.status_code == 400
    assert client.post("/followup/leave").status_code == 400
    forged = post_reply(
        client,
        [("csrf_token", "forged"), FilePart("reply_files", "a.txt", "text/plain", b"x" * 1000)],
    )
    assert forged.status_code == 400
    late = post_reply(
        client,
        [FilePart("reply_files", "a.txt", "text/plain", b"x"), ("csrf_token", form_token(client))],
    )
    assert late.status_code == 400  # the token must come before any file
    case = reload(session, story)
    assert (case.status, case.urgent, case.messages) == ("received", False, [])
    assert stored_files(settings.blob_path) == []
    assert client.get("/followup/case").status_code == 200  # the session itself survives


# --- download names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", {"filename": "report.pdf"}),
        ("../../etc/passwd", {"filename": "passwd"}),
        ('a"b;c.txt', {"filename": "a_b;c.txt"}),
        ("evil\u202etxt.exe", {"filename": "eviltxt.exe"}),
        ("con\x00trol\n.txt", {"filename": "control.txt"}),
        ("...", {"filename": "file"}),
        (
            "Quyết định.pdf",
            {
                "filename": "Quyet dinh.pdf",
                "filename*": "UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh.pdf",
            },
        ),
        ("文件.txt", {"filename": "file.txt", "filename*": "UTF-8''%E6%96%87%E4%BB%B6.txt"}),
    ],
)
def test_download_names_are_safe_on_every_system(name: str, expected: dict[str, str]) -> None:
    assert download_names(name) == expected


def test_safe_names_are_cut_to_255_characters() -> None:
    assert len(safe_file_name("a" * 1000 + ".pdf")) == 255


def test_the_pages_render_in_vietnamese(app: Flask, client: FlaskClient, story: Story) -> None:
    client.get("/language/vi")
    assert open_case(client, story.code).status_code == 303
    page = client.get("/followup/case").text
    assert 'lang="vi"' in page
    assert "2/11/2026" in page  # dates as Vietnamese pages write them (web.dates)
    assert "November" not in page


# --- nothing in plaintext at rest ---------------------------------------------------------


def forms_of(secret: bytes) -> set[bytes]:
    """A canary raw, as UTF-16, hex and base64 (both alphabets, at every alignment)."""
    forms = {secret, secret.decode().encode("utf-16-le"), secret.hex().encode()}
    for shift in range(3):
        padded = b"\0" * shift + secret
        start, usable = -(-shift * 4 // 3), (len(padded) // 3) * 4
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(padded)[start:usable])
    return forms


def leaks_in(places: list[Path], needles: dict[str, set[bytes]]) -> list[str]:
    found = []
    for place in places:
        paths = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in paths:
            data = path.read_bytes()
            found += [
                f"{name} in {path}"
                for name, forms in needles.items()
                if any(f in data for f in forms)
            ]
    return found


def test_nothing_a_reporter_sends_reaches_disk_or_logs_in_plaintext(
    settings: Settings,
    world: World,
    story: Story,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Over a real server, so that the reply's body streams in as it would from Tor."""
    caplog.set_level(logging.DEBUG)
    secrets = {
        name: f"MBCANARY-{name}-{uuid.uuid4().hex}"
        for name in (
            "reply",
            "file name",
            "contents",
            "retaliation",
            "addition",
            "protection",
            "withdrawal",
        )
    }
    marker = secrets["contents"].encode()
    piece = (marker * (64 * 1024 // len(marker) + 1))[: 64 * 1024]
    temp_before = set(Path(tempfile.gettempdir()).glob("*"))
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with serve(create_app(settings)) as base:
        start = browser.open(f"{base}/followup").read().decode()
        opened = browser.open(
            f"{base}/followup",
            urllib.parse.urlencode(
                {"csrf_token": csrf_token_of(start), "code": story.code}
            ).encode(),
        )
        token = csrf_token_of(opened.read().decode())
        head = multipart([("csrf_token", token), ("reply_text", secrets["reply"])])[
            : -len(f"--{BOUNDARY}--\r\n")
        ]
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="reply_files"; '
            f'filename="{secrets["file name"]}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        body = [head, *([piece] * 3), tail]  # three chunks' worth, sent piece by piece
        reply = urllib.request.Request(  # noqa: S310 - the test server on 127.0.0.1
            f"{base}/followup/reply",
            data=iter(body),
            headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(sum(map(len, body)))},
        )
        assert "Your message was sent." in browser.open(reply).read().decode()
        for path, fields in (
            (
                "retaliation",
                {"retaliation_kind": "harassment", "retaliation_text": secrets["retaliation"]},
            ),
            ("incidents/{incident}/notes", {"incident_text": secrets["addition"]}),
            (
                "protection",
                {
                    "protection_person": "parent",
                    "protection_category": "property",
                    "protection_text": secrets["protection"],
                },
            ),
            ("withdraw", {"withdraw_confirm": "yes", "withdraw_reason": secrets["withdrawal"]}),
        ):
            page = browser.open(f"{base}/followup/case").read().decode()
            found = re.search(r'action="/followup/incidents/(\d+)/notes"', page)
            path = path.format(incident=found.group(1) if found else "none")
            data = urllib.parse.urlencode({"csrf_token": csrf_token_of(page), **fields}).encode()
            assert browser.open(f"{base}/followup/{path}", data).status == 200

    needles = {name: forms_of(value.encode()) for name, value in secrets.items()}
    needles["follow-up code"] = {story.code.encode(), story.code.replace("-", "").encode()}
    database = Path(engine.url.database or "")
    places = [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")]
    places = [place for place in places if place.exists()] + [settings.instance_path]
    new_temp = [p for p in set(Path(tempfile.gettempdir()).glob("*")) - temp_before if p.is_file()]
    leaks = leaks_in(places + new_temp, needles)
    output = capfd.readouterr()
    for text, where in ((caplog.text, "logs"), (output.out, "stdout"), (output.err, "stderr")):
        data = text.encode()
        leaks += [
            f"{name} in {where}" for name, forms in needles.items() if any(f in data for f in forms)
        ]
    assert leaks == []
