"""Vietnamese and English. The language is chosen by a plain link, so it works without
JavaScript, and remembered in the session cookie; nothing is inferred from the browser,
since Tor Browser reports the same language for everyone."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, current_app, redirect, request, session
from flask_babel import Babel
from werkzeug.wrappers import Response

from web.redirects import local_path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def init_i18n(app: Flask, default_language: str) -> None:
    app.config["DEFAULT_LANGUAGE"] = default_language
    Babel(app, locale_selector=current_language, default_translation_directories=str(TRANSLATIONS))
    app.add_url_rule("/language/<code>", "language", set_language)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language


def current_language() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return str(current_app.config["DEFAULT_LANGUAGE"])


def set_language(code: str) -> Response:
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    return redirect(local_path(request.args.get("next")), code=303)


# The one check of return addresses both apps share (web.redirects); the old name stays
# for the callers and tests that import it from here.
safe_local_path = local_path
