"""Rate limits of the public app, keyed by what a request is about, never by who sends it.

Behind a Tor onion service every client has the same address (and we keep no addresses
anyway), so a limit per IP would be a limit on everyone at once. Limits are therefore
keyed by *subject*: everyone together (global caps), one resumable upload, or one
follow-up case. Subject keys are HMAC'd, so the limit storage (Redis in production,
perhaps on another host) never holds an upload capability or a case id.

The table ``LIMITS`` is applied by endpoint once every blueprint is registered. An
endpoint of the table that the app does not have (yet) is skipped, and the skip is
recorded in ``app.extensions[EXTENSION].skipped``: the follow-up endpoints, for one, are
added by a later feature and pick their limits up from here as soon as they exist.

Every limit here can be replaced or scaled from the settings without code changes
(``web.limits``). The same storage records spent proof-of-work challenges (``ledger()``),
so a challenge is refused everywhere once used.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, make_response, request, session
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from limits.storage import Storage

from casework.settings import Settings
from crypto.kdf import hkdf
from web.errors import error_response
from web.limits import configure, effective_limit

EXTENSION = "minhbach.limits"
KEY_LABEL = b"minhbach/submit/limits"


class Subject(enum.StrEnum):
    GLOBAL = "global"  # every client together
    UPLOAD = "upload"  # one resumable upload (the <upload_id> in the URL)
    CASE = "case"  # the case of the current follow-up session


@dataclass(frozen=True)
class Rule:
    limit: str  # limits' notation: "10 per minute; 100 per hour"
    subject: Subject = Subject.GLOBAL


GLOBAL, UPLOAD, CASE = Subject.GLOBAL, Subject.UPLOAD, Subject.CASE

LIMITS: Mapping[str, tuple[Rule, ...]] = {
    # A new case costs an Argon2id hash and inspectors' attention; the browser has also paid
    # a proof of work, so the cap only has to stop a flood that pays it.
    "api.submit_report": (Rule("20 per minute; 300 per hour", GLOBAL),),
    # The no-JavaScript form pays no proof of work and encrypts on the server: stricter.
    "report.submit": (Rule("6 per minute; 100 per hour", GLOBAL),),
    # Every code check runs Argon2id (64 MiB): this caps memory and guessing together.
    "api.followup_session": (Rule("30 per minute; 600 per hour", GLOBAL),),
    # The same check without a proof of work: stricter.
    "followup.open": (Rule("10 per minute; 200 per hour", GLOBAL),),
    # Each upload reserves scratch space until it expires; it costs a proof of work too.
    "api.create_upload": (Rule("60 per minute; 1000 per hour", GLOBAL),),
    # Appends carry the bulk of the traffic: a global cap on requests, and a per-upload cap
    # so that one upload cannot hog it with tiny pieces (each costs an fsync and a commit).
    # Bytes are kept as they arrive, so a client best sends the whole rest in one append.
    "api.upload_append": (Rule("3000 per minute", GLOBAL), Rule("600 per minute", UPLOAD)),
    # Asking for the offset is cheap, but a client stuck in a loop should not be.
    "api.upload_offset": (Rule("120 per minute", UPLOAD),),
    # Issuing is cheap; every challenge solved is a replay-store entry for ten minutes.
    "api.pow_challenge": (Rule("300 per minute", GLOBAL),),
    # A reporter writes to the unit a few times a day, not hundreds: per case.
    "api.followup_message": (Rule("30 per hour", CASE),),
    # The same message without JavaScript, the same cap: it is the same case.
    "followup.reply": (Rule("30 per hour", CASE),),
    # Each retaliation report flags the case urgent for the unit: fewer still.
    "api.followup_retaliation": (Rule("10 per hour", CASE),),
    # The same report without JavaScript.
    "followup.retaliation": (Rule("10 per hour", CASE),),
    # A withdrawal happens once; a few tries cover mistakes.
    "api.followup_withdraw": (Rule("5 per hour", CASE),),
    "followup.withdraw": (Rule("5 per hour", CASE),),
    # An escalation happens once per overdue deadline; a few tries cover mistakes.
    "api.followup_escalate": (Rule("5 per hour", CASE),),
    "followup.escalate": (Rule("5 per hour", CASE),),
    # A re-denunciation likewise: once per resolution.
    "api.followup_re_denounce": (Rule("5 per hour", CASE),),
    "followup.re_denounce": (Rule("5 per hour", CASE),),
    # A protection request or an addition to a retaliation report flags the case urgent,
    # as a retaliation report does: the same cap.
    "api.followup_protection": (Rule("10 per hour", CASE),),
    "followup.request_protection": (Rule("10 per hour", CASE),),
    "api.followup_retaliation_note": (Rule("10 per hour", CASE),),
    "followup.add_to_incident": (Rule("10 per hour", CASE),),
    "api.followup_protection_ask": (Rule("10 per hour", CASE),),
    "followup.ask_about_protection": (Rule("10 per hour", CASE),),
    # Reading the case again; each no-JS view unwraps the key and decrypts the thread.
    "api.followup_case": (Rule("300 per hour", CASE),),
    "followup.case": (Rule("300 per hour", CASE),),
    # A file streams from the blob store (and is decrypted on the no-JS path): per case.
    "api.followup_file": (Rule("60 per hour", CASE),),
    "followup.download": (Rule("60 per hour", CASE),),
}


@dataclass(frozen=True)
class Limits:
    limiter: Limiter
    applied: tuple[str, ...]  # endpoints of LIMITS that the app has
    skipped: tuple[str, ...]  # endpoints of LIMITS that it does not have (yet)


def init_limits(app: Flask, settings: Settings) -> Limits:
    """Create this app's limiter and limit every endpoint of ``LIMITS`` the app has.

    Call after all blueprints are registered.
    """
    configure(
        app,
        settings,
        {name: {rule.subject.value for rule in rules} for name, rules in LIMITS.items()},
    )
    secret: bytes = app.config["SECRET_KEY"]  # bytes: see web.secret_key
    key = hkdf(secret, salt=None, info=KEY_LABEL)
    keys: dict[Subject, Callable[[], str]] = {
        GLOBAL: lambda: "all",
        UPLOAD: lambda: _digest(key, "upload", _view_arg("upload_id")),
        CASE: lambda: _digest(key, "case", str(session.get("followup_case", ""))),
    }
    limiter = Limiter(
        keys[GLOBAL],
        app=app,
        storage_uri=settings.ratelimit_storage_uri,
        strategy="fixed-window",
        key_prefix="minhbach-submit",
        headers_enabled=False,  # X-RateLimit-Remaining would tell everyone the traffic
        # A count that cannot be written (its storage full or out of reach) lets the
        # request through to its view, which then stores it or says plainly that nothing
        # was kept, with the tipster's text: a refusal here would lose what they typed.
        # Spent challenges are not swallowed (pow.spend raises): that path stays closed.
        swallow_errors=True,
    )
    applied, skipped = [], []
    for endpoint, rules in LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            skipped.append(endpoint)
            continue
        app.view_functions[endpoint] = _limited(limiter, view, endpoint, rules, keys)
        applied.append(endpoint)
    state = Limits(limiter, tuple(applied), tuple(skipped))
    app.extensions[EXTENSION] = state
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    return state


def ledger() -> Storage:
    """The current app's limit storage, where spent proof-of-work challenges are counted."""
    state: Limits = current_app.extensions[EXTENSION]
    return state.limiter.storage


def _limited(
    limiter: Limiter,
    view: Callable[..., Any],
    endpoint: str,
    rules: tuple[Rule, ...],
    keys: Mapping[Subject, Callable[[], str]],
) -> Callable[..., Any]:
    for rule in rules:
        # Scoped by subject, so two rules of one endpoint never share a counter.
        view = limiter.limit(
            _provider(endpoint, rule), key_func=keys[rule.subject], scope=rule.subject.value
        )(view)
    return view


def _provider(endpoint: str, rule: Rule) -> Callable[[], str]:
    return lambda: effective_limit(current_app.config, endpoint, rule.subject.value, rule.limit)


def _view_arg(name: str) -> str:
    return str((request.view_args or {}).get(name, ""))


def _digest(key: bytes, kind: str, value: str) -> str:
    return kind + ":" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _rate_limited(_exc: RateLimitExceeded) -> Response:
    state: Limits = current_app.extensions[EXTENSION]
    current = state.limiter.current_limit
    seconds = max(1, int(current.reset_at - time.time())) if current else 60
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "There are too many requests at the moment. Please wait %(num)d minute and try again.",
        "There are too many requests at the moment. Please wait %(num)d minutes and try again.",
        minutes,
    )
    response = make_response(error_response(429, "rate_limited", message))
    response.headers["Retry-After"] = str(seconds)
    return response
