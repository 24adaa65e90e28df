"""The unit's citizen reception schedule, set by its administrators (blueprint
``reception``): public text the public pages show where a tipster looks for how to report
in person (``casework.reception``). Every change is audited with the new text."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from casework import reception
from casework.errors import CaseworkError
from review.auth import audit, current_inspector, login_required
from store.models import InspectorRole
from web.database import db

blueprint = Blueprint("reception", __name__, url_prefix="/admin/reception")


@blueprint.get("")
@login_required(InspectorRole.ADMIN)
def form() -> str:
    unit = current_inspector().unit
    saved = request.args.get("saved") == "1"
    return render_template("admin_reception.html", schedule=unit.reception_schedule, saved=saved)


@blueprint.post("")
@login_required(InspectorRole.ADMIN)
def save() -> ResponseReturnValue:
    unit, text = current_inspector().unit, request.form.get("schedule", "")
    try:
        stored = reception.set_schedule(unit, text)
    except CaseworkError:
        error = gettext(
            "Write the schedule in at most %(count)d characters.",
            count=reception.MAX_SCHEDULE_CHARS,
        )
        page = render_template("admin_reception.html", schedule=text, error=error)
        return page, 400
    audit(reception.RECEPTION_SET, target=unit.slug, details={"schedule": stored})
    db().commit()
    return redirect(url_for("reception.form", saved=1), 303)
