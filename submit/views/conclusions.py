"""The unit's published conclusions (LTC Art. 40, NĐ31 Art. 6): a public, paged list.

``conclusions.index`` GET ``/conclusions?page=N``: the summaries the unit posted and has not
taken down, the latest posted first, each with its title, the day of the conclusion and
the day it was posted. Plain HTML: it works without JavaScript. Nothing here leads to a
case: the query reads the table's public columns only (casework.publication.public_page).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from casework import publication
from submit.unit import current_unit
from web.database import db

blueprint = Blueprint("conclusions", __name__)

MAX_PAGE_DIGITS = 6  # a longer number names no page; it is read as the first


@blueprint.get("/conclusions")
def index() -> str:
    unit = current_unit()
    page = publication.public_page(db(), unit.id, _page_number())
    return render_template("conclusions.html", unit=unit, page=page)


def _page_number() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS else 1
