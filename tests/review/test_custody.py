"""Identity custody and the export for verifiers, through the review app.

Canary strings mark the identity (it must appear only on the custodian's page after a
reason) and the files' metadata (it must not survive the export).
"""

from __future__ import annotations

import errno
import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from casework import audit as audit_log
from casework import metadata
from casework.intake import public_reference
from casework.settings import Settings
from store.blobs import FilesystemBlobStore
from store.models import AuditEntry, Case
from tests.casework.test_access import REPORT, SealedCase, seal_case
from tests.casework.test_metadata import (
    UNKNOWN_BINARY,
    assert_no_pdf_author,
    assert_no_photo_metadata,
    jpeg_with_gps,
    pdf_with_author,
)
from tests.review.conftest import (
    FAST,
    Account,
    csrf_token,
    give_names,
    post_login,
    review_settings,
)
from tests.worlds import World, build_world

IDENTITY = {
    "schema": 1,
    "name": "Canary-Identity Phạm Văn Tố",
    "contact": "canary-contact@example.vn",
    "position": "Canary-Position <b>Phó phòng</b>",
}
CANARIES = ("Canary-Identity", "canary-contact@example.vn", "Canary-Position")
REASON = "Bố trí gặp người tố cáo để áp dụng biện pháp bảo vệ."
FILES = [
    ("ảnh hiện trường.jpg", "image/jpeg", jpeg_with_gps()),
    ("biên bản.pdf", "application/pdf", pdf_with_author()),
    ("dữ liệu.bin", "application/octet-stream", UNKNOWN_BINARY),
    ("ghi chú.txt", "text/plain", jpeg_with_gps()),  # a photo under a text name
]


@pytest.fixture
def scratch_parent() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="mb-test-", dir="/dev/shm"))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def settings(engine: Engine, tmp_path: Path, scratch_parent: Path) -> Settings:
    return review_settings(engine, tmp_path, MINHBACH_SCRATCH_DIR=str(scratch_parent))


@pytest.fixture
def named(session: Session, world: World, settings: Settings) -> SealedCase:
    store = FilesystemBlobStore(settings.blob_path)
    return seal_case(session, world, FAST, identity=IDENTITY, store=store, files=FILES)


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


def entries(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def identity_url(case: SealedCase) -> str:
    return f"/cases/{case.case.public_id}/identity"


def export_url(case: SealedCase) -> str:
    return f"/cases/{case.case.public_id}/export"


def assert_no_identity(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


# --- opening the identity ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["lan", "son", "admin"])
def test_others_than_custodians_cannot_open_the_identity(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase, who: str
) -> None:
    signed_in(client, accounts[who])
    page = client.get(identity_url(named))
    assert page.status_code == 403
    token = csrf_token(client, "/")
    opened = client.post(identity_url(named), data={"csrf_token": token, "reason": REASON})
    assert opened.status_code == 403
    assert_no_identity(page.get_data(as_text=True) + opened.get_data(as_text=True))
    assert entries(session, "identity_open") == []


def test_the_custodian_is_asked_for_a_reason_with_a_warning(
    client: FlaskClient, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["hoa"])
    page = client.get(identity_url(named))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="reason"' in html
    assert 'name="csrf_token"' in html
    assert "name or any other identifying detail in the reason" in html
    assert_no_identity(html)


@pytest.mark.parametrize("reason", ["", "   ", "quá ngắn"])
def test_without_a_proper_reason_nothing_opens(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    named: SealedCase,
    reason: str,
) -> None:
    signed_in(client, accounts["hoa"])
    token = csrf_token(client, identity_url(named))
    refused = client.post(identity_url(named), data={"csrf_token": token, "reason": reason})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Write why the identity must be opened, in at least 10 characters." in html
    assert_no_identity(html)
    assert entries(session, "identity_open") == []


def test_a_post_without_the_anti_forgery_token_opens_nothing(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["hoa"])
    refused = client.post(identity_url(named), data={"reason": REASON})
    assert refused.status_code == 400
    assert_no_identity(refused.get_data(as_text=True))
    assert entries(session, "identity_open") == []


def test_with_a_reason_the_custodian_sees_the_identity_and_it_is_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["hoa"])
    token = csrf_token(client, identity_url(named))
    opened = client.post(identity_url(named), data={"csrf_token": token, "reason": f"  {REASON}\n"})
    assert opened.status_code == 200
    assert "no-store" in opened.headers["Cache-Control"]
    html = opened.get_data(as_text=True)
    assert 'id="identity-name">Canary-Identity Phạm Văn Tố</dd>' in html
    assert "canary-contact@example.vn" in html
    assert "Canary-Position &lt;b&gt;Phó phòng&lt;/b&gt;" in html  # autoescaped
    assert REASON in html
    [entry] = entries(session, "identity_open")
    assert entry.actor == accounts["hoa"].username
    assert entry.case_public_id == named.case.public_id
    assert entry.details["reason"] == REASON  # trimmed
    assert_no_identity(str(entry.details))
    assert audit_log.verify(session).ok


def test_an_anonymous_case_has_no_identity_to_open(
    client: FlaskClient, session: Session, world: World, accounts: dict[str, Account]
) -> None:
    anonymous = seal_case(session, world, FAST)
    signed_in(client, accounts["hoa"])
    page = client.get(identity_url(anonymous))
    assert page.status_code == 404
    assert "This report is anonymous: it has no identity section to open." in page.get_data(
        as_text=True
    )


def test_an_unknown_case_is_a_plain_404(client: FlaskClient, accounts: dict[str, Account]) -> None:
    signed_in(client, accounts["hoa"])
    page = client.get("/cases/00000000-0000-4000-8000-000000000000/identity")
    assert page.status_code == 404
    assert "There is no case here that you can open." in page.get_data(as_text=True)


# --- the supervisors' list of openings -------------------------------------------------


def test_supervisors_see_who_opened_which_identity_and_why(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    names = give_names(session, world)
    hoa = signed_in(client, accounts["hoa"])
    token = csrf_token(hoa, identity_url(named))
    assert (
        hoa.post(identity_url(named), data={"csrf_token": token, "reason": REASON}).status_code
        == 200
    )
    # An opening in another unit is not shown.
    other = build_world(session, "thanh-tra-huyen")
    audit_log.append(
        session,
        actor=other.people["hoa"],
        action="identity_open",
        case_public_id=named.case.public_id,
        details={"reason": "Canary-other-unit reason"},
    )
    session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    signed_in(client, accounts["son"])
    page = client.get("/audit/identity-openings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert REASON in html
    assert public_reference(named.case.public_id) in html
    assert names["hoa"] in html  # the person's name, not their user name
    assert accounts["hoa"].username not in html
    assert "Canary-other-unit" not in html
    assert_no_identity(html)


@pytest.mark.parametrize("who", ["lan", "admin"])
def test_the_list_of_openings_is_for_supervisors_and_custodians(
    client: FlaskClient, accounts: dict[str, Account], who: str
) -> None:
    signed_in(client, accounts[who])
    assert client.get("/audit/identity-openings").status_code == 403


# --- the export for verifiers ------------------------------------------------------------


def test_the_export_holds_the_report_and_cleaned_files_and_no_identity(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    named: SealedCase,
    scratch_parent: Path,
) -> None:
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}")
    response = client.post(export_url(named), data={"csrf_token": token})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data()
    response.close()
    assert_no_identity(body.decode("latin-1"))

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert names == [
            "MANIFEST.txt",
            "report.txt",
            "files/ảnh hiện trường.jpg",
            "files/biên bản.pdf",
            "files/ghi chú.txt.jpg",
        ]
        report = archive.read("report.txt").decode()
        manifest = archive.read("MANIFEST.txt").decode()
        assert_no_photo_metadata(archive.read("files/ảnh hiện trường.jpg"))
        assert_no_photo_metadata(archive.read("files/ghi chú.txt.jpg"))
        assert_no_pdf_author(archive.read("files/biên bản.pdf"))
        for name in names:
            assert_no_identity(archive.read(name).decode("latin-1"))
    assert f"What happened:\n{REPORT['what']}" in report
    assert REPORT["evidence"] in report
    assert REPORT["protection"]["details"] not in report  # about the reporter: left out
    assert "LEFT OUT: dữ liệu.bin: mat2 cannot remove metadata" in manifest
    assert "files/biên bản.pdf: cleaned with mat2" in manifest
    assert list(scratch_parent.iterdir()) == []  # nothing decrypted stays behind

    [entry] = entries(session, "verifier_export")
    assert entry.actor == accounts["lan"].username
    assert entry.case_public_id == named.case.public_id
    assert {key: entry.details[key] for key in ("files", "excluded")} == {
        "files": 3,
        "excluded": 1,
    }


def test_an_export_of_a_report_altered_in_storage_says_so(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    named: SealedCase,
) -> None:
    case = session.get_one(Case, named.case.id)
    case.category = next(slug for slug in world.unit.categories if slug != case.category)
    session.commit()  # the report's signed place names the category it was filed under
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}")
    response = client.post(export_url(named), data={"csrf_token": token})
    assert response.status_code == 200
    body = response.get_data()
    response.close()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        report = archive.read("report.txt").decode()
    assert "This record was altered in storage" in report
    assert "cannot be decrypted" not in report
    assert REPORT["what"] not in report


def test_an_abandoned_export_leaves_nothing_in_memory(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    settings: Settings,
    scratch_parent: Path,
) -> None:
    one_photo = seal_case(
        session, world, FAST, store=FilesystemBlobStore(settings.blob_path), files=FILES[:1]
    )
    signed_in(client, accounts["lan"])
    token = csrf_token(client, "/")
    response = client.post(export_url(one_photo), data={"csrf_token": token})
    assert response.status_code == 200
    assert list(scratch_parent.iterdir()) != []  # cleaned files wait for the download...
    response.close()  # ...which is dropped before a byte is read
    assert list(scratch_parent.iterdir()) == []


@pytest.mark.parametrize("who", ["minh", "son", "admin"])
def test_the_export_needs_a_case_key(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    settings: Settings,
    who: str,
) -> None:
    excluded = seal_case(
        session,
        world,
        FAST,
        store=FilesystemBlobStore(settings.blob_path),
        files=FILES[:1],
        excluded=frozenset({world.people["minh"].id}),
    )
    signed_in(client, accounts[who])
    token = csrf_token(client, "/")
    response = client.post(export_url(excluded), data={"csrf_token": token})
    assert response.status_code == 404
    assert entries(session, "verifier_export") == []


def test_the_export_needs_post_and_the_anti_forgery_token(
    client: FlaskClient, session: Session, accounts: dict[str, Account], named: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    assert client.get(export_url(named)).status_code == 405
    assert client.post(export_url(named)).status_code == 400
    assert entries(session, "verifier_export") == []


def test_no_export_when_the_scratch_directory_is_not_in_memory(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    named: SealedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n", encoding="utf-8")
    monkeypatch.setattr(metadata, "MOUNTS", mounts)
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}")
    response = client.post(export_url(named), data={"csrf_token": token})
    assert response.status_code == 503
    assert "needs mat2 and a directory in memory" in response.get_data(as_text=True)
    assert entries(session, "verifier_export") == []


def test_a_broken_mat2_stops_the_export_and_leaves_nothing(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    named: SealedCase,
    scratch_parent: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> object:
        raise metadata.MetadataError("mat2_broken", "mat2 --list failed")

    monkeypatch.setattr(metadata, "supported_formats", broken)
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}")
    response = client.post(export_url(named), data={"csrf_token": token})
    assert response.status_code == 503
    assert list(scratch_parent.iterdir()) == []  # the decrypted file written first is gone
    assert entries(session, "verifier_export") == []


def test_a_full_scratch_filesystem_stops_the_export_and_leaves_nothing(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    named: SealedCase,
    scratch_parent: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_write = metadata.Scratch._write
    written: list[Path] = []

    def fills_up(path: Path, plaintext: Iterable[bytes]) -> None:
        if written:  # the second file no longer fits
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        real_write(path, plaintext)

    monkeypatch.setattr(metadata.Scratch, "_write", staticmethod(fills_up))
    signed_in(client, accounts["lan"])
    token = csrf_token(client, f"/cases/{named.case.public_id}")
    response = client.post(export_url(named), data={"csrf_token": token})
    assert response.status_code == 503
    assert written  # the first file was cleaned...
    assert list(scratch_parent.iterdir()) == []  # ...and removed with the rest
    assert entries(session, "verifier_export") == []
