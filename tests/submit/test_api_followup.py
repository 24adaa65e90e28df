"""The follow-up JSON API, driven as the page's JavaScript drives it.

The reporter's side is played in Python: the lookup token and the reporter key are derived
from the code here, the wraps opened and the messages sealed here, so the server only ever
sees what the browser would send. Every exchange is checked against openapi.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework import access, entry_facts, protection, records, workflow
from casework.dates import unit_today
from casework.records import Signer
from casework.settings import Settings
from crypto import bound, signing
from crypto.encoding import b64u_decode, b64u_encode
from crypto.places import FactValue, Place, staff_author
from crypto.transcript import genesis, next_link
from store.blobs import FilesystemBlobStore
from store.models import Message, Party, RetaliationIncident, RetaliationKind
from tests.submit.test_api_support import (
    API_PREFIX,
    Api,
    api,
    open_attachment,
    openapi_checked,
    seal_file,
)
from tests.submit.test_followup_pages import (
    QUESTION,
    UNIT_FILE,
    Story,
    argon2_runs,
    clock,
    entry_document,
    granted,
    inspector_key,
    new_case,
    old_story,
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


def reporter(story: Story) -> Signer:
    """The reporter's signer, derived from the code as the page derives it."""
    return Signer.reporter(story.keys.code.reporter_private_key())


def open_session(
    api: Api, story: Story, signing_key: bytes | None = None, *, send_key: bool = True
) -> TestResponse:
    """Open a session as the browser does (with the reporter's verifying key, derived from
    the code, unless ``send_key`` is off), and take up the new anti-forgery token."""
    token = b64u_encode(story.keys.code.lookup_token())
    body = {"lookup_token": token, "pow": api.solution("followup")}
    if send_key:
        body["signing_key"] = b64u_encode(signing_key or reporter(story).verifying_key)
    response = api.post("/followup/session", body)
    if response.status_code == 200:
        api.token = response.headers["X-CSRFToken"]
    return response


def case_key_from(view: dict[str, Any], story: Story) -> bytes:
    """What the browser does with the case view: open the wrap with the reporter key."""
    reporter_key = story.keys.code.reporter_private_key()
    wrap = b64u_decode(view["wraps"]["case_key"])
    return crypto.unwrap(wrap, reporter_key, crypto.Purpose.CASE_KEY, story.case.public_id)


def current_view(api: Api) -> dict[str, Any]:
    response = api.client.get(f"{API_PREFIX}/followup/case")
    assert response.status_code == 200, response.get_data(as_text=True)
    document: dict[str, Any] = response.get_json()
    return document


def head_of(view: dict[str, Any]) -> tuple[int, bytes]:
    """The number the next entry takes and the link it must name, computed from the case
    view as the page computes them (docs/crypto.md §13.5): the report, then every message
    in ``seq`` order (those of protocol 1 not numbered yet last, in the order written)."""
    link = next_link(genesis(view["case_id"]), b64u_decode(view["report"]))
    messages = sorted(view["messages"], key=lambda m: (m["seq"] is None, m["seq"] or 0, m["id"]))
    for message in messages:
        link = next_link(link, b64u_decode(message["envelope"]))
    return len(messages) + 1, link


def entry_of(
    view: dict[str, Any],
    story: Story,
    purpose: str,
    document: dict[str, Any],
    *,
    facts: Mapping[str, FactValue] | None = None,
    metas: Sequence[bytes] = (),
    signer: Signer | None = None,
) -> str:
    """The reporter's next entry over the head ``view`` shows: a MESSAGE of version 2,
    bound to its place and signed as the page signs it (by ``signer``, as the author it
    names, to forge one)."""
    number, link = head_of(view)
    signer = signer or reporter(story)
    place = Place(
        case=view["case_id"],
        purpose=purpose,
        author=signer.author,
        entry=number,
        prev=link.hex(),
        files=records.file_digests(metas),
        facts=dict(facts or {}),
    )
    key = case_key_from(view, story)
    sealed = records.seal(key, crypto.Kind.MESSAGE, place, document, signer)
    return b64u_encode(sealed)


def sealed(
    api: Api,
    story: Story,
    purpose: str,
    text: str = "",
    *,
    facts: Mapping[str, FactValue] | None = None,
    metas: Sequence[bytes] = (),
    signer: Signer | None = None,
    **fields: Any,
) -> str:
    """An entry ``{"schema": 1, "text", **fields}`` over the current head: the page reads
    the case, then seals."""
    document = {"schema": 1, "text": text, **fields}
    return entry_of(
        current_view(api), story, purpose, document, facts=facts, metas=metas, signer=signer
    )


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
    [attachment] = view["messages"][0]["attachments"]
    assert api.client.get(f"{API_PREFIX}/followup/files/{attachment['id']}").status_code == 200
    assert api.client.get(f"{API_PREFIX}/followup/case").status_code == 200
    message = sealed(api, story, "message", "x")
    assert api.post("/followup/messages", {"envelope": message}).status_code == 201
    facts = entry_facts.retaliation(RetaliationKind.OTHER, None)
    told = sealed(api, story, "retaliation", facts=facts, occurred_on=None)
    retaliation = {"kind": "other", "envelope": told, "occurred_on": None}
    incident = api.post("/followup/retaliation", retaliation)
    assert incident.status_code == 201
    incident_id = incident.get_json()["id"]
    added = sealed(api, story, "retaliation-note", "y", facts={"incident": incident_id})
    note = f"/followup/retaliation/{incident_id}/notes"
    assert api.post(note, {"envelope": added}).status_code == 201
    facts = {"person": "spouse", "category": "honour", "urgent": True}
    asked = sealed(api, story, "protection-request", facts=facts)
    protection = {"person": "spouse", "category": "honour", "urgent": True, "envelope": asked}
    assert api.post("/followup/protection", protection).status_code == 201
    record = granted(session, world, reload(session, story))
    facts = {"protection": record.id, "ask": "change"}
    ask = {"ask": "change", "envelope": sealed(api, story, "protection-ask", facts=facts)}
    assert api.post(f"/followup/protection/{record.id}/asks", ask).status_code == 201
    escalation = {"envelope": sealed(api, story, "escalation")}
    assert api.post("/followup/escalate", escalation).status_code == 200
    withdrawal = {"envelope": sealed(api, story, "withdrawal")}
    assert api.post("/followup/withdraw", withdrawal).status_code == 200
    # A second case, accepted long ago: its resolution is overdue, so it may be re-denounced.
    later = new_case(session, world, settings, named=True, received=date(2026, 1, 5))
    accepted_on = date(2026, 1, 6)
    case = reload(session, later)
    keys = world.staff_keys(session, case, "lan", accepted_on)
    workflow.transition(
        case,
        "accepted",
        today=accepted_on,
        inspector=world.people["lan"],
        now=datetime(2026, 1, 6, 3, tzinfo=UTC),
        grounds=access.seal_note(keys, case, "grounds", "x"),
    )
    session.commit()
    open_session(api, later)
    re_denunciation = {"envelope": sealed(api, later, "re-denunciation")}
    assert api.post("/followup/re-denounce", re_denunciation).status_code == 200
    assert api.post("/followup/leave", {}).status_code == 204


def test_the_helper_for_the_openapi_test_exercises_every_followup_operation(
    api: Api, session: Session, world: World, openapi_checked: Any
) -> None:
    followup_traffic(api, session, world)
    followup_paths = {path for path, _method in openapi_checked.operations if "followup" in path}
    assert len(followup_paths) == 12


# --- opening --------------------------------------------------------------------------------


def test_the_case_view_opens_with_the_reporter_key_alone(
    api: Api, story: Story, replied: Message, session: Session, world: World
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
    # Entry 0 and every key the page needs to check each entry itself (docs/crypto.md §13).
    case = reload(session, story)
    assert case.body is not None
    assert (view["protocol"], b64u_decode(view["report"]), view["report_files"]) == (
        2,
        case.body,
        [],
    )
    lan = world.people["lan"]
    assert lan.signing_key is not None
    assert view["signing_keys"] == {f"staff/{lan.id}": b64u_encode(lan.signing_key)}
    [message] = view["messages"]
    assert (message["author"], message["inspector"], message["created_on"]) == (
        "inspector",
        lan.id,
        "2026-11-09",
    )
    assert (message["seq"], message["purpose"]) == (1, "message")
    [attachment] = message["attachments"]
    assert attachment["downloadable"] is True
    meta_envelope = b64u_decode(attachment["meta"])
    verifying_key = b64u_decode(view["signing_keys"][f"staff/{lan.id}"])
    place, opened = bound.open_bound_json(
        key, crypto.Kind.MESSAGE, b64u_decode(message["envelope"]), verifying_key
    )
    assert opened["text"] == QUESTION
    assert place == Place(
        case=story.case.public_id,
        purpose="message",
        author=f"staff/{lan.id}",
        entry=1,
        prev=next_link(genesis(story.case.public_id), case.body).hex(),
        files=records.file_digests([meta_envelope]),
    )
    _place, described = bound.open_bound_json(
        key, crypto.Kind.FILE_META, meta_envelope, verifying_key
    )
    meta = crypto.FileMeta.from_json(described)
    assert (meta.name, meta.size) == ("biên bản.pdf", len(UNIT_FILE))
    assert case.last_reporter_activity_on == unit_today()


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
        ("POST", "/followup/retaliation", {"kind": "other", "envelope": "AQc"}),
        ("POST", "/followup/withdraw", {"envelope": "AQc"}),
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
    file = seal_file(
        key, story.case.public_id, evidence, "sổ sách.jpg", "image/jpeg", reporter(story)
    )
    upload = api.upload(file.stream)
    body = {
        "envelope": sealed(api, story, "message", "Gửi kèm", metas=[file.meta]),
        "attachments": [{"upload": upload, "meta": b64u_encode(file.meta)}],
    }
    response = api.post("/followup/messages", body)
    assert response.status_code == 201
    case = reload(session, story)
    [message] = case.messages
    assert response.get_json() == {"id": message.id}
    assert (message.author, message.created_on) == (Party.REPORTER, unit_today())
    assert (message.seq, message.purpose) == (1, "message")
    assert entry_document(world, case, message.id) == {"schema": 1, "text": "Gửi kèm"}
    [attachment] = case.attachments
    assert (attachment.message_id, attachment.origin) == (message.id, Party.REPORTER)
    _meta, data = open_attachment(store, case, inspector_key(world, case), attachment)
    assert data == evidence
    again = api.post("/followup/messages", body)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "upload_not_found")
    shown = current_view(api)
    assert shown["messages"][0]["attachments"][0]["downloadable"] is False
    assert (shown["messages"][0]["seq"], shown["messages"][0]["inspector"]) == (1, None)


def test_a_refused_message_leaves_its_upload_unclaimed(
    api: Api, session: Session, story: Story, view: dict[str, Any]
) -> None:
    key = case_key_from(view, story)
    file = seal_file(key, story.case.public_id, b"x", "x.txt", "text/plain", reporter(story))
    upload = api.upload(file.stream)
    place = Place(story.case.public_id, "note", "reporter")
    not_a_message = records.seal(key, crypto.Kind.NOTE, place, {"schema": 1}, reporter(story))
    response = api.post(
        "/followup/messages",
        {
            "envelope": b64u_encode(not_a_message),
            "attachments": [{"upload": upload, "meta": b64u_encode(file.meta)}],
        },
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        400,
        "malformed_envelope",
    )
    assert api.head(upload).status_code == 200
    assert reload(session, story).messages == []
    # A message that does not name the file it carries: refused, the upload given back.
    unnamed = sealed(api, story, "message", "x")
    refused = api.post(
        "/followup/messages",
        {"envelope": unnamed, "attachments": [{"upload": upload, "meta": b64u_encode(file.meta)}]},
    )
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (400, "bad_entry")
    assert api.head(upload).headers["Upload-Offset"] == str(len(file.stream))
    assert reload(session, story).messages == []
    unfinished = api.create_upload(len(file.stream))
    message = sealed(api, story, "message", "x", metas=[file.meta])
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
    facts = entry_facts.retaliation(RetaliationKind.PAY_CUT, date(2026, 11, 5))
    assert facts == {"kind": "pay_cut", "occurred_on": "2026-11-05"}
    told = sealed(api, story, "retaliation", "Bị cắt lương", facts=facts, occurred_on="2026-11-05")
    response = api.post(
        "/followup/retaliation",
        {"kind": "pay_cut", "envelope": told, "occurred_on": "2026-11-05"},
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
    # The words are the reporter's signed entry, whose place binds the kind and the date.
    [entry] = case.messages
    assert (incident.details, incident.message_id, entry.purpose) == (
        None,
        entry.id,
        "retaliation",
    )
    assert entry_document(world, case, entry.id) == {
        "schema": 1,
        "text": "Bị cắt lương",
        "occurred_on": "2026-11-05",
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "fired"}, "malformed_field"),
        ({"occurred_on": "5/11/2026"}, "malformed_field"),
        ({"occurred_on": "2026-02-30"}, "malformed_field"),
        ({"occurred_on": (unit_today() + timedelta(days=1)).isoformat()}, "date_in_future"),
        ({"envelope": "AQc"}, "malformed_envelope"),
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
    facts = {"kind": "intimidation"}
    if "occurred_on" in change and code == "date_in_future":  # a well-formed entry for it
        facts["occurred_on"] = change["occurred_on"]
    body = {
        "kind": "intimidation",
        "envelope": sealed(api, story, "retaliation", "x", facts=facts, occurred_on=None),
        "occurred_on": None,
        **change,
    }
    response = api.post("/followup/retaliation", body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, code)
    case = reload(session, story)
    assert (case.urgent, case.messages, case.retaliation_incidents) == (False, [], [])


def test_withdrawal_answers_the_new_view_and_cannot_repeat(
    api: Api, session: Session, world: World, story: Story, view: dict[str, Any]
) -> None:
    envelope = sealed(api, story, "withdrawal", "Đã giải quyết ở cơ sở")
    response = api.post("/followup/withdraw", {"envelope": envelope})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["withdrawn"]) == ("withdrawn", True)
    # The unit's decision on the report gives way to its decision on the withdrawal:
    # to end the handling or to go on all the same (LTC Art. 33).
    assert [d["key"] for d in response.get_json()["deadlines"]] == ["withdrawal_decision"]
    assert (response.get_json()["ended"], response.get_json()["may_withdraw"]) == (False, False)
    [listed] = response.get_json()["messages"]
    assert (listed["author"], listed["seq"], listed["purpose"]) == ("reporter", 1, "withdrawal")
    case = reload(session, story)
    [event] = case.events
    assert (event.grounds, event.message_id) == (None, listed["id"])
    assert entry_document(world, case, event.message_id) == {
        "schema": 1,
        "text": "Đã giải quyết ở cơ sở",
    }
    again = api.post("/followup/withdraw", {"envelope": sealed(api, story, "withdrawal")})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_ended")
    case = reload(session, story)
    assert (len(case.events), len(case.messages)) == (1, 1)


def test_a_partial_withdrawal_is_its_own_entry_and_the_case_goes_on(
    api: Api, session: Session, world: World, story: Story, view: dict[str, Any]
) -> None:
    words = "Tôi rút nội dung thứ hai"
    # The place must say what the request says: a partial withdrawal sealed as a whole
    # one is refused.
    mismatched = sealed(api, story, "withdrawal", words)
    refused = api.post("/followup/withdraw", {"envelope": mismatched, "scope": "part"})
    assert refused.status_code == 400
    wrong = api.post("/followup/withdraw", {"envelope": mismatched, "scope": "some"})
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (400, "malformed_field")
    assert reload(session, story).events == []
    envelope = sealed(api, story, "partial-withdrawal", words)
    response = api.post("/followup/withdraw", {"envelope": envelope, "scope": "part"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["withdrawn"], body["may_withdraw"]) == ("received", False, True)
    [listed] = body["messages"]
    assert listed["purpose"] == "partial-withdrawal"
    case = reload(session, story)
    [event] = case.events
    assert (event.kind, event.to_status, event.message_id) == (
        "partial_withdrawal",
        None,
        listed["id"],
    )
    assert entry_document(world, case, event.message_id) == {"schema": 1, "text": words}


def test_a_unit_file_is_served_as_stored_and_opens_in_the_browser(
    api: Api,
    store: FilesystemBlobStore,
    world: World,
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
    lan = f"staff/{world.people['lan'].id}"
    verifying_key = b64u_decode(view["signing_keys"][lan])
    meta_envelope = b64u_decode(attachment["meta"])
    place, described = bound.open_bound_json(
        key, crypto.Kind.FILE_META, meta_envelope, verifying_key
    )
    assert place == Place(story.case.public_id, "file", lan)
    meta = crypto.FileMeta.from_json(described)
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
    file = seal_file(key, story.case.public_id, b"mine", "mine.txt", "text/plain", reporter(story))
    body = {
        "envelope": sealed(api, story, "message", "x", metas=[file.meta]),
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


# --- every entry is the reporter's, signed, in its place, over the current head -----------


@pytest.fixture
def overdue(session: Session, world: World, settings: Settings) -> Story:
    """A named case received long ago: its legal triage deadline is overdue, so it may be
    withdrawn and escalated."""
    return new_case(session, world, settings, named=True, received=date(2026, 1, 5))


def forgers(world: World) -> dict[str, Signer]:
    lan = world.people["lan"]
    staff_key = signing.signing_key(world.key_of("lan"))
    return {
        "a random key": Signer(
            records.REPORTER, signing.signing_key(crypto.generate_private_key())
        ),
        "a staff member's key": Signer(records.REPORTER, staff_key),
        "a staff member as herself": Signer(staff_author(lan.id), staff_key),
    }


@pytest.mark.parametrize(
    "forger", ["a random key", "a staff member's key", "a staff member as herself"]
)
@pytest.mark.parametrize(
    ("path", "purpose"),
    [("/followup/withdraw", "withdrawal"), ("/followup/escalate", "escalation")],
)
def test_a_withdrawal_or_escalation_not_signed_by_the_reporter_is_refused_and_changes_nothing(
    api: Api,
    session: Session,
    world: World,
    overdue: Story,
    forger: str,
    path: str,
    purpose: str,
) -> None:
    """Whoever holds the case key (every reader, a copy of a session) can seal an entry,
    but only the code gives the reporter's signing key: the server checks the signature
    against the key on record before the case moves (docs/crypto.md §13.6)."""
    view = open_session(api, overdue).get_json()
    assert (view["may_withdraw"], view["may_escalate"]) == (True, True)
    signer = forgers(world)[forger]
    document = {"schema": 1, "text": "Tôi rút đơn."}
    forged = entry_of(view, overdue, purpose, document, signer=signer)
    response = api.post(path, {"envelope": forged})
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "bad_entry")
    case = reload(session, overdue)
    assert (case.status, case.urgent, case.messages) == ("received", False, [])
    assert [e.kind for e in case.events] == ["identity_verification"]  # nothing more
    after = current_view(api)
    assert (after["may_withdraw"], after["may_escalate"], after["messages"]) == (True, True, [])
    # The reporter's own entry, at the same place, is taken.
    genuine = entry_of(view, overdue, purpose, document)
    assert api.post(path, {"envelope": genuine}).status_code == 200


def test_an_entry_sealed_over_an_old_head_is_refused_and_nothing_is_stored(
    api: Api,
    session: Session,
    world: World,
    store: FilesystemBlobStore,
    overdue: Story,
) -> None:
    """Two writers at once: the one that sealed over the head before the other's entry
    hears that the conversation changed (409), stores nothing, and seals again."""
    stale = open_session(api, overdue).get_json()
    key = case_key_from(stale, overdue)
    file = seal_file(key, overdue.case.public_id, b"x", "x.txt", "text/plain", reporter(overdue))
    upload = api.upload(file.stream)
    message = entry_of(stale, overdue, "message", {"schema": 1, "text": "a"}, metas=[file.meta])
    withdrawal = entry_of(stale, overdue, "withdrawal", {"schema": 1, "text": "b"})
    unit_message(session, store, world, overdue, "Chúng tôi đã nhận.")  # the unit wrote meanwhile

    attached = [{"upload": upload, "meta": b64u_encode(file.meta)}]
    late = api.post("/followup/messages", {"envelope": message, "attachments": attached})
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "conversation_changed")
    assert api.head(upload).headers["Upload-Offset"] == str(len(file.stream))  # given back
    refused = api.post("/followup/withdraw", {"envelope": withdrawal})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (
        409,
        "conversation_changed",
    )
    case = reload(session, overdue)
    assert (case.status, len(case.messages), case.attachments) == ("received", 1, [])
    assert [e.kind for e in case.events] == ["identity_verification"]  # nothing more

    fresh = sealed(api, overdue, "message", "a", metas=[file.meta])
    taken = api.post("/followup/messages", {"envelope": fresh, "attachments": attached})
    assert taken.status_code == 201
    assert [m["seq"] for m in current_view(api)["messages"]] == [1, 2]


MISMATCHES: dict[str, tuple[str, str, dict[str, Any], dict[str, FactValue]]] = {
    # name: (path, purpose, request fields, facts the entry binds)
    "retaliation of another kind": (
        "/followup/retaliation",
        "retaliation",
        {"kind": "demotion", "occurred_on": None},
        {"kind": "pay_cut"},
    ),
    "retaliation on another day": (
        "/followup/retaliation",
        "retaliation",
        {"kind": "pay_cut", "occurred_on": "2026-11-01"},
        {"kind": "pay_cut", "occurred_on": "2026-11-02"},
    ),
    "retaliation whose date the entry leaves out": (
        "/followup/retaliation",
        "retaliation",
        {"kind": "pay_cut", "occurred_on": "2026-11-01"},
        {"kind": "pay_cut"},
    ),
    "protection not as urgent": (
        "/followup/protection",
        "protection-request",
        {"person": "child", "category": "job", "urgent": True},
        {"person": "child", "category": "job", "urgent": False},
    ),
    "protection for another person": (
        "/followup/protection",
        "protection-request",
        {"person": "child", "category": "job", "urgent": False},
        {"person": "spouse", "category": "job", "urgent": False},
    ),
    "a message sent as a withdrawal": ("/followup/withdraw", "message", {}, {}),
    "a retaliation report sent as a message": (
        "/followup/messages",
        "retaliation",
        {},
        {"kind": "pay_cut"},
    ),
}


@pytest.mark.parametrize(
    ("path", "purpose", "fields", "facts"), list(MISMATCHES.values()), ids=list(MISMATCHES)
)
def test_an_entry_whose_place_differs_from_the_request_is_refused_and_changes_nothing(
    api: Api,
    session: Session,
    story: Story,
    view: dict[str, Any],
    path: str,
    purpose: str,
    fields: dict[str, Any],
    facts: dict[str, FactValue],
) -> None:
    """The plaintext fields the unit acts on (a retaliation's kind and date, who needs
    protection and how urgently) must be the facts the reporter signed, and the entry must
    be what the request says it is: otherwise a reader would find the entry altered."""
    envelope = sealed(api, story, purpose, "x", facts=facts)
    response = api.post(path, {**fields, "envelope": envelope})
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "bad_entry")
    case = reload(session, story)
    assert (case.status, case.urgent, case.messages, case.events) == ("received", False, [], [])
    assert (case.retaliation_incidents, case.protections) == ([], [])


def test_an_addition_or_ask_naming_another_record_is_refused(
    api: Api, session: Session, world: World, overdue: Story
) -> None:
    record = granted(session, world, reload(session, overdue))
    open_session(api, overdue)
    facts = entry_facts.retaliation(RetaliationKind.PAY_CUT, None)
    told = sealed(api, overdue, "retaliation", facts=facts, occurred_on=None)
    incident_id = api.post(
        "/followup/retaliation", {"kind": "pay_cut", "envelope": told}
    ).get_json()["id"]
    other_incident = sealed(
        api, overdue, "retaliation-note", "y", facts={"incident": incident_id + 1}
    )
    refused = api.post(f"/followup/retaliation/{incident_id}/notes", {"envelope": other_incident})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (400, "bad_entry")
    other_ask = sealed(
        api, overdue, "protection-ask", facts={"protection": record.id, "ask": "add"}
    )
    asked = api.post(
        f"/followup/protection/{record.id}/asks", {"ask": "end", "envelope": other_ask}
    )
    assert (asked.status_code, asked.get_json()["error"]["code"]) == (400, "bad_entry")
    case = reload(session, overdue)
    assert len(case.messages) == 1  # the retaliation report only
    assert [note for item in case.retaliation_incidents for note in item.notes] == []
    assert [e for e in case.events if e.kind == protection.ASK] == []


# --- the reporter's verifying key ----------------------------------------------------------


def test_opening_a_session_registers_the_reporters_key_on_a_case_without_one_only(
    api: Api, session: Session, world: World, settings: Settings, story: Story
) -> None:
    """A case of protocol 1 has no verifying key of the reporter's until they come back
    with the code (docs/crypto.md §13.7); a key on record is never replaced."""
    old = old_story(session, world, settings)
    stranger = signing.verifying_bytes(signing.signing_key(crypto.generate_private_key()))
    assert open_session(api, old, send_key=False).status_code == 200
    assert reload(session, old).reporter_signing_key is None
    view = open_session(api, old).get_json()
    own = reporter(old).verifying_key
    assert reload(session, old).reporter_signing_key == own
    assert (view["protocol"], [m["seq"] for m in view["messages"]]) == (1, [None])
    assert open_session(api, old, stranger).status_code == 200
    assert reload(session, old).reporter_signing_key == own  # not replaced
    # From now on the reporter's entries verify, over the carried messages of protocol 1.
    withdrawal = entry_of(view, old, "withdrawal", {"schema": 1, "text": "Thôi."})
    assert api.post("/followup/withdraw", {"envelope": withdrawal}).status_code == 200
    assert [m["seq"] for m in current_view(api)["messages"]] == [1, 2]

    assert open_session(api, story, stranger).status_code == 200  # a case of protocol 2
    assert reload(session, story).reporter_signing_key == reporter(story).verifying_key
    short = api.post(
        "/followup/session",
        {
            "lookup_token": b64u_encode(story.keys.code.lookup_token()),
            "pow": api.solution("followup"),
            "signing_key": "AAAA",
        },
    )
    assert (short.status_code, short.get_json()["error"]["code"]) == (400, "malformed_field")
