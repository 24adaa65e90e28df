"""Proof-of-work challenges (``api.pow_challenge``) and the check other routes call."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, current_app, jsonify
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from submit import pow
from submit.api import blueprint, field, json_object
from submit.limits import ledger
from submit.unit import settings
from web.errors import PublicError

MESSAGES: dict[str, LazyString] = {
    "pow_required": _l(
        "Your browser did not send the required anti-abuse check. "
        "Please reload the page and try again."
    ),
    "pow_invalid": _l("Your browser's anti-abuse check was not accepted. Please try again."),
    "pow_expired": _l("Your browser's anti-abuse check has expired. Please try again."),
    "pow_replayed": _l("Your browser's anti-abuse check was already used. Please try again."),
}


@blueprint.post("/pow")
def pow_challenge() -> Response:
    document = json_object(allowed={"purpose"})
    purpose = _purpose(field(document, "purpose", str))
    return jsonify(challenge=pow.issue(_key(), purpose), difficulty=settings().pow_difficulty)


def require_pow(document: dict[str, Any], purpose: pow.Purpose) -> None:
    """Spend the solution in ``document["pow"]`` or refuse the request with a clear 400."""
    solution = document.get("pow")
    if solution is None:
        _refuse("pow_required")
    if not isinstance(solution, str):
        _refuse("pow_invalid")
    try:
        pow.check(_key(), ledger(), solution, purpose, settings().pow_difficulty)
    except pow.PowError as exc:
        _refuse(exc.code)


def _purpose(value: str) -> pow.Purpose:
    try:
        return pow.Purpose(value)
    except ValueError:
        raise PublicError(
            400,
            "malformed_field",
            _("Field 'purpose' must be one of: %(names)s.", names=", ".join(pow.Purpose)),
        ) from None


def _key() -> bytes:
    secret: bytes = current_app.config["SECRET_KEY"]  # bytes: see web.secret_key
    return pow.derive_key(secret)


def _refuse(code: str) -> NoReturn:
    raise PublicError(400, code, str(MESSAGES[code]))
