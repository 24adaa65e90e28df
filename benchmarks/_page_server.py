"""The page-load benchmark's second server: the submit app with its pages loading the
source modules, unbundled, as they did before the bundle.

``benchmarks.page_load`` runs this under gunicorn as
``benchmarks._page_server:create_unbundled_app()``, next to the real app
(``submit:create_app()``), to show what the bundle changed in the same run. Only the
script a page loads differs: base.html takes ``page_script`` from here, and the source
main.js imports the rest by itself. It exists only in this benchmark, never in
``create_app``, so the production app has no such switch.
"""

from __future__ import annotations

from flask import Flask

from submit import create_app

SOURCE_SCRIPT = "js/main.js"  # under static/: the bundle's entry module


def create_unbundled_app() -> Flask:
    app = create_app()
    app.jinja_env.globals["page_script"] = SOURCE_SCRIPT
    return app
