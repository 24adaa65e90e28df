"""Which script a public page loads, chosen by the template that draws it, and how that
script is served.

Only the two pages with a form to enhance load a script, each its own: the build of
``static/js/pages/<page>.js`` in ``static/js/dist/`` (``make bundle``), one file holding the
page's modules, so that a browser over Tor fetches one script rather than a chain of some
thirty modules (benchmarks/README.md, "page_load.py"). Every answer is ``no-store``, so a
page without a form would fetch a script on every visit for nothing: it loads none.

The choice is keyed by template rather than set by each view, so that every view drawing
the form, now or later, gets the script; a test checks that every template with one of
the forms is here.

The builds are sent gzip-compressed to a browser that accepts it (a third of the bytes,
which over Tor are what the page waits for). Nothing else is compressed: a page that holds
a secret next to text an attacker chose would leak the secret through its compressed size
(BREACH, deploy/nginx/README.md). A build is the same bytes for everyone and holds no
secret, so its size tells nothing.
"""

from __future__ import annotations

import functools
import gzip
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, before_render_template, current_app, request
from jinja2 import Template
from werkzeug.security import safe_join

# The template drawing each enhanced form -> the script under static/ it loads.
PAGE_SCRIPTS: Mapping[str, str] = {
    "report_form.html": "js/dist/report.js",
    "followup_start.html": "js/dist/followup.js",
}
BUILDS = "js/dist"  # under static/
EXTENSION = "minhbach.page_scripts"
JAVASCRIPT = "text/javascript"


def init_page_scripts(app: Flask) -> None:
    """Give every page rendered by ``app`` its ``page_script`` (None: no script), and
    serve the builds, compressed where the browser accepts it."""
    choose_scripts(app, PAGE_SCRIPTS)
    before_render_template.connect(_choose_script, app)
    # More specific than Flask's /static/<path:filename>, so it wins for the builds.
    app.add_url_rule(f"{app.static_url_path}/{BUILDS}/<name>", "page_build", _serve_build)


def choose_scripts(app: Flask, scripts: Mapping[str, str]) -> None:
    """Which script each template's page loads (the page-load benchmark points them at
    the unbundled sources)."""
    app.extensions[EXTENSION] = dict(scripts)


def _choose_script(app: Flask, template: Template, context: dict[str, Any], **_: Any) -> None:
    context["page_script"] = app.extensions[EXTENSION].get(template.name)


def _serve_build(name: str) -> Response:
    if request.accept_encodings["gzip"] <= 0:
        response = current_app.send_static_file(f"{BUILDS}/{name}")
    else:
        path = safe_join(str(current_app.static_folder), BUILDS, name)
        if path is None or not os.path.isfile(path):
            abort(404)
        status = os.stat(path)
        response = Response(_gzipped(path, status.st_mtime_ns, status.st_size), mimetype=JAVASCRIPT)
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


@functools.lru_cache(maxsize=8)
def _gzipped(path: str, _mtime_ns: int, _size: int) -> bytes:
    """The file compressed once per process and version of the file (its time and size)."""
    with open(path, "rb") as file:
        return gzip.compress(file.read(), compresslevel=9, mtime=0)
