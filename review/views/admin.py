"""Account management for the unit's administrators (blueprint ``admin``).

List the unit's people, enrol a new account, deactivate one, reset its TOTP secret.
Enrolment secrets (the initial passphrase the administrator types, the TOTP secret and
the recovery code) appear only in the one response that shows them: never in the audit
log, a log file or a later page. Deactivating and resetting TOTP take over or lock out an
account, so they also need the administrator's own passphrase typed again: a session
left open on a shared computer is not enough.

Deactivation revokes nothing cryptographic: the account can no longer sign in, its open
sessions end, and ``casework.recipients`` gives it no new case keys. A TOTP reset ends the
account's open sessions too: the old authenticator may be in someone else's hands. Each
ended session is audited (``session_invalid``), and the administrator's own session
stays (an administrator may reset their own TOTP).
"""

from __future__ import annotations

from collections.abc import Mapping

import segno
from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

import crypto
from casework import keyrings
from casework.keyrings import KeyringAction
from review import session_store
from review.auth import audit, current_inspector, end_sessions_of, login_required
from review.labels import ROLE_DESCRIPTIONS, ROLE_LABELS
from review.settings import settings
from review.views.account import Form, read_current_passphrase, read_new_passphrase
from review.views.auth import MAX_USERNAME
from store.models import Inspector, InspectorRole, normalize_username
from web.database import db

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

MAX_DISPLAY_NAME = 200
MESSAGES: Mapping[str, LazyString] = {
    "display_name": _l("Enter the person's full name, at most 200 characters."),
    "username": _l(
        "Enter a user name of at most 64 characters: letters a-z, digits, '.', '_' and '-'."
    ),
    "username_taken": _l("This user name is already taken. Choose another one."),
    "role": _l("Choose a role."),
    "confirm_wrong": _l("This is not your passphrase."),
    "self": _l("You cannot deactivate your own account. Ask another administrator."),
}


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as inline SVG: plain paths, no style or script, so the
    strict CSP allows it. make_qr, not make: a Micro QR is unreadable to most apps."""
    svg = segno.make_qr(uri).svg_inline(scale=5, dark="#000", light="#fff")
    # segno's own markup: the URI is only encoded in the paths it draws, never inserted.
    return Markup(svg)  # noqa: S704  # nosec B704


def _person(inspector_id: int) -> Inspector:
    """An account of the administrator's own unit; 404 for any other."""
    person = db().get(Inspector, inspector_id)
    if person is None or person.unit_id != current_inspector().unit_id:
        abort(404)
    return person


# --- the list ------------------------------------------------------------------------------


@blueprint.get("/people")
@login_required(InspectorRole.ADMIN)
def people() -> ResponseReturnValue:
    unit = current_inspector().unit
    accounts = db().scalars(
        select(Inspector).where(Inspector.unit_id == unit.id).order_by(Inspector.username)
    )
    return render_template(
        "admin_people.html",
        unit=unit,
        people=[(person, crypto.fingerprint(person.public_key)) for person in accounts],
        roles=ROLE_LABELS,
    )


# --- enrolment -----------------------------------------------------------------------------


def read_enrolment(data: MultiDict[str, str]) -> Form:
    form = Form(
        values={
            "display_name": data.get("display_name", "").strip(),
            "username": normalize_username(data.get("username", "").strip()),
            "role": data.get("role", ""),
        }
    )
    if not form.values["display_name"] or len(form.values["display_name"]) > MAX_DISPLAY_NAME:
        form.errors["display_name"] = MESSAGES["display_name"]
    if not _valid_username(form.values["username"]):
        form.errors["username"] = MESSAGES["username"]
    elif db().scalar(select(Inspector.id).where(Inspector.username == form.values["username"])):
        form.errors["username"] = MESSAGES["username_taken"]
    if form.values["role"] not in {role.value for role in InspectorRole}:
        form.errors["role"] = MESSAGES["role"]
    read_new_passphrase(data, form)
    return form


def _valid_username(username: str) -> bool:
    if not username or len(username) > MAX_USERNAME:
        return False
    try:
        Inspector(username=username)  # the model's own rule
    except ValueError:
        return False
    return True


def _enrol_page(form: Form, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "admin_enrol.html", form=form, roles=ROLE_LABELS, role_descriptions=ROLE_DESCRIPTIONS
    )
    return page, status


@blueprint.get("/people/new")
@login_required(InspectorRole.ADMIN)
def enrol() -> ResponseReturnValue:
    return _enrol_page(Form(values={"role": InspectorRole.INSPECTOR.value}))


@blueprint.post("/people/new")
@login_required(InspectorRole.ADMIN)
def enrol_submit() -> ResponseReturnValue:
    form = read_enrolment(request.form)
    if form.errors:
        return _enrol_page(form, 400)
    unit = current_inspector().unit
    db().commit()  # no transaction stays open during the slow Argon2id run
    try:
        enrolment = keyrings.enrol_inspector(
            db(),
            unit,
            username=form.values["username"],
            display_name=form.values["display_name"],
            role=InspectorRole(form.values["role"]),
            passphrase=form.secrets["new"],
            params=settings().passphrase_kdf,
        )
    except IntegrityError:  # the same user name, enrolled by someone else meanwhile
        db().rollback()
        form.errors["username"] = MESSAGES["username_taken"]
        return _enrol_page(form, 400)
    person = enrolment.inspector
    audit(KeyringAction.ENROLLED, target=person.username, details={"role": person.role.value})
    # Committed before anything is shown: a recovery code for a key never stored would
    # be worse than none.
    db().commit()
    return render_template(
        "admin_enrolled.html",
        person=person,
        role=ROLE_LABELS[person.role],
        fingerprint=crypto.fingerprint(person.public_key),
        recovery_code=enrolment.recovery.display(),
        totp_uri=enrolment.totp_uri,
        qr=qr_svg(enrolment.totp_uri),
        no_escrow=person.sealed_key_escrow is None,
    )


# --- one account: deactivate, reset TOTP ---------------------------------------------------


def _person_page(
    person: Inspector, forms: Mapping[str, Form] | None = None, status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "admin_person.html",
        person=person,
        role=ROLE_LABELS[person.role],
        fingerprint=crypto.fingerprint(person.public_key),
        is_self=person.id == current_inspector().id,
        deactivate=(forms or {}).get("deactivate", Form()),
        reset=(forms or {}).get("reset", Form()),
    )
    return page, status


@blueprint.get("/people/<int:inspector_id>")
@login_required(InspectorRole.ADMIN)
def person(inspector_id: int) -> ResponseReturnValue:
    return _person_page(_person(inspector_id))


def _confirmed(form: Form, person: Inspector, action: str) -> bool:
    """Check the administrator's re-typed passphrase (one Argon2id run); audit a miss."""
    read_current_passphrase(request.form, form, "confirm_passphrase")
    if form.errors:
        return False
    keyring = keyrings.keyring_of(current_inspector())
    db().commit()  # no transaction stays open during the slow Argon2id run
    try:
        keyring.unlock(form.secrets["confirm_passphrase"])
    except crypto.WrongPassphrase:
        form.errors["confirm_passphrase"] = MESSAGES["confirm_wrong"]
        audit(KeyringAction.CONFIRMATION_FAILED, target=person.username, details={"for": action})
        db().commit()
        return False
    return True


@blueprint.post("/people/<int:inspector_id>/deactivate")
@login_required(InspectorRole.ADMIN)
def deactivate(inspector_id: int) -> ResponseReturnValue:
    person = _person(inspector_id)
    form = Form()
    if person.id == current_inspector().id:
        form.errors["confirm_passphrase"] = MESSAGES["self"]
        return _person_page(person, {"deactivate": form}, 400)
    if not _confirmed(form, person, KeyringAction.DEACTIVATED):
        return _person_page(person, {"deactivate": form}, 400)
    was_active = person.active
    person.active = False
    ended = end_sessions_of(person, session_store.DEACTIVATED)
    if was_active:
        audit(KeyringAction.DEACTIVATED, target=person.username, details={"sessions_ended": ended})
    db().commit()
    return render_template("admin_deactivated.html", person=person)


@blueprint.post("/people/<int:inspector_id>/reset-totp")
@login_required(InspectorRole.ADMIN)
def reset_totp(inspector_id: int) -> ResponseReturnValue:
    person = _person(inspector_id)
    form = Form()
    if not _confirmed(form, person, KeyringAction.TOTP_RESET):
        return _person_page(person, {"reset": form}, 400)
    uri = keyrings.reset_totp(person)
    ended = end_sessions_of(person, session_store.TOTP_RESET, keep_current=True)
    audit(KeyringAction.TOTP_RESET, target=person.username, details={"sessions_ended": ended})
    db().commit()
    return render_template(
        "admin_totp_reset.html",
        person=person,
        totp_uri=uri,
        qr=qr_svg(uri),
        is_self=person.id == current_inspector().id,
    )
