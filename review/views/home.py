"""The landing page after login (``home.index``): who is signed in, as what, with which
key, and until when. Later the inbox links from here."""

from __future__ import annotations

from flask import Blueprint, render_template

import crypto
from review.auth import current_inspector, login_required, signed_in_info
from review.labels import ROLE_DESCRIPTIONS, ROLE_LABELS

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@login_required()
def index() -> str:
    inspector = current_inspector()
    return render_template(
        "home.html",
        inspector=inspector,
        unit=inspector.unit,
        role=ROLE_LABELS[inspector.role],
        role_description=ROLE_DESCRIPTIONS[inspector.role],
        fingerprint=crypto.fingerprint(inspector.public_key),
        info=signed_in_info(),
    )
