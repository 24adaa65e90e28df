"""Registering a paper or in-person report in the review app: the form, the sealed case
(the same format as a web case, scans encrypted on arrival), the receipt shown once, and
the reporter following the case on the public side with the printed code."""

from __future__ import annotations

import errno
import re
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework import registration
from casework.dates import unit_today
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import AuditEntry, Case, RecipientKind, Track, WrapPurpose
from submit import create_app as create_submit
from tests.review.conftest import Account, post_login
from tests.submit.test_report_form import (
    CODE,
    FilePart,
    Part,
    case_key,
    csrf_token_of,
    multipart,
    open_attachment,
    open_identity,
    open_report,
    stored_files,
)
from tests.worlds import World

BOUNDARY = "----minhbachRegistrationBoundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
CANARY = "CANARY-giay-to-7Q2"
SCAN = b"%PDF-1.4 scanned letter " + CANARY.encode() + b" " * 3000


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


@pytest.fixture
def inspector(client: FlaskClient, accounts: dict[str, Account]) -> FlaskClient:
    return signed_in(client, accounts["lan"])


def form_token(client: FlaskClient) -> str:
    page = client.get("/register")
    assert page.status_code == 200
    return csrf_token_of(page.text)


def parts(token: str, **values: str) -> list[Part]:
    found: list[Part] = [("csrf_token", token)]
    defaults = {
        "channel": "letter",
        "received_on": unit_today().isoformat(),
        "category": "land",
        "what": f"Thu tiền sai quy định {CANARY}",
    }
    found += [(name, value) for name, value in {**defaults, **values}.items() if value]
    return found


def post(client: FlaskClient, body: list[Part]) -> TestResponse:
    return client.post("/register", data=multipart(body, BOUNDARY), content_type=CONTENT_TYPE)


def cases(session: Session) -> list[Case]:
    session.expire_all()
    return list(session.scalars(select(Case)).all())


def test_the_form_is_linked_labelled_and_sends_the_token_before_any_file(
    inspector: FlaskClient,
) -> None:
    assert 'href="/register"' in inspector.get("/").text
    assert 'href="/register"' in inspector.get("/cases").text
    page = inspector.get("/register").text
    assert page.index('name="csrf_token"') < page.index('name="channel"')
    assert page.index('name="identity_notes"') < page.index('type="file"')
    assert 'enctype="multipart/form-data"' in page
    for name in ("received_on", "sender", "signed", "category", "what", "identity_name"):
        assert f'<label for="{name}"' in page, name
    assert '<label for="channel-in_person"' in page
    assert "<script" not in page
    assert "style=" not in page


def test_a_signed_letter_with_a_scan_becomes_a_sealed_named_case_and_one_receipt(
    inspector: FlaskClient, session: Session, world: World, settings: Settings
) -> None:
    received = unit_today() - timedelta(days=3)
    body = parts(
        form_token(inspector),
        signed="yes",
        received_on=received.isoformat(),
        identity_name=f"Nguyễn Văn An {CANARY}",
        identity_contact="0912 345 678",
    )
    body.append(FilePart("files", "thư tố cáo.pdf", "application/pdf", SCAN))
    response = post(inspector, body)
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["Cache-Control"]
    [case] = cases(session)
    code = CODE.search(response.text)
    assert code is not None
    assert f"MB-{case.public_id[:8].upper()}" in response.text
    assert world.unit.name in response.text
    # The same case as a web case sent without JavaScript, received the letter's day.
    assert (case.track, case.received_on, case.submitted_with_js) == (
        Track.NAMED,
        received,
        False,
    )
    assert [(event.kind, event.data) for event in case.events] == [
        ("registration", {"channel": "letter"}),
        ("identity_verification", {"means": "signed_letter"}),
    ]
    lan = world.people["lan"]
    key = case_key(case, lan.id, world.keys[lan.id])
    assert open_report(case, key)["what"] == f"Thu tiền sai quy định {CANARY}"
    [attachment] = case.attachments
    meta, content = open_attachment(FilesystemBlobStore(settings.blob_path), case, key, attachment)
    assert (meta.name, content) == ("thư tố cáo.pdf", SCAN)
    # Only custodians open the identity, as on the web.
    hoa = world.people["hoa"]
    [wrap] = [
        w
        for w in case.key_wraps
        if w.purpose is WrapPurpose.IDENTITY_KEY and w.inspector_id == hoa.id
    ]
    identity_key = crypto.unwrap(
        wrap.wrapped, world.keys[hoa.id], crypto.Purpose.IDENTITY_KEY, case.public_id
    )
    assert open_identity(case, identity_key)["name"] == f"Nguyễn Văn An {CANARY}"
    assert {w.recipient_kind for w in case.key_wraps} >= {RecipientKind.REPORTER}
    # No plaintext at rest, and the audit entry says how, never what.
    for path in stored_files(settings.blob_path):
        assert CANARY.encode() not in path.read_bytes()
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "case_registered"))
    assert entry.case_public_id == case.public_id
    assert entry.details["channel"] == "letter"
    assert entry.details["identity_verification"] == "signed_letter"
    assert CANARY not in repr(entry.details)


def test_the_receipt_cannot_be_asked_for_again(inspector: FlaskClient, session: Session) -> None:
    body = parts(form_token(inspector))
    assert post(inspector, body).status_code == 200
    again = post(inspector, body)  # a reload posts the same form, token and all
    assert again.status_code == 400
    assert CODE.search(again.text) is None
    assert len(cases(session)) == 1


def test_the_reporter_follows_the_case_online_with_the_printed_code(
    inspector: FlaskClient, session: Session, settings: Settings, world: World
) -> None:
    body = parts(form_token(inspector), channel="in_person", identity_name="Trần Thị Bình")
    receipt = post(inspector, body)
    code = CODE.search(receipt.text)
    assert code is not None
    [case] = cases(session)
    assert case.events[1].data == {"means": "in_person"}
    public = create_submit(settings)
    public.config["TESTING"] = True
    reporter = public.test_client()
    token = csrf_token_of(reporter.get("/followup").text)
    opened = reporter.post("/followup", data={"csrf_token": token, "code": code.group(0)})
    assert opened.headers["Location"] == "/followup/case"
    page = reporter.get("/followup/case")
    assert page.status_code == 200
    assert f"MB-{case.public_id[:8].upper()}" in page.text


def test_a_report_sent_in_by_the_press_seals_its_name_and_runs_the_result_clock(
    inspector: FlaskClient, session: Session
) -> None:
    body = parts(form_token(inspector), channel="press", sender=f"Báo Tuổi Trẻ {CANARY}")
    assert post(inspector, body).status_code == 200
    [case] = cases(session)
    [event] = case.events
    assert (event.kind, event.data) == ("sent_in", {"channel": "press"})
    assert event.grounds is not None
    assert CANARY.encode() not in event.grounds
    assert "sender_result" in {clock["key"] for clock in case.deadlines}
    # The workflow page shows the sender's name to the unit, and records the result sent.
    page = inspector.get(f"/cases/{case.public_id}/workflow").text
    assert f"Báo Tuổi Trẻ {CANARY}" in page
    assert 'id="deadline-sender_result"' in page
    token = csrf_token_of(page)
    recorded = inspector.post(
        f"/cases/{case.public_id}/record",
        data={"csrf_token": token, "kind": "result_to_sender", "grounds": "Công văn số 12"},
    )
    assert recorded.status_code == 303
    session.rollback()  # a new transaction, to see the app's commit
    assert "sender_result" not in {clock["key"] for clock in case.deadlines}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"channel": ""}, "channel", "Choose how the report arrived."),
        ({"channel": "fax"}, "channel", "Choose how the report arrived."),
        ({"channel": "press"}, "sender", "Name the newspaper or authority"),
        ({"received_on": "31/12/2026"}, "received_on", "Enter the date the report was received"),
        ({"received_on": "2999-01-01"}, "received_on", "cannot be after today"),
        ({"signed": "yes", "channel": "in_person"}, "signed", "Only a letter is signed"),
        ({"what": ""}, "what", "Write what the report says happened."),
        ({"category": "weather"}, "category", "Choose what the report is about."),
    ],
)
def test_a_mistake_is_refused_with_the_form_again_and_nothing_kept(
    inspector: FlaskClient,
    session: Session,
    settings: Settings,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    body = parts(form_token(inspector), identity_name="Lê Văn Cường", **values)
    body.append(FilePart("files", "scan.pdf", "application/pdf", SCAN))
    response = post(inspector, body)
    assert response.status_code == 400
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert "Lê Văn Cường" in response.text  # typed text comes back
    assert "choose them again" in response.text  # scans do not
    assert cases(session) == []
    assert stored_files(settings.blob_path) == []


def test_only_people_who_read_cases_may_register(
    client: FlaskClient, accounts: dict[str, Account], app: Flask
) -> None:
    supervisor = signed_in(client, accounts["son"])
    assert supervisor.get("/register").status_code == 403


def test_a_post_without_the_token_first_is_refused_before_any_file(
    inspector: FlaskClient, session: Session, settings: Settings, tmp_path: Path
) -> None:
    body: list[Part] = [FilePart("files", "scan.pdf", "application/pdf", SCAN)]
    body += parts(form_token(inspector))
    response = post(inspector, body)
    assert response.status_code == 400
    assert cases(session) == []
    assert stored_files(settings.blob_path) == []
    assert re.search(CANARY, response.text) is None


def full_disk(*_args: object, **_kwargs: object) -> NoReturn:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["scan", "case"])
def test_a_full_disk_says_nothing_was_registered_and_keeps_what_was_typed(
    inspector: FlaskClient,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """The scan cannot be written, or the case cannot be stored after it was: the form
    comes back with what was typed, no case, and no blob left behind."""
    if where == "scan":
        monkeypatch.setattr(FilesystemBlobStore, "open_writer", full_disk)
    else:
        monkeypatch.setattr(registration, "register", full_disk)
    body = parts(form_token(inspector), identity_name="Phạm Thị Dung")
    body.append(FilePart("files", "scan.pdf", "application/pdf", SCAN))
    response = post(inspector, body)
    assert response.status_code == 503
    assert 'id="not-received"' in response.text
    assert "Phạm Thị Dung" in response.text
    assert cases(session) == []
    assert stored_files(settings.blob_path) == []


# --- the citizen reception schedule, set by an administrator --------------------------------


def test_an_administrator_sets_the_reception_schedule_audited(
    client: FlaskClient, accounts: dict[str, Account], session: Session, world: World
) -> None:
    admin = signed_in(client, accounts["admin"])
    assert 'href="/admin/reception"' in admin.get("/").text
    token = csrf_token_of(admin.get("/admin/reception").text)
    schedule = "Thứ Năm đầu tiên hằng tháng\r\nPhòng tiếp công dân"
    saved = admin.post("/admin/reception", data={"csrf_token": token, "schedule": schedule})
    assert saved.status_code == 303
    assert "The schedule is saved" in admin.get(saved.headers["Location"]).text
    session.expire_all()
    assert world.unit.reception_schedule == "Thứ Năm đầu tiên hằng tháng\nPhòng tiếp công dân"
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "unit_reception_set"))
    assert entry.details["schedule"] == world.unit.reception_schedule
    too_long = admin.post("/admin/reception", data={"csrf_token": token, "schedule": "x" * 2001})
    assert too_long.status_code == 400
    assert 'id="schedule-error"' in too_long.text
    session.expire_all()
    assert world.unit.reception_schedule == "Thứ Năm đầu tiên hằng tháng\nPhòng tiếp công dân"


def test_only_administrators_set_the_reception_schedule(
    inspector: FlaskClient,
) -> None:
    assert inspector.get("/admin/reception").status_code == 403
