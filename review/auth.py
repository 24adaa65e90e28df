"""Who is signed in, for every view of the review app. The interface later screens use:

``@login_required()`` / ``@login_required(InspectorRole.CUSTODIAN, ...)``
    Put under ``@blueprint.get(...)``. Without a live session the browser is sent to the
    login page (a GET comes back to the same page afterwards); with the wrong role the
    answer is 403. With no roles, any signed-in account may pass.
``current_inspector()``
    The signed-in ``Inspector`` (loaded in the request's database session).
``current_private_key()``
    The inspector's X25519 private key, unsealed for this request only: use it to unwrap
    case keys, never store it, log it, put it in ``session`` or in a template.
``audit(action, case_public_id=..., target=..., details=...)``
    Append an audit entry by the current inspector to the request's database session;
    the view's own ``db().commit()`` stores it together with the change it records.
    Every decryption, download, reply, grant, revoke and setting change calls this.

How the session is kept is in ``review.session_store`` and
docs/review-sessions.md: a row holding the key sealed under a key that only the
``mb_review_session`` cookie carries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from flask import Flask, Response, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response as BaseResponse

from casework import audit as audit_log
from review import session_store
from review.session_store import NoSuchSession, OpenSession, SessionEnded, Timeouts
from review.settings import settings
from store.models import AuditEntry, Inspector, InspectorRole, ReviewSession
from store.types import utc_now
from web.database import db
from web.errors import PublicError

COOKIE = "mb_review_session"
# Sent when a session ends: the browser drops this site's cookies, storage and cached
# pages, so nothing of a case stays behind on a shared computer.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'

# Why the login page is shown again; only the key travels in the URL.
TIMED_OUT = "timeout"
SIGNED_OUT = "signed_out"
ENDED = "ended"  # deactivated account or a cookie that does not open its session

_LOADED = "review_session"  # g: OpenSession | None, once loaded for this request
_SET_COOKIE = "review_set_cookie"  # g: a new cookie value to send
_CLEAR = "review_clear"  # g: the session ended in this request
_ENDED_REASON = "review_ended_reason"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class SessionInfo:
    """What templates may show about the current session: no key, no token."""

    inspector: Inspector
    started_at: datetime
    expires_at: datetime
    idle_minutes: int


def init_auth(app: Flask) -> None:
    app.after_request(_apply_cookie_changes)
    app.context_processor(lambda: {"signed_in": signed_in_info()})


def now() -> datetime:
    """The current time for sessions and logins; tests replace it to travel in time."""
    return utc_now()


def timeouts() -> Timeouts:
    current = settings()
    return Timeouts(
        idle=timedelta(minutes=current.review_idle_minutes),
        absolute=timedelta(hours=current.review_absolute_hours),
    )


# --- the interface for views ---------------------------------------------------------------


def login_required(
    *roles: InspectorRole,
) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """Require a live session (and, if given, one of ``roles``) for a view."""
    for role in roles:
        if not isinstance(role, InspectorRole):
            raise TypeError("use @login_required() with parentheses, and roles as InspectorRole")

    def decorator(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            opened = current_session()
            if opened is None:
                return _to_login()
            if roles and opened.inspector.role not in roles:
                raise PublicError(
                    403, "forbidden", _("Your role does not give access to this page.")
                )
            return view(*args, **kwargs)

        return wrapped

    return decorator


def current_session() -> OpenSession | None:
    """The live session of this request, opened once; None if there is none.

    A session found expired (or unusable) is ended here: its row is deleted, the ending
    audited and committed, and the response will clear the browser's site data.
    """
    if _LOADED not in g:
        setattr(g, _LOADED, _load())
    opened: OpenSession | None = g.get(_LOADED)
    return opened


def current_inspector() -> Inspector:
    return _required().inspector


def current_private_key() -> X25519PrivateKey:
    return _required().private_key


def audit(
    action: str,
    *,
    case_public_id: str | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry by the signed-in inspector; committed with the view's change.

    ``details`` get the session's public reference added under ``"session"``, so every
    entry can be traced to the login that made it.
    """
    opened = _required()
    return audit_log.append(
        db(),
        actor=opened.inspector,
        action=action,
        case_public_id=case_public_id,
        target=target,
        details={**(details or {}), "session": opened.reference},
    )


def signed_in_info() -> SessionInfo | None:
    """For templates: the session if this request has already opened one. Never opens
    one itself, so rendering an error page cannot touch the database."""
    opened: OpenSession | None = g.get(_LOADED)
    if opened is None:
        return None
    return SessionInfo(
        inspector=opened.inspector,
        started_at=opened.row.created_at,
        expires_at=opened.row.expires_at,
        idle_minutes=settings().review_idle_minutes,
    )


# --- starting and ending sessions (the login and logout views) ---------------------------


def start_session(inspector: Inspector, private_key: X25519PrivateKey) -> None:
    """Create the session, audit the login, and send its cookie with the response.

    The caller commits. A new anti-forgery token starts with the session, so a token
    seen before login is of no use after it.
    """
    created = session_store.create(db(), inspector, private_key, now=now(), timeouts=timeouts())
    opened = OpenSession(created.row, inspector, private_key)
    audit_log.append(
        db(),
        actor=inspector,
        action=audit_log.Action.LOGIN,
        details={"session": opened.reference},
    )
    g.pop(_CLEAR, None)
    setattr(g, _SET_COOKIE, created.cookie)
    setattr(g, _LOADED, opened)
    _rotate_csrf()


def end_session(reason: str = SIGNED_OUT) -> None:
    """Sign out: delete the session (and its sealed key), audit it, clear the browser.

    The caller commits.
    """
    opened = current_session()
    if opened is not None:
        _end(opened.row, opened.inspector, audit_log.Action.LOGOUT, {"reason": reason})
    _forget(reason)


def sweep_expired() -> int:
    """End the sessions nobody came back to after a timeout, auditing each as a timeout
    like one noticed on a request. The login view runs it; the caller commits."""
    moment, limits = now(), timeouts()
    stale = session_store.expired(db(), now=moment, timeouts=limits)
    for row in stale:
        reason = session_store.expiry_reason(row, moment, limits) or session_store.IDLE
        _end(row, row.inspector, audit_log.Action.SESSION_TIMEOUT, {"reason": reason})
    return len(stale)


def end_sessions_of(inspector: Inspector, reason: str, *, keep_current: bool = False) -> int:
    """End the account's sessions, each audited as ``session_invalid`` with ``reason`` and
    its reference, like any session that ends without its owner signing out; with
    ``keep_current``, all but the one this request runs in. Returns how many ended; the
    caller audits the change that called for it and commits both together."""
    opened = current_session() if keep_current else None
    keeping = opened.row.id if opened is not None else None
    ended = session_store.end_all_of(db(), inspector, keeping=keeping)
    for reference in ended:
        audit_log.append(
            db(),
            actor=inspector,
            action=audit_log.Action.SESSION_INVALID,
            details={"reason": reason, "session": reference},
        )
    return len(ended)


def ended_reason() -> str | None:
    """Why this request ended a session (TIMED_OUT, ENDED, SIGNED_OUT), if it did."""
    reason: str | None = g.get(_ENDED_REASON)
    return reason


# --- internals ----------------------------------------------------------------------------


def _required() -> OpenSession:
    opened = current_session()
    if opened is None:
        raise RuntimeError("no signed-in inspector: protect the view with @login_required()")
    return opened


def _load() -> OpenSession | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    try:
        opened = session_store.open_session(db(), cookie, now=now(), timeouts=timeouts())
    except NoSuchSession:
        _forget(ENDED)
        return None
    except SessionEnded as ended:
        timed_out = ended.reason in (session_store.IDLE, session_store.ABSOLUTE)
        action = audit_log.Action.SESSION_TIMEOUT if timed_out else audit_log.Action.SESSION_INVALID
        _end(ended.row, ended.row.inspector, action, {"reason": ended.reason})
        db().commit()
        _forget(TIMED_OUT if timed_out else ENDED)
        return None
    db().commit()  # last_seen_at, if it moved on; and the view starts a fresh snapshot
    return opened


def _end(row: ReviewSession, inspector: Inspector, action: str, details: Mapping[str, Any]) -> None:
    reference = session_store.reference_of(row.id)
    if session_store.end(db(), row):  # recorded once, by whoever ended it first
        audit_log.append(
            db(), actor=inspector, action=action, details={**details, "session": reference}
        )


def _forget(reason: str) -> None:
    """Drop the session from this request and have the response clear the browser."""
    setattr(g, _LOADED, None)
    g.pop(_SET_COOKIE, None)
    setattr(g, _CLEAR, True)
    setattr(g, _ENDED_REASON, reason)
    session.clear()  # the Flask session: anti-forgery token and language


def _rotate_csrf() -> None:
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    generate_csrf()


def _to_login() -> BaseResponse:
    # Werkzeug leaves out None values. Only a GET comes back: a form posted into an
    # ended session is not replayed after the next login.
    back = request.full_path.rstrip("?") if request.method == "GET" else None
    reason = ended_reason()
    shown = reason if reason in (TIMED_OUT, ENDED) else None
    return redirect(url_for("auth.login", next=back, reason=shown), code=303)


def _apply_cookie_changes(response: Response) -> Response:
    https = settings().review_https
    new_cookie: str | None = g.get(_SET_COOKIE)
    if new_cookie is not None:
        # No Expires or Max-Age: the cookie dies with the browser session at the latest.
        response.set_cookie(
            COOKIE, new_cookie, path="/", secure=https, httponly=True, samesite="Strict"
        )
    elif g.get(_CLEAR):
        response.delete_cookie(COOKIE, path="/", secure=https, httponly=True, samesite="Strict")
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response
