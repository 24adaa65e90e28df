"""Resumable uploads over HTTP, including a connection cut in the middle of an append."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import io
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.exceptions import ClientDisconnected
from werkzeug.test import TestResponse

from casework import uploads
from casework.recipients import unit_recipients
from casework.sealing import NewCaseKeys, seal_submission
from casework.settings import Settings
from crypto.encoding import b64u_decode
from store.blobs import FilesystemBlobStore
from store.models import Case, Upload
from submit import create_app
from submit.api.uploads import PIECE_SIZE, body_pieces
from tests.live import serve
from tests.submit.test_api_support import (
    OFFSET_STREAM,
    Api,
    api,
    case_key_of,
    envelope_of,
    open_attachment,
    openapi_checked,
    pending_files,
    seal_file,
)
from tests.worlds import World

__all__ = ["api", "openapi_checked"]  # fixtures
pytestmark = pytest.mark.usefixtures("openapi_checked")


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


def scratch_files(store: FilesystemBlobStore) -> list[str]:
    return sorted(os.listdir(store.root / "scratch"))


def error_code(response: TestResponse) -> str:
    return str(response.get_json()["error"]["code"])


def test_create_answers_id_location_offset_and_expiry(api: Api) -> None:
    response = api.post("/uploads", {"size": 5000, "pow": api.solution("upload")})
    assert response.status_code == 201
    body = response.get_json()
    assert len(b64u_decode(body["id"])) == 32
    assert body["offset"] == 0
    assert response.headers["Location"] == f"/api/v1/uploads/{body['id']}"
    expires = datetime.strptime(body["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (expires.minute, expires.second) == (0, 0)
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 25 * 3600


def test_the_whole_protocol_ends_in_a_report_whose_file_opens(
    api: Api, session: Session, world: World, store: FilesystemBlobStore
) -> None:
    keys = NewCaseKeys()
    data = os.urandom(150_000)
    sealed = seal_file(
        keys.case_key, keys.case_id, data, "hợp đồng.pdf", "application/pdf", keys.signer
    )
    token = api.create_upload(len(sealed.stream))

    head = api.head(token)
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == (
        "0",
        str(len(sealed.stream)),
    )
    offset = 0
    for piece in (sealed.stream[:70_000], sealed.stream[70_000:]):
        response = api.patch(token, offset, piece)
        assert response.status_code == 204
        offset += len(piece)
        assert response.headers["Upload-Offset"] == str(offset)
    assert api.head(token).headers["Upload-Offset"] == str(len(sealed.stream))

    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"what": "x"},
        identity=None,
        attachments=pending_files(sealed.meta),
    )
    response = api.post(
        "/reports", envelope_of(submission, api.solution("report"), [(token, sealed.meta)])
    )
    assert response.status_code == 201

    session.rollback()  # end the test session's read transaction: see the app's commit
    case = session.scalars(select(Case).where(Case.public_id == keys.case_id)).one()
    [attachment] = case.attachments
    assert attachment.stored_size == len(sealed.stream)
    case_key = case_key_of(case, world.people["lan"].id, world.key_of("lan"))
    meta, opened = open_attachment(store, case, case_key, attachment)
    assert (meta.name, meta.type, opened) == ("hợp đồng.pdf", "application/pdf", data)
    assert api.head(token).status_code == 404  # claimed: the upload is gone
    assert session.scalars(select(Upload)).all() == []
    assert scratch_files(store) == []


def test_a_wrong_offset_gets_409_with_the_offset_to_resume_from(api: Api) -> None:
    token = api.create_upload(10)
    assert api.patch(token, 0, b"abcd").status_code == 204
    response = api.patch(token, 2, b"cdef")
    assert response.status_code == 409
    assert error_code(response) == "offset_mismatch"
    assert response.headers["Upload-Offset"] == "4"
    resumed = api.patch(token, int(response.headers["Upload-Offset"]), b"efghij")
    assert resumed.status_code == 204
    assert resumed.headers["Upload-Offset"] == "10"


def test_a_retried_append_that_already_arrived_is_not_written_twice(api: Api) -> None:
    token = api.create_upload(10)
    assert api.patch(token, 0, b"abcde").status_code == 204
    retry = api.patch(token, 0, b"abcde")  # its answer was lost, so the client sends it again
    assert retry.status_code == 409
    assert retry.headers["Upload-Offset"] == "5"
    assert api.head(token).headers["Upload-Offset"] == "5"


def test_bytes_past_the_declared_size_get_413(api: Api) -> None:
    token = api.create_upload(10)
    response = api.patch(token, 0, b"x" * 11)
    assert response.status_code == 413
    assert error_code(response) == "beyond_declared_size"
    assert response.headers["Upload-Offset"] == "0"
    assert api.head(token).headers["Upload-Offset"] == "0"


def test_declared_sizes_outside_the_limit_are_refused(api: Api, settings: Settings) -> None:
    limit = uploads.ciphertext_limit(settings.max_file_size)
    too_big = api.post("/uploads", {"size": limit + 1, "pow": api.solution("upload")})
    assert (too_big.status_code, error_code(too_big)) == (413, "too_large")
    for size in (0, -5):
        response = api.post("/uploads", {"size": size, "pow": api.solution("upload")})
        assert (response.status_code, error_code(response)) == (400, "invalid_size")
    for wrong in ("10", 1.5, True, None):
        response = api.post("/uploads", {"size": wrong, "pow": api.solution("upload")})
        assert (response.status_code, error_code(response)) == (400, "malformed_field")
    assert api.post("/uploads", {"size": limit, "pow": api.solution("upload")}).status_code == 201


def test_appends_need_the_offset_header_and_the_tus_content_type(api: Api) -> None:
    token = api.create_upload(10)
    url = f"/api/v1/uploads/{token}"
    wrong_type = api.client.patch(
        url, data=b"abc", headers={**api.headers, "Upload-Offset": "0"}, content_type="text/plain"
    )
    assert (wrong_type.status_code, error_code(wrong_type)) == (415, "unsupported_media_type")
    for offset in ("", "-1", "1.0", "٣", "9" * 30):
        response = api.client.patch(
            url,
            data=b"abc",
            headers={**api.headers, "Upload-Offset": offset},
            content_type=OFFSET_STREAM,
        )
        assert (response.status_code, error_code(response)) == (400, "malformed_offset"), offset
    no_csrf = api.client.patch(
        url, data=b"abc", headers={"Upload-Offset": "0"}, content_type=OFFSET_STREAM
    )
    assert no_csrf.status_code == 400
    assert api.head(token).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("token", ["A" * 43, "nonsense", "A" * 44, "Zm9v"])
def test_unknown_ids_are_not_found_for_every_method(api: Api, token: str) -> None:
    api.create_upload(10)
    head = api.head(token)
    assert head.status_code == 404
    for response in (
        api.patch(token, 0, b"abc"),
        api.client.delete(f"/api/v1/uploads/{token}", headers=api.headers),
    ):
        assert (response.status_code, error_code(response)) == (404, "upload_not_found")


def test_delete_removes_the_upload(api: Api, store: FilesystemBlobStore, session: Session) -> None:
    token = api.create_upload(10)
    api.patch(token, 0, b"abc")
    response = api.client.delete(f"/api/v1/uploads/{token}", headers=api.headers)
    assert response.status_code == 204
    assert api.head(token).status_code == 404
    assert scratch_files(store) == []
    assert session.scalars(select(Upload)).all() == []


def test_expired_uploads_are_not_found_and_collected(
    api: Api, store: FilesystemBlobStore, session: Session
) -> None:
    token = api.create_upload(10)
    api.patch(token, 0, b"abc")
    session.execute(text("UPDATE uploads SET expires_at = '2020-01-01 00:00:00.000000'"))
    session.commit()
    assert api.head(token).status_code == 404
    assert error_code(api.patch(token, 3, b"def")) == "upload_not_found"
    assert scratch_files(store) != []

    assert uploads.collect_garbage(session, store, datetime.now(UTC)) == 1
    session.commit()
    assert session.scalars(select(Upload)).all() == []
    assert scratch_files(store) == []


def test_upload_ids_are_stored_only_hashed(
    api: Api, store: FilesystemBlobStore, session: Session, settings: Settings
) -> None:
    token = api.create_upload(10)
    api.patch(token, 0, b"abc")
    digest = hashlib.sha256(b64u_decode(token)).hexdigest()
    assert session.scalars(select(Upload.id)).all() == [digest]
    assert scratch_files(store) == [digest]
    database = Path(str(settings.database_url).removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert token.encode() not in raw
    assert b64u_decode(token) not in raw


# --- a real server and a connection that breaks -----------------------------------------


def test_a_connection_cut_mid_append_keeps_what_arrived_and_resumes(
    app: Flask, api: Api, session: Session, world: World, store: FilesystemBlobStore
) -> None:
    keys = NewCaseKeys()
    data = os.urandom(300_000)
    sealed = seal_file(keys.case_key, keys.case_id, data, "ghi âm.m4a", "audio/mp4", keys.signer)
    token = api.create_upload(len(sealed.stream))
    cookie = api.client.get_cookie("mb_submit")
    assert cookie is not None
    sent = 123_457

    with serve(app) as base:
        host, port = urlsplit(base).hostname, urlsplit(base).port
        assert host is not None
        assert port is not None
        head = (
            f"PATCH /api/v1/uploads/{token} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Cookie: mb_submit={cookie.value}\r\n"
            f"X-CSRFToken: {api.token}\r\n"
            f"Content-Type: {OFFSET_STREAM}\r\n"
            "Upload-Offset: 0\r\n"
            f"Content-Length: {len(sealed.stream)}\r\n\r\n"
        )
        with socket.create_connection((host, port)) as connection:
            connection.sendall(head.encode("ascii") + sealed.stream[:sent])
        # The socket is closed mid-body; the server keeps what it read.
        offset = wait_for_offset(host, port, token, sent)
        assert offset == sent

        live = http.client.HTTPConnection(host, port, timeout=10)
        live.request(
            "PATCH",
            f"/api/v1/uploads/{token}",
            body=sealed.stream[offset:],
            headers={
                "Cookie": f"mb_submit={cookie.value}",
                "X-CSRFToken": api.token,
                "Content-Type": OFFSET_STREAM,
                "Upload-Offset": str(offset),
            },
        )
        resumed = live.getresponse()
        resumed.read()
        live.close()
        assert resumed.status == 204
        assert resumed.getheader("Upload-Offset") == str(len(sealed.stream))

    submission = seal_submission(
        keys,
        unit_recipients(session, world.unit),
        category="land",
        report={"what": "y"},
        identity=None,
        attachments=pending_files(sealed.meta),
    )
    response = api.post(
        "/reports", envelope_of(submission, api.solution("report"), [(token, sealed.meta)])
    )
    assert response.status_code == 201
    session.rollback()
    case = session.scalars(select(Case).where(Case.public_id == keys.case_id)).one()
    case_key = case_key_of(case, world.people["hoa"].id, world.key_of("hoa"))
    _meta, opened = open_attachment(store, case, case_key, case.attachments[0])
    assert opened == data


def wait_for_offset(host: str, port: int, token: str, expected: int) -> int:
    """HEAD until the server has finished with the broken request (it runs in a thread)."""
    deadline = time.monotonic() + 10
    offset = -1
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.request("HEAD", f"/api/v1/uploads/{token}")
        response = connection.getresponse()
        response.read()
        connection.close()
        offset = int(response.getheader("Upload-Offset") or -1)
        if offset == expected:
            break
        time.sleep(0.05)
    return offset


def test_uploads_in_progress_may_not_reserve_more_than_the_scratch_limit(
    settings: Settings, world: World, session: Session
) -> None:
    """A flood of reservations is refused clearly (503, Retry-After) before the disk fills;
    space comes back when an upload is deleted, claimed or expires."""
    capped = dataclasses.replace(settings, max_scratch_size=3 * 1000)
    app = create_app(capped)
    app.config["TESTING"] = True
    api = Api(app, app.test_client())
    tokens = [api.create_upload(1000) for _ in range(3)]
    refused = api.post("/uploads", {"size": 1, "pow": api.solution("upload")})
    assert refused.status_code == 503
    assert error_code(refused) == "uploads_full"
    assert refused.headers["Retry-After"]
    assert len(session.scalars(select(Upload)).all()) == 3
    session.rollback()  # a fresh snapshot: the app writes meanwhile

    assert api.client.delete(f"/api/v1/uploads/{tokens[0]}", headers=api.headers).status_code == 204
    api.create_upload(1000)  # the deleted one's space is free again
    session.execute(text("UPDATE uploads SET expires_at = '2000-01-01 00:00:00+00:00'"))
    session.commit()
    api.create_upload(3000)  # expired uploads hold nothing, collected or not


class _CutStream(io.RawIOBase):
    """``data``, handed out in reads of at most 1,000 bytes, then the client goes away."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            raise ClientDisconnected()
        count = min(len(buffer), 1000, len(self._data))
        buffer[:count], self._data = self._data[:count], self._data[count:]
        return count


def test_a_body_is_appended_in_whole_pieces_and_what_arrived_of_the_last_one() -> None:
    data = os.urandom(2 * PIECE_SIZE + 12_345)
    pieces: list[bytes] = []
    # Unbuffered, as werkzeug's stream is: a read returns what arrived, the next one raises.
    stream = cast("IO[bytes]", _CutStream(data))

    def keep_all() -> None:
        pieces.extend(bytes(piece) for piece in body_pieces(stream))

    with pytest.raises(ClientDisconnected):
        keep_all()
    assert [len(piece) for piece in pieces] == [PIECE_SIZE, PIECE_SIZE, 12_345]
    assert b"".join(pieces) == data
    assert [len(bytes(p)) for p in body_pieces(io.BytesIO(data[:PIECE_SIZE]))] == [PIECE_SIZE]
