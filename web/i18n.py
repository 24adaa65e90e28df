"""Vietnamese and English. The language is chosen by a plain link, so it works without
JavaScript, and remembered in the session cookie; that choice, once made, always wins.

Until a visitor chooses, the page is in the language their browser prefers
(Accept-Language) among the two, else in the instance's MINHBACH_DEFAULT_LANGUAGE. Reading
the header stores nothing: no cookie is set and the session is left alone, so the public
app learns and keeps nothing from it. A page whose language came from the header says so
in ``Vary: Accept-Language``, so no cache hands one visitor's language to another. Tor
Browser reports English for everyone unless its user opts out; the language link is one
click away on every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, session
from flask_babel import Babel, gettext
from werkzeug.wrappers import Response

from web.dates import shown_day
from web.redirects import local_path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
VARY_HEADER = "Accept-Language"


def init_i18n(app: Flask, default_language: str) -> None:
    app.config["DEFAULT_LANGUAGE"] = default_language
    Babel(app, locale_selector=current_language, default_translation_directories=str(TRANSLATIONS))
    app.add_url_rule("/language/<code>", "language", set_language)
    app.after_request(vary_on_preferred_language)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.filters["day"] = shown_day  # web.dates: one way to write a day


def current_language() -> str:
    """The visitor's choice, else their browser's preference, else the instance's default."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    g.language_from_browser = True
    preferred = request.accept_languages.best_match(LANGUAGES)
    return str(preferred or current_app.config["DEFAULT_LANGUAGE"])


def vary_on_preferred_language(response: Response) -> Response:
    """Only responses whose language the header decided (even by its absence) vary on it."""
    if g.get("language_from_browser"):
        response.vary.add(VARY_HEADER)
    return response


def set_language(code: str) -> Response:
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    return redirect(local_path(request.args.get("next")), code=303)


# The one check of return addresses both apps share (web.redirects); the old name stays
# for the callers and tests that import it from here.
safe_local_path = local_path


def translate(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel has no type hints): modules import it as ``_``, the name
    ``make messages`` extracts."""
    return str(gettext(text, **values))
