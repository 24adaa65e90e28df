"""The unit this submit app receives reports for."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy import select

from casework.settings import Settings
from store.models import Unit
from web.database import db
from web.errors import PublicError, storage_refusal


def settings() -> Settings:
    value: Settings = current_app.extensions["minhbach.settings"]
    return value


def current_unit() -> Unit:
    """The configured unit, or the only one; a clear error while none is set up."""
    if "unit" not in g:
        slug = settings().unit
        query = select(Unit).order_by(Unit.id).limit(2)
        if slug is not None:
            query = query.where(Unit.slug == slug)
        units = db().scalars(query).all()
        if len(units) != 1:
            raise PublicError(
                503, "no_unit", "This service is not set up yet. Please come back later."
            )
        g.unit = units[0]
    unit: Unit = g.unit
    return unit


def reachable_unit() -> Unit | None:
    """The unit, or None when the database cannot be reached: a page saying that
    something could not be saved must still be drawn, without the unit's details."""
    try:
        return current_unit()
    except Exception as error:
        if not storage_refusal(error):
            raise
        return None
