"""The page-load benchmark's second server: the submit app with its pages loading their
source modules, unbundled, as they did before the bundles.

``benchmarks.page_load`` runs this under gunicorn as
``benchmarks._page_server:create_unbundled_app()``, next to the real app
(``submit:create_app()``), to show what the bundles changed in the same run. Only the
script a page loads differs: ``static/js/pages/<page>.js`` rather than its build in
``static/js/dist/``, and the browser fetches what it imports by itself. It exists only in
this benchmark, never in ``create_app``, so the production app has no such switch.
"""

from __future__ import annotations

from flask import Flask

from submit import create_app
from submit.page_scripts import PAGE_SCRIPTS, choose_scripts

BUILDS, SOURCES = "js/dist/", "js/pages/"  # under static/


def create_unbundled_app() -> Flask:
    app = create_app()
    sources = {name: path.replace(BUILDS, SOURCES) for name, path in PAGE_SCRIPTS.items()}
    choose_scripts(app, sources)  # in place of the builds create_app chose
    return app
