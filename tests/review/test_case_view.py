"""The case page: decryption, files, messages, grants and revokes, through the app."""

from __future__ import annotations

import dataclasses
import errno
import re
from html import unescape
from typing import NoReturn
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import crypto
from casework import access, records, transcript
from casework.intake import public_reference
from casework.records import Trust
from casework.settings import Settings
from crypto import bound
from crypto.transcript import Position
from review.settings import EXTENSION as SETTINGS_EXTENSION
from review.views.cases import content_disposition
from store.blobs import FilesystemBlobStore
from store.models import (
    Attachment,
    AuditEntry,
    Case,
    CaseRead,
    Message,
    Party,
    RecipientKind,
    WrapPurpose,
)
from tests.casework.test_access import REPORT, SealedCase, seal_case
from tests.review.conftest import FAST, Account, csrf_token, post_login
from tests.submit.test_report_form import (
    FilePart,
    Part,
    csrf_token_of,
    multipart,
    open_attachment,
    stored_files,
)
from tests.worlds import World, reporter_entry

PDF = b"%PDF-1.4 bi\xc3\xaan lai\n" * 5000  # several chunks of the stream format
ALTERED = "This record was altered in storage: it does not open as it was written"
MISSING = "An earlier message is missing here, or this one was moved"
XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "**markdown** _em_ [link](javascript:alert(3))",
    "javascript:alert(4)",
]


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


@pytest.fixture
def sealed(session: Session, world: World, store: FilesystemBlobStore) -> SealedCase:
    return seal_case(
        session,
        world,
        FAST,
        store=store,
        files=[("biên lai.pdf", "application/pdf", PDF)],
        excluded=frozenset({world.people["minh"].id}),
    )


def signed_in(client: FlaskClient, account: Account) -> FlaskClient:
    assert post_login(client, account).status_code == 303
    return client


def audit_actions(session: Session, case: SealedCase) -> list[tuple[str, str]]:
    session.rollback()  # a fresh snapshot: the app committed through its own connection
    session.expire_all()
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_public_id == case.case.public_id)
        .order_by(AuditEntry.seq)
    ).all()
    return [(entry.actor, entry.action) for entry in entries]


def case_url(sealed: SealedCase, tail: str = "") -> str:
    return f"/cases/{sealed.case.public_id}{tail}"


def revoke_url(sealed: SealedCase, person_id: int) -> str:
    return case_url(sealed, f"/readers/{person_id}/revoke")


def test_the_report_is_decrypted_labelled_and_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    page = client.get(case_url(sealed))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for field in ("what", "who", "where", "when", "how_known", "evidence"):
        assert f'id="report-{field}">{REPORT[field]}</dd>' in html
    assert 'class="multiline" id="report-what">Cán bộ nhận hối lộ\nđể cấp sổ đỏ.</dd>' in html
    assert "Sợ bị đuổi việc" in html  # the protection request's details
    assert "Download <bdi>biên lai.pdf</bdi>" in html  # the name isolated (web.filenames)
    assert "application/pdf" in html
    assert audit_actions(session, sealed) == [("lan.thanh-tra-tinh", "case_open")]
    marker = session.get(CaseRead, (accounts["lan"].inspector_id, sealed.case.id))
    assert marker is not None


def test_exclusions_are_shown_and_the_named_track_hides_the_identity(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
) -> None:
    named = seal_case(
        session,
        world,
        FAST,
        identity={"schema": 1, "name": "Nguyễn Văn Bí Mật", "contact": "0909"},
        excluded=frozenset({world.people["minh"].id}),
    )
    signed_in(client, accounts["hoa"])
    html = client.get(case_url(named)).get_data(as_text=True)
    assert "Nguyễn Văn Bí Mật" not in html
    assert "0909" not in html
    assert "The identity is held by the head of the unit." in html
    excluded = re.search(r'<ul id="excluded">(.*?)</ul>', html, re.S)
    assert excluded is not None
    assert world.people["minh"].display_name in excluded.group(1)


def without_token(page: str) -> str:
    """The page with its anti-forgery tokens blanked (itsdangerous puts the time in them)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)


@pytest.mark.parametrize("who", ["minh", "son", "admin"])
def test_no_wrap_means_404_like_an_unknown_case(
    client: FlaskClient, accounts: dict[str, Account], sealed: SealedCase, who: str
) -> None:
    signed_in(client, accounts[who])
    denied = client.get(case_url(sealed))
    unknown = client.get("/cases/00000000-0000-4000-8000-000000000000")
    assert "There is no case here that you can open." in unknown.get_data(as_text=True)
    assert denied.status_code == unknown.status_code == 404
    unknown_id = "00000000-0000-4000-8000-000000000000"
    # the same page but for the language link back to the address asked for, and the
    # sign-out form's anti-forgery token, signed with the second it was made in
    same = denied.get_data(as_text=True).replace(sealed.case.public_id, unknown_id)
    assert without_token(same) == without_token(unknown.get_data(as_text=True))
    attachment = sealed.case.attachments[0].id
    assert client.get(case_url(sealed, f"/files/{attachment}")).status_code == 404


def test_signed_out_goes_to_login(client: FlaskClient, sealed: SealedCase) -> None:
    response = client.get(case_url(sealed))
    assert response.status_code == 303
    assert "/login" in response.headers["Location"]


def test_download_streams_the_decrypted_file_safely_and_is_audited(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    attachment = sealed.case.attachments[0].id
    response = client.get(case_url(sealed, f"/files/{attachment}"))
    assert response.status_code == 200
    assert response.is_streamed
    assert response.get_data() == PDF
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "biên lai.pdf"
    assert ("lan.thanh-tra-tinh", "file_download") in audit_actions(session, sealed)
    assert client.get(case_url(sealed, f"/files/{attachment + 99}")).status_code == 404


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("../../etc/passwd", "passwd"),
        ('a"b\r\nX-Evil: 1.txt', "a_bX-Evil_ 1.txt"),
        ("<script>alert(1)</script>.html", "script_.html"),
        ("", "attachment"),
        ("Báo cáo.docx", "Bao cao.docx"),
    ],
)
def test_file_names_are_sanitised_in_the_header(name: str, fallback: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header
    assert "\n" not in header
    ascii_part = re.search(r'filename="([^"]*)"', header)
    assert ascii_part is not None
    assert ascii_part.group(1).startswith(fallback)
    assert "/" not in unquote(header.split("filename*=UTF-8''")[1])


def test_script_html_and_markdown_render_as_inert_text(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    store: FilesystemBlobStore,
) -> None:
    report = {"schema": 1, **{field: " ".join(XSS) for field in access.REPORT_FIELDS}}
    report["protection"] = {"people": ["reporter"], "kinds": ["job"], "details": " ".join(XSS)}
    hostile = seal_case(
        session, world, FAST, report=report, store=store, files=[(XSS[0], XSS[1], b"x")]
    )
    today = hostile.case.received_on
    keys = world.staff_keys(session, hostile.case, "lan", today)
    access.reply(session, hostile.case, world.people["lan"], keys, " ".join(XSS), today)
    session.commit()
    signed_in(client, accounts["lan"])
    html = client.get(case_url(hostile)).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;alert(1)") == 6 + 1 + 1 + 1  # fields, details, message, file
    for raw in ("<script>alert", "<img src=x", "<strong>markdown", "<em>em", '<a href="javascript'):
        assert raw not in html
    assert not re.search(r"(href|src)=\"javascript:", html)
    assert "**markdown** _em_ [link](javascript:alert(3))" in html
    assert "<script" not in html.lower()  # the page has no script at all


REPLY_BOUNDARY = "----minhbachReplyBoundary"
NOTICE = b"%PDF-1.4 th\xc3\xb4ng b\xc3\xa1o th\xe1\xbb\xa5 l\xc3\xbd\n" * 4000  # several chunks


def post_reply(client: FlaskClient, sealed: SealedCase, body: list[Part]) -> TestResponse:
    """The reply form as a browser sends it: multipart, in exactly this order."""
    return client.post(
        case_url(sealed, "/reply"),
        data=multipart(body, REPLY_BOUNDARY),
        content_type=f"multipart/form-data; boundary={REPLY_BOUNDARY}",
    )


def reporter_case_key(sealed: SealedCase) -> bytes:
    reporter_wrap = next(
        w
        for w in sealed.case.key_wraps
        if w.recipient_kind is RecipientKind.REPORTER and w.purpose is WrapPurpose.CASE_KEY
    )
    return crypto.unwrap(
        reporter_wrap.wrapped,
        sealed.keys.code.reporter_private_key(),
        crypto.Purpose.CASE_KEY,
        sealed.case.public_id,
    )


def test_reply_reaches_the_reporter_and_the_other_readers(
    app_client_pair: tuple[FlaskClient, FlaskClient],
    session: Session,
    world: World,
    sealed: SealedCase,
) -> None:
    lan, hoa = app_client_pair
    lan_id = world.people["lan"].id
    token = csrf_token_of(lan.get(case_url(sealed)).text)
    text = "Cảm ơn anh/chị.\r\nXin gửi thêm <b>bằng chứng</b>."
    sent = post_reply(lan, sealed, [("csrf_token", token), ("text", text)])
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("#messages")
    session.expire_all()
    [message] = session.scalars(select(Message).where(Message.case_id == sealed.case.id)).all()
    # The reporter's key opens it: a transcript entry signed by lan, in its place, in order.
    case_key = reporter_case_key(sealed)
    [entry] = [item for item in transcript.read_checked(sealed.case, case_key) if item.message]
    text = text.replace("\r\n", "\n")  # as browsers send line breaks, read as the reporter's
    assert entry.reading.document == {"schema": 1, "text": text}
    assert entry.reading.trust is Trust.SIGNED
    assert entry.position is Position.IN_ORDER
    place = bound.read_place(crypto.Kind.MESSAGE, message.body)
    assert (place.purpose, place.author, place.entry) == ("message", f"staff/{lan_id}", 1)
    html = hoa.get(case_url(sealed)).get_data(as_text=True)
    assert "Cảm ơn anh/chị.\nXin gửi thêm &lt;b&gt;bằng chứng&lt;/b&gt;." in html
    assert ("lan.thanh-tra-tinh", "reply") in audit_actions(session, sealed)


def test_a_reply_carries_files_encrypted_as_they_arrive_for_the_reporter(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    world: World,
    sealed: SealedCase,
    store: FilesystemBlobStore,
) -> None:
    signed_in(client, accounts["lan"])
    page = client.get(case_url(sealed)).text
    assert 'enctype="multipart/form-data"' in page
    assert page.index('name="csrf_token"', page.index('id="reply"')) < page.index('name="files"')
    assert '<label for="reply-files"' in page
    assert "cannot be sent from here" not in page
    before = set(stored_files(store.root))
    sent = post_reply(
        client,
        sealed,
        [
            ("csrf_token", csrf_token_of(page)),
            ("text", ""),  # a file may be the whole reply
            FilePart("files", "thông báo thụ lý.pdf", "application/pdf", NOTICE),
            FilePart("files", "phụ lục.txt", "text/plain", b"phu luc"),
        ],
    )
    assert sent.status_code == 303
    session.expire_all()
    case = session.get_one(Case, sealed.case.id)
    [message] = case.messages
    files = sorted((item for item in case.attachments if item.message_id), key=lambda a: a.id)
    assert [item.origin for item in files] == [Party.INSPECTOR, Party.INSPECTOR]
    assert all(item.message_id == message.id for item in files)
    # Only ciphertext at rest: neither the content nor the name is in the new blobs.
    new_blobs = set(stored_files(store.root)) - before
    assert len(new_blobs) == 2
    for path in new_blobs:
        assert b"th\xc3\xb4ng b\xc3\xa1o" not in path.read_bytes()
        assert "thông báo".encode() not in path.read_bytes()
    # The reporter opens the message and both files with their code; lan signed them all.
    case_key = reporter_case_key(sealed)
    [entry] = [item for item in transcript.read_checked(case, case_key) if item.message]
    assert entry.reading.trust is Trust.SIGNED
    assert entry.reading.document == {
        "schema": 1,
        "text": "",
        "attachments": [item.id for item in files],
    }
    place = bound.read_place(crypto.Kind.MESSAGE, message.body)
    assert place.files == records.file_digests([item.meta for item in files])
    opened = [open_attachment(store, case, case_key, item) for item in files]
    assert [(meta.name, content) for meta, content in opened] == [
        ("thông báo thụ lý.pdf", NOTICE),
        ("phụ lục.txt", b"phu luc"),
    ]
    lan = world.people["lan"].id
    assert all(
        bound.read_place(crypto.Kind.FILE_META, item.meta).author == f"staff/{lan}"
        for item in files
    )
    # The other readers see them under the message and download them.
    shown = client.get(case_url(sealed)).text
    assert "Download <bdi>thông báo thụ lý.pdf</bdi>" in shown
    download = client.get(case_url(sealed, f"/files/{files[0].id}"))
    assert download.status_code == 200
    assert download.data == NOTICE
    session.rollback()
    [audited] = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "reply", AuditEntry.case_public_id == case.public_id
        )
    ).all()
    assert audited.details["files"] == 2


def test_a_bad_reply_keeps_the_text_and_says_why(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    sealed: SealedCase,
    store: FilesystemBlobStore,
) -> None:
    signed_in(client, accounts["lan"])
    token = csrf_token(client, case_url(sealed))
    long_text = "dài " * 5001
    refused = post_reply(
        client,
        sealed,
        [("csrf_token", token), ("text", long_text), FilePart("files", "a.pdf", "x/y", b"%PDF")],
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert "at most 20000 characters" in html.replace(",", "")
    assert long_text[:20_000] in html
    assert 'id="reply-files-dropped"' in html  # the file was not kept: say so
    empty = post_reply(client, sealed, [("csrf_token", token), ("text", "  ")])
    assert empty.status_code == 400
    assert "Write a reply, or choose a file to send." in empty.get_data(as_text=True)
    no_token = post_reply(client, sealed, [("text", "no token"), ("csrf_token", token)])
    assert no_token.status_code == 400
    wrong_token = post_reply(client, sealed, [("csrf_token", "x"), ("text", "wrong token")])
    assert wrong_token.status_code == 400
    assert "Nothing was sent" in wrong_token.text
    # A form that is not multipart, as no page of the app sends it, is refused too.
    plain = client.post(case_url(sealed, "/reply"), data={"csrf_token": token, "text": "Chào"})
    assert plain.status_code == 400
    session.expire_all()
    assert session.scalars(select(Message)).all() == []
    assert [a for a in session.scalars(select(Attachment)).all() if a.message_id] == []
    assert len(stored_files(store.root)) == 1  # the report's own file, nothing more


@pytest.fixture
def small_files_app(app: Flask, settings: Settings) -> Flask:
    """The app with files of at most 1,000 bytes, 1,500 together."""
    smaller = dataclasses.replace(settings, max_file_size=1000, max_report_size=1500)
    app.extensions[SETTINGS_EXTENSION] = smaller
    return app


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((1001,), "A file is larger than"),
        ((900, 900), "Together, the files are larger than"),
        ((1,) * 101, "Choose at most 100 files."),
    ],
)
def test_a_file_over_the_limits_is_refused_with_the_text_kept_and_nothing_stored(
    small_files_app: Flask,
    session: Session,
    accounts: dict[str, Account],
    sealed: SealedCase,
    store: FilesystemBlobStore,
    sizes: tuple[int, ...],
    message: str,
) -> None:
    client = signed_in(small_files_app.test_client(), accounts["lan"])
    token = csrf_token(client, case_url(sealed))
    body: list[Part] = [("csrf_token", token), ("text", "Kính gửi ông Nguyễn Văn An")]
    body += [FilePart("files", f"{n}.pdf", "application/pdf", b"%" * n) for n in sizes]
    refused = post_reply(client, sealed, body)
    assert refused.status_code == 413
    assert message in refused.text
    assert "Kính gửi ông Nguyễn Văn An" in refused.text
    assert 'href="#reply-files"' in refused.text  # the error summary leads to the field
    assert 'id="reply-files-error"' in refused.text
    session.expire_all()
    assert session.scalars(select(Message)).all() == []
    assert len(stored_files(store.root)) == 1


def test_a_full_disk_says_nothing_was_sent_and_keeps_the_text(
    client: FlaskClient,
    session: Session,
    accounts: dict[str, Account],
    sealed: SealedCase,
    store: FilesystemBlobStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed_in(client, accounts["lan"])
    token = csrf_token(client, case_url(sealed))

    def full_disk(*_args: object, **_kwargs: object) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FilesystemBlobStore, "open_writer", full_disk)
    body: list[Part] = [("csrf_token", token), ("text", "Xin gửi biên bản")]
    body.append(FilePart("files", "biên bản.pdf", "application/pdf", NOTICE))
    refused = post_reply(client, sealed, body)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"]
    assert "nothing was sent" in refused.text
    assert "Xin gửi biên bản" in refused.text
    session.expire_all()
    assert session.scalars(select(Message)).all() == []
    assert len(stored_files(store.root)) == 1


def test_revoke_then_grant_moves_access_and_refuses_the_excluded(
    app: Flask,
    app_client_pair: tuple[FlaskClient, FlaskClient],
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    lan_client, hoa_client = app_client_pair
    lan, minh = world.people["lan"], world.people["minh"]
    token = csrf_token(hoa_client, case_url(sealed))

    excluded = hoa_client.post(
        case_url(sealed, "/grant"), data={"csrf_token": token, "person": str(minh.id)}
    )
    assert excluded.status_code == 400
    assert "excluded this person for a conflict of interest" in excluded.get_data(as_text=True)

    revoked = hoa_client.post(revoke_url(sealed, lan.id), data={"csrf_token": token})
    assert revoked.status_code == 303
    assert lan_client.get(case_url(sealed)).status_code == 404

    granted = hoa_client.post(
        case_url(sealed, "/grant"), data={"csrf_token": token, "person": str(lan.id)}
    )
    assert granted.status_code == 303
    html = lan_client.get(case_url(sealed)).get_data(as_text=True)
    assert REPORT["who"] in html

    actions = audit_actions(session, sealed)
    assert ("hoa.thanh-tra-tinh", "revoke") in actions
    assert ("hoa.thanh-tra-tinh", "grant") in actions
    session.expire_all()
    targets = session.scalars(
        select(AuditEntry.target).where(AuditEntry.action.in_(["grant", "revoke"]))
    ).all()
    assert targets == [lan.username, lan.username]
    # the excluded inspector still cannot open it
    minh_client = signed_in(app.test_client(), accounts["minh"])
    assert minh_client.get(case_url(sealed)).status_code == 404


def test_the_last_reader_cannot_be_removed(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    hoa = world.people["hoa"]
    access.revoke(session, sealed.case, hoa, hoa.id)
    session.commit()
    signed_in(client, accounts["lan"])
    token = csrf_token(client, case_url(sealed))
    lan_id = accounts["lan"].inspector_id
    asked = client.get(revoke_url(sealed, lan_id))
    assert asked.status_code == 400
    assert "last person who can read the case" in asked.get_data(as_text=True)
    refused = client.post(revoke_url(sealed, lan_id), data={"csrf_token": token})
    assert refused.status_code == 400
    assert "last person who can read the case" in refused.get_data(as_text=True)
    assert client.get(case_url(sealed)).status_code == 200
    bad = client.post(case_url(sealed, "/grant"), data={"csrf_token": token, "person": "x"})
    assert bad.status_code == 400


@pytest.fixture
def app_client_pair(
    app: Flask, accounts: dict[str, Account], client: FlaskClient
) -> tuple[FlaskClient, FlaskClient]:
    """lan and hoa signed in, each in their own browser."""
    other = app.test_client()
    return signed_in(client, accounts["lan"]), signed_in(other, accounts["hoa"])


def test_reporter_messages_are_marked_new_until_opened(
    client: FlaskClient, session: Session, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    today = sealed.case.received_on
    reporter_entry(session, sealed.case, sealed.keys, "message", today, "Tôi có thêm ảnh.")
    session.commit()
    signed_in(client, accounts["lan"])
    first = client.get(case_url(sealed)).get_data(as_text=True)
    assert "Tôi có thêm ảnh." in first
    assert 'class="case-new"' in first
    again = client.get(case_url(sealed)).get_data(as_text=True)
    assert "Tôi có thêm ảnh." in again
    assert 'class="case-new"' not in again


# --- who may revoke whom, after asking ------------------------------------------------------

IDENTITY_REASON = "Cơ quan điều tra yêu cầu xác minh người tố cáo"


def test_revoking_asks_first_on_a_page_of_its_own(
    app_client_pair: tuple[FlaskClient, FlaskClient],
    session: Session,
    world: World,
    sealed: SealedCase,
) -> None:
    lan_client, hoa_client = app_client_pair
    lan = world.people["lan"]
    case_page = hoa_client.get(case_url(sealed)).get_data(as_text=True)
    assert f'href="{revoke_url(sealed, lan.id)}"' in case_page  # a link: nothing happens yet

    asked = hoa_client.get(revoke_url(sealed, lan.id))
    assert asked.status_code == 200
    text = unescape(asked.get_data(as_text=True))
    assert f"Revoke {lan.display_name}'s access to this case?" in text
    assert "no longer be able to open this case" in text
    assert "recorded in the audit log" in text
    form = re.search(r'<form method="post" action="([^"]+)" id="revoke">(.*?)</form>', text, re.S)
    assert form is not None
    assert form.group(1) == revoke_url(sealed, lan.id)
    assert 'name="csrf_token"' in form.group(2)
    assert f'href="{case_url(sealed)}"' in text  # and a way back that changes nothing
    assert lan_client.get(case_url(sealed)).status_code == 200  # asking removed nothing
    assert ("hoa.thanh-tra-tinh", "revoke") not in audit_actions(session, sealed)

    token = csrf_token(hoa_client, revoke_url(sealed, lan.id))
    done = hoa_client.post(revoke_url(sealed, lan.id), data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{case_url(sealed)}?revoked={lan.id}#readers")
    said = unescape(hoa_client.get(done.headers["Location"]).get_data(as_text=True))
    assert f"{lan.display_name} can no longer read this case." in said
    assert lan_client.get(case_url(sealed)).status_code == 404
    assert ("hoa.thanh-tra-tinh", "revoke") in audit_actions(session, sealed)


def test_an_inspector_cannot_revoke_a_custodian_nor_is_offered_to(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
) -> None:
    hoa, lan = world.people["hoa"], world.people["lan"]
    signed_in(client, accounts["lan"])
    case_page = unescape(client.get(case_url(sealed)).get_data(as_text=True))
    assert revoke_url(sealed, hoa.id) not in case_page
    assert revoke_url(sealed, lan.id) in case_page  # their own access they may give up
    assert "Only a custodian can remove a custodian's access" in case_page
    asked = client.get(revoke_url(sealed, hoa.id))
    assert asked.status_code == 403
    token = csrf_token(client, case_url(sealed))
    refused = client.post(revoke_url(sealed, hoa.id), data={"csrf_token": token})
    assert refused.status_code == 403
    assert "Only a custodian can remove a custodian's access" in unescape(
        refused.get_data(as_text=True)
    )
    session.expire_all()
    assert access.inspector_wrap(sealed.case, hoa.id) is not None
    assert ("lan.thanh-tra-tinh", "revoke") not in audit_actions(session, sealed)


def test_giving_up_ones_own_access_says_so_once_on_the_next_page(
    client: FlaskClient, world: World, accounts: dict[str, Account], sealed: SealedCase
) -> None:
    signed_in(client, accounts["lan"])
    lan = world.people["lan"]
    token = csrf_token(client, revoke_url(sealed, lan.id))
    gone = client.post(revoke_url(sealed, lan.id), data={"csrf_token": token})
    assert gone.status_code == 303
    assert gone.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    reference = public_reference(sealed.case.public_id)
    said = f'role="status" id="done">\n      <p>You can no longer read case {reference}.</p>'
    assert said in home
    assert 'id="done"' not in client.get("/").get_data(as_text=True)


def test_a_custodian_who_steps_aside_keeps_the_identity_and_has_it_again_with_the_case(
    app_client_pair: tuple[FlaskClient, FlaskClient],
    session: Session,
    world: World,
) -> None:
    named = seal_case(session, world, FAST, identity={"schema": 1, "name": "Trần Thị Kín"})
    lan_client, hoa_client = app_client_pair
    hoa = world.people["hoa"]
    token = csrf_token(hoa_client, case_url(named))
    gone = hoa_client.post(revoke_url(named, hoa.id), data={"csrf_token": token})
    assert gone.status_code == 303
    assert hoa_client.get(case_url(named, "/identity")).status_code == 404
    session.expire_all()
    assert access.identity_wrap(named.case, hoa.id) is not None  # kept, out of reach

    lan_token = csrf_token(lan_client, case_url(named))
    granted = lan_client.post(
        case_url(named, "/grant"), data={"csrf_token": lan_token, "person": str(hoa.id)}
    )
    assert granted.status_code == 303
    token = csrf_token(hoa_client, case_url(named, "/identity"))
    opened = hoa_client.post(
        case_url(named, "/identity"), data={"csrf_token": token, "reason": IDENTITY_REASON}
    )
    assert opened.status_code == 200
    assert "Trần Thị Kín" in opened.get_data(as_text=True)


# --- a case forwarded away is read only ---------------------------------------------------


def test_a_case_forwarded_away_is_read_only_on_its_page(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    sealed: SealedCase,
    forwarded_away: World,
) -> None:
    hoa = world.people["hoa"]
    signed_in(client, accounts["lan"])
    page = client.get(case_url(sealed))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert REPORT["who"] in text  # still readable
    assert 'id="forwarded-away"' in text
    for form in ('id="reply"', 'id="grant"', "/revoke"):
        assert form not in text
    token = csrf_token(client, case_url(sealed))
    before = len(sealed.case.key_wraps)
    attempts = [
        post_reply(client, sealed, [("csrf_token", token), ("text", "Chào")]),
        client.post(
            case_url(sealed, "/grant"),
            data={"csrf_token": token, "person": str(world.people["minh"].id)},
        ),
        client.get(revoke_url(sealed, hoa.id)),
        client.post(revoke_url(sealed, hoa.id), data={"csrf_token": token}),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert "forwarded to another unit" in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalars(select(Message)).all() == []
    assert len(session.get_one(Case, sealed.case.id).key_wraps) == before
    done = {action for _, action in audit_actions(session, sealed)}
    assert not done & {"reply", "grant", "revoke"}


# --- a malformed sealed report: the good parts and a note, never a 5xx ----------------------

TEXTS = {field: REPORT[field] for field in access.REPORT_FIELDS}
DETAILS = REPORT["protection"]["details"]
NESTED: object = "đáy"
for _level in range(200):  # deep, but within what the JSON parser reads
    NESTED = [NESTED, {"junk": NESTED if _level % 50 == 0 else None}]
MALFORMED_REPORTS = [
    pytest.param(
        {**TEXTS, "protection": {"people": 5, "kinds": ["job"], "details": DETAILS}},
        ["Protection requested"],
        id="people-a-number",
    ),
    pytest.param(
        {**TEXTS, "protection": {"people": None, "kinds": "job", "details": DETAILS}},
        ["Protection requested"],
        id="kinds-a-string",
    ),
    pytest.param(
        {**TEXTS, "protection": {"people": [1, "reporter", None], "kinds": {"a": 1}, "details": 7}},
        ["Protection requested"],
        id="protection-wrong-inside",
    ),
    pytest.param({**TEXTS, "protection": "yes"}, ["Protection requested"], id="protection-text"),
    pytest.param(
        {**TEXTS, "protection": [DETAILS]}, ["Protection requested"], id="protection-list"
    ),
    pytest.param({**TEXTS, "protection": 0}, ["Protection requested"], id="protection-zero"),
    pytest.param({**TEXTS, "what": 5}, ["What happened"], id="what-a-number"),
    pytest.param(
        {key: value for key, value in TEXTS.items() if key != "what"},
        ["What happened"],
        id="what-missing",
    ),
    pytest.param(
        {**TEXTS, "who": ["nested", {"junk": [1, [2, [3]]]}], "when": True, "evidence": {}},
        ["Who is involved", "When", "Evidence, and where it is"],
        id="fields-wrong-types",
    ),
    pytest.param(
        {"schema": "x", "language": 7, "category": [], **dict.fromkeys(TEXTS, 0)},
        ["What happened", "Who is involved", "Where", "When", "How the reporter knows"],
        id="every-field-wrong",
    ),
    pytest.param(
        {**TEXTS, "extra": {"deep": NESTED}, "schema": 99, "protection": {"details": DETAILS}},
        [],
        id="extra-keys-and-nested-junk",
    ),
    pytest.param(
        {**TEXTS, "protection": {"people": [NESTED], "kinds": ["job"], "details": DETAILS}},
        ["Protection requested"],
        id="nested-junk-in-protection",
    ),
    pytest.param(
        {
            **TEXTS,
            "what": "Tham nhũng " * 100_000,
            "protection": {"people": ["reporter"] * 50_000, "kinds": [], "details": DETAILS},
        },
        [],
        id="huge-values",
    ),
]


@pytest.mark.parametrize(("report", "left_out"), MALFORMED_REPORTS)
def test_a_malformed_report_shows_its_good_parts_and_says_what_is_left_out(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    report: dict[str, object],
    left_out: list[str],
) -> None:
    case = seal_case(session, world, FAST, report=report)
    for name in ("lan", "hoa"):  # every reader, not only the first
        reader = signed_in(app_client(client), accounts[name])
        page = reader.get(case_url(case))
        assert page.status_code == 200
        html = unescape(page.get_data(as_text=True))
        for field in access.REPORT_FIELDS:
            value = report.get(field)
            shown = f'id="report-{field}">{value}</dd>' in html
            assert shown == (isinstance(value, str) and bool(value.strip())), field
        protection = report.get("protection")
        if isinstance(protection, dict) and isinstance(protection.get("details"), str):
            assert f'id="protection-details">{protection["details"]}</p>' in html
        note = re.search(r'<p class="notice notice-error" id="report-malformed">(.*?)</p>', html)
        if left_out:
            assert note is not None
            assert "cannot be shown" in note.group(1)
            for label in left_out:
                assert label in note.group(1)
        else:
            assert note is None


@pytest.mark.parametrize(
    "plaintext",
    [
        pytest.param(b'{"what":"x","junk":' + b"[" * 5000 + b"]" * 5000 + b"}", id="too-deep"),
        pytest.param(b'{"what":1' + b"0" * 5000 + b"}", id="integer-too-long"),
        pytest.param(b'["what","x"]', id="not-an-object"),
        pytest.param(b'"what"', id="a-string"),
    ],
)
def test_a_report_no_parser_reads_is_said_so_and_the_page_stands(
    client: FlaskClient,
    session: Session,
    world: World,
    accounts: dict[str, Account],
    plaintext: bytes,
) -> None:
    case = seal_case(session, world, FAST)
    stored = session.get_one(Case, case.case.id)
    assert stored.body is not None
    # Sealed and signed by the reporter in its own place: only the plaintext is wrong,
    # which a reader takes as a record altered (docs/crypto.md §13.4, §13.6).
    place = bound.read_place(crypto.Kind.REPORT, stored.body)
    key, signer = case.keys.case_key, case.keys.signer.key
    stored.body = bound.seal_bound(key, crypto.Kind.REPORT, place, plaintext, signer)
    session.commit()
    signed_in(client, accounts["lan"])
    page = client.get(case_url(case))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'<p class="notice notice-error" id="report-altered">{ALTERED}' in html
    assert 'id="report-what"' not in html
    assert 'id="reply"' in html  # the rest of the page stands


def app_client(client: FlaskClient) -> FlaskClient:
    """Another browser on the same app."""
    return client.application.test_client()
