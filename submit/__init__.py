"""The public submission app: where tipsters report and follow up.

It holds public keys only. With JavaScript, browsers encrypt before sending; without it,
this app encrypts in memory as the request streams in. Nothing here can open a case.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf import CSRFProtect

from casework.profiles import profile_label
from casework.settings import Settings
from casework.uploads import ciphertext_limit
from submit.limits import init_limits
from submit.page_scripts import init_page_scripts
from web import labels
from web.database import init_database, replay_on_transient_errors
from web.errors import init_errors
from web.i18n import init_i18n
from web.multipart import init_multipart_guard
from web.routing import init_routing
from web.secret_key import load_or_create
from web.security import init_security
from web.templating import init_shared_templates

SETTINGS = "minhbach.settings"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    init_routing(app)  # before any route is added
    app.config.update(
        SECRET_KEY=load_or_create(settings.instance_path / "submit-secret.key"),
        # The CSRF token lives as long as the browser session, not an hour: a tipster
        # may take long over a report and must not lose it to an expired token.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,  # no Referer is ever sent (Referrer-Policy no-referrer)
    )
    app.extensions[SETTINGS] = settings
    # Before CSRFProtect, whose check reads request.form: only the two views that stream
    # their multipart bodies themselves ever get one (web.multipart).
    init_multipart_guard(app)
    init_security(
        app,
        cookie_name="mb_submit",
        https=settings.public_https,
        onion_location=settings.onion_location,
    )
    init_errors(app)
    init_i18n(app, settings.default_language)
    init_shared_templates(app)
    init_page_scripts(app)
    labels.add_label_source(profile_label)  # a newer profile's own words for its statuses
    # Pages only read; every POST, and any GET view marked as writing, writes.
    init_database(app, settings.database_url, read_on_safe_methods=True)
    CSRFProtect(app)

    from submit import api
    from submit.views import conclusions, followup, pages, report
    from web import health

    app.config["MAX_CONTENT_LENGTH"] = max_body(settings)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(report.blueprint)
    app.register_blueprint(followup.blueprint)
    app.register_blueprint(conclusions.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(health.blueprint)
    replay_on_transient_errors(app)
    init_limits(app, settings)
    return app


def max_body(settings: Settings) -> int:
    """The largest body any request of this app may send; Werkzeug refuses a larger one
    (413) before reading it. The views set tighter limits of their own; this bounds the
    rest, and whatever reads a body before a view does.

    The largest legitimate bodies: a no-JavaScript report (all its files and the text
    allowance), one upload append carrying a whole file's ciphertext, and a report's JSON.
    """
    from submit.api.reports import MAX_REPORT_JSON_BYTES
    from submit.views import followup, report

    text = max(report.TEXT_ALLOWANCE, followup.TEXT_ALLOWANCE)
    return max(
        settings.max_report_size + text,
        ciphertext_limit(settings.max_file_size),
        MAX_REPORT_JSON_BYTES,
    )
