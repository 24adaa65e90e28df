"""Resumable uploads over HTTP: create, ask the offset, append, delete (tus-like subset).

The routes translate HTTP to ``casework.uploads`` and back. An append streams the
body from ``request.stream`` piece by piece into the scratch file, so memory stays at one
piece and whatever arrives before a dropped connection is kept for the client to resume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import IO, NoReturn, TypeVar

from flask import Response, jsonify, make_response, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from casework import uploads
from casework.settings import MIB
from store.blobs import BlobStore
from store.models import Unit
from store.types import utc_now
from submit.api import blob_store, blueprint, field, json_object
from submit.api.challenges import require_pow
from submit.pow import Purpose
from submit.unit import current_unit, settings
from web.database import db, retry_commit, runs_once
from web.errors import RETRY_LATER, PublicError, error_response

OFFSET_STREAM = "application/offset+octet-stream"
# One scratch append (and fsync, or database commit) per piece: large enough to keep them
# rare, small enough to bound memory. A dropped connection still keeps every byte that
# arrived (body_pieces).
PIECE_SIZE = 1024 * 1024
# Read from the request at a time. Each read of the server's body reader holds a few
# copies of what it read (gunicorn's buffers, then ours): reading a whole piece at once
# raised a worker's peak by 4-5 MiB per request in flight (benchmarks/README.md).
READ_SIZE = 64 * 1024
_MAX_OFFSET_DIGITS = 20
T = TypeVar("T")


def max_upload_size() -> int:
    return uploads.ciphertext_limit(settings().max_file_size)


@blueprint.post("/uploads")
@runs_once  # the proof of work is spent once
def create_upload() -> tuple[Response, int]:
    document = json_object(allowed={"size", "pow"})
    size = field(document, "size", int)
    limit = max_upload_size()
    # Checked before the proof of work is spent: a refused size costs the client no work.
    if size <= 0:
        raise PublicError(400, "invalid_size", _("The file size must be more than zero."))
    if size > limit:
        megabytes = max(1, settings().max_file_size // MIB)
        message = _("Each file can be at most %(megabytes)d MB.", megabytes=megabytes)
        raise PublicError(413, "too_large", message)
    require_pow(document, Purpose.UPLOAD)
    store, unit, config = blob_store(), current_unit(), settings()
    try:
        created = retry_commit(
            lambda session: uploads.create(
                session,
                store,
                unit,
                size,
                max_size=limit,
                ttl_seconds=config.upload_ttl_seconds,
                now=utc_now(),
                scratch_limit=config.max_scratch_size,
            )
        )
    except uploads.ScratchFull:
        return _uploads_full()
    response = jsonify(
        id=created.token,
        offset=0,
        expires=created.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    response.headers["Location"] = url_for("api.upload_offset", upload_id=created.token)
    return response, 201


@blueprint.route("/uploads/<upload_id>", methods=["HEAD"])
def upload_offset(upload_id: str) -> Response:
    try:
        progress = uploads.offset(db(), blob_store(), upload_id, utc_now())
    except uploads.UploadNotFound:
        _not_found()
    response = Response(status=200)
    response.headers["Upload-Offset"] = str(progress.offset)
    response.headers["Upload-Length"] = str(progress.size)
    return response


@blueprint.patch("/uploads/<upload_id>")
@runs_once  # the body is read as a stream
def upload_append(upload_id: str) -> Response:
    if request.mimetype != OFFSET_STREAM:
        raise PublicError(
            415,
            "unsupported_media_type",
            _("Upload data must be sent as %(type)s.", type=OFFSET_STREAM),
        )
    expected, store = _offset_header(), blob_store()
    try:
        appending = uploads.begin_append(
            db(), store, upload_id, expected, utc_now(), length=request.content_length
        )
    except uploads.UploadNotFound:
        _not_found()
    except uploads.OffsetConflict as exc:
        return _offset_conflict(exc.current)
    except uploads.BeyondDeclaredSize as exc:
        return _beyond_declared_size(exc.current)
    # No transaction stays open while the body streams in: over Tor that takes minutes.
    db().commit()
    try:
        position = uploads.write_pieces(store, appending, _pieces())
    except uploads.UploadNotFound:
        _not_found()
    except uploads.OffsetConflict as exc:
        _record(appending, exc.current)  # the row, brought in step with the scratch file
        return _offset_conflict(exc.current)
    except uploads.BeyondDeclaredSize as exc:
        _record(appending, exc.current)  # as above: what did fit was appended
        return _beyond_declared_size(exc.current)
    _record(appending, position)
    response = Response(status=204)
    response.headers["Upload-Offset"] = str(position)
    return response


def _record(appending: uploads.Appending, position: int) -> None:
    retry_commit(lambda session: uploads.record_offset(session, appending.upload_id, position))


def _uploads_full() -> tuple[Response, int]:
    message = _(
        "Too many files are being sent to this service at the moment. Nothing was kept: "
        "please try again in a few minutes."
    )
    response = make_response(error_response(503, "uploads_full", message))
    response.headers.update(RETRY_LATER)
    return response, 503


def _offset_conflict(current: int) -> Response:
    return _with_offset(
        409,
        "offset_mismatch",
        _("The upload is at another position; continue from Upload-Offset."),
        current,
    )


def _beyond_declared_size(current: int) -> Response:
    return _with_offset(
        413, "beyond_declared_size", _("This upload is larger than its declared size."), current
    )


@blueprint.delete("/uploads/<upload_id>")
def upload_delete(upload_id: str) -> Response:
    session = db()
    try:
        uploads.delete(session, blob_store(), upload_id, utc_now())
    except uploads.UploadNotFound:
        _not_found()
    session.commit()
    return Response(status=204)


def _offset_header() -> int:
    raw = request.headers.get("Upload-Offset", "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_OFFSET_DIGITS:
        raise PublicError(
            400, "malformed_offset", _("The Upload-Offset header must be a whole number.")
        )
    return int(raw)


def _pieces() -> Iterator[bytearray]:
    return body_pieces(request.stream)


def body_pieces(stream: IO[bytes]) -> Iterator[bytearray]:
    """``stream`` in pieces of PIECE_SIZE (the last one shorter), read READ_SIZE at a time
    into a piece made at its full size, so that a piece is the only copy of its bytes.

    A client that goes away mid-piece still gets what arrived of it appended: that part
    comes out as a last, shorter piece before the error."""
    piece, filled = bytearray(PIECE_SIZE), 0
    try:
        while data := stream.read(min(READ_SIZE, PIECE_SIZE - filled)):
            piece[filled : filled + len(data)] = data
            filled += len(data)
            if filled == PIECE_SIZE:
                yield piece
                piece, filled = bytearray(PIECE_SIZE), 0
    except Exception:
        if filled:
            yield piece[:filled]
        raise
    if filled:
        yield piece[:filled]


def _with_offset(status: int, code: str, message: str, offset: int) -> Response:
    response = make_response(error_response(status, code, message))
    response.headers["Upload-Offset"] = str(offset)
    return response


def _not_found() -> NoReturn:
    # Unknown, expired, claimed or deleted: the same answer, so ids cannot be probed.
    raise PublicError(
        404, "upload_not_found", _("This upload does not exist or has expired. Please start again.")
    )


def store_with_uploads(
    tokens: Sequence[str], store: Callable[[Session, list[uploads.Claimed]], T]
) -> T:
    """Claim the uploads ``tokens`` names, ``store`` what refers to them, and commit.

    A transient refusal runs it all again. Any failure rolls back and gives the uploads
    back to their owner, so the same submission can be sent again.
    """
    session, blobs, unit = db(), blob_store(), current_unit()

    def attempt() -> T:
        claimed = claim_uploads(session, blobs, unit, tokens)
        try:
            result = store(session, claimed)
            session.commit()
        except BaseException:
            session.rollback()
            uploads.unclaim(blobs, claimed)
            raise
        return result

    return retry_commit(lambda _session: attempt())


def claim_uploads(
    session: Session, store: BlobStore, unit: Unit, tokens: Sequence[str]
) -> list[uploads.Claimed]:
    """Claim completed uploads for a report or a message, or refuse with a clear 409."""
    try:
        return uploads.claim(session, store, unit, list(tokens))
    except uploads.UploadNotFound:
        raise PublicError(
            409,
            "upload_not_found",
            _("An attached file was not found or has expired. Please attach it again."),
        ) from None
    except uploads.UploadIncomplete:
        raise PublicError(
            409,
            "upload_incomplete",
            _("An attached file has not finished uploading. Please wait and send it again."),
        ) from None
