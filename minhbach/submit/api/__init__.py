"""The JSON API the submission page's JavaScript talks to (documented in openapi.json).

Requests and responses are JSON except upload bodies; binary fields are b64u strings.
Every state-changing request carries the CSRF token in an ``X-CSRFToken`` header.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from minhbach import crypto
from minhbach.crypto.encoding import b64u_decode
from minhbach.web.errors import PublicError

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise PublicError(400, "malformed_json", "The request body must be a JSON object.")
    return document


def field(document: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = document.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PublicError(
            400, "malformed_field", f"Field '{name}' is missing or of the wrong type."
        )
    return value


def binary_field(
    document: dict[str, Any], name: str, *, size: int | None = None, optional: bool = False
) -> bytes | None:
    """A b64u field decoded; ``size`` requires an exact length."""
    text = field(document, name, str, optional=optional)
    if text is None:
        return None
    try:
        value = b64u_decode(text)
    except crypto.MalformedEnvelope:
        raise PublicError(400, "malformed_field", f"Field '{name}' is not b64u.") from None
    if size is not None and len(value) != size:
        raise PublicError(400, "malformed_field", f"Field '{name}' must be {size} bytes.")
    return value
