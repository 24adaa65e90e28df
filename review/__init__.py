"""The restricted review app: where inspectors and custodians handle cases.

A separate process on its own port, reachable from the allowed networks only (loopback
by default). Inspectors sign in with user name, passphrase and a TOTP code; the
passphrase unlocks their private key for the session only (docs/review-sessions.md).
It never imports the public submit app, nor the reverse.

Modules: ``auth`` (the interface views use: ``login_required``, ``current_inspector``,
``current_private_key``, ``audit``), ``session_store`` (sessions that hold the key
without storing it), ``login`` (credential checks and lockout), ``limits`` (the global
cap on failed logins), ``navigation`` (the places each role may open, on every page),
``network`` (the allow-list), ``labels``, ``settings``, and one blueprint per module in
``views``.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_babel import gettext as _
from flask_wtf import CSRFProtect
from flask_wtf.csrf import CSRFError

from casework.dates import UNIT_TIME_ZONE
from casework.settings import Settings
from review.auth import init_auth
from review.labels import init_labels
from review.limits import init_limits
from review.navigation import init_navigation
from review.network import init_network_allowlist
from review.settings import EXTENSION as SETTINGS
from web.database import init_database, replay_on_transient_errors
from web.errors import error_response, init_errors
from web.i18n import init_i18n
from web.multipart import init_multipart_guard
from web.routing import init_routing
from web.secret_key import load_or_create
from web.security import init_security
from web.templating import init_shared_templates

MAX_BODY = 4 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    init_routing(app)  # before any route is added
    app.config.update(
        SECRET_KEY=load_or_create(settings.instance_path / "review-secret.key"),
        # A form may stay open as long as a session lasts; the token is renewed at login.
        WTF_CSRF_TIME_LIMIT=settings.review_absolute_hours * 3600,
        WTF_CSRF_SSL_STRICT=False,  # no Referer is ever sent (Referrer-Policy no-referrer)
        # Inspectors read times in the unit's own zone.
        BABEL_DEFAULT_TIMEZONE=UNIT_TIME_ZONE.key,
        # Every form here is a few fields of text (a reply is at most 20,000 characters):
        # nothing legitimate comes near this. The one form with files, registering a
        # paper report, sets its own limit as its scans stream in (views.registration).
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    app.extensions[SETTINGS] = settings
    # First: nothing else runs for a request from outside the allowed networks.
    init_network_allowlist(app, settings.review_allowed_networks)
    # Then, before CSRFProtect reads request.form: no multipart body is ever parsed here,
    # since Werkzeug would spool its files to temporary files (web.multipart).
    init_multipart_guard(app)
    init_security(app, cookie_name="mb_review", https=settings.review_https)
    init_errors(app)
    init_i18n(app, settings.default_language)
    init_shared_templates(app)
    # Every request may move its session on or audit what it shows: all of them write.
    init_database(app, settings.database_url, read_on_safe_methods=False)
    CSRFProtect(app)
    app.register_error_handler(CSRFError, _csrf_failed)
    init_auth(app)
    init_labels(app)
    init_navigation(app)

    from review.views import (
        account,
        admin,
        archive,
        audit,
        auth,
        cases,
        custody,
        dashboard,
        escalations,
        home,
        inbox,
        protection,
        publication,
        reception,
        registration,
        workflow,
    )
    from web import health

    app.register_blueprint(health.blueprint)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(inbox.blueprint)
    app.register_blueprint(account.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(audit.blueprint)
    app.register_blueprint(cases.blueprint)
    app.register_blueprint(workflow.blueprint)
    app.register_blueprint(publication.blueprint)
    app.register_blueprint(archive.blueprint)
    app.register_blueprint(escalations.blueprint)
    app.register_blueprint(protection.blueprint)
    app.register_blueprint(custody.blueprint)
    app.register_blueprint(dashboard.blueprint)
    app.register_blueprint(registration.blueprint)
    app.register_blueprint(reception.blueprint)
    replay_on_transient_errors(app)
    init_limits(app, settings)
    return app


def _csrf_failed(_error: CSRFError) -> tuple[Response | str, int]:
    return error_response(
        400,
        "csrf_failed",
        _(
            "This form is out of date, for instance because you signed in or out in "
            "another tab. Go back, reload the page and try again."
        ),
    )
