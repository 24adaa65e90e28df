"""The follow-up JSON API, driven as the page's JavaScript drives it.

The reporter's side is played in Python: the lookup token and the reporter key are derived
from the code here, the wraps opened and the messages sealed here, so the server only ever
sees what the browser would send. Every exchange is checked against openapi.json.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework.dates import unit_today
from casework.settings import Settings
from crypto.encoding import b64u_decode, b64u_encode
from store.blobs import FilesystemBlobStore
from store.models import Message, Party, RetaliationIncident, RetaliationKind
from tests.submit.test_api_support import API_PREFIX, Api, api, openapi_checked, seal_file
from tests.submit.test_followup_pages import (
    QUESTION,
    UNIT_FILE,
    Story,
    argon2_runs,
    clock,
    granted,
    inspector_key,
    new_case,
    reload,
    replied,
    settings,
    store,
    story,
    unit_message,
)
from tests.worlds import World
from web.limits import OVERRIDES

__all__ = [  # fixtures
    "api",
    "argon2_runs",
    "clock",
    "openapi_checked",
    "replied",
    "settings",
    "store",
    "story",
]
pytestmark = pytest.mark.usefixtures("openapi_checked")


def open_session(api: Api, story: Story) -> TestResponse:
    """Open a session as the browser does, and take up the new anti-forgery token."""
    token = b64u_encode(story.keys.code.lookup_token())
    response = api.post(
        "/followup/session", {"lookup_token": token, "pow": api.solution("followup")}
    )
    if response.status_code == 200:
        api.token = response.headers["X-CSRFToken"]
    return response


def case_key_from(view: dict[str, Any], story: Story) -> bytes:
    """What the browser does with the case view: open the wrap with the reporter key."""
    reporter = story.keys.code.reporter_private_key()
    wrap = b64u_decode(view["wraps"]["case_key"])
    return crypto.unwrap(wrap, reporter, crypto.Purpose.CASE_KEY, story.case.public_id)


def sealed(key: bytes, story: Story, kind: crypto.Kind, document: dict[str, Any]) -> str:
    return b64u_encode(crypto.seal_json(key, kind, story.case.public_id, document))


@pytest.fixture
def view(api: Api, story: Story) -> dict[str, Any]:
    response = open_session(api, story)
    assert response.status_code == 200, response.get_data(as_text=True)
    document: dict[str, Any] = response.get_json()
    return document


# --- a helper for test_openapi's one-exchange-per-operation test --------------------------


def followup_traffic(api: Api, session: Session, world: World) -> None:
    """One successful exchange for every api.followup_* operation."""
    settings: Settings = api.app.extensions["minhbach.settings"]
    # Named and received long ago: its legal triage deadline is overdue, so it escalates.
    story = new_case(session, world, settings, named=True, received=date(2026, 1, 5))
    unit_message(
        session, FilesystemBlobStore(settings.blob_path), world, story, "?", (("a", b"a"),)
    )
    view = open_session(api, story).get_json()
    key = case_key_from(view, story)
    [attachment] = view["messages"][0]["attachments"]
    assert api.client.get(f"{API_PREFIX}/followup/files/{attachment['id']}").status_code == 200
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 200
    message = sealed(key, story, crypto.Kind.MESSAGE, {"schema": 1, "text": "x"})
    assert api.post("/followup/messages", {"envelope": message}).status_code == 201
    note = sealed(key, story, crypto.Kind.NOTE, {"schema": 1, "text": "", "occurred_on": None})
    retaliation = {"kind": "other", "note": note, "occurred_on": None}
    incident = api.post("/followup/retaliation", retaliation)
    assert incident.status_code == 201
    added = f"/followup/retaliation/{incident.get_json()['id']}/notes"
    assert api.post(added, {"note": note}).status_code == 201
    protection = {"person": "spouse", "category": "honour", "urgent": True, "note": note}
    assert api.post("/followup/protection", protection).status_code == 201
    record = granted(session, world, reload(session, story))
    ask = {"ask": "change", "note": note}
    assert api.post(f"/followup/protection/{record.id}/asks", ask).status_code == 201
    assert api.post("/followup/escalate", {"note": note}).status_code == 200
    assert api.post("/followup/withdraw", {"note": note}).status_code == 200
    assert api.post("/followup/leave", {}).status_code == 204


def test_the_helper_for_the_openapi_test_exercises_every_followup_operation(
    api: Api, session: Session, world: World, openapi_checked: Any
) -> None:
    followup_traffic(api, session, world)
    followup_paths = {path for path, _method in openapi_checked.operations if "followup" in path}
    assert len(followup_paths) == 11


# --- opening --------------------------------------------------------------------------------


def test_the_case_view_opens_with_the_reporter_key_alone(
    api: Api, story: Story, replied: Message, session: Session
) -> None:
    response = open_session(api, story)
    assert response.status_code == 200
    view = response.get_json()
    assert view["reference"] == "MB-" + story.case.public_id[:8].upper()
    assert (view["status"], view["status_label"], view["track"]) == (
        "received",
        "Received, not yet read",
        "anonymous",
    )
    assert view["received_on"] == "2026-11-02"
    assert view["deadlines"] == [
        {
            "key": "decision",
            "label": "Decision on an anonymous report (the unit's target)",
            "statutory": False,
            "due_on": "2026-11-16",
            "period": "10 working days",
            "used": None,
            "overdue": unit_today() > date(2026, 11, 16),
        }
    ]
    assert (view["withdrawn"], view["forwarded"], view["wraps"]["identity_key"]) == (
        False,
        False,
        None,
    )
    assert (view["forwarded_to"], view["ended"], view["may_withdraw"]) == (None, False, True)
    assert (view["may_escalate"], view["escalated"]) == (False, False)  # no legal deadline
    assert (view["protections"], view["incidents"]) == ([], [])
    key = case_key_from(view, story)
    assert key == story.keys.case_key
    [message] = view["messages"]
    assert (message["author"], message["created_on"]) == ("inspector", "2026-11-09")
    opened = crypto.open_json(
        key, crypto.Kind.MESSAGE, story.case.public_id, b64u_decode(message["envelope"])
    )
    assert opened["text"] == QUESTION
    [attachment] = message["attachments"]
    assert attachment["downloadable"] is True
    meta = crypto.open_file_meta(key, story.case.public_id, b64u_decode(attachment["meta"]))
    assert (meta.name, meta.size) == ("biên bản.pdf", len(UNIT_FILE))
    assert reload(session, story).last_reporter_activity_on == unit_today()


def test_the_session_holds_no_key_and_the_anti_forgery_token_changes(
    api: Api, story: Story
) -> None:
    before = api.token
    assert open_session(api, story).status_code == 200
    assert api.token != before
    with api.client.session_transaction() as cookie:
        assert set(cookie["followup"]) == {"case", "token", "started", "seen"}
    stale = api.client.post(
        f"{API_PREFIX}/followup/leave", json={}, headers={"X-CSRFToken": before}
    )
    assert stale.status_code == 400
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 200


def test_a_copy_of_the_session_cookie_is_refused_once_the_session_is_left(
    api: Api, story: Story
) -> None:
    """Leaving ends the session on the server (its row goes), not only in this browser."""
    assert open_session(api, story).status_code == 200
    with api.client.session_transaction() as cookie:
        copied = dict(cookie)
    assert api.post("/followup/leave", {}).status_code == 204
    thief = api.app.test_client()
    with thief.session_transaction() as cookie:
        cookie.update(copied)
    answer = thief.get(f"{API_PREFIX}/followup/case")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "no_session"


def test_wrong_and_unknown_tokens_get_one_answer_for_one_argon2_run(
    api: Api, session: Session, story: Story, argon2_runs: list[bytes]
) -> None:
    wrong = crypto.FollowUpCode.generate().lookup_token()
    story.case.lookup_index = crypto.lookup_index(wrong)
    session.commit()
    answers = []
    for token in (wrong, crypto.FollowUpCode.generate().lookup_token()):
        argon2_runs.clear()
        response = api.post(
            "/followup/session",
            {"lookup_token": b64u_encode(token), "pow": api.solution("followup")},
        )
        assert len(argon2_runs) == 1
        answers.append((response.status_code, response.get_json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    assert answers[0][1]["error"]["code"] == "unknown_code"
    with api.client.session_transaction() as cookie:
        assert "followup" not in cookie


def test_a_session_needs_a_well_formed_token_and_a_followup_proof_of_work(
    api: Api, story: Story
) -> None:
    token = b64u_encode(story.keys.code.lookup_token())
    short = api.post("/followup/session", {"lookup_token": token[:20], "pow": "x"})
    assert (short.status_code, short.get_json()["error"]["code"]) == (400, "malformed_field")
    missing = api.post("/followup/session", {"lookup_token": token})
    assert missing.get_json()["error"]["code"] == "pow_required"
    for_reports = api.post(
        "/followup/session", {"lookup_token": token, "pow": api.solution("report")}
    )
    assert for_reports.get_json()["error"]["code"] == "pow_invalid"
    extra = api.post("/followup/session", {"lookup_token": token, "pow": "x", "code": "x"})
    assert extra.get_json()["error"]["code"] == "unknown_field"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/followup/case", None),
        ("POST", "/followup/messages", {"envelope": "AQQ"}),
        ("POST", "/followup/retaliation", {"kind": "other", "note": "AQc"}),
        ("POST", "/followup/withdraw", {"note": "AQc"}),
        ("GET", "/followup/files/1", None),
    ],
)
def test_without_a_session_everything_answers_401(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = api.client.get(API_PREFIX + path) if method == "GET" else api.post(path, body)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "no_session"


def test_the_session_expires_and_leaving_ends_it(
    api: Api, story: Story, view: dict[str, Any], clock: list[int]
) -> None:
    clock[0] += 29 * 60
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 200
    clock[0] += 31 * 60
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 401
    assert open_session(api, story).status_code == 200
    before = api.token
    left = api.post("/followup/leave", {})
    assert left.status_code == 204
    assert left.headers["X-CSRFToken"] != before
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 401


# --- messages, retaliation, withdrawal, files ---------------------------------------------


def test_a_message_with_an_uploaded_file_reaches_the_inspectors(
    api: Api,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    story: Story,
    view: dict[str, Any],
) -> None:
    key = case_key_from(view, story)
    evidence = "Ảnh chụp sổ sách.".encode() * 4000
    file = seal_file(key, story.case.public_id, evidence, "sổ sách.jpg", "image/jpeg")
    upload = api.upload(file.stream)
    body = {
        "envelope": sealed(key, story, crypto.Kind.MESSAGE, {"schema": 1, "text": "Gửi kèm"}),
        "attachments": [{"upload": upload, "meta": b64u_encode(file.meta)}],
    }
    response = api.post("/followup/messages", body)
    assert response.status_code == 201
    case = reload(session, story)
    [message] = case.messages
    assert response.get_json() == {"id": message.id}
    assert (message.author, message.created_on) == (Party.REPORTER, unit_today())
    inspector = inspector_key(world, case)
    text = crypto.open_json(inspector, crypto.Kind.MESSAGE, case.public_id, message.body)
    assert text["text"] == "Gửi kèm"
    [attachment] = case.attachments
    assert (attachment.message_id, attachment.origin) == (message.id, Party.REPORTER)
    meta = crypto.open_file_meta(inspector, case.public_id, attachment.meta)
    with store.open_reader(attachment.blob_id) as reader:
        data = b"".join(
            crypto.decrypt_stream(inspector, case.public_id, meta, crypto.read_pieces(reader))
        )
    assert data == evidence
    again = api.post("/followup/messages", body)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "upload_not_found")
    shown = api.client.get(f"{API_PREFIX}/followup/case").get_json()
    assert shown["messages"][0]["attachments"][0]["downloadable"] is False


def test_a_refused_message_leaves_its_upload_unclaimed(
    api: Api, session: Session, story: Story, view: dict[str, Any]
) -> None:
    key = case_key_from(view, story)
    file = seal_file(key, story.case.public_id, b"x", "x.txt", "text/plain")
    upload = api.upload(file.stream)
    not_a_message = sealed(key, story, crypto.Kind.NOTE, {"schema": 1})
    response = api.post(
        "/followup/messages",
        {
            "envelope": not_a_message,
            "attachments": [{"upload": upload, "meta": b64u_encode(file.meta)}],
        },
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        400,
        "malformed_envelope",
    )
    assert api.head(upload).status_code == 200
    assert reload(session, story).messages == []
    unfinished = api.create_upload(len(file.stream))
    message = sealed(key, story, crypto.Kind.MESSAGE, {"schema": 1, "text": "x"})
    waiting = api.post(
        "/followup/messages",
        {
            "envelope": message,
            "attachments": [{"upload": unfinished, "meta": b64u_encode(file.meta)}],
        },
    )
    assert (waiting.status_code, waiting.get_json()["error"]["code"]) == (409, "upload_incomplete")
    assert reload(session, story).messages == []


def test_retaliation_is_logged_urgent_with_its_date(
    api: Api, session: Session, world: World, story: Story, view: dict[str, Any]
) -> None:
    key = case_key_from(view, story)
    document = {"schema": 1, "text": "Bị cắt lương", "occurred_on": "2026-11-05"}
    response = api.post(
        "/followup/retaliation",
        {
            "kind": "pay_cut",
            "note": sealed(key, story, crypto.Kind.NOTE, document),
            "occurred_on": "2026-11-05",
        },
    )
    assert response.status_code == 201
    case = reload(session, story)
    assert (case.urgent, case.retaliation_reported) == (True, True)
    [incident] = session.scalars(select(RetaliationIncident)).all()
    assert response.get_json() == {"id": incident.id}
    assert (incident.kind, incident.occurred_on, incident.source) == (
        RetaliationKind.PAY_CUT,
        date(2026, 11, 5),
        Party.REPORTER,
    )
    assert incident.details is not None
    inspector = inspector_key(world, case)
    assert crypto.open_json(inspector, crypto.Kind.NOTE, case.public_id, incident.details) == (
        document
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "fired"}, "malformed_field"),
        ({"occurred_on": "5/11/2026"}, "malformed_field"),
        ({"occurred_on": "2026-02-30"}, "malformed_field"),
        ({"occurred_on": (unit_today() + timedelta(days=1)).isoformat()}, "date_in_future"),
        ({"note": "AQc"}, "malformed_envelope"),
    ],
)
def test_a_malformed_retaliation_report_is_refused_and_changes_nothing(
    api: Api,
    session: Session,
    story: Story,
    view: dict[str, Any],
    change: dict[str, Any],
    code: str,
) -> None:
    key = case_key_from(view, story)
    body = {
        "kind": "intimidation",
        "note": sealed(key, story, crypto.Kind.NOTE, {"schema": 1, "text": "x"}),
        "occurred_on": None,
        **change,
    }
    response = api.post("/followup/retaliation", body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, code)
    assert not reload(session, story).urgent


def test_withdrawal_answers_the_new_view_and_cannot_repeat(
    api: Api, session: Session, story: Story, view: dict[str, Any]
) -> None:
    key = case_key_from(view, story)
    note = sealed(key, story, crypto.Kind.NOTE, {"schema": 1, "text": "Đã giải quyết ở cơ sở"})
    response = api.post("/followup/withdraw", {"note": note})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["withdrawn"]) == ("withdrawn", True)
    # The unit's decision clock stops; a named case would now owe a notice.
    assert response.get_json()["deadlines"] == []
    assert (response.get_json()["ended"], response.get_json()["may_withdraw"]) == (True, False)
    again = api.post("/followup/withdraw", {"note": note})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_ended")
    assert len(reload(session, story).events) == 1


def test_a_unit_file_is_served_as_stored_and_opens_in_the_browser(
    api: Api,
    store: FilesystemBlobStore,
    story: Story,
    replied: Message,
    view: dict[str, Any],
) -> None:
    key = case_key_from(view, story)
    [attachment] = view["messages"][0]["attachments"]
    response = api.client.get(f"{API_PREFIX}/followup/files/{attachment['id']}")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    [stored] = story.case.attachments
    with store.open_reader(stored.blob_id) as reader:
        assert response.data == reader.read()
    assert response.headers["Content-Length"] == str(len(response.data))
    meta = crypto.open_file_meta(key, story.case.public_id, b64u_decode(attachment["meta"]))
    plaintext = b"".join(crypto.decrypt_stream(key, story.case.public_id, meta, [response.data]))
    assert plaintext == UNIT_FILE
    missing = api.client.get(f"{API_PREFIX}/followup/files/{attachment['id'] + 1000}")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "file_not_found")


def test_a_reporters_own_file_or_another_cases_is_not_served(
    api: Api,
    session: Session,
    world: World,
    settings: Settings,
    store: FilesystemBlobStore,
    story: Story,
    view: dict[str, Any],
) -> None:
    other = new_case(session, world, settings)
    unit_message(session, store, world, other, "x", (("x", b"x"),))
    key = case_key_from(view, story)
    file = seal_file(key, story.case.public_id, b"mine", "mine.txt", "text/plain")
    body = {
        "envelope": sealed(key, story, crypto.Kind.MESSAGE, {"schema": 1, "text": "x"}),
        "attachments": [{"upload": api.upload(file.stream), "meta": b64u_encode(file.meta)}],
    }
    assert api.post("/followup/messages", body).status_code == 201
    own = reload(session, story).attachments[0].id
    foreign = reload(session, other).attachments[0].id
    for attachment_id in (own, foreign):
        assert api.client.get(f"{API_PREFIX}/followup/files/{attachment_id}").status_code == 404


def test_per_case_limits_count_each_case_apart(
    app: Flask, session: Session, world: World, settings: Settings
) -> None:
    app.config[OVERRIDES] = {"api.followup_case": {"case": "1 per hour"}}
    first, second = new_case(session, world, settings), new_case(session, world, settings)
    for each in (first, second):
        api = Api(app, app.test_client())
        assert open_session(api, each).status_code == 200
        assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 200
        assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 429
