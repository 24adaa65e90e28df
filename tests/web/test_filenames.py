"""File names with bidirectional controls are shown inert on both apps, and kept whole
for the download: "invoice<U+202E>fdp.exe" must not read "invoiceexe.pdf" on any page."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers

import crypto
import review
import submit
from casework import followup, records
from casework.records import CaseKeys, Signer
from casework.settings import Settings
from casework.transcript import NewEntry
from review.views.cases import content_disposition
from store.blobs import FilesystemBlobStore
from store.models import Attachment, Party
from submit.views.followup import download_names
from tests.casework.test_access import seal_case
from tests.conftest import settings_for
from tests.review.conftest import FAST, Account, give_credentials, post_login, review_settings
from tests.submit.conftest import TEST_ENV
from tests.submit.test_followup_pages import Story, new_case, open_case
from tests.submit.test_report_form import case_key
from tests.worlds import World
from web.filenames import MARKER, isolated_name, shown_name

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"
DISGUISED = f"invoice{RLO}fdp.exe"  # reads "invoiceexe.pdf" where printed raw
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
EVERY_CONTROL = f"a{CONTROLS}b"
DAY = date(2026, 11, 9)


# --- the helper ---------------------------------------------------------------------------


@pytest.mark.parametrize("control", [*CONTROLS, "\x00", "\n", "\x1b", "\x85"])
def test_every_bidirectional_and_control_character_becomes_a_visible_mark(control: str) -> None:
    assert shown_name(f"bien{control}ban.pdf") == f"bien{MARKER}ban.pdf"


def test_ordinary_names_are_left_as_they_are() -> None:
    for name in ("biên bản.pdf", "تقرير.pdf", "報告書.docx", "a b.c"):
        assert shown_name(name) == name


def test_the_isolated_name_is_escaped_inside_bdi() -> None:
    shown = isolated_name(f"<b>{DISGUISED}</b>")
    assert str(shown) == f"<bdi>&lt;b&gt;invoice{MARKER}fdp.exe&lt;/b&gt;</bdi>"


def assert_inert(page: str, name: str) -> None:
    """The page shows the name marked and isolated, and no bidirectional control at all."""
    assert not any(ch in page for ch in CONTROLS)
    assert f"<bdi>{shown_name(name)}</bdi>" in page


# --- the review app: the case page --------------------------------------------------------


@pytest.fixture
def review_client(engine: Engine, tmp_path: Path, session: Session, world: World) -> FlaskClient:
    accounts: dict[str, Account] = give_credentials(session, world)
    app = review.create_app(review_settings(engine, tmp_path))
    app.config["TESTING"] = True
    client = app.test_client()
    assert post_login(client, accounts["lan"]).status_code == 303
    return client


@pytest.mark.parametrize("name", [DISGUISED, EVERY_CONTROL, f"{LRI}x{PDF}{RLO}.pdf"])
def test_the_case_page_shows_a_file_name_inert_and_downloads_the_real_one(
    review_client: FlaskClient,
    session: Session,
    world: World,
    engine: Engine,
    tmp_path: Path,
    name: str,
) -> None:
    store = FilesystemBlobStore(review_settings(engine, tmp_path).blob_path)
    sealed = seal_case(session, world, FAST, store=store, files=[(name, "text/plain", b"x")])
    page = review_client.get(f"/cases/{sealed.case.public_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_inert(html, name)
    assert f"Download <bdi>{shown_name(name)}</bdi>" in html
    [attachment] = sealed.case.attachments
    download = review_client.get(f"/cases/{sealed.case.public_id}/files/{attachment.id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == content_disposition(name)  # as before


# --- the public app: the follow-up page without JavaScript --------------------------------


@pytest.fixture
def submit_settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(engine, tmp_path / "submit-instance", **TEST_ENV)


@pytest.fixture
def submit_app(submit_settings: Settings, world: World) -> Flask:
    app = submit.create_app(submit_settings)
    app.config["TESTING"] = True
    return app


def add_file(
    session: Session, store: FilesystemBlobStore, world: World, story: Story, name: str, by: Party
) -> Attachment:
    """A message with one file, from the unit (which the reporter may download) or from
    the reporter (listed, not offered again), sealed and signed as each side does it."""
    case = story.case
    key = case_key(case, world.people["lan"].id, world.key_of("lan"))
    unit = by is Party.INSPECTOR
    signer = Signer.staff(world.people["lan"], world.key_of("lan")) if unit else story.keys.signer
    encryptor = crypto.FileEncryptor(key, case.public_id)
    blob_id = store.new_blob_id()
    with store.open_writer(blob_id) as writer:
        for piece in crypto.encrypt_stream(encryptor, [b"evidence"]):
            writer.write(piece)
    described = encryptor.metadata(name, "text/plain")
    attachment = Attachment(
        blob_id=blob_id,
        meta=records.seal_file_meta(key, case.public_id, described, signer),
        stored_size=store.size(blob_id),
        origin=by,
        created_on=DAY,
    )
    case.attachments.append(attachment)
    session.flush()
    author = world.people["lan"].id if unit else None
    entry = NewEntry("message", by, inspector_id=author, files=[attachment])
    keys = CaseKeys(case=key, signer=signer)
    followup.write_entry(session, case, keys, entry, {"schema": 1, "text": ""}, DAY)
    session.commit()
    return attachment


@pytest.mark.parametrize("by", [Party.INSPECTOR, Party.REPORTER])
@pytest.mark.parametrize("name", [DISGUISED, EVERY_CONTROL])
def test_the_followup_page_shows_a_file_name_inert_and_downloads_the_real_one(
    submit_app: Flask,
    submit_settings: Settings,
    session: Session,
    world: World,
    name: str,
    by: Party,
) -> None:
    story = new_case(session, world, submit_settings)
    store = FilesystemBlobStore(submit_settings.blob_path)
    attachment = add_file(session, store, world, story, name, by)
    client = submit_app.test_client()
    assert open_case(client, story.code).status_code == 303
    page = client.get("/followup/case")
    assert page.status_code == 200
    assert_inert(page.text, name)
    link = re.search(rf'href="/followup/files/{attachment.id}"', page.text)
    assert (link is not None) == (by is Party.INSPECTOR)
    if by is Party.INSPECTOR:
        download = client.get(f"/followup/files/{attachment.id}")
        assert download.status_code == 200
        expected = Headers()  # the name the download has always carried
        expected.set("Content-Disposition", "attachment", **download_names(name))
        assert download.headers["Content-Disposition"] == expected["Content-Disposition"]
