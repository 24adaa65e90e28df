"""Which script a public page loads, chosen by the template that draws it.

Only the two pages with a form to enhance load a script, each its own: the build of
``static/js/pages/<page>.js`` in ``static/js/dist/`` (``make bundle``), one file holding the
page's modules, so that a browser over Tor fetches one script rather than a chain of some
thirty modules (benchmarks/README.md, "page_load.py"). Every answer is ``no-store``, so a
page without a form would fetch a script on every visit for nothing: it loads none.

The choice is keyed by template rather than set by each view, so that every view drawing
the form, now or later, gets the script; a test checks that every template with one of
the forms is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, before_render_template
from jinja2 import Template

# The template drawing each enhanced form -> the script under static/ it loads.
PAGE_SCRIPTS: Mapping[str, str] = {
    "report_form.html": "js/dist/report.js",
    "followup_start.html": "js/dist/followup.js",
}
EXTENSION = "minhbach.page_scripts"


def init_page_scripts(app: Flask, scripts: Mapping[str, str] = PAGE_SCRIPTS) -> None:
    """Give every page rendered by ``app`` its ``page_script`` (None: no script)."""
    app.extensions[EXTENSION] = dict(scripts)
    before_render_template.connect(_choose_script, app)


def _choose_script(app: Flask, template: Template, context: dict[str, Any], **_: Any) -> None:
    context["page_script"] = app.extensions[EXTENSION].get(template.name)
