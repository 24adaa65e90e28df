"""Plain information pages: home, and what a reporter should know before reporting."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template

from casework.dates import unit_today
from casework.profiles import profile_in_force
from submit.unit import current_unit

blueprint = Blueprint("pages", __name__)


def unit_has_backup_key() -> bool:
    """Whether the unit keeps an offline backup (escrow) key, which opens every report and
    every name: the pages name it only then."""
    return current_unit().escrow_public_key is not None


def unit_verifies_identity() -> bool:
    """Whether a named report becomes a formal denunciation only once the unit has
    verified who made it (the unit's profile in force today: LTC Art. 22-23, 29(1)(a)),
    so that the pages do not promise the law's deadlines from the moment it is sent."""
    return profile_in_force(current_unit().profile, unit_today()).verifies_identity


@blueprint.app_context_processor
def _who_can_open() -> dict[str, Callable[[], bool]]:
    # Functions, called only by the pages that need them (they show the unit anyway): an
    # error page, which may have no unit or no database, asks nothing.
    return {
        "unit_has_backup_key": unit_has_backup_key,
        "unit_verifies_identity": unit_verifies_identity,
    }


@blueprint.get("/")
def home() -> str:
    return render_template("home.html", unit=current_unit())
