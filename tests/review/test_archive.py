"""The export for the archives: the parts the unit chooses, decrypted, the files as sent
with their SHA-256, an index in the case's language, audited first, and the identity only
when a custodian adds it with a reason."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from casework import access
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import AuditEntry
from tests.casework.test_access import REPORT, SealedCase, seal_case
from tests.review.conftest import FAST, Account, csrf_token
from tests.review.test_custody import CANARIES, IDENTITY, REASON, assert_no_identity, entries
from tests.review.test_workflow import GROUNDS, signed_in
from tests.worlds import World

PHOTO = b"\xff\xd8\xff\xe0 not really a photo, but bytes to keep exactly" * 50
FILES = [("ảnh hiện trường.jpg", "image/jpeg", PHOTO), ("biên bản.pdf", "application/pdf", b"%PDF")]
REPLY = "Đề nghị anh cung cấp thêm biên lai."


@pytest.fixture
def named(session: Session, world: World, settings: Settings) -> SealedCase:
    store = FilesystemBlobStore(settings.blob_path)
    sealed = seal_case(session, world, FAST, identity=IDENTITY, store=store, files=FILES)
    keys = world.staff_keys(session, sealed.case, "lan", sealed.case.received_on)
    access.reply(session, sealed.case, world.people["lan"], keys, REPLY, sealed.case.received_on)
    session.commit()
    return sealed


def audited(session: Session, action: str) -> list[AuditEntry]:
    session.commit()  # ends the test's read transaction: SQLite shows it its snapshot
    return entries(session, action)


def address(case: SealedCase) -> str:
    return f"/cases/{case.case.public_id}/archive"


def export(
    client: FlaskClient, case: SealedCase, parts: list[str], **form: str
) -> tuple[int, bytes]:
    token = csrf_token(client, address(case))
    data: dict[str, object] = {"csrf_token": token, "part": parts, **form}
    response = client.post(address(case), data=data)
    body = response.get_data()
    response.close()
    return response.status_code, body


def in_vietnamese(client: FlaskClient, msgid: str, **values: object) -> str:
    """``msgid`` as the index says it for a case written in Vietnamese."""
    with client.application.test_request_context(), force_locale("vi"):
        return str(gettext(msgid, **values))


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_every_part_goes_in_decrypted_with_an_index_in_the_case_language(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}/workflow")
    step = {"csrf_token": token, "status": "accepted", "grounds": GROUNDS}
    assert client.post(f"/cases/{named.case.public_id}/status", data=step).status_code == 303
    assert 'id="archive-link"' in client.get(f"/cases/{named.case.public_id}").text
    code, body = export(client, named, ["report", "messages", "decisions", "files"])
    assert code == 200
    members = unzip(body)
    assert sorted(members) == [
        "decisions.txt",
        "files/001-ảnh hiện trường.jpg",
        "files/002-biên bản.pdf",
        "index.txt",
        "messages.txt",
        "report.txt",
    ]
    assert members["files/001-ảnh hiện trường.jpg"] == PHOTO  # as sent, byte for byte
    assert REPORT["what"] in members["report.txt"].decode()
    assert REPLY in members["messages.txt"].decode()
    assert "Đủ điều kiện thụ lý" in members["decisions.txt"].decode()
    index = members["index.txt"].decode()
    # The report is in Vietnamese: so is the index, its dates included (web.dates).
    assert f"{named.case.received_on.day}/{named.case.received_on.month}/" in index
    assert hashlib.sha256(PHOTO).hexdigest() in index
    assert in_vietnamese(client, "The reporter's identity is not in this export.") in index
    assert "identity is not" not in index
    for text in members.values():
        assert_no_identity(text.decode("latin-1"))
    [entry] = audited(session, "archive_export")
    assert entry.details["parts"] == ["report", "messages", "decisions", "files"]
    assert (entry.details["identity"], entry.details["files"]) == (False, 2)
    assert entry.details["language"] == "vi"


def test_only_the_chosen_parts_go_and_the_index_names_what_was_left_out(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    code, body = export(client, named, ["report"])
    assert code == 200
    members = unzip(body)
    assert sorted(members) == ["index.txt", "report.txt"]
    assert "messages.txt, decisions.txt, files/" in members["index.txt"].decode()


def test_an_export_of_nothing_is_refused_and_not_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    code, body = export(client, named, ["nothing"])
    assert code == 400
    assert b'href="#part-report"' in body
    assert audited(session, "archive_export") == []


def test_an_inspector_is_not_offered_the_identity_and_cannot_add_it(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    page = client.get(address(named)).text
    assert 'id="identity-left-out"' in page
    assert 'name="identity"' not in page
    code, _body = export(client, named, ["report"], identity="yes", reason=REASON)
    assert code == 403
    assert audited(session, "archive_export") == []
    assert audited(session, "identity_open") == []


def test_a_custodian_adds_the_identity_with_a_reason_recorded_as_an_opening(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["hoa"])
    code, body = export(client, named, ["report"], identity="yes", reason="ngắn")
    assert code == 400
    assert b'href="#reason"' in body
    assert audited(session, "identity_open") == []
    code, body = export(client, named, ["report"], identity="yes", reason=REASON)
    assert code == 200
    members = unzip(body)
    identity = members["identity.txt"].decode()
    for canary in CANARIES:
        assert canary in identity
    said = (
        "The reporter's identity is in %(file)s, added by a custodian for this reason: %(reason)s"
    )
    assert in_vietnamese(client, said, file="identity.txt", reason=REASON) in (
        members["index.txt"].decode()
    )
    [opening] = audited(session, "identity_open")
    assert opening.details["reason"] == REASON
    [entry] = audited(session, "archive_export")
    assert entry.details["identity"] is True
    # Without the box ticked, the custodian's export leaves the identity out too.
    code, body = export(client, named, ["report"], reason=REASON)
    assert "identity.txt" not in unzip(body)


def test_nobody_without_the_case_key_exports(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["son"])  # a supervisor holds no case key
    assert client.get(address(named)).status_code == 404
    token = csrf_token(client, "/")
    response = client.post(address(named), data={"csrf_token": token, "part": ["report"]})
    assert response.status_code == 404
    assert audited(session, "archive_export") == []


def test_the_export_needs_the_anti_forgery_token(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert client.post(address(named), data={"part": ["report"]}).status_code == 400
    assert audited(session, "archive_export") == []


def test_a_file_missing_from_storage_is_left_out_and_the_index_says_so(
    client: FlaskClient,
    session: Session,
    settings: Settings,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    first = min(named.case.attachments, key=lambda item: item.id)
    assert FilesystemBlobStore(settings.blob_path).delete(first.blob_id)
    signed_in(client, accounts["lan"])
    code, body = export(client, named, ["files"])
    assert code == 200
    members = unzip(body)
    assert sorted(members) == ["files/002-biên bản.pdf", "index.txt"]
    index = members["index.txt"].decode()
    missing = in_vietnamese(client, "missing from storage: left out")
    assert f"files/001-ảnh hiện trường.jpg: {missing}" in index
    assert hashlib.sha256(b"%PDF").hexdigest() in index
    [entry] = audited(session, "archive_export")
    assert entry.details["files"] == 1  # what went in, known before the audit
