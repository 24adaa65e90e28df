"""Plain information pages: home, and what a reporter should know before reporting."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template

from submit.unit import current_unit

blueprint = Blueprint("pages", __name__)


def unit_has_backup_key() -> bool:
    """Whether the unit keeps an offline backup (escrow) key, which opens every report and
    every name: the pages name it only then."""
    return current_unit().escrow_public_key is not None


@blueprint.app_context_processor
def _who_can_open() -> dict[str, Callable[[], bool]]:
    # A function, called only by the pages that say who can open a report (they show the
    # unit anyway): an error page, which may have no unit or no database, asks nothing.
    return {"unit_has_backup_key": unit_has_backup_key}


@blueprint.get("/")
def home() -> str:
    return render_template("home.html", unit=current_unit())
