"""A global cap on failed sign-ins, on top of each account's own lockout (review.login).

Keyed globally, never by client address: behind a client-authorised onion service or a
reverse proxy every inspector has the same address, and the app records none anyway.
Only attempts that do not sign in count (``deduct_when``), so colleagues signing in at
the start of the day do not lock each other out; once the cap is reached, every attempt
is refused until the window passes, which caps guessing across all accounts together.

The login form and the recovery form (``account.recover_submit``: a recovery code and a
TOTP code sign one in as surely as a passphrase does) share one cap and one counter:
guesses spread over both forms are capped together.

The limit is read on every request: ``app.config[LOGIN_LIMIT]`` if set (tests set a tiny
one), else ``DEFAULT_LOGIN_LIMIT`` as the settings replace or scale it (``web.limits``:
endpoint ``auth.login_submit``, subject ``global``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, make_response
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded

from casework.settings import Settings
from web.errors import error_response
from web.limits import configure, effective_limit

EXTENSION = "review.limits"
LOGIN_LIMIT = "MINHBACH_REVIEW_LOGIN_LIMIT"
DEFAULT_LOGIN_LIMIT = "20 per minute; 200 per hour"
LOGIN_ENDPOINT = "auth.login_submit"
RECOVERY_ENDPOINT = "account.recover_submit"
SCOPE = "failed-sign-in"  # the shared counter's name in the limit storage
# What each form answers when it signs someone in; every other answer counts as a failure.
SUCCESS = {
    LOGIN_ENDPOINT: 303,  # a redirect to the next page
    RECOVERY_ENDPOINT: 200,  # the page showing the new recovery code
}


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """Limit the sign-in forms. Call after the blueprints are registered."""
    # The recovery form has no setting of its own: it shares the login's cap.
    configure(app, settings, {LOGIN_ENDPOINT: {"global"}})
    limiter = Limiter(
        lambda: "all",
        app=app,
        storage_uri=settings.ratelimit_storage_uri,
        strategy="fixed-window",
        key_prefix="minhbach-review",
        headers_enabled=False,
    )
    for endpoint, success in SUCCESS.items():
        limit = limiter.shared_limit(_login_limit, scope=SCOPE, deduct_when=_failed(success))
        limited: Any = limit(app.view_functions[endpoint])
        app.view_functions[endpoint] = limited
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    return limiter


def _failed(success: int) -> Callable[[Response], bool]:
    return lambda response: response.status_code != success


def _login_limit() -> str:
    fixed = current_app.config.get(LOGIN_LIMIT)
    if fixed:
        return str(fixed)
    return effective_limit(current_app.config, LOGIN_ENDPOINT, "global", DEFAULT_LOGIN_LIMIT)


def _rate_limited(_exc: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    seconds = max(1, int(current.reset_at - time.time())) if current else 60
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "There have been too many failed sign-in attempts. Please wait %(num)d minute "
        "and try again.",
        "There have been too many failed sign-in attempts. Please wait %(num)d minutes "
        "and try again.",
        minutes,
    )
    response = make_response(error_response(429, "rate_limited", message))
    response.headers["Retry-After"] = str(seconds)
    return response
