"""Errors as a clear page for people and as JSON for the API; never a stack trace.

Unexpected exceptions are logged by type and location only: messages of third-party
exceptions can carry request data (SQL parameters, for instance), and request data on
the public side is ciphertext at best and a reporter's words at worst.
"""

from __future__ import annotations

import errno
import sqlite3
import traceback

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from store.db import is_transient

API_PREFIX = "/api/"
NOT_SAVED = "storage_unavailable"
# Seconds a client is asked to wait after a 503: long enough for a database to restart.
RETRY_AFTER_SECONDS = 30
RETRY_LATER = {"Retry-After": str(RETRY_AFTER_SECONDS)}
# SQLite's BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN: the file's state, not a defect.
_SQLITE_STORAGE_CODES = frozenset({5, 6, 8, 10, 13, 14})
# OSError numbers that mean "no room or no disk", not a defect.
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
# What the page says for an HTTP error raised without a message of ours: Werkzeug's own
# descriptions are English only, and would show as such inside a Vietnamese page.
HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext(
        "There is no page at this address. Check the address, or go back to the start page."
    ),
    405: lazy_gettext("This page cannot be used in that way."),
    413: lazy_gettext("What was sent is too large."),
    429: lazy_gettext("Too many requests in a short time. Wait a few minutes and try again."),
    500: lazy_gettext("The service met an unexpected problem."),
}
OTHER_REFUSAL = lazy_gettext("This request could not be accepted.")


class PublicError(Exception):
    """A refusal whose message is safe and useful to show the person who caused it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def wants_json() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, code: str, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("error.html", status=status, message=message), status


def storage_refusal(error: BaseException) -> bool:
    """Whether ``error`` means the service cannot store anything just now: the database
    unreachable, out of space or busy past every retry, a disk that is full, or the
    rate-limit counters' file (web.limit_storage) unable to take a count."""
    if isinstance(error, DBAPIError):
        return isinstance(error, OperationalError) or is_transient(error)
    if isinstance(error, sqlite3.Error):
        return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_STORAGE_CODES
    return isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS


def not_saved_message() -> str:
    return str(
        gettext(
            "The service cannot store anything at the moment, so nothing you sent was saved. "
            "Please try again in a few minutes."
        )
    )


def not_saved_response() -> tuple[Response | str, int, dict[str, str]]:
    body, status = error_response(503, NOT_SAVED, not_saved_message())
    return body, status, RETRY_LATER


def init_errors(app: Flask) -> None:
    @app.errorhandler(PublicError)
    def _public(exc: PublicError) -> tuple[Response | str, int, dict[str, str]]:
        body, status = error_response(exc.status, exc.code, exc.message)
        # Every 503 says when to come back: clients (the report page's script) wait that long.
        return body, status, RETRY_LATER if status == 503 else {}

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[Response | str, int]:
        message = gettext(
            "This page has expired or was not sent from this site. Reload the page and try again."
        )
        return error_response(400, "csrf_failed", str(message))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc  # redirects and the like pass through
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code, code, http_message(exc))

    @app.errorhandler(Exception)
    def _unexpected(
        exc: Exception,
    ) -> tuple[Response | str, int] | tuple[Response | str, int, dict[str, str]]:
        if storage_refusal(exc):
            # The kind of refusal only: a driver's message can quote the statement's values.
            app.logger.error("storage refused the request: %s", _kind(exc))
            return not_saved_response()
        frames = "".join(traceback.format_tb(exc.__traceback__))
        app.logger.error("unhandled %s at\n%s", type(exc).__name__, frames)
        return error_response(500, "internal_error", http_message(InternalServerError()))


def http_message(exc: HTTPException) -> str:
    """A message given with the exception (already in the reader's language) as it is;
    Werkzeug's stock English description replaced by ours, translated."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    return str(HTTP_MESSAGES.get(exc.code or 500, OTHER_REFUSAL))


def _kind(error: BaseException) -> str:
    if isinstance(error, DBAPIError):
        return type(error.orig).__name__
    code = getattr(error, "errno", None) or 0
    return f"{type(error).__name__} {errno.errorcode.get(code, code)}"
