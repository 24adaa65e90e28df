"""Reading a multipart/form-data request as it streams in: text into memory, files
encrypted on arrival into the blob store.

Werkzeug's form parser spools uploads to temporary files, which would put a no-JavaScript
reporter's attachments on disk in plaintext. Here a file never leaves memory unencrypted:
each piece is sealed with ``crypto.FileEncryptor`` and written to a blob as it arrives, so
memory stays bounded by one read piece, one chunk and the text fields, whatever the size.

Use::

    with FileSealer(store, case_key, case_id, signer) as sealer:  # casework.sealing
        form = read_form(request.stream, boundary, spec, sealer, check_token)
        ...                                    # validate, store the case, commit
        sealer.keep()
    # leaving the block without keep(), by return or exception, deletes every blob written

The form's anti-forgery token must be its first part: it is checked before any file is
read, so a forged cross-site request never gets a byte encrypted or stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

from flask import request
from flask_babel import format_decimal
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Event,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    Preamble,
)
from wtforms import ValidationError

from casework.intake import MAX_ATTACHMENTS, AttachmentIn
from web import labels
from web.errors import PublicError, storage_refusal
from web.i18n import translate as _

PIECE_SIZE = 64 * 1024
# What the decoder may hold at once: part headers, or the rest of a piece it cannot yet
# tell from a boundary. Refusing more stops a client that sends endless headers.
DECODER_BUFFER = 256 * 1024
TOKEN_MAX_BYTES = 1024
# A character is at most 4 bytes of UTF-8, and browsers send each line break as CR LF.
BYTES_PER_CHAR = 5
DEFAULT_FILE_NAME = "file"
DEFAULT_FILE_TYPE = "application/octet-stream"
MAX_TYPE_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n?")


class FormError(Exception):
    """The request cannot be read as the form; ``status`` and ``code`` for the answer."""

    status = 400
    code = "malformed_form"


class MalformedForm(FormError):
    pass


class MissingToken(FormError):
    """The first part is not the anti-forgery token."""

    code = "csrf_missing"


class FormTooLarge(FormError):
    """Too many parts or too much text: no browser filling in the form sends this."""

    status = 413
    code = "form_too_large"


class FileRefused(FormError):
    """A file broke a limit; the text read so far is in ``form``, to show it again."""

    status = 413

    def __init__(self, limit: int, form: ReceivedForm) -> None:
        super().__init__(self.code)
        self.limit = limit
        self.form = form


class FileNotStored(FormError):
    """A file could not be written (the disk is full, say); the text read so far is in
    ``form``, to show it again, and ``error`` is what the blob store raised."""

    status = 503
    code = "not_stored"

    def __init__(self, error: OSError, form: ReceivedForm) -> None:
        super().__init__(self.code)
        self.error = error
        self.form = form


class FileTooLarge(FileRefused):
    code = "file_too_large"


class FilesTooLarge(FileRefused):
    code = "files_too_large"


class TooManyFiles(FileRefused):
    code = "too_many_files"


@dataclass(frozen=True)
class FormSpec:
    """What to keep of a form and how much of it to accept."""

    token_field: str
    text_fields: frozenset[str]  # kept; parts with other names are read and dropped
    file_field: str
    max_chars: int  # per text value, after line breaks are normalised to "\n"
    max_text_bytes: int  # all text values together
    max_parts: int
    max_files: int
    max_file_size: int  # plaintext bytes of one file
    max_files_size: int  # plaintext bytes of all files together


# A form that seals a report (the public report form, the review app's registration of a
# paper one): room for its text, part headers and boundaries on top of the files, for all
# its text values together, and for parts a browser may add, such as a named button.
REPORT_TEXT_ALLOWANCE = 4 * 1024 * 1024
REPORT_TEXT_BYTES = 2 * 1024 * 1024
SPARE_PARTS = 16


def report_form_spec(
    text_fields: frozenset[str],
    file_field: str,
    *,
    max_chars: int,
    max_file_size: int,
    max_report_size: int,
    choices: int = 0,
) -> FormSpec:
    """The limits of a form that seals a report; ``choices``: its checkboxes, each a part."""
    return FormSpec(
        token_field="csrf_token",  # noqa: S106 - a field name, not a secret
        text_fields=text_fields,
        file_field=file_field,
        max_chars=max_chars,
        max_text_bytes=REPORT_TEXT_BYTES,
        max_parts=1 + len(text_fields) + choices + MAX_ATTACHMENTS + SPARE_PARTS,
        max_files=MAX_ATTACHMENTS,
        max_file_size=max_file_size,
        max_files_size=max_report_size,
    )


@dataclass
class ReceivedForm:
    values: dict[str, list[str]] = field(default_factory=dict)
    overlong: set[str] = field(default_factory=set)  # cut to ``max_chars``
    attachments: list[AttachmentIn] = field(default_factory=list)
    files_chosen: int = 0  # file parts with a name, kept or not

    def get(self, name: str) -> str:
        values = self.values.get(name)
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))


class FileSink(Protocol):
    def seal(self, name: str, type_: str, pieces: Iterable[bytes]) -> AttachmentIn: ...


class DropFiles:
    """Reads a file part to its end and keeps nothing: for a form whose files cannot be
    encrypted (no key to encrypt under, no place to store them), only its text is kept."""

    def seal(self, name: str, type_: str, pieces: Iterable[bytes]) -> AttachmentIn:
        for _piece in pieces:
            pass
        return AttachmentIn(blob_id="", meta=b"", stored_size=0)


def limit_body(limit: int, too_large: Callable[[], str]) -> None:
    """Refuse a body larger than ``limit`` before reading a byte of it (413 with the
    message ``too_large`` gives); the limit also stops a chunked body without a declared
    length while it streams."""
    if request.content_length is not None and request.content_length > limit:
        raise PublicError(413, "too_large", too_large())
    request.max_content_length = limit


def token_checker(expired: Callable[[], str]) -> Callable[[str], None]:
    """What ``read_form`` calls with the anti-forgery token a streamed form carried in its
    first part (the global CSRF check cannot read such a form without spooling it): a
    wrong or old token is refused with 400 and the message ``expired`` gives."""

    def check(token: str) -> None:
        try:
            validate_csrf(token)
        except ValidationError:
            raise PublicError(400, "csrf_failed", expired()) from None

    return check


def read_text_only(
    stream: IO[bytes], boundary: bytes, spec: FormSpec, check_token: Callable[[str], None]
) -> ReceivedForm:
    """The form's text, its files read and dropped (``files_chosen`` counts them), the rest
    of a body that breaks a limit drained: to show someone what they typed."""
    try:
        return read_form(stream, boundary, spec, DropFiles(), check_token)
    except FileRefused as refused:
        drain(stream)
        return refused.form


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None if it has none usable."""
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    # RFC 2046: 1 to 70 characters, ASCII.
    if mimetype != "multipart/form-data" or not 0 < len(boundary) <= 70 or not boundary.isascii():
        return None
    return boundary.encode("ascii")


def read_form(
    stream: IO[bytes],
    boundary: bytes,
    spec: FormSpec,
    sink: FileSink,
    check_token: Callable[[str], None],
) -> ReceivedForm:
    """Read the whole body; ``check_token`` raises to refuse a wrong token.

    Raises a ``FormError`` for a body that is not this form; whatever ``sink`` stored
    before is the caller's to discard (``FileSealer`` does so when left).
    """
    parts = _Parts(stream, boundary, spec.max_parts)
    form = ReceivedForm()
    reader = _FormReader(parts, spec, sink, form)
    event = parts.next()
    if isinstance(event, Preamble):
        event = parts.next()
    if not (isinstance(event, Field) and event.name == spec.token_field):
        raise MissingToken()
    check_token(_decode(_read_bytes(parts, TOKEN_MAX_BYTES)[0], strict=True))
    while not isinstance(event := parts.next(), Epilogue):
        reader.part(event)
    return form


def drain(stream: IO[bytes]) -> None:
    """Read and drop the rest of a request, so the browser gets to see the answer.

    Answering before the body is read makes many browsers show "connection reset"
    instead of the page; the body was already found acceptable in size.
    """
    try:
        while stream.read(PIECE_SIZE):
            pass
    except (HTTPException, OSError):  # too long after all, or the client went away
        return


class _Parts:
    """Pull-style events over Werkzeug's push-style multipart decoder."""

    def __init__(self, stream: IO[bytes], boundary: bytes, max_parts: int) -> None:
        self._stream = stream
        self._decoder = MultipartDecoder(boundary, DECODER_BUFFER, max_parts=max_parts)
        # Werkzeug's decoder, given a read that ends inside a closing delimiter
        # ("\r\n--boundary-"), takes its "\r" for data: the last part would gain a byte. So
        # whatever may start a delimiter is held back until the next read completes it.
        self._held = b""
        self._delimiter_length = len(b"\r\n--" + boundary + b"--")

    def next(self) -> Event:
        while True:
            try:
                event = self._decoder.next_event()
            except RequestEntityTooLarge:
                raise FormTooLarge() from None
            except ValueError:  # also UnicodeDecodeError in part headers
                raise MalformedForm() from None
            if not isinstance(event, NeedData):
                return event
            self._feed()

    def data(self) -> Iterator[bytes]:
        """The current part's contents, piece by piece."""
        while True:
            event = self.next()
            if not isinstance(event, Data):
                raise MalformedForm()
            if event.data:
                yield event.data
            if not event.more_data:
                return

    def _feed(self) -> None:
        try:
            piece = self._stream.read(PIECE_SIZE)
        except RequestEntityTooLarge:  # a chunked body longer than the request may be
            raise FormTooLarge() from None
        if piece:
            piece, self._held = _hold_back(self._held + piece, self._delimiter_length)
            self._receive(piece)
        else:  # the end: all of it
            self._receive(self._held)
            self._held = b""
            self._receive(None)

    def _receive(self, piece: bytes | None) -> None:
        try:
            self._decoder.receive_data(piece)
        except RequestEntityTooLarge:
            raise FormTooLarge() from None


def _hold_back(data: bytes, window: int) -> tuple[bytes, bytes]:
    """``data`` split at its first line break among the last ``window`` bytes (where a
    delimiter may begin and be cut short): what to decode now, and what to hold back."""
    start = max(0, len(data) - window)
    breaks = [at for at in (data.find(b"\r", start), data.find(b"\n", start)) if at >= 0]
    cut = min(breaks, default=len(data))
    return data[:cut], data[cut:]


class _FormReader:
    """Handles the parts after the token: text into ``form``, files into ``sink``."""

    def __init__(self, parts: _Parts, spec: FormSpec, sink: FileSink, form: ReceivedForm) -> None:
        self._parts, self._spec, self._sink, self._form = parts, spec, sink, form
        self._text_bytes = 0
        self._files_size = 0

    def part(self, event: Event) -> None:
        if isinstance(event, File) and event.name == self._spec.file_field:
            self._file(event)
        elif isinstance(event, Field) and event.name in self._spec.text_fields:
            self._text(event.name)
        elif isinstance(event, Field | File):
            for _ in self._parts.data():  # a part this form does not have
                pass
        else:
            raise MalformedForm()

    def _text(self, name: str) -> None:
        spec = self._spec
        raw, cut = _read_bytes(self._parts, spec.max_chars * BYTES_PER_CHAR)
        self._text_bytes += len(raw)
        if self._text_bytes > spec.max_text_bytes:
            raise FormTooLarge()
        text = _LINE_BREAK.sub("\n", _decode(raw, strict=not cut))
        if cut or len(text) > spec.max_chars:
            self._form.overlong.add(name)
            text = text[: spec.max_chars]
        self._form.values.setdefault(name, []).append(text)

    def _file(self, event: File) -> None:
        pieces = self._parts.data()
        if not event.filename:  # no file chosen: browsers still send an empty part
            for _ in pieces:
                pass
            return
        form = self._form
        form.files_chosen += 1
        if len(form.attachments) >= self._spec.max_files:
            raise TooManyFiles(self._spec.max_files, form)
        name = clean_file_name(event.filename)
        type_ = clean_file_type(event.headers.get("Content-Type"))
        try:
            form.attachments.append(self._sink.seal(name, type_, self._limited(pieces)))
        except OSError as error:
            if not storage_refusal(error):  # a dropped connection, say: not the disk
                raise
            raise FileNotStored(error, form) from error

    def _limited(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        """Stop, as soon as a limit is crossed, before the piece that crosses it is used."""
        spec, size = self._spec, 0
        for piece in pieces:
            size += len(piece)
            self._files_size += len(piece)
            if size > spec.max_file_size:
                raise FileTooLarge(spec.max_file_size, self._form)
            if self._files_size > spec.max_files_size:
                raise FilesTooLarge(spec.max_files_size, self._form)
            yield piece


def clean_file_name(filename: str) -> str:
    """The name without any folder (some browsers send a full path) or control characters."""
    name = _CONTROL.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name or DEFAULT_FILE_NAME


def clean_file_type(value: str | None) -> str:
    mimetype, _options = parse_options_header(value)
    mimetype = _CONTROL.sub("", mimetype)
    if not mimetype or len(mimetype) > MAX_TYPE_LENGTH:
        return DEFAULT_FILE_TYPE
    return mimetype


def _read_bytes(parts: _Parts, limit: int) -> tuple[bytes, bool]:
    """A part's contents up to ``limit`` bytes (the rest is read and dropped); cut or not."""
    kept = bytearray()
    cut = False
    for piece in parts.data():
        room = limit - len(kept)
        if len(piece) > room:
            cut = True
        kept += piece[: max(room, 0)]
    return bytes(kept), cut


def _decode(raw: bytes, *, strict: bool) -> str:
    """UTF-8, as the form's page is; a cut value may end inside a character."""
    try:
        return raw.decode("utf-8", "strict" if strict else "ignore")
    except UnicodeDecodeError:
        raise MalformedForm() from None


# --- what to tell the person who filled in the form -----------------------------------------


def file_error(refused: FileRefused) -> str:
    """The words for a file limit, the same on every form that takes files."""
    if isinstance(refused, FileTooLarge):
        return _("A file is larger than %(limit)s.", limit=labels.file_size(refused.limit))
    if isinstance(refused, FilesTooLarge):
        return _(
            "Together, the files are larger than %(limit)s.",
            limit=labels.file_size(refused.limit),
        )
    return _("Choose at most %(count)s files.", count=refused.limit)


def too_long_message(limit: int) -> str:
    """The words for a text cut to ``max_chars`` (``ReceivedForm.overlong``)."""
    return _(
        "This is longer than %(limit)s characters. Only the first %(limit)s are shown "
        "below: please shorten it.",
        limit=format_decimal(limit),
    )
