"""Signing in and out (``auth.login``, ``auth.login_submit``, ``auth.logout``).

The form works without JavaScript. After a mistake the user name is filled in again,
never the passphrase or the code: the page says so. Whatever failed (unknown name, wrong
passphrase, wrong or reused code, locked or disabled account), the message is the same,
so the form cannot be used to find out which accounts exist or which factor was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from review import auth, login
from review.settings import settings
from web.database import db
from web.redirects import local_path

blueprint = Blueprint("auth", __name__)

MAX_USERNAME = 64
MAX_PASSPHRASE = 1024  # far beyond any real passphrase; Argon2id's input stays small
MAX_CODE_INPUT = 32
# Spaces and dashes people or authenticator apps put into a code ("123 456").
_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
_CODE = re.compile(rf"[0-9]{{{login.TOTP_DIGITS}}}")

REASONS: Mapping[str, LazyString] = {
    auth.TIMED_OUT: _l(
        "Your session has ended, after a time without activity or at its time limit. "
        "Please sign in again."
    ),
    auth.ENDED: _l("Your session could not be used any more. Please sign in again."),
    auth.SIGNED_OUT: _l(
        "You have signed out. If others use this computer, close the browser as well."
    ),
}
FIELD_ERRORS: Mapping[str, LazyString] = {
    "username": _l("Enter your user name."),
    "username_long": _l("A user name has at most 64 characters."),
    "passphrase": _l("Enter your passphrase."),
    "passphrase_long": _l("This passphrase is too long."),
    "code": _l("Enter the 6-digit code from your authenticator app."),
}
FAILED = _l(
    "The user name, passphrase or code is not right, or the account is locked for a while "
    "after repeated failures. Check them and try again. If it keeps failing, ask your "
    "administrator."
)


@dataclass
class LoginForm:
    username: str = ""
    passphrase: str = field(default="", repr=False)
    code: str = field(default="", repr=False)
    next: str = "/"
    errors: dict[str, LazyString] = field(default_factory=dict)

    @classmethod
    def read(cls, data: MultiDict[str, str]) -> LoginForm:
        form = cls(
            username=data.get("username", "").strip(),
            passphrase=data.get("passphrase", ""),
            code=_CODE_SEPARATORS.sub("", data.get("code", "")),
            next=next_path(data.get("next")),
        )
        form.validate()
        return form

    def validate(self) -> None:
        if not self.username:
            self.errors["username"] = FIELD_ERRORS["username"]
        elif len(self.username) > MAX_USERNAME:
            self.errors["username"] = FIELD_ERRORS["username_long"]
        if not self.passphrase:
            self.errors["passphrase"] = FIELD_ERRORS["passphrase"]
        elif len(self.passphrase) > MAX_PASSPHRASE:
            self.errors["passphrase"] = FIELD_ERRORS["passphrase_long"]
        if len(self.code) > MAX_CODE_INPUT or not _CODE.fullmatch(self.code):
            self.errors["code"] = FIELD_ERRORS["code"]

    def credentials(self) -> login.Credentials:
        return login.Credentials(self.username, self.passphrase, self.code)


def next_path(target: str | None) -> str:
    """Where to go after login: a path on this site (``web.redirects``), never the login or
    logout page."""
    path = local_path(target)
    if path.startswith(("/login", "/logout")):
        return "/"
    return path


@blueprint.get("/login", endpoint="login")
def login_form() -> ResponseReturnValue:
    back = next_path(request.args.get("next"))
    reason = request.args.get("reason")
    if auth.current_session() is not None:
        return redirect(back, code=303)
    if auth.ended_reason() is not None:
        # A stale cookie was just dropped: let the browser clear its site data on a
        # redirect, so that it cannot also clear the fresh anti-forgery cookie of the form.
        shown = reason if reason in REASONS else auth.ended_reason()
        return redirect(url_for("auth.login", next=back, reason=shown), code=303)
    return _page(LoginForm(next=back), reason=reason)


@blueprint.post("/login")
def login_submit() -> ResponseReturnValue:
    # The cookie of an earlier session is not looked at: a new login replaces it, and
    # sweep_expired ends its row if it has timed out.
    form = LoginForm.read(request.form)
    if form.errors:
        return _page(form, status=400)
    auth.sweep_expired()
    db().commit()  # authenticate wants nothing pending (see its docstring)
    result = login.authenticate(
        db(), form.credentials(), kdf=settings().passphrase_kdf, now=auth.now()
    )
    if result.inspector is None or result.private_key is None or not result.ok:
        db().commit()  # the failure count and the audit entry must stick
        return _page(form, failed=True, status=401)
    auth.start_session(result.inspector, result.private_key)
    db().commit()
    return redirect(form.next, code=303)


@blueprint.post("/logout")
def logout() -> Response:
    auth.end_session()
    db().commit()
    return redirect(url_for("auth.login", reason=auth.SIGNED_OUT), code=303)


def _page(
    form: LoginForm, *, reason: str | None = None, failed: bool = False, status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "login.html",
        form=form,
        reason=REASONS.get(reason or ""),
        reason_is_error=reason in (auth.TIMED_OUT, auth.ENDED),
        failed=FAILED if failed else None,
        idle_minutes=settings().review_idle_minutes,
        absolute_hours=settings().review_absolute_hours,
    )
    return page, status
