"""No multipart body ever reaches Werkzeug's form parser: it would spool file parts to
temporary files, in plaintext, before any view runs.

Werkzeug parses ``request.form`` on first use, and the first user is Flask-WTF's global
CSRF check (it looks for the token in the form before the header), so any POST to any
route used to write a posted file to ``/tmp``. Four endpoints take files on purpose
(the public report and reply, the review app's registration of a paper report and an
inspector's reply), and
read the multipart stream themselves, encrypting as it arrives (``web.streaming``):
they are marked with ``@streams_multipart``. ``init_multipart_guard`` then

- refuses every other ``multipart/form-data`` request with 415 in a ``before_request``
  hook that runs before anything can touch ``request.form`` (install it before
  ``CSRFProtect``), and
- makes the request class refuse to open a file for a file part, so that even a view
  that reads ``request.form`` or ``request.files`` by mistake spools nothing: Werkzeug
  asks ``Request._get_file_stream`` for every file part (its ``default_stream_factory``
  is a ``SpooledTemporaryFile``), and keeps non-file fields in memory, bounded by
  ``MAX_FORM_MEMORY_SIZE``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, ParamSpec, TypeVar

from flask import Flask, Request, Response, current_app, request
from flask_babel import gettext

from web.errors import PublicError, error_response

MULTIPART = "multipart/form-data"
STREAMS_MULTIPART = "minhbach_streams_multipart"  # attribute of a view function
CODE = "unsupported_media_type"

P = ParamSpec("P")
R = TypeVar("R")


def streams_multipart(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that reads a multipart body from ``request.stream`` itself (and checks
    the anti-forgery token from it): the guard lets its requests through."""
    setattr(view, STREAMS_MULTIPART, True)
    return view


def init_multipart_guard(app: Flask) -> None:
    """Call before ``CSRFProtect(app)`` and anything else that may read the form."""
    app.request_class = UnspooledRequest
    app.before_request(_refuse_unless_streamed)


class UnspooledRequest(Request):
    """A request whose form parser cannot write a file part anywhere."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        raise PublicError(415, CODE, _refusal_message())


def _refuse_unless_streamed() -> tuple[Response | str, int] | None:
    # request.mimetype is what Werkzeug's parser dispatches on: lower-cased, parameters
    # dropped. The endpoint is known here: routing happens before before_request hooks.
    if request.mimetype != MULTIPART or _streams(request.endpoint):
        return None
    return error_response(415, CODE, _refusal_message())


def _streams(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    # Wrappers made with functools.wraps (the limits, the retries) copy the mark.
    return view is not None and getattr(view, STREAMS_MULTIPART, False) is True


def _refusal_message() -> str:
    return str(
        gettext(
            "This address does not accept files or forms sent this way "
            "(multipart/form-data). Nothing you sent was read or kept."
        )
    )
