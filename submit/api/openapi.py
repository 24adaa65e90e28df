"""The machine-readable description of this API (``api.openapi``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Response, current_app

from submit.api import blueprint

SPEC = Path(__file__).resolve().parent.parent / "openapi.json"


@cache
def _spec() -> bytes:
    return SPEC.read_bytes()


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return current_app.response_class(_spec(), mimetype="application/json")
