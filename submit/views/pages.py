"""Plain information pages: home, and what a reporter should know before reporting."""

from __future__ import annotations

from flask import Blueprint, render_template

from submit.unit import current_unit

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def home() -> str:
    return render_template("home.html", unit=current_unit())
