"""Templates both apps draw from: ``web/templates``, after each app's own folder (so an
app's template of the same name wins). It holds the macros of the fields of the two forms
that seal a report, the public one and the review app's registration of a paper report,
which must keep the same names, ids and accessible wiring."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def init_shared_templates(app: Flask) -> None:
    """Call before the first page is rendered (the loader is read once)."""
    loaders: list[BaseLoader] = [FileSystemLoader(SHARED_TEMPLATES)]
    if app.jinja_loader is not None:
        loaders.insert(0, app.jinja_loader)
    app.jinja_loader = ChoiceLoader(loaders)
